"""Load packs and resolve parameters by (region, key, date) with inheritance city → province → national."""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from pydantic import ValidationError

from yibao.errors import YibaoError
from yibao.explain import Citation, UsedParameter
from yibao.policy.schema import (
    PACK_INVALID,
    PARAM_MISSING,
    UNKNOWN_REGION,
    Catalog,
    PackFile,
    ParamDefinition,
    SourceRef,
    coerce,
)

NATIONAL = "national"


class _DecimalLoader(yaml.SafeLoader):
    """YAML loader that reads every float as an exact Decimal (0.90 stays 0.90)."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    return Decimal(loader.construct_scalar(node).replace("_", ""))


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
# YAML 1.1 reads on/off/yes/no as booleans ("on: 2025-01-01" would become {True: …}); accept only true/false.
_DecimalLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_DecimalLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 - SafeLoader subclass


@dataclass(frozen=True)
class ResolvedValue:
    key: str
    value: Any
    effective_from: date
    citation: Citation
    illustrative: bool
    defined_in: str  # the pack (region) that supplied it
    note: str | None = None

    def used(self, region: str) -> UsedParameter:
        return UsedParameter(self.key, self.value, region, self.effective_from, self.citation, self.illustrative)


@dataclass
class RegionPack:
    region: str
    name_zh: str | None = None
    name_en: str | None = None
    sources: dict[str, SourceRef] = field(default_factory=dict)
    # key -> list of (from, value, citation, illustrative, note), sorted by from
    values: dict[str, list[tuple[date, Any, Citation, bool, str | None]]] = field(default_factory=dict)


class Policy:
    """All loaded packs plus the catalog. Immutable after loading; overrides make a new Policy."""

    def __init__(self, catalog: dict[str, ParamDefinition], packs: dict[str, RegionPack]) -> None:
        self.catalog = catalog
        self.packs = packs
        self._cache: dict[tuple[str, str, date], ResolvedValue] = {}

    # --- regions -------------------------------------------------------------------------
    def regions(self) -> list[str]:
        return sorted(r for r in self.packs if r != NATIONAL)

    def check_region(self, region: str, *, field: str = "region") -> str:
        region = str(region).strip()
        if region not in self.packs or region == NATIONAL:
            raise YibaoError(UNKNOWN_REGION, field=field, region=region, known=", ".join(self.regions()))
        return region

    def chain(self, region: str) -> list[str]:
        """The packs consulted for a region, nearest first: city, province, national."""
        out = []
        if region in self.packs:
            out.append(region)
        if len(region) == 6 and region.isdigit():
            province = region[:2] + "0000"
            if province != region and province in self.packs:
                out.append(province)
        out.append(NATIONAL)
        return out

    def region_name(self, region: str) -> str:
        pack = self.packs.get(region)
        return (pack.name_zh or region) if pack else region

    def cite(self, source_key: str, article: str | None = None) -> Citation:
        """A citation of one of the sources (S1…S20 of SPEC §1, or a region's own) by its key."""
        for pack in self.packs.values():
            src = pack.sources.get(source_key)
            if src is not None:
                return Citation(src.document, article, src.confidence, source_key)
        raise KeyError(f"unknown source {source_key!r}")

    # --- resolution ---------------------------------------------------------------------
    def resolve(self, region: str, key: str, on: date) -> ResolvedValue:
        cache_key = (region, key, on)
        hit = self._cache.get(cache_key)
        if hit is not None:
            return hit
        if key not in self.catalog:
            raise KeyError(f"parameter {key!r} is not declared in the policy catalog")
        for pack_region in self.chain(region):
            pack = self.packs.get(pack_region)
            if pack is None or key not in pack.values:
                continue
            found = None
            for start, value, citation, illustrative, note in pack.values[key]:
                if start <= on:
                    found = ResolvedValue(key, value, start, citation, illustrative, pack_region, note)
                else:
                    break
            if found is not None:
                self._cache[cache_key] = found
                return found
            # The nearest pack defines the key but not yet on this date: fall through to the parent,
            # which may hold the earlier (e.g. national) value.
        raise YibaoError(PARAM_MISSING, field=key, region=region, on=on.isoformat(), key=key)

    def value(self, region: str, key: str, on: date) -> Any:
        return self.resolve(region, key, on).value

    def param(self, region: str, key: str, on: date) -> UsedParameter:
        return self.resolve(region, key, on).used(region)

    def get(self, region: str, key: str, on: date, default: Any = None) -> Any:
        """Like :meth:`value` but for *optional* parameters whose absence has a meaning of its own."""
        try:
            return self.value(region, key, on)
        except YibaoError:
            return default

    def in_force(self, region: str, on: date) -> list[ResolvedValue]:
        """Every parameter in force for a region on a date (for ``yibao policy show``)."""
        keys: set[str] = set()
        for pack_region in self.chain(region):
            keys.update(self.packs[pack_region].values)
        out = []
        for key in sorted(keys):
            try:
                out.append(self.resolve(region, key, on))
            except YibaoError:
                continue  # defined only from a later date
        return out

    def history(self, region: str, key: str) -> list[ResolvedValue]:
        """Each dated value a region sees for a key, across its chain (for the policy browser)."""
        dates: set[date] = set()
        for pack_region in self.chain(region):
            pack = self.packs[pack_region]
            dates.update(start for start, *_ in pack.values.get(key, []))
        out = []
        for d in sorted(dates):
            resolved = self.resolve(region, key, d)
            if not out or out[-1].effective_from != resolved.effective_from or out[-1].defined_in != resolved.defined_in:
                out.append(resolved)
        return out

    # --- what-if ------------------------------------------------------------------------
    def with_overrides(self, region: str, overrides: Mapping[str, Any], *, label: str = "what-if") -> "Policy":
        """A copy in which ``region`` has the given values from the beginning of time.

        Used by scenario files (a worked example states its parameters) and by analysts' what-ifs.
        Values are parsed with the catalog types; the citation says they are an override.
        """
        packs = dict(self.packs)
        base = packs.get(region) or RegionPack(region)
        pack = RegionPack(base.region, base.name_zh, base.name_en, dict(base.sources), dict(base.values))
        citation = Citation(f"{label} override", None, "M", None)
        for key, raw in overrides.items():
            definition = self.catalog.get(key)
            if definition is None:
                raise YibaoError(PACK_INVALID, field=key, file=label, reason=f"unknown parameter {key}")
            pack.values[key] = [(date.min, coerce(key, definition, _to_decimals(raw)), citation, True, None)]
        packs[region] = pack
        return Policy(self.catalog, packs)


def _to_decimals(raw: Any) -> Any:
    if isinstance(raw, float):
        return Decimal(repr(raw))
    return raw


def _iter_yaml(folder: Traversable) -> Iterable[Traversable]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith(".yaml"):
            yield entry


def _load_catalog(folder: Traversable) -> dict[str, ParamDefinition]:
    catalog: dict[str, ParamDefinition] = {}
    for entry in _iter_yaml(folder):
        try:
            parsed = Catalog.model_validate(load_yaml(entry.read_text(encoding="utf-8")))
        except ValidationError as exc:
            raise YibaoError(PACK_INVALID, field="catalog", file=entry.name, reason=str(exc)) from None
        for key, definition in parsed.parameters.items():
            if key in catalog:
                raise YibaoError(PACK_INVALID, field=key, file=entry.name, reason=f"{key} declared twice")
            catalog[key] = definition
    return catalog


def _load_pack_folder(folder: Traversable, catalog: dict[str, ParamDefinition], packs: dict[str, RegionPack]) -> None:
    parsed_files: list[tuple[str, PackFile]] = []
    for entry in _iter_yaml(folder):
        name = f"{folder.name}/{entry.name}"
        try:
            parsed_files.append((name, PackFile.model_validate(load_yaml(entry.read_text(encoding="utf-8")))))
        except ValidationError as exc:
            raise YibaoError(PACK_INVALID, field="pack", file=name, reason=str(exc)) from None
    # First pass: names and sources, so that any file of the folder may cite them.
    for name, parsed in parsed_files:
        pack = packs.setdefault(parsed.region, RegionPack(parsed.region))
        pack.name_zh = pack.name_zh or parsed.name_zh
        pack.name_en = pack.name_en or parsed.name_en
        for key, src in parsed.sources.items():
            if key in pack.sources and pack.sources[key] != src:
                raise YibaoError(PACK_INVALID, field=key, file=name, reason=f"source {key} defined differently twice")
            pack.sources[key] = src
    # Second pass: parameter values, typed by the catalog.
    national_sources = packs.get(NATIONAL, RegionPack(NATIONAL)).sources
    for name, parsed in parsed_files:
        pack = packs[parsed.region]
        for key, values in parsed.parameters.items():
            definition = catalog.get(key)
            if definition is None:
                raise YibaoError(PACK_INVALID, field=key, file=name, reason=f"parameter {key} is not in the catalog")
            if key in pack.values:
                raise YibaoError(PACK_INVALID, field=key, file=name, reason=f"{key} set twice for {parsed.region}")
            resolved = []
            for pv in values:
                src = pack.sources.get(pv.source) or national_sources.get(pv.source)
                if src is None:
                    raise YibaoError(PACK_INVALID, field=key, file=name, reason=f"unknown source {pv.source}")
                citation = Citation(src.document, pv.article, pv.confidence or src.confidence, pv.source)
                resolved.append((pv.from_, coerce(key, definition, pv.value), citation, pv.illustrative, pv.note))
            pack.values[key] = resolved


def load_policy(extra_pack_dirs: Iterable[Path] = ()) -> Policy:
    """Load the catalog and every shipped pack (national first, so regions can cite national sources)."""
    root = resources.files("yibao.policy")
    catalog = _load_catalog(root.joinpath("catalog"))
    packs: dict[str, RegionPack] = {}
    packs_root = root.joinpath("packs")
    folders = sorted((e for e in packs_root.iterdir() if e.is_dir()), key=lambda e: (e.name != NATIONAL, e.name))
    for folder in folders:
        _load_pack_folder(folder, catalog, packs)
    for extra in extra_pack_dirs:
        _load_pack_folder(Path(extra), catalog, packs)  # type: ignore[arg-type]
    if NATIONAL not in packs:
        raise YibaoError(PACK_INVALID, field="pack", file="national", reason="the national pack is missing")
    return Policy(catalog, packs)


@cache
def default_policy() -> Policy:
    """The shipped packs, loaded once per process."""
    return load_policy()
