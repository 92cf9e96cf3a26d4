"""参保人与参保关系 / persons (register, read, search, documents, merge, death) and relations
(enroll, suspend, restore, terminate)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator

from yibao.errors import YibaoError, define
from yibao.ids import mask
from yibao.store.place_models import PlaceRow

from .. import present
from ..access import (
    check_region,
    check_relation,
    list_persons,
    list_regions,
    person_scope,
)
from ..case_schemas import CorrectedOut
from ..deps import Admin, Context, Ctx, Pages, Reader, Writer, visible_person
from ..errors import DOCUMENT_NOT_FOUND
from ..schemas import (
    Day,
    DeathIn,
    DocumentIn,
    EnrolledOut,
    EnrollIn,
    MergeIn,
    OkOut,
    Page,
    PersonOut,
    PersonSummary,
    PlaceIn,
    PlaceOut,
    PlaceWithdrawIn,
    RegisteredOut,
    RegisterIn,
    RestoreIn,
    SearchIn,
    StatusOut,
    SuspendIn,
    errors,
    no_control,
)
from ..security import Principal

log = logging.getLogger("yibao.api")

REGION_REQUIRED = define(
    "REGION_REQUIRED",
    "请指定登记统筹区（本账户服务多个统筹区）",
    "name the region to register the person in (this account serves several regions)",
)

router = APIRouter(prefix="/api/v1")
PERSONS = "参保人 persons"
RELATIONS = "参保关系 relations"

PsnNoPath = Annotated[str, Path(min_length=1, max_length=40, description="人员编号 / person number"), AfterValidator(no_control)]
RelationPath = Annotated[str, Path(min_length=1, max_length=64, description="参保关系编号 / relation id"), AfterValidator(no_control)]
PlaceIdPath = Annotated[int, Path(ge=1, le=2**62, description="地点记录编号 / place id")]


def _document_error(exc: YibaoError, prefix: str) -> YibaoError:
    """A document validation error with the field named as in the request."""
    if exc.field in (None, "cert_no", "number"):
        exc.field = f"{prefix}number"
    elif exc.field in ("cert_type", "nationality"):
        exc.field = f"{prefix}{exc.field}"
    return exc


def _hide_other_person(ctx: Context, principal: Principal, exc: YibaoError) -> YibaoError:
    """``DUPLICATE_PERSON_KEY`` names the holder: hide its number from a caller outside its regions."""
    existing = exc.details.get("existing")
    if exc.code != "DUPLICATE_PERSON_KEY" or not existing or existing == "?":
        return exc
    try:
        with ctx.service.sessions() as session:
            scope = person_scope(session, str(existing))
        visible = principal.serves_any(scope.regions)
    except YibaoError:
        visible = False
    if visible:
        return exc
    return YibaoError(exc.code, field=exc.field, **{**exc.details, "existing": "（其他统筹区 / another region）"})


@router.post(
    "/persons",
    tags=[PERSONS],
    summary="登记参保人 / register a person",
    description="以证件登记人员（至少一个证件；出生日期、性别由身份证号推导）。尚未参保的人员归属登记统筹区："
    "经办员只能登记到自己服务的统筹区。\n\nRegisters a person with documents. Until enrolled, the person belongs to the "
    "registration region, which must be one the clerk serves.",
    status_code=201,
    response_model=RegisteredOut,
    responses=errors(400, 401, 403, 409),
)
def register(body: RegisterIn, principal: Writer, ctx: Ctx) -> RegisteredOut:
    region = body.region
    if region is None:
        if principal.regions is None or len(principal.regions) != 1:
            raise YibaoError(REGION_REQUIRED, field="region")
        (region,) = principal.regions
    region = ctx.service.policy.check_region(region)
    check_region(principal, region, field="region")
    docs = [(d.cert_type, d.number, d.nationality) for d in body.documents]
    try:
        registered = ctx.service.register_person(
            by=principal.by, documents=docs, name=body.name, birth_date=body.birth_date, sex=body.sex, home_region=region
        )
    except YibaoError as exc:
        raise _hide_other_person(ctx, principal, exc) from None
    return RegisteredOut(psn_no=registered.psn_no, region=region, notices=present.notices(registered.notices))  # type: ignore[arg-type]


@router.get(
    "/persons",
    tags=[PERSONS],
    summary="按统筹区列出参保人（分页，证件号脱敏）/ persons of a region, paginated, numbers masked",
    description="不指定 region 时列出本账户服务的全部统筹区。列表中的证件号一律脱敏（管理员亦然）。\n\n"
    "Without `region`, every region the caller serves. Numbers are always masked in lists.",
    response_model=Page[PersonSummary],
    responses=errors(400, 401, 403),
)
def persons(
    principal: Reader,
    ctx: Ctx,
    paging: Pages,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$", description="统筹区 / pooling region")] = None,
) -> Page[PersonSummary]:
    wanted = list_regions(principal, region)
    with ctx.service.sessions() as session:
        rows, total = list_persons(session, wanted, paging.offset, paging.page_size)
    items = [
        PersonSummary(
            psn_no=r.person.psn_no, name=r.person.name, birth_date=r.person.birth_date, sex=r.person.sex, regions=r.regions,
            documents=[present.document(d.cert_type, d.number, d.nationality, d.valid_from, full=False) for d in r.documents],  # type: ignore[misc]
        )
        for r in rows
    ]
    return Page[PersonSummary](items=items, page=paging.page, page_size=paging.page_size, total=total)


@router.post(
    "/persons/search",
    tags=[PERSONS],
    summary="按证件查找参保人 / find a person by document",
    description="用 POST 以免证件号出现在 URL 和代理日志中。返回的证件号脱敏。\n\n"
    "POST keeps the number out of URLs and proxy logs. Numbers in the answer are masked.",
    response_model=PersonSummary,
    responses=errors(400, 401, 403, 404),
)
def search(body: SearchIn, principal: Reader, ctx: Ctx) -> PersonSummary:
    try:
        psn_no = ctx.service.find_person(body.cert_type, body.number, body.nationality)
    except YibaoError as exc:
        raise _document_error(exc, "") from None
    if psn_no is None:
        raise YibaoError(DOCUMENT_NOT_FOUND, field="number", cert_type=body.cert_type, number=mask(body.number))
    scope = visible_person(ctx, principal, psn_no)
    facts = ctx.service.facts(psn_no)
    return PersonSummary(
        psn_no=psn_no, name=facts.name, birth_date=facts.birth_date, sex=facts.sex, regions=sorted(scope.regions),
        documents=present.documents(facts.documents, full=False),  # type: ignore[arg-type]
    )


@router.get(
    "/persons/{psn_no}",
    tags=[PERSONS],
    summary="查看参保人（证件号仅对管理员完整显示）/ a person; numbers masked except for administrators",
    response_model=PersonOut,
    responses=errors(400, 401, 403, 404, 409),
)
def get_person(psn_no: PsnNoPath, principal: Reader, ctx: Ctx) -> PersonOut:
    scope = visible_person(ctx, principal, psn_no)
    facts = ctx.service.facts(psn_no)
    places = [PlaceOut(**_place(p)) for p in ctx.service.places(psn_no)]
    return PersonOut(**present.person(facts, scope.regions, ctx.service.today(), full=present.sees_full_numbers(principal)), places=places)


def _place(place) -> dict:
    return {k: getattr(place, k) for k in PlaceOut.model_fields}


@router.post(
    "/persons/{psn_no}/places",
    tags=[PERSONS],
    summary="登记就业地、常住地或学籍地 / record a place of employment, habitual residence or study",
    description="重复参保处理依据（R-DUP-002/003/004）：自 valid_from 起该类地点为 region；同类地点以生效日最晚者为准。"
    "任意有效的6位行政区划代码均可（不限本系统的统筹区）。\n\n"
    "What the duplicate rules decide on (R-DUP-002/003/004): from `valid_from` on the person's place of this kind is `region`; "
    "the latest `valid_from` in force wins. Any valid 6-digit division code (not only the regions with a policy pack).",
    status_code=201,
    response_model=PlaceOut,
    responses=errors(400, 401, 403, 404, 409),
)
def record_place(psn_no: PsnNoPath, body: PlaceIn, principal: Writer, ctx: Ctx) -> PlaceOut:
    visible_person(ctx, principal, psn_no)
    place = ctx.service.record_place(
        psn_no, body.kind, body.region, body.valid_from, by=principal.by, note=body.note, student_cause=body.student_cause,
    )
    return PlaceOut(**_place(place))


@router.get(
    "/persons/{psn_no}/places",
    tags=[PERSONS],
    summary="人员的就业地、常住地、学籍地 / a person's places of employment, habitual residence and study",
    description="当前有效（未撤销、未被替代）的地点记录，按类型、起始日期排序；as_known_on：按该日已知的记录（默认现在）。\n\n"
    "The current place rows (not withdrawn or superseded), by kind then `valid_from`; `as_known_on`: as known at the end of "
    "that day (default now).",
    response_model=list[PlaceOut],
    responses=errors(400, 401, 403, 404),
)
def list_places(
    psn_no: PsnNoPath, principal: Reader, ctx: Ctx,
    as_known_on: Annotated[Day | None, Query(description="YYYY-MM-DD（默认现在 / default now）")] = None,
) -> list[PlaceOut]:
    visible_person(ctx, principal, psn_no)
    return [PlaceOut(**_place(p)) for p in ctx.service.places(psn_no, as_known_on=as_known_on)]


@router.post(
    "/persons/{psn_no}/places/{place_id}/withdraw",
    tags=[PERSONS],
    summary="撤销误登记的地点 / withdraw a place recorded in error",
    description="原记录保留并标记为撤销（无替代记录），审计日志记录人、时间、理由；重复参保处理自此不再依据该地点。"
    "地点变更请登记新地点（起始日期较晚者为准），不必撤销。\n\n"
    "The row stays, marked withdrawn (no replacement); the audit log says who, when, why; the duplicate rules no longer "
    "use it. A place that changed is recorded anew (the latest `valid_from` wins), not withdrawn.",
    response_model=CorrectedOut,
    responses=errors(400, 401, 403, 404, 409),
)
def withdraw_place(psn_no: PsnNoPath, place_id: PlaceIdPath, body: PlaceWithdrawIn, principal: Writer, ctx: Ctx) -> CorrectedOut:
    visible_person(ctx, principal, psn_no)
    ctx.service.withdraw_place(psn_no, place_id, by=principal.by, reason=body.reason)
    return CorrectedOut(psn_no=psn_no, table=PlaceRow.__tablename__, row_id=place_id, replacement_id=None)


@router.post(
    "/persons/{psn_no}/documents",
    tags=[PERSONS],
    summary="增加证件 / add a document",
    status_code=201,
    response_model=OkOut,
    responses=errors(400, 401, 403, 404, 409),
)
def add_document(psn_no: PsnNoPath, body: DocumentIn, principal: Writer, ctx: Ctx) -> OkOut:
    visible_person(ctx, principal, psn_no)
    try:
        ctx.service.add_document(psn_no, by=principal.by, cert_type=body.cert_type, number=body.number, nationality=body.nationality)
    except YibaoError as exc:
        raise _hide_other_person(ctx, principal, _document_error(exc, "")) from None
    return OkOut(psn_no=psn_no)


@router.post(
    "/persons/{psn_no}/merge",
    tags=[PERSONS],
    summary="人员多号合并（管理员）/ merge another person into this one (administrator)",
    description="absorb 的全部证件、参保关系与缴费明细转入本人员，并记审计日志（R-ID-005）。\n\n"
    "Every document, relation and line of `absorb` moves to this person, audited (R-ID-005).",
    response_model=OkOut,
    responses=errors(400, 401, 403, 404, 409),
)
def merge(psn_no: PsnNoPath, body: MergeIn, principal: Admin, ctx: Ctx) -> OkOut:
    visible_person(ctx, principal, psn_no)
    visible_person(ctx, principal, body.absorb)
    ctx.service.merge_persons(psn_no, body.absorb, by=principal.by, reason=body.reason)
    return OkOut(psn_no=psn_no)


@router.post(
    "/persons/{psn_no}/death",
    tags=[PERSONS],
    summary="登记死亡 / record a death",
    response_model=OkOut,
    responses=errors(400, 401, 403, 404, 409),
)
def death(psn_no: PsnNoPath, body: DeathIn, principal: Writer, ctx: Ctx) -> OkOut:
    visible_person(ctx, principal, psn_no)
    ctx.service.record_death(psn_no, body.death_date, by=principal.by)
    return OkOut(psn_no=psn_no)


# ------------------------------------------------------------------------------------------- relations


@router.post(
    "/persons/{psn_no}/relations",
    tags=[RELATIONS],
    summary="参保登记：建立参保关系 / enroll: open a relation",
    description="校验险种、人员类别、统筹区与单位代码（R-CODE-001/002）；可能的重复参保作为提示返回（R-ENR-002）。"
    "经办员只能在自己服务的统筹区建立参保关系。\n\nCodes are checked; a possible duplicate enrollment is a notice. "
    "A clerk enrolls only into a region it serves.",
    status_code=201,
    response_model=EnrolledOut,
    responses=errors(400, 401, 403, 404, 409),
)
def enroll(psn_no: PsnNoPath, body: EnrollIn, principal: Writer, ctx: Ctx) -> EnrolledOut:
    visible_person(ctx, principal, psn_no)
    check_region(principal, body.region, field="region")
    decision = ctx.service.enroll(
        psn_no, by=principal.by, insutype=body.insutype, region=body.region, psn_type=body.psn_type, start=body.start,
        employer=body.employer, monthly_wage=body.monthly_wage, relation_id=body.relation_id,
    )
    return EnrolledOut(psn_no=psn_no, relation_id=decision.value, notices=present.notices(decision.notices))  # type: ignore[arg-type]


def _status(ctx: Context, principal: Principal, psn_no: str, relation_id: str, action: str, body: SuspendIn | RestoreIn) -> StatusOut:
    scope = visible_person(ctx, principal, psn_no)
    check_relation(principal, scope, relation_id)
    svc = ctx.service
    if action == "suspend":
        assert isinstance(body, SuspendIn)
        svc.suspend(psn_no, relation_id, by=principal.by, effective=body.effective, reason=body.reason, note=body.note)
        status = "2"
    elif action == "terminate":
        assert isinstance(body, SuspendIn)
        svc.terminate(psn_no, relation_id, by=principal.by, effective=body.effective, reason=body.reason, note=body.note)
        status = "4"
    else:
        svc.restore(psn_no, relation_id, by=principal.by, effective=body.effective, note=body.note)
        status = "1"
    return StatusOut(psn_no=psn_no, relation_id=relation_id, status=status, effective=body.effective)


_STATUS_DOC = "状态机 R-CODE-003：1 正常 ⇄ 2 暂停，1/2 → 4 终止（终止不可逆，TERMINATED_IS_FINAL）；变更只能向后。\n\n" \
    "R-CODE-003: 1 normal ⇄ 2 suspended, 1/2 → 4 terminated (final); changes go forward in time."


@router.post(
    "/persons/{psn_no}/relations/{relation_id}/suspend",
    tags=[RELATIONS],
    summary="暂停参保关系 / suspend a relation",
    description=_STATUS_DOC,
    response_model=StatusOut,
    responses=errors(400, 401, 403, 404, 409),
)
def suspend(psn_no: PsnNoPath, relation_id: RelationPath, body: SuspendIn, principal: Writer, ctx: Ctx) -> StatusOut:
    return _status(ctx, principal, psn_no, relation_id, "suspend", body)


@router.post(
    "/persons/{psn_no}/relations/{relation_id}/restore",
    tags=[RELATIONS],
    summary="恢复参保关系 / restore a relation",
    description=_STATUS_DOC,
    response_model=StatusOut,
    responses=errors(400, 401, 403, 404, 409),
)
def restore(psn_no: PsnNoPath, relation_id: RelationPath, body: RestoreIn, principal: Writer, ctx: Ctx) -> StatusOut:
    return _status(ctx, principal, psn_no, relation_id, "restore", body)


@router.post(
    "/persons/{psn_no}/relations/{relation_id}/terminate",
    tags=[RELATIONS],
    summary="终止参保关系 / terminate a relation",
    description=_STATUS_DOC,
    response_model=StatusOut,
    responses=errors(400, 401, 403, 404, 409),
)
def terminate(psn_no: PsnNoPath, relation_id: RelationPath, body: SuspendIn, principal: Writer, ctx: Ctx) -> StatusOut:
    return _status(ctx, principal, psn_no, relation_id, "terminate", body)
