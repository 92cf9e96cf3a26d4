"""缴费与待遇 / contributions, quotes, back-payments, the timeline, what is due, and the hospital-facing
coverage lookup."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select, true
from starlette.concurrency import run_in_threadpool
from pydantic import AfterValidator

from yibao.dates import YearMonth, parse_month_range
from yibao.errors import YibaoError
from yibao.ids import mask
from yibao.model import ContributionLine
from yibao.rules.entitlement import answer_coverage

from .. import present
from ..access import PersonScope, check_person, check_relation
from yibao.store import projection

from ..deps import READERS, Credentials, Ctx, Pages, Reader, Writer, authenticate, check_role, context, visible_person
from ..errors import AUTH_REQUIRED, DOCUMENT_NOT_FOUND, MONTH_RANGE_TOO_LONG
from ..security import AUTHENTICATE
from ..schemas import (
    MAX_DAY,
    MIN_DAY,
    BackpaymentIn,
    CoverageOut,
    Day,
    DecisionOut,
    LineOut,
    LinesIn,
    Page,
    PostedOut,
    TimelineOut,
    errors,
    no_control,
)
from .persons import PsnNoPath, _document_error

router = APIRouter(prefix="/api/v1")
MONEY = "缴费 contributions"
QUERIES = "待遇查询 entitlement"
MAX_MONTHS = 240

DayQuery = Annotated[Day | None, Query(description="YYYY-MM-DD（1900–2099）")]
Plain = AfterValidator(no_control)


def _day(value: date | None, default: date) -> date:
    return value if value is not None else default


@router.post(
    "/persons/{psn_no}/contributions",
    tags=[MONEY],
    summary="记录缴费明细（幂等）/ post contribution lines, idempotent",
    description="每条明细可带幂等键 key：同一键、同一内容重复提交只记录一次（new=0）；同一键、不同内容返回 409 "
    "IDEMPOTENCY_CONFLICT。不带 key 时按内容生成确定的键。全部校验通过才写入。经办员只能为自己统筹区的参保关系记账。\n\n"
    "Lines with the same key and content are recorded once; a key reused for other content is 409. Without a key, a "
    "deterministic one is derived. All or nothing. A clerk posts only to relations of its regions.",
    response_model=PostedOut,
    responses=errors(400, 401, 403, 404, 409),
)
def post_lines(psn_no: PsnNoPath, body: LinesIn, principal: Writer, ctx: Ctx) -> PostedOut:
    scope = visible_person(ctx, principal, psn_no)
    lines = []
    for i, l in enumerate(body.lines):
        check_relation(principal, scope, l.relation_id, field=f"lines.{i}.relation_id")
        lines.append(
            ContributionLine(
                l.relation_id, l.kind, l.payer, l.paid_on, l.amount,
                month=YearMonth.parse(l.month, field=f"lines.{i}.month") if l.month else None,
                benefit_year=l.benefit_year, fund=l.fund, base=l.base, months_credited=l.months_credited, key=l.key,
            )
        )
    posted = ctx.service.record_contributions(psn_no, lines, by=principal.by)
    return PostedOut(psn_no=psn_no, keys=list(posted.keys), new=posted.new)


@router.get(
    "/persons/{psn_no}/contributions",
    tags=[MONEY],
    summary="缴费明细列表（分页）/ a person's contribution lines, paginated",
    description="当前有效的明细（已更正的不列出），按缴费日期、所属期排序。\n\nCurrent lines (corrected ones left out), by payment date and period.",
    response_model=Page[LineOut],
    responses=errors(400, 401, 403, 404, 409),
)
def list_lines(psn_no: PsnNoPath, principal: Reader, ctx: Ctx, paging: Pages) -> Page[LineOut]:
    visible_person(ctx, principal, psn_no)
    lines = sorted(ctx.service.facts(psn_no).contributions, key=present.line_order)
    page = lines[paging.offset : paging.offset + paging.page_size]
    return Page[LineOut](items=[LineOut(**present.line(l)) for l in page], page=paging.page, page_size=paging.page_size, total=len(lines))


@router.get(
    "/persons/{psn_no}/quote",
    tags=[MONEY],
    summary="缴费报价：应缴（含补缴）金额及缴费后的待遇开始日 / what to pay on a day, and what it buys",
    response_model=DecisionOut,
    responses=errors(400, 401, 403, 404, 409),
)
def get_quote(psn_no: PsnNoPath, principal: Reader, ctx: Ctx, pay_on: DayQuery = None) -> DecisionOut:
    visible_person(ctx, principal, psn_no)
    decision = ctx.service.quote(psn_no, _day(pay_on, ctx.service.today()))
    return DecisionOut(**present.decision(decision))


@router.post(
    "/persons/{psn_no}/backpayments",
    tags=[MONEY],
    summary="按报价记录补缴/当期缴费（payment_key 幂等）/ post the quoted (back-)payment, idempotent by payment_key",
    description="先按 pay_on 报价，再原样记录报价中的明细；同一 payment_key 重复提交只记录一次。"
    "经办员只能为自己统筹区的参保关系缴费。\n\nQuotes for `pay_on`, then records exactly the quoted lines; the same "
    "`payment_key` twice records once. A clerk pays only into relations of its regions.",
    response_model=PostedOut,
    responses=errors(400, 401, 403, 404, 409),
)
def post_backpayment(psn_no: PsnNoPath, body: BackpaymentIn, principal: Writer, ctx: Ctx) -> PostedOut:
    scope = visible_person(ctx, principal, psn_no)
    if principal.regions is not None:  # every relation the payment goes to must be in the caller's regions
        try:
            quoted = ctx.service.quote(psn_no, body.pay_on).value.items
        except YibaoError:
            quoted = ()  # the service gives the same answer below (or repeats an earlier posting)
        for item in quoted:
            check_relation(principal, scope, item.relation_id, field="payment_key")
    posted = ctx.service.post_backpayment(psn_no, body.pay_on, by=principal.by, payment_key=body.payment_key)
    return PostedOut(psn_no=psn_no, keys=list(posted.keys), new=posted.new, quote=posted.quote.to_dict() if posted.quote else None)


@router.get(
    "/persons/{psn_no}/timeline",
    tags=[QUERIES],
    summary="待遇享受期时间线（含依据与出处）/ the benefit timeline, with reasons and citations",
    description="on：查询日（默认今天）；as_known_on：按该日已知的信息（默认今天）；grid=true 附月度明细。\n\n"
    "`on`: the day asked about; `as_known_on`: what was known by then (both default to today); `grid=true` adds the month grid.",
    response_model=TimelineOut,
    responses=errors(400, 401, 403, 404, 409),
)
def timeline(
    psn_no: PsnNoPath,
    principal: Reader,
    ctx: Ctx,
    on: DayQuery = None,
    as_known_on: DayQuery = None,
    grid: bool = False,
) -> TimelineOut:
    visible_person(ctx, principal, psn_no)
    today = ctx.service.today()
    day, k = _day(on, today), _day(as_known_on, today)
    t = ctx.service.timeline(psn_no, as_known_on=k)
    return TimelineOut(**present.timeline(psn_no, t, answer_coverage(t, day), day, k, grid=grid))


@router.get(
    "/persons/{psn_no}/contributions-due",
    tags=[MONEY],
    summary="应缴费用 / contributions due for a range of months",
    description="months：费款所属期范围，如 2025-01..2025-12（最多 240 个月）。\n\n`months`: e.g. 2025-01..2025-12 (at most 240 months).",
    response_model=DecisionOut,
    responses=errors(400, 401, 403, 404, 409),
)
def contributions_due(
    psn_no: PsnNoPath,
    principal: Reader,
    ctx: Ctx,
    months: Annotated[str, Query(min_length=4, max_length=20, description="YYYY-MM..YYYY-MM"), Plain],
    as_known_on: DayQuery = None,
) -> DecisionOut:
    first, last = parse_month_range(months, field="months")
    if (last - first) + 1 > MAX_MONTHS or first.year < MIN_DAY.year or last.year > MAX_DAY.year:
        raise YibaoError(MONTH_RANGE_TOO_LONG, field="months", value=months, limit=MAX_MONTHS)
    visible_person(ctx, principal, psn_no)
    decision = ctx.service.contributions_due(psn_no, first, last, as_known_on=as_known_on)
    return DecisionOut(**present.decision(decision))


@router.get(
    "/coverage",
    tags=[QUERIES],
    summary="参保待遇查询：某人某日是否享受待遇、在哪个参保关系下（医院端）/ is X covered on D, under which relation",
    description="按证件查人，返回 on 日（默认今天）是否享受待遇、参保关系、险种、统筹区、待遇期及依据。"
    "证件号只在日志中脱敏记录。\n\nFinds the person by document and answers whether they are covered on `on` (default "
    "today), under which relation, with the reasons. The number is masked in logs.",
    response_model=CoverageOut,
    responses=errors(400, 401, 403, 404, 409),
)
async def coverage(
    request: Request,
    credentials: Credentials,
    cert_type: Annotated[str, Query(min_length=1, max_length=6, description="证件类型 / document type, e.g. 01"), Plain],
    number: Annotated[str, Query(min_length=1, max_length=64, description="证件号码 / document number"), Plain],
    nationality: Annotated[str | None, Query(min_length=2, max_length=3, pattern=r"^[A-Za-z]+$")] = None,
    on: DayQuery = None,
    as_known_on: DayQuery = None,
) -> Response:
    # The hospital path: authentication, lookup and answer in one trip to the thread pool, and the
    # response written once (no second validation of the model FastAPI would otherwise run).
    body = await run_in_threadpool(_coverage, request, credentials, cert_type, number, nationality, on, as_known_on)
    return Response(body, media_type="application/json")


_AUTH = AUTHENTICATE.subquery("auth")
_HOLDER = projection.BY_DOCUMENT.subquery("holder")
_AUTH_WIDTH = len(_AUTH.c)
# The token row and the document's holder with its coverage projection, in one statement (a left join
# on true: the holder's columns are NULL when nobody holds the document).
_COVERAGE_LOOKUP = select(_AUTH, _HOLDER).select_from(_AUTH.outerjoin(_HOLDER, true()))


def _coverage(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    cert_type: str,
    number: str,
    nationality: str | None,
    on: date | None,
    as_known_on: date | None,
) -> bytes:
    ctx = context(request)
    if credentials is None or not credentials.credentials:
        raise YibaoError(AUTH_REQUIRED, field="authorization")
    hashed = ctx.access.token_key(credentials.credentials)
    try:
        key = ctx.service.document_lookup_key(cert_type, number, nationality)
    except YibaoError as exc:
        check_role(authenticate(request, credentials), READERS)  # a bad token is answered before a bad number
        raise _document_error(exc, "") from None
    with ctx.service.lookups.connect() as connection:  # the token and the document in one round trip
        row = connection.execute(_COVERAGE_LOOKUP, {"token_hash": hashed, **key}).first()
    principal = check_role(ctx.access.principal_from(row), READERS)
    request.state.principal = principal
    today = ctx.service.today()
    day, k = _day(on, today), _day(as_known_on, today)
    found = projection.found_from(tuple(row)[_AUTH_WIDTH:]) if row is not None else None
    if found is None:
        raise YibaoError(DOCUMENT_NOT_FOUND, field="number", cert_type=cert_type, number=mask(number))
    if found.usable_on(today) and found.regions and not found.merged:  # the region rule from the same indexed row
        check_person(principal, PersonScope(found.psn_no, found.psn_no, found.regions, {}, None))
    else:
        visible_person(ctx, principal, found.psn_no)
    answer = ctx.service.coverage_of_found(found, day, as_known_on=k)
    return CoverageOut(**present.coverage(answer.psn_no, answer.answer, k)).model_dump_json().encode()


__all__ = ["router"]
