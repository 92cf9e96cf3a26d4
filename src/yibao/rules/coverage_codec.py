"""A :class:`~yibao.rules.entitlement.CoverageIndex` as JSON text, and back (the coverage projection's payload).

Pure functions, no I/O. The round trip is exact: ``decode(encode(index)) == index``, so an answer
from a stored index equals the timeline's own (a property test checks it). Values of parameters and
facts keep their types through tags (``Decimal``, dates, months, tuples, the project's enums); a
value of any other type makes :func:`encode` raise :class:`Unencodable` (the caller then keeps
nothing and answers from the facts).
"""

from __future__ import annotations

import importlib
import json
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from yibao.codes import InsuType
from yibao.dates import YearMonth
from yibao.errors import Notice
from yibao.explain import Citation, Reason, UsedParameter
from yibao.rules.entitlement import BenefitPeriod, CoverageIndex, StartWindow

FORMAT = 1  # bump when the layout changes: rows of another format are recomputed, never misread


class Unencodable(TypeError):
    """A reason carries a value the codec has no tag for."""


def _value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, Enum):
        cls = type(v)
        if not cls.__module__.startswith("yibao."):
            raise Unencodable(f"enum {cls.__module__}.{cls.__qualname__}")
        return {"$e": f"{cls.__module__}:{cls.__qualname__}", "v": v.value}
    if isinstance(v, Decimal):
        return {"$d": str(v)}
    if isinstance(v, YearMonth):
        return {"$m": str(v)}
    if isinstance(v, date) and type(v) is date:
        return {"$t": v.isoformat()}
    if isinstance(v, tuple):
        return {"$u": [_value(x) for x in v]}
    if isinstance(v, list):
        return [_value(x) for x in v]
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):
        return {"$o": {k: _value(x) for k, x in v.items()}}
    raise Unencodable(type(v).__qualname__)


def _unvalue(v: Any) -> Any:
    if isinstance(v, list):
        return [_unvalue(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "$d" in v:
        return Decimal(v["$d"])
    if "$m" in v:
        return YearMonth.parse(v["$m"])
    if "$t" in v:
        return date.fromisoformat(v["$t"])
    if "$u" in v:
        return tuple(_unvalue(x) for x in v["$u"])
    if "$o" in v:
        return {k: _unvalue(x) for k, x in v["$o"].items()}
    if "$e" in v:
        module, name = v["$e"].split(":")
        if not module.startswith("yibao."):
            raise ValueError(module)
        cls: Any = importlib.import_module(module)
        for part in name.split("."):
            cls = getattr(cls, part)
        return cls(v["v"])
    raise ValueError(f"unknown tag in {sorted(v)}")


def _citation(c: Citation) -> list[Any]:
    return [c.document, c.article, c.confidence, c.source_key]


def _reason(r: Reason) -> dict[str, Any]:
    return {
        "r": r.rule_id,
        "zh": r.message_zh,
        "en": r.message_en,
        "p": [[p.key, _value(p.value), p.region, p.effective_from.isoformat(), _citation(p.citation), p.illustrative] for p in r.parameters],
        "c": [_citation(c) for c in r.citations],
        "f": [[k, _value(v)] for k, v in r.facts],
    }


def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def encode(index: CoverageIndex) -> str:
    payload = {
        "format": FORMAT,
        "person": index.person_id,
        "k": _day(index.as_known_on),
        "through": _day(index.stable_through),
        "periods": [
            [p.relation_id, p.insutype.value, p.region, p.start.isoformat(), _day(p.end), [_reason(r) for r in p.start_reasons], [_reason(r) for r in p.end_reasons]]
            for p in index.periods
        ],
        "starts": [[str(s.first_month), str(s.last_month), [_reason(r) for r in s.reasons]] for s in index.starts],
        "notices": [[n.code, n.message_zh, n.message_en, n.field] for n in index.notices],
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _cite(v: list[Any]) -> Citation:
    return Citation(v[0], v[1], v[2], v[3])


def _unreason(v: dict[str, Any]) -> Reason:
    return Reason(
        v["r"],
        v["zh"],
        v["en"],
        tuple(UsedParameter(key, _unvalue(value), region, date.fromisoformat(since), _cite(c), bool(ill)) for key, value, region, since, c, ill in v["p"]),
        tuple(_cite(c) for c in v["c"]),
        tuple((k, _unvalue(value)) for k, value in v["f"]),
    )


def _undate(v: str | None) -> date | None:
    return date.fromisoformat(v) if v is not None else None


def decode(text: str) -> CoverageIndex | None:
    """The index, or None if ``text`` is of another format (the caller recomputes it)."""
    v = json.loads(text)
    if v.get("format") != FORMAT:
        return None
    return CoverageIndex(
        v["person"],
        _undate(v["k"]),
        _undate(v["through"]),
        tuple(
            BenefitPeriod(rid, InsuType(ins), region, date.fromisoformat(start), _undate(end), tuple(map(_unreason, sr)), tuple(map(_unreason, er)))
            for rid, ins, region, start, end, sr, er in v["periods"]
        ),
        tuple(StartWindow(YearMonth.parse(a), YearMonth.parse(b), tuple(map(_unreason, rs))) for a, b, rs in v["starts"]),
        tuple(Notice(code, zh, en, field) for code, zh, en, field in v["notices"]),
    )
