"""更正参保关系、更正人员基本信息 / corrections of a relation's columns and of a person's attributes.

Writes need a clerk or an administrator (``Writer``). Region rule (``api/access.py``): the person must
share a region with the caller (else 403 ``REGION_FORBIDDEN``); a relation correction also needs the
relation's own region. The stored rows are never changed: a correction is a new row with who, when
and why, and reading the person as known on an earlier day shows the values before it.
"""

from __future__ import annotations

from fastapi import APIRouter

from yibao.explain import Decision

from ..access import check_relation
from ..correction_schemas import (
    AttributesCorrectionOut,
    PersonCorrectionIn,
    RelationCorrectionIn,
)
from ..deps import Ctx, Writer, visible_person
from ..schemas import errors
from .persons import PsnNoPath, RelationPath

router = APIRouter(prefix="/api/v1")
CORRECTIONS = "更正 corrections"
WRITE_ERRORS = errors(400, 401, 403, 404, 409)


def _out(d: Decision) -> AttributesCorrectionOut:
    return AttributesCorrectionOut(**d.to_dict())


@router.post(
    "/persons/{psn_no}/relations/{relation_id}/corrections",
    tags=[CORRECTIONS],
    summary="更正参保关系：开始日期、结束日期、人员类别、单位 / correct a relation's start, end, person category, employer",
    description="更正记录追加保存（原记录不变），审计日志记录人、时间、理由及更正前后的值；按更正当日起的认知生效。"
    "统筹区和险种不能更正（RELATION_KEY_FIXED）：其他统筹区或险种的参保关系是另一参保关系，请终止后重新参保或办理转移接续。"
    "人员类别须与险种相符（R-CODE-002），在职类别不能更正为退休类别（RETIRE_BY_EVENT，请办理退休）；"
    "开始日期不能晚于已有状态变更（START_AFTER_STATUS_CHANGE）。\n\n"
    "A new correction row (the relation row stays as it was); the audit log says who, when, why, before and after. Region and "
    "insutype are not corrected: a relation elsewhere or in another scheme is another relation. Omitted fields are kept; "
    "`end: null` / `employer: null` clear them. The clerk must serve the relation's region.",
    response_model=AttributesCorrectionOut,
    responses=WRITE_ERRORS,
)
def correct_relation(psn_no: PsnNoPath, relation_id: RelationPath, body: RelationCorrectionIn, principal: Writer, ctx: Ctx) -> AttributesCorrectionOut:
    scope = visible_person(ctx, principal, psn_no)
    check_relation(principal, scope, relation_id)
    d = ctx.service.correct_relation(psn_no, relation_id, by=principal.by, reason=body.reason, **body.changes())
    return _out(d)


@router.post(
    "/persons/{psn_no}/corrections",
    tags=[CORRECTIONS],
    summary="更正人员基本信息：姓名、性别、出生日期 / correct a person's name, sex, date of birth",
    description="更正记录追加保存，审计日志记录人、时间、理由及更正前后的值。R-ID-007：出生日期或性别与身份证件号码所载不一致时拒绝"
    "（DERIVED_CONTRADICTION），除非在 override_reason 中说明依据，此时返回 DERIVED_MISMATCH 提示。\n\n"
    "A new correction row; the audit log says who, when, why, before and after. A birth date or sex that contradicts the ID "
    "number is refused unless `override_reason` says why (then a DERIVED_MISMATCH warning is returned).",
    response_model=AttributesCorrectionOut,
    responses=WRITE_ERRORS,
)
def correct_person(psn_no: PsnNoPath, body: PersonCorrectionIn, principal: Writer, ctx: Ctx) -> AttributesCorrectionOut:
    visible_person(ctx, principal, psn_no)
    d = ctx.service.correct_person(psn_no, by=principal.by, reason=body.reason, override_reason=body.override_reason, **body.changes())
    return _out(d)


__all__ = ["router"]
