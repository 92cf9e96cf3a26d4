"""转移接续、退费、退休、个人账户、更正 / transfers, refunds, retirement, the personal account, and
corrections — the remaining use cases of the records service (issue 3).

Writes need a clerk or an administrator (``Writer``), reads any role (``Reader``). Region isolation
as everywhere (``api/access.py``): the person must share a region with the caller (else 403
``REGION_FORBIDDEN``), and a change of one relation needs that relation's region — the sending
relation for a transfer-out, the receiving one for the transfer-in, the refunded relation for a
refund and its decision.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from yibao.dates import YearMonth

from .. import present, present_cases
from ..access import PersonScope, check_relation
from ..case_schemas import (
    CorrectedOut,
    DeathCorrectionIn,
    RefundDecisionIn,
    RefundIn,
    RefundOut,
    RetireIn,
    StatusCorrectionIn,
    TransferInIn,
    TransferOutIn,
    TransferStepOut,
    WageCorrectionIn,
)
from ..deps import Ctx, Reader, Writer, visible_person
from ..schemas import BackpaymentIn, Day, DecisionOut, errors
from ..security import Principal
from .persons import PsnNoPath, RelationPath

router = APIRouter(prefix="/api/v1")
TRANSFERS = "转移接续 transfers"
REFUNDS = "退费 refunds"
RETIREMENT = "退休 retirement"
ACCOUNT = "个人账户 account"
CORRECTIONS = "更正 corrections"

CaseNo = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$", description="业务编号 / case number")]
DayQuery = Annotated[Day | None, Query(description="YYYY-MM-DD（默认今天 / default today）")]
WRITE_ERRORS = errors(400, 401, 403, 404, 409)


# ------------------------------------------------------------------------------------ transfers


@router.post(
    "/persons/{psn_no}/transfers",
    tags=[TRANSFERS],
    summary="转出：受理转移接续申请（工作日办结期限、累计年限、账户余额）/ transfer out: accept a transfer application",
    description="R-XFER-001：转出地关系须已停止（或以 terminate_on 同时终止，原因 TRANSFER_OUT，状态机 R-CODE-003），转入地须已参保；"
    "R-XFER-002：按法定工作日（含调休）计算 10 个工作日办结期限，未载入的年份返回 CALENDAR_YEAR_UNKNOWN；R-XFER-003 累计年限；"
    "R-XFER-004 / R-ACCT-006 个人账户余额随转。经办员须服务转出地。\n\n"
    "The sending relation must have stopped (or is terminated here), the receiving one must exist; the deadline counts official "
    "working days; cumulative months and the account balance are carried. The clerk must serve the sending region.",
    status_code=201,
    response_model=DecisionOut,
    responses=WRITE_ERRORS,
)
def transfer_out(psn_no: PsnNoPath, body: TransferOutIn, principal: Writer, ctx: Ctx) -> DecisionOut:
    scope = visible_person(ctx, principal, psn_no)
    check_relation(principal, scope, body.relation_id)
    d = ctx.service.transfer_out(
        psn_no, body.relation_id, by=principal.by, receiving_relation_id=body.receiving_relation_id, accepted_on=body.accepted_on,
        terminate_on=body.terminate_on, account_balance=body.account_balance,
    )
    return DecisionOut(**present.decision(d))


@router.post(
    "/persons/{psn_no}/transfers/{transfer_no}/in",
    tags=[TRANSFERS],
    summary="转入：收到参保信息表，办结转入并对账记入账户余额 / transfer in: the form arrived; reconcile and credit",
    description="R-XFER-002：收到信息表后 5 个工作日办结；R-XFER-004：资金与信息表一致才记入个人账户，否则暂挂（XFER_SUSPENSE）。"
    "经办员须服务转入地。\n\nDue within 5 working days of the form; the balance is credited only when the money matches the "
    "form, else held in suspense. The clerk must serve the receiving region.",
    status_code=201,
    response_model=DecisionOut,
    responses=WRITE_ERRORS,
)
def transfer_in(psn_no: PsnNoPath, transfer_no: CaseNo, body: TransferInIn, principal: Writer, ctx: Ctx) -> DecisionOut:
    scope = visible_person(ctx, principal, psn_no)
    out = next((s for s in ctx.service.transfers(psn_no) if s.transfer_no == transfer_no and s.step == "OUT"), None)
    if out is not None and out.other_relation_id:
        check_relation(principal, scope, out.other_relation_id, field="transfer_no")
    d = ctx.service.transfer_in(
        psn_no, transfer_no, by=principal.by, form_received_on=body.form_received_on, remitted_amount=body.remitted_amount,
        money_received_on=body.money_received_on,
    )
    return DecisionOut(**present.decision(d))


@router.get(
    "/persons/{psn_no}/transfers",
    tags=[TRANSFERS],
    summary="转移接续记录 / a person's transfer steps",
    response_model=list[TransferStepOut],
    responses=errors(400, 401, 403, 404),
)
def list_transfers(psn_no: PsnNoPath, principal: Reader, ctx: Ctx) -> list[TransferStepOut]:
    visible_person(ctx, principal, psn_no)
    return [TransferStepOut(**present_cases.transfer(s)) for s in ctx.service.transfers(psn_no)]


# ------------------------------------------------------------------------------------ refunds


def _refund_scope(ctx: Ctx, principal: Principal, scope: PersonScope, psn_no: str, refund_no: str) -> None:
    case = next((r for r in ctx.service.refunds(psn_no) if r.refund_no == refund_no), None)
    if case is not None:
        check_relation(principal, scope, case.relation_id, field="refund_no")


@router.post(
    "/persons/{psn_no}/refunds",
    tags=[REFUNDS],
    summary="退费申请：按规则计算可退金额、退回渠道及依据 / apply for a refund: what is refundable, to which channel, why",
    description="R-REF-001/002 居民重复参保（须先终止或暂停该关系）；R-REF-003 灵活就业预缴后单位参保；R-REF-005 死亡后退继承人。"
    "无可退金额时返回 REFUND_NOTHING 及原因。申请不记录退费明细，审核批准后才记录。\n\n"
    "Resident duplicates (terminate or suspend first), flexible prepayments, death. Nothing refundable → REFUND_NOTHING with the "
    "rule's reason. Refund lines are posted only when the application is approved.",
    status_code=201,
    response_model=DecisionOut,
    responses=WRITE_ERRORS,
)
def apply_refund(psn_no: PsnNoPath, body: RefundIn, principal: Writer, ctx: Ctx) -> DecisionOut:
    scope = visible_person(ctx, principal, psn_no)
    check_relation(principal, scope, body.relation_id)
    first = YearMonth.parse(body.first_unit_month, field="first_unit_month") if body.first_unit_month else None
    d = ctx.service.apply_refund(psn_no, body.relation_id, by=principal.by, rule=body.rule, event_date=body.event_date, year=body.year,
                                 first_unit_month=first)
    return DecisionOut(**present.decision(d))


@router.post(
    "/persons/{psn_no}/refunds/{refund_no}/decision",
    tags=[REFUNDS],
    summary="退费审核：批准（记录退费明细）或驳回，须说明理由 / decide a refund: approve (post refund lines) or reject, with a reason",
    description="每个申请只能审核一次（REFUND_ALREADY_DECIDED）；批准时按当前缴费记录复核，缴费已变化返回 REFUND_STALE。\n\n"
    "Decided once; an approval re-checks the refund against the contributions now (REFUND_STALE if they changed).",
    response_model=DecisionOut,
    responses=WRITE_ERRORS,
)
def decide_refund(psn_no: PsnNoPath, refund_no: CaseNo, body: RefundDecisionIn, principal: Writer, ctx: Ctx) -> DecisionOut:
    scope = visible_person(ctx, principal, psn_no)
    _refund_scope(ctx, principal, scope, psn_no, refund_no)
    d = ctx.service.decide_refund(psn_no, refund_no, by=principal.by, approve=body.approve, reason=body.reason)
    return DecisionOut(**present.decision(d))


@router.get(
    "/persons/{psn_no}/refunds",
    tags=[REFUNDS],
    summary="退费申请及审核结果 / a person's refund applications and decisions",
    response_model=list[RefundOut],
    responses=errors(400, 401, 403, 404),
)
def list_refunds(psn_no: PsnNoPath, principal: Reader, ctx: Ctx) -> list[RefundOut]:
    visible_person(ctx, principal, psn_no)
    return [RefundOut(**present_cases.refund(r)) for r in ctx.service.refunds(psn_no)]


# ------------------------------------------------------------------------------------ retirement


@router.get(
    "/persons/{psn_no}/relations/{relation_id}/retirement",
    tags=[RETIREMENT],
    summary="退休审核：累计缴费年限、最低年限及一次性补缴金额 / retirement review: cumulative years, minimum, top-up",
    description="R-XFER-003 跨统筹区累计（重复月份只计一次）；R-RET-001 最低缴费年限；不足时 R-RET-002 一次性补缴报价。\n\n"
    "Cumulative months across regions, the region's minimum, and the lump sum that makes up a shortfall on `on`.",
    response_model=DecisionOut,
    responses=errors(400, 401, 403, 404),
)
def retirement_review(psn_no: PsnNoPath, relation_id: RelationPath, principal: Reader, ctx: Ctx, on: DayQuery = None) -> DecisionOut:
    visible_person(ctx, principal, psn_no)
    return DecisionOut(**present.decision(ctx.service.retirement_review(psn_no, relation_id, on or ctx.service.today())))


@router.post(
    "/persons/{psn_no}/relations/{relation_id}/retirement-topup",
    tags=[RETIREMENT],
    summary="记录退休一次性补缴（趸缴，payment_key 幂等）/ post the retirement lump-sum top-up, idempotent by payment_key",
    description="按 pay_on 报价并记录一条类型 33 的趸缴明细（months_credited = 差额月数）；同一 payment_key 重复提交只记录一次。\n\n"
    "Quotes on `pay_on` and posts one lump-sum line (kind 33, months_credited = the shortfall); the same key twice records once.",
    response_model=DecisionOut,
    responses=WRITE_ERRORS,
)
def retirement_topup(psn_no: PsnNoPath, relation_id: RelationPath, body: BackpaymentIn, principal: Writer, ctx: Ctx) -> DecisionOut:
    scope = visible_person(ctx, principal, psn_no)
    check_relation(principal, scope, relation_id)
    d = ctx.service.post_retirement_topup(psn_no, relation_id, by=principal.by, pay_on=body.pay_on, payment_key=body.payment_key)
    return DecisionOut(**present.decision(d))


@router.post(
    "/persons/{psn_no}/relations/{relation_id}/retire",
    tags=[RETIREMENT],
    summary="办理退休：职工关系转为退休人员关系 / retire: the employee relation becomes a retiree relation",
    description="达到最低缴费年限后（否则 RET_YEARS_SHORT，须先补缴），自 retired_on 起按退休人员（人员类别 12xx）享受待遇、不再缴费（R-RET-003）。\n\n"
    "Once the minimum years are met (else RET_YEARS_SHORT), the relation is a retiree relation from `retired_on` (R-RET-003).",
    status_code=201,
    response_model=DecisionOut,
    responses=WRITE_ERRORS,
)
def retire(psn_no: PsnNoPath, relation_id: RelationPath, body: RetireIn, principal: Writer, ctx: Ctx) -> DecisionOut:
    scope = visible_person(ctx, principal, psn_no)
    check_relation(principal, scope, relation_id)
    return DecisionOut(**present.decision(ctx.service.retire(psn_no, relation_id, by=principal.by, retired_on=body.retired_on)))


# ------------------------------------------------------------------------------------ account


@router.get(
    "/persons/{psn_no}/account",
    tags=[ACCOUNT],
    summary="个人账户余额及收支明细 / the personal account balance on a day and its movements",
    description="缴费划入（R-ACCT-001/002，补缴按 R-ACCT-003）、退费冲回、转移转出与转入（R-ACCT-006 / R-XFER-004），每笔附规则编号。\n\n"
    "Credits of paid months, reversals by refunds, balances moved by transfers, each with its rule.",
    response_model=DecisionOut,
    responses=errors(400, 401, 403, 404),
)
def account(psn_no: PsnNoPath, principal: Reader, ctx: Ctx, on: DayQuery = None) -> DecisionOut:
    visible_person(ctx, principal, psn_no)
    return DecisionOut(**present.decision(ctx.service.account(psn_no, on or ctx.service.today())))


# ------------------------------------------------------------------------------------ corrections


@router.post(
    "/persons/{psn_no}/relations/{relation_id}/status-corrections",
    tags=[CORRECTIONS],
    summary="更正参保状态变更（替代记录，保留原记录）/ correct a status change by a superseding row",
    description="更正后的状态历史须符合状态机（R-CODE-003）；原记录保留并标记，审计日志记录人、时间、理由。\n\n"
    "The corrected history must follow the status machine; the old row stays, marked; the audit log says who, when, why.",
    response_model=CorrectedOut,
    responses=WRITE_ERRORS,
)
def correct_status(psn_no: PsnNoPath, relation_id: RelationPath, body: StatusCorrectionIn, principal: Writer, ctx: Ctx) -> CorrectedOut:
    scope = visible_person(ctx, principal, psn_no)
    check_relation(principal, scope, relation_id)
    c = ctx.service.correct_status_change(
        psn_no, relation_id, body.effective, by=principal.by, reason=body.reason, new_effective=body.new_effective,
        new_status=body.new_status, new_reason=body.new_reason, withdraw=body.withdraw,
    )
    return CorrectedOut(**present_cases.corrected(c))


@router.post(
    "/persons/{psn_no}/relations/{relation_id}/wage-corrections",
    tags=[CORRECTIONS],
    summary="更正申报工资 / correct a declared wage",
    response_model=CorrectedOut,
    responses=WRITE_ERRORS,
)
def correct_wage(psn_no: PsnNoPath, relation_id: RelationPath, body: WageCorrectionIn, principal: Writer, ctx: Ctx) -> CorrectedOut:
    scope = visible_person(ctx, principal, psn_no)
    check_relation(principal, scope, relation_id)
    month = YearMonth.parse(body.from_month, field="from_month")
    c = ctx.service.correct_wage(psn_no, relation_id, month, by=principal.by, reason=body.reason, monthly_wage=body.monthly_wage)
    return CorrectedOut(**present_cases.corrected(c))


@router.post(
    "/persons/{psn_no}/death/correction",
    tags=[CORRECTIONS],
    summary="更正或撤销死亡登记 / correct or withdraw a recorded death",
    response_model=CorrectedOut,
    responses=WRITE_ERRORS,
)
def correct_death(psn_no: PsnNoPath, body: DeathCorrectionIn, principal: Writer, ctx: Ctx) -> CorrectedOut:
    visible_person(ctx, principal, psn_no)
    c = ctx.service.correct_death(psn_no, by=principal.by, reason=body.reason, death_date=body.death_date)
    return CorrectedOut(**present_cases.corrected(c))


__all__ = ["router"]
