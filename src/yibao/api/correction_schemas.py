"""Request and response bodies of the correction routes for a relation's columns and a person's
attributes (revision 0006); the same conventions as :mod:`yibao.api.schemas`.

A field left out is not corrected; ``null`` is a value where the column may be empty (``end``: the
relation has no end date; ``employer``: no employer). ``region`` / ``insutype`` are accepted only with
the relation's own values (a form that sends every column); another value is ``RELATION_KEY_FIXED``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from .case_schemas import Reason
from .schemas import Day, In, NoticeOut, ReasonOut, Region, Text


class _Correction(In):
    reason: Reason = Field(description="更正理由 / why")  # type: ignore[valid-type]
    FIELDS: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _something(self) -> Any:
        if not any(name in self.model_fields_set for name in self.FIELDS):
            raise ValueError(f"give at least one of {', '.join(self.FIELDS)} / 至少给出一项更正内容")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given (``None`` included: it is a value), for the service's keyword arguments."""
        return {name: getattr(self, name) for name in self.FIELDS if name in self.model_fields_set}


class RelationCorrectionIn(_Correction):
    FIELDS = ("start", "end", "psn_type", "employer", "region", "insutype")

    start: Day | None = Field(default=None, description="参保开始日期 / start date")
    end: Day | None = Field(default=None, description="参保结束日期；null 表示无结束日期 / end date, null: none")
    psn_type: Text(4, 1) | None = Field(default=None, description="人员类别 / person category, e.g. 1101")  # type: ignore[valid-type]
    employer: Text(18, 1) | None = Field(default=None, description="单位统一社会信用代码；null 表示无单位 / employer USCC, null: none")  # type: ignore[valid-type]
    region: Region | None = Field(default=None, description="不可更正，仅可与原值相同 / not correctable: only the relation's own value")
    insutype: Text(3, 1) | None = Field(default=None, description="不可更正，仅可与原值相同 / not correctable: only the relation's own value")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _start_not_null(self) -> RelationCorrectionIn:
        for name in ("start", "psn_type", "region", "insutype"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null / {name} 不能为空")
        return self


class PersonCorrectionIn(_Correction):
    FIELDS = ("name", "sex", "birth_date")

    name: Text(200, 1) | None = Field(default=None, description="姓名 / name")  # type: ignore[valid-type]
    sex: Literal["M", "F"] | None = Field(default=None, description="性别 / sex")
    birth_date: Day | None = Field(default=None, description="出生日期 / date of birth")
    override_reason: Text(500, 1) | None = Field(  # type: ignore[valid-type]
        default=None,
        description="出生日期或性别与证件号码所载不一致时的依据（R-ID-007），否则返回 DERIVED_CONTRADICTION / "
        "why a birth date or sex contradicting the ID number is right (R-ID-007); without it: DERIVED_CONTRADICTION",
    )

    @model_validator(mode="after")
    def _name_not_null(self) -> PersonCorrectionIn:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null / 姓名不能为空")
        return self


class AttributesCorrectedOut(BaseModel):
    psn_no: str
    table: Literal["enrollment", "person"]
    correction_id: int = Field(description="更正记录 / the correction row (enrollment_correction / person_correction)")
    relation_id: str | None
    changed: dict[str, dict[str, Any]] = Field(description="更正前后的值 / {column: {before, after}}")
    recorded_by: str | None


class AttributesCorrectionOut(BaseModel):
    """更正结果 + 依据 + 提示 / the correction, its reasons and warnings (e.g. DERIVED_MISMATCH)."""

    value: AttributesCorrectedOut
    reasons: list[ReasonOut]
    notices: list[NoticeOut]


__all__ = ["AttributesCorrectedOut", "AttributesCorrectionOut", "PersonCorrectionIn", "RelationCorrectionIn"]
