"""The pack and catalog formats, validated with pydantic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from yibao.errors import define

PARAM_MISSING = define(
    "PARAM_MISSING",
    "统筹区 {region} 在 {on} 没有生效的政策参数 {key}",
    "no policy parameter {key} is in force for region {region} on {on}",
)
UNKNOWN_REGION = define(
    "UNKNOWN_REGION",
    "未知统筹区 {region}（已载入：{known}）",
    "unknown pooling region {region} (loaded: {known})",
)
PACK_INVALID = define("PACK_INVALID", "政策包 {file} 无效：{reason}", "policy pack {file} is invalid: {reason}")
PARAM_TYPE = define(
    "PARAM_TYPE",
    "政策参数 {key} 的取值 {value} 不符合类型 {type}",
    "policy parameter {key} value {value!r} is not of type {type}",
)

Confidence = Literal["V", "C", "S", "M"]
ParamType = Literal["decimal", "int", "bool", "str", "date", "month_day", "months", "list", "map", "enum"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamDefinition(Strict):
    """One entry of the catalog: what a parameter means and what type its values have."""

    type: ParamType
    description_zh: str
    description_en: str
    rules: list[str] = Field(default_factory=list)
    unit: str | None = None
    choices: list[str] | None = None  # for type enum
    config_key: str | None = None  # the SPEC §16 configuration key, where one is named
    nullable: bool = False


class Catalog(Strict):
    family: str
    parameters: dict[str, ParamDefinition]


class SourceRef(Strict):
    document: str
    issued: date | None = None
    confidence: Confidence
    note: str | None = None


class ParamValue(Strict):
    """A parameter's value from a date on (until the next value's date)."""

    from_: date = Field(alias="from")
    value: Any
    source: str
    article: str | None = None
    confidence: Confidence | None = None  # defaults to the source's tag
    illustrative: bool = False
    note: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PackFile(Strict):
    region: str
    name_zh: str | None = None
    name_en: str | None = None
    sources: dict[str, SourceRef] = Field(default_factory=dict)
    parameters: dict[str, list[ParamValue]] = Field(default_factory=dict)

    @field_validator("region")
    @classmethod
    def _region_code(cls, v: str) -> str:
        v = str(v)
        if v != "national" and not (len(v) == 6 and v.isdigit()):
            raise ValueError("region must be 'national' or a 6-digit division code")
        return v

    @field_validator("parameters")
    @classmethod
    def _sorted_dates(cls, v: dict[str, list[ParamValue]]) -> dict[str, list[ParamValue]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"{key}: no values")
            dates = [pv.from_ for pv in values]
            if dates != sorted(dates) or len(set(dates)) != len(dates):
                raise ValueError(f"{key}: values must be in strictly increasing 'from' order")
        return v


def coerce(key: str, definition: ParamDefinition, raw: Any) -> Any:
    """Parse a YAML value to the catalog type (the YAML loader already gives Decimal for numbers)."""
    from yibao.errors import YibaoError

    def bad() -> YibaoError:
        return YibaoError(PARAM_TYPE, field=key, key=key, value=raw, type=definition.type)

    if raw is None:
        if definition.nullable:
            return None
        raise bad()
    t = definition.type
    if t == "decimal":
        if isinstance(raw, bool):
            raise bad()
        if isinstance(raw, (int, Decimal)):
            return Decimal(raw)
        if isinstance(raw, str):
            try:
                return Decimal(raw)
            except Exception:
                raise bad() from None
        raise bad()
    if t in ("int", "months"):
        if isinstance(raw, bool) or not isinstance(raw, (int, Decimal)) or Decimal(raw) != int(raw):
            raise bad()
        return int(raw)
    if t == "bool":
        if not isinstance(raw, bool):
            raise bad()
        return raw
    if t == "str":
        return str(raw)
    if t == "enum":
        if str(raw) not in (definition.choices or []):
            raise bad()
        return str(raw)
    if t == "date":
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw))
        except ValueError:
            raise bad() from None
    if t == "month_day":
        s = str(raw)
        parts = s.split("-")
        if len(parts) != 2 or not parts[0].isdigit() or not (parts[1].isdigit() or parts[1] == "end"):
            raise bad()
        return s
    if t == "list":
        if not isinstance(raw, list):
            raise bad()
        return tuple(raw)
    if t == "map":
        if not isinstance(raw, dict):
            raise bad()
        return dict(raw)
    raise bad()
