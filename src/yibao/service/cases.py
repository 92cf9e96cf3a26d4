"""The remaining use cases of the records service (issue 3): transfers, refunds, retirement, the
personal account, corrections.

A mixin of :class:`yibao.service.records.RecordsService`: every write runs in ``self._tx()`` (one
transaction, the person locked, validated before anything is written, nothing written on error) and
every row written carries the person's ``psn_no``. The rules decide; this module gathers their inputs
from the stored facts and records the outcome:

* **Transfer** (转移接续, R-XFER-001…004, R-ACCT-006): :meth:`transfer_out` at the sending region —
  the relation must have stopped (or is terminated here with reason ``TRANSFER_OUT`` through the
  status machine, R-CODE-003), the receiving relation must exist; the deadline is counted in official
  working days (``CALENDAR_YEAR_UNKNOWN`` for a year whose calendar is not loaded); the account
  balance and the cumulative months are carried. :meth:`transfer_in` at the receiving region.
* **Refund** (退费, R-REF-001/002/003/005): :meth:`apply_refund` stores what the rule makes
  refundable, by payer and channel; :meth:`decide_refund` approves (posts refund lines, kind 20,
  negative, which the timeline and the rules net out) or rejects, once, with a reason.
* **Retirement** (R-RET-001…003, R-XFER-003): :meth:`retirement_review`, :meth:`post_retirement_topup`
  (lump sum, kind 33, idempotent by key) and :meth:`retire` (a ``RETIRED`` life event: the fact the
  timeline reads to turn the 310 relation into a retiree relation).
* **Account** (个人账户, R-ACCT-001/003/006, R-XFER-004): :meth:`account` — balance on a day and movements.
* **Corrections**: :meth:`correct_status_change`, :meth:`correct_death`, :meth:`correct_wage` —
  superseding rows with who, when and why (``repository.supersede_fact``).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.codes import ContributionKind, InsuStatus, InsuType, PsnType, Scheme
from yibao.dates import YearMonth
from yibao.errors import INVALID_INPUT, Notice, YibaoError, define
from yibao.explain import Decision, Reason, Record, reason
from yibao.model import (
    ContributionLine,
    EventKind,
    LifeEvent,
    PayerType,
    PersonFacts,
    StatusChange,
    StatusReason,
)
from yibao.money import ZERO, sum_lines
from yibao.rules import account as acct
from yibao.rules import refund as ref
from yibao.rules import transfer as xfer
from yibao.rules.entitlement import build_timeline
from yibao.rules.retirement import (
    CumulativeMonths,
    RetirementCheck,
    TopUpQuote,
    cumulative_months,
    retirement_check,
    topup_quote,
)
from yibao.rules.status import check_transition, check_transitions
from yibao.store import repository as repo
from yibao.store.case_models import (
    RefundApplicationRow,
    RefundDecisionRow,
    TransferStepRow,
)
from yibao.store.errors import IDEMPOTENCY_CONFLICT, REASON_REQUIRED
from yibao.store.models import (
    DeathRow,
    EnrollmentRow,
    LineRow,
    StatusChangeRow,
    WageRow,
)
from yibao.store.types import check_money
from yibao.service.common import (
    AFTER_DEATH,
    AFTER_DEATH_FUTURE,
    BEFORE_RELATION_START,
    DEATH_BEFORE_BIRTH,
    EMPTY_PAYMENT,
    MAX_BY,
    MAX_KEY,
    STATUS_DATE_ORDER,
    _check_length,
    _lock_person,
    _relation,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from yibao.policy import Policy

TRANSFER_NOT_FOUND = define("TRANSFER_NOT_FOUND", "未找到转移申请 {transfer_no}", "no transfer {transfer_no}")
TRANSFER_EXISTS = define(
    "TRANSFER_EXISTS",
    "参保关系 {relation} 已有转移申请 {transfer_no}",
    "relation {relation} already has the transfer {transfer_no}",
)
TRANSFER_ALREADY_IN = define("TRANSFER_ALREADY_IN", "转移 {transfer_no} 已办理转入", "the transfer {transfer_no} was already received")
TRANSFER_NOT_POSSIBLE = define(
    "TRANSFER_NOT_POSSIBLE",
    "不能办理转移接续（R-XFER-001）：{why}",
    "no transfer is possible (R-XFER-001): {why_en}",
)
REFUND_NOT_FOUND = define("REFUND_NOT_FOUND", "未找到退费申请 {refund_no}", "no refund application {refund_no}")
REFUND_ALREADY_DECIDED = define(
    "REFUND_ALREADY_DECIDED",
    "退费申请 {refund_no} 已于 {on} 审核（{outcome}）",
    "the refund application {refund_no} was decided on {on} ({outcome})",
)
REFUND_NOTHING = define("REFUND_NOTHING", "按 {rule} 无可退金额：{why}", "nothing is refundable under {rule}: {why_en}")
REFUND_RULE_MISMATCH = define(
    "REFUND_RULE_MISMATCH",
    "{rule} 不适用于该参保关系：{why}",
    "{rule} does not apply to this relation: {why_en}",
)
REFUND_RELATION_ACTIVE = define(
    "REFUND_RELATION_ACTIVE",
    "参保关系 {relation} 仍为正常状态：须先终止（或暂停）该关系再申请退费（R-REF-001/002）",
    "relation {relation} is still normal: terminate (or suspend) it before applying for a refund (R-REF-001/002)",
)
REFUND_STALE = define(
    "REFUND_STALE",
    "退费申请 {refund_no} 受理后缴费记录已变化（现可退 {now}，申请时 {then}）：请驳回后重新申请",
    "the contributions changed since the refund application {refund_no} (refundable now {now}, then {then}): reject it and apply again",
)
RET_NOT_EMPLOYEE = define("RET_NOT_EMPLOYEE", "参保关系 {relation} 不是职工医保（310）关系", "relation {relation} is not an employee (310) relation")
RET_ALREADY_RETIRED = define("RET_ALREADY_RETIRED", "参保关系 {relation} 已是退休人员关系", "relation {relation} is already a retiree relation")
RET_YEARS_SHORT = define(
    "RET_YEARS_SHORT",
    "累计缴费 {counted} 个月，不足最低缴费年限（{required} 个月），差 {shortfall} 个月：须先一次性补缴 {amount}（R-RET-002）",
    "{counted} cumulative months are {shortfall} short of the minimum ({required}): pay the lump sum {amount} first (R-RET-002)",
)
RET_NO_SHORTFALL = define(
    "RET_NO_SHORTFALL",
    "累计缴费年限已达到最低年限，无需一次性补缴",
    "the cumulative years already meet the minimum: no top-up is due",
)
XFER_BALANCE_DIFFERS = define(
    "XFER_BALANCE_DIFFERS",
    "转出的账户余额 {given} 与按缴费记录计算的余额 {computed} 不一致，请核对账户台账",
    "the balance transferred, {given}, differs from the {computed} the recorded contributions give: check the account ledger",
)
NOT_STORED = define("NOT_STORED", "未找到要更正的记录：{what}", "nothing to correct: {what}")

# relation psn_type in service → the retiree psn_type the relation takes (R-CODE-002, R-RET-003)
RETIREE_PSN_TYPE = {
    PsnType.EMPLOYEE_IN_SERVICE: PsnType.EMPLOYEE_RETIRED,
    PsnType.CIVIL_SERVANT_IN_SERVICE: PsnType.CIVIL_SERVANT_RETIRED,
    PsnType.FLEXIBLE_IN_SERVICE: PsnType.FLEXIBLE_RETIRED,
    PsnType.IN_SERVICE_LOCAL: PsnType.RETIRED_LOCAL,
}
REFUND_RULES = ("R-REF-001", "R-REF-003", "R-REF-005")


# ------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class TransferStep(Record):
    transfer_no: str
    step: str  # OUT | IN
    case: str
    relation_id: str
    region: str
    other_region: str
    on: date
    due_on: date
    account_balance: Decimal | None
    account_state: str | None = None
    account_credited: Decimal | None = None
    cumulative_months: int | None = None
    other_relation_id: str | None = None
    recorded_by: str | None = None


@dataclass(frozen=True)
class RefundCase(Record):
    refund_no: str
    relation_id: str
    rule: str
    event_date: date
    total: Decimal
    lines: tuple[dict[str, Any], ...]
    outcome: str | None = None  # None (pending) | APPROVED | REJECTED
    decided_by: str | None = None
    decision_reason: str | None = None
    refund_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetirementReview(Record):
    relation_id: str
    on: date
    cumulative: CumulativeMonths
    check: RetirementCheck | None
    topup: TopUpQuote | None
    retiree_psn_type: str | None


@dataclass(frozen=True)
class AccountMovement(Record):
    on: date
    kind: str  # CREDIT | REVERSAL | TRANSFER_IN | TRANSFER_OUT
    amount: Decimal  # signed
    relation_id: str
    rule_id: str
    month: YearMonth | None = None
    reference: str | None = None


@dataclass(frozen=True)
class AccountStatement(Record):
    on: date
    balance: Decimal
    movements: tuple[AccountMovement, ...]


@dataclass(frozen=True)
class Corrected:
    psn_no: str
    table: str
    row_id: int
    replacement_id: int | None


def _new_no(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:14].upper()}"


def _at(exc: YibaoError, field: str) -> YibaoError:
    exc.field = field
    return exc


def _employee_relation(facts: PersonFacts, relation_id: str):
    rel = _relation(facts, relation_id)
    if rel.insutype is not InsuType.EMPLOYEE_BASIC:
        raise YibaoError(RET_NOT_EMPLOYEE, field="relation_id", relation=relation_id)
    return rel


def _is_retiree(facts: PersonFacts, rel) -> bool:
    return rel.psn_type.is_retired or any(e.region in (None, rel.region) and e.on >= rel.start for e in facts.events_of(EventKind.RETIRED))


class CaseUseCases:
    """Transfers, refunds, retirement, account and corrections (mixed into ``RecordsService``)."""

    policy: Policy
    today: Callable[[], date]
    clock: Callable[[], Any]
    _tx: Callable[[], AbstractContextManager[Session]]
    _read: Callable[[], AbstractContextManager[Session]]
    facts: Callable[..., PersonFacts]

    # ------------------------------------------------------------------------------ transfer

    def transfer_out(
        self,
        psn_no: str,
        relation_id: str,
        *,
        by: str,
        receiving_relation_id: str,
        accepted_on: date,
        terminate_on: date | None = None,
        account_balance: Decimal | None = None,
    ) -> Decision[TransferStep]:
        """转出 (R-XFER-001/002/003, R-XFER-004/R-ACCT-006): the sending region accepts the application.

        The sending relation must have stopped by ``accepted_on``; with ``terminate_on`` it is
        terminated here (reason ``TRANSFER_OUT``, status machine R-CODE-003). The receiving relation
        (already enrolled at the receiving region) is named by ``receiving_relation_id``. The account
        balance remitted is ``account_balance`` (the sending agency's ledger) or, when not given, the
        balance :meth:`account` computes on ``accepted_on``.
        """
        _check_length(by, MAX_BY, "by")
        if account_balance is not None:
            account_balance = check_money(account_balance, field="account_balance")
        with self._tx() as session:
            _lock_person(session, psn_no)
            facts = repo.load_facts(session, psn_no)
            rel = _relation(facts, relation_id)
            to = _relation(facts, receiving_relation_id, field="receiving_relation_id")
            if rel.scheme is None or to.scheme is None:
                raise YibaoError(INVALID_INPUT, field="relation_id" if rel.scheme is None else "receiving_relation_id",
                                 reason="only basic (310/390) relations are transferred / 只有基本医保关系可转移")
            if accepted_on < rel.start:
                raise YibaoError(BEFORE_RELATION_START, field="accepted_on", effective=accepted_on.isoformat(), start=rel.start.isoformat())
            earlier = session.scalars(
                select(TransferStepRow).where(TransferStepRow.psn_no == psn_no, TransferStepRow.relation_id == relation_id,
                                              TransferStepRow.step == "OUT")
            ).first()
            if earlier is not None:
                raise YibaoError(TRANSFER_EXISTS, field="relation_id", relation=relation_id, transfer_no=earlier.transfer_no)
            stop: StatusChange | None = None
            if terminate_on is not None:
                if terminate_on > accepted_on or terminate_on < rel.start:
                    raise YibaoError(INVALID_INPUT, field="terminate_on",
                                     reason="the relation stops between its start and the acceptance day / 停保日期须在参保开始日与受理日之间")
                last = max((c.effective for c in rel.status_changes), default=None)
                if last is not None and terminate_on < last:
                    raise YibaoError(STATUS_DATE_ORDER, field="terminate_on", effective=terminate_on.isoformat(), last=last.isoformat())
                terminated = next((c.effective for c in rel.status_changes if c.status is InsuStatus.TERMINATED), None)
                check_transition(rel.status_on(terminate_on), InsuStatus.TERMINATED, terminated_on=terminated, field="terminate_on")
                stop = StatusChange(terminate_on, InsuStatus.TERMINATED, StatusReason.TRANSFER_OUT, "转移接续转出 / transfer out", self.today(), by)
                rel = replace(rel, status_changes=rel.status_changes + (stop,))
            sending_stopped = rel.status_on(accepted_on) in (InsuStatus.SUSPENDED, InsuStatus.TERMINATED) or (
                rel.end is not None and rel.end < accepted_on
            )
            receiving_enrolled = to.status_on(max(accepted_on, to.start)) is InsuStatus.NORMAL
            paid = sorted(c.month for c in facts.contributions if c.relation_id == relation_id and c.month is not None and c.amount > 0)
            received = sorted(c.month for c in facts.contributions if c.relation_id == receiving_relation_id and c.month is not None and c.amount > 0)
            years = sorted(c.benefit_year for c in facts.contributions if c.relation_id == relation_id and c.benefit_year is not None and c.amount > 0)
            classified = xfer.classify_transfer(
                self.policy, from_scheme=rel.scheme, from_region=rel.region, to_scheme=to.scheme, to_region=to.region,
                sending_stopped=sending_stopped, receiving_enrolled=receiving_enrolled,
                sending_last_month=paid[-1] if paid else None, receiving_first_month=received[0] if received else YearMonth.of(to.start),
                move_date=accepted_on, sending_paid_year=years[-1] if years else None, retiree=_is_retiree(facts, rel),
            )
            c = classified.value
            if c.case in (xfer.TransferCase.RETIREE, xfer.TransferCase.NOT_NEEDED) or not c.ready:
                r = classified.reasons[0]
                field = "receiving_relation_id" if c.case is xfer.TransferCase.NOT_NEEDED or not receiving_enrolled else "terminate_on"
                raise YibaoError(TRANSFER_NOT_POSSIBLE, field=field, why=r.message_zh, why_en=r.message_en)
            try:
                deadlines = xfer.transfer_deadlines(self.policy, sending_region=rel.region, receiving_region=to.region, accepted_on=accepted_on)
            except YibaoError as exc:
                raise _at(exc, "accepted_on") from None
            reasons: list[Reason] = [*classified.reasons, *deadlines.reasons]
            notices: list[Notice] = list(classified.notices)
            cumulative = None
            if rel.scheme is Scheme.EMPLOYEE:
                carried = cumulative_months(facts, self.policy, rel.region, accepted_on)
                cumulative = carried.value.total
                reasons.extend(carried.reasons)
                try:
                    computed: Decimal | None = self._statement(facts, session, accepted_on).balance
                except YibaoError:
                    if account_balance is None:
                        raise
                    computed = None  # the region's account rule is not configured: the ledger's figure stands
                if account_balance is None:
                    account_balance = computed
                elif computed is not None and computed != account_balance:
                    notices.append(Notice.of(XFER_BALANCE_DIFFERS, field="account_balance", given=account_balance, computed=computed))
                moved = acct.account_on_transfer(account_balance, self.policy, sending_region=rel.region, receiving_region=to.region,
                                                 accepted_on=accepted_on)
                reasons.extend(moved.reasons)
            elif account_balance not in (None, ZERO):
                raise YibaoError(xfer.XFER_NO_ACCOUNT, field="account_balance", value=account_balance)
            else:
                account_balance = None
            if stop is not None:
                repo.append_status_change(session, psn_no, relation_id, stop, by=by, at=self.clock())
            row = TransferStepRow(
                transfer_no=_new_no("T"), step="OUT", psn_no=psn_no, relation_id=relation_id, region=rel.region, other_region=to.region,
                case=c.case.value, on_date=accepted_on, due_on=deadlines.value.transfer_out_due, account_balance=account_balance,
                cumulative_months=cumulative, other_relation_id=receiving_relation_id, recorded_by=by, recorded_at=self.clock(),
            )
            session.add(row)
            session.flush()
            return Decision(_step(row), tuple(reasons), tuple(notices))

    def transfer_in(
        self,
        psn_no: str,
        transfer_no: str,
        *,
        by: str,
        form_received_on: date,
        remitted_amount: Decimal | None = None,
        money_received_on: date | None = None,
    ) -> Decision[TransferStep]:
        """转入 (R-XFER-002/003/004): the receiving region received the form on ``form_received_on``;
        the balance is credited when the money arrived and matches the form, else held in suspense."""
        _check_length(by, MAX_BY, "by")
        if remitted_amount is not None:
            remitted_amount = check_money(remitted_amount, field="remitted_amount")
        if (remitted_amount is None) != (money_received_on is None):
            raise YibaoError(INVALID_INPUT, field="money_received_on" if money_received_on is None else "remitted_amount",
                             reason="the amount and the day it arrived go together / 到账金额与到账日期须同时填写")
        with self._tx() as session:
            _lock_person(session, psn_no)
            steps = _steps(session, psn_no, transfer_no)
            out = steps.get("OUT")
            if out is None:
                raise YibaoError(TRANSFER_NOT_FOUND, field="transfer_no", transfer_no=transfer_no)
            if "IN" in steps:
                raise YibaoError(TRANSFER_ALREADY_IN, field="transfer_no", transfer_no=transfer_no)
            facts = repo.load_facts(session, psn_no)
            to = _relation(facts, out.other_relation_id, field="transfer_no")
            try:
                deadlines = xfer.transfer_deadlines(self.policy, sending_region=out.region, receiving_region=out.other_region,
                                                    accepted_on=out.on_date, form_received_on=form_received_on)
            except YibaoError as exc:
                raise _at(exc, "form_received_on") from None
            try:
                money = xfer.account_on_transfer(
                    self.policy, scheme=to.scheme or Scheme.RESIDENT, form_balance=out.account_balance, form_received_on=form_received_on,
                    remitted_amount=remitted_amount, money_received_on=money_received_on,
                )
            except YibaoError as exc:
                raise _at(exc, "remitted_amount") from None
            reasons = [*deadlines.reasons, *money.reasons]
            cumulative = None
            if to.scheme is Scheme.EMPLOYEE:
                carried = cumulative_months(facts, self.policy, to.region, form_received_on)
                cumulative = carried.value.total
                reasons.extend(carried.reasons)
            row = TransferStepRow(
                transfer_no=transfer_no, step="IN", psn_no=psn_no, relation_id=to.relation_id, region=out.other_region, other_region=out.region,
                case=out.case, on_date=form_received_on, due_on=deadlines.value.transfer_in_due, account_balance=remitted_amount,
                account_state=money.value.state.value, account_credited=money.value.credit_amount if money.value.credited_on else None,
                money_received_on=money_received_on, cumulative_months=cumulative, other_relation_id=out.relation_id,
                recorded_by=by, recorded_at=self.clock(),
            )
            session.add(row)
            session.flush()
            return Decision(_step(row), tuple(reasons), money.notices)

    def transfers(self, psn_no: str) -> list[TransferStep]:
        with self._read() as session:
            repo.get_person(session, psn_no)
            return [_step(r) for r in session.scalars(select(TransferStepRow).where(TransferStepRow.psn_no == psn_no).order_by(TransferStepRow.id))]

    # ------------------------------------------------------------------------------ refund

    def apply_refund(
        self,
        psn_no: str,
        relation_id: str,
        *,
        by: str,
        rule: str,
        event_date: date | None = None,
        year: int | None = None,
        first_unit_month: YearMonth | None = None,
    ) -> Decision[RefundCase]:
        """退费申请: what ``rule`` makes refundable on the relation, by payer and channel, with reasons.

        * ``R-REF-001`` (covers R-REF-002): a resident year ``year`` made extra by an event on
          ``event_date``; the relation must already be terminated (or suspended: nothing back).
        * ``R-REF-003``: a flexible worker prepaid ``year`` and a unit pays from ``first_unit_month``.
        * ``R-REF-005``: after the recorded death, to the heirs.
        """
        _check_length(by, MAX_BY, "by")
        if rule not in REFUND_RULES:
            raise YibaoError(INVALID_INPUT, field="rule", reason=f"one of {', '.join(REFUND_RULES)}")
        with self._tx() as session:
            _lock_person(session, psn_no)
            facts = repo.load_facts(session, psn_no)
            inputs = {"rule": rule, "event_date": event_date, "year": year, "first_unit_month": first_unit_month}
            decision, event = self._refund(facts, relation_id, inputs)
            if decision.value.total <= 0:
                r = decision.reasons[-1]
                raise YibaoError(REFUND_NOTHING, field="rule", rule=rule, why=r.message_zh, why_en=r.message_en)
            detail = {"inputs": inputs, "lines": [line.to_dict() for line in decision.value.lines]}
            row = RefundApplicationRow(
                refund_no=_new_no("F"), psn_no=psn_no, relation_id=relation_id, rule=rule, event_date=event, total=decision.value.total,
                detail=json.dumps(detail, default=str, ensure_ascii=False), reasons=json.dumps([r.to_dict() for r in decision.reasons], ensure_ascii=False),
                recorded_by=by, recorded_at=self.clock(),
            )
            session.add(row)
            session.flush()
            return Decision(_refund_case(row, None, ()), decision.reasons, decision.notices)

    def decide_refund(self, psn_no: str, refund_no: str, *, by: str, approve: bool, reason: str) -> Decision[RefundCase]:
        """退费审核: approve (the refund lines are posted: kind 20, negative, back through each payer's
        channel, keyed ``<refund_no>:<n>``) or reject — once, with a reason. An approval re-checks the
        refund against the contributions as they are now (``REFUND_STALE`` if they changed)."""
        _check_length(by, MAX_BY, "by")
        if not reason or not reason.strip():
            raise YibaoError(REASON_REQUIRED, field="reason")
        with self._tx() as session:
            _lock_person(session, psn_no)
            app = session.scalars(
                select(RefundApplicationRow).where(RefundApplicationRow.refund_no == refund_no, RefundApplicationRow.psn_no == psn_no)
            ).first()
            if app is None:
                raise YibaoError(REFUND_NOT_FOUND, field="refund_no", refund_no=refund_no)
            done = session.scalars(select(RefundDecisionRow).where(RefundDecisionRow.application_id == app.id)).first()
            if done is not None:
                raise YibaoError(REFUND_ALREADY_DECIDED, field="refund_no", refund_no=refund_no,
                                 on=done.recorded_at.date().isoformat(), outcome=done.outcome)
            keys: tuple[str, ...] = ()
            reasons: tuple[Reason, ...] = ()
            if approve:
                inputs = json.loads(app.detail)["inputs"]
                facts = repo.load_facts(session, psn_no)
                now, _ = self._refund(facts, app.relation_id, _parse_inputs(inputs))
                stored = json.loads(app.detail)["lines"]
                if [line.to_dict() for line in now.value.lines] != stored:
                    raise YibaoError(REFUND_STALE, field="refund_no", refund_no=refund_no, now=now.value.total, then=app.total)
                paid_on = self.today()
                lines = [
                    ContributionLine(app.relation_id, ContributionKind.REFUND, line.payer, paid_on, -line.amount, month=line.month,
                                     benefit_year=line.benefit_year, key=f"{refund_no}:{i}")
                    for i, line in enumerate(now.value.lines, 1)
                ]
                keys = self._record(session, psn_no, lines, by=by).keys  # type: ignore[attr-defined]
                reasons = now.reasons
            decision = RefundDecisionRow(application_id=app.id, psn_no=psn_no, outcome="APPROVED" if approve else "REJECTED",
                                         reason=reason.strip(), recorded_by=by, recorded_at=self.clock())
            session.add(decision)
            session.flush()
            return Decision(_refund_case(app, decision, keys), reasons)

    def refunds(self, psn_no: str) -> list[RefundCase]:
        with self._read() as session:
            repo.get_person(session, psn_no)
            apps = session.scalars(select(RefundApplicationRow).where(RefundApplicationRow.psn_no == psn_no).order_by(RefundApplicationRow.id)).all()
            decided = {d.application_id: d for d in session.scalars(select(RefundDecisionRow).where(RefundDecisionRow.psn_no == psn_no))}
            out = []
            for a in apps:
                d = decided.get(a.id)
                keys = ()
                if d is not None and d.outcome == "APPROVED":
                    keys = tuple(session.scalars(select(LineRow.idempotency_key).where(
                        LineRow.idempotency_key.startswith(f"{a.refund_no}:", autoescape=True)).order_by(LineRow.id)))
                out.append(_refund_case(a, d, keys))
            return out

    def _refund(self, facts: PersonFacts, relation_id: str, inputs: dict[str, Any]) -> tuple[Decision[ref.Refund], date]:
        """The rule's refund for ``inputs`` over ``facts`` (the same computation at application and approval)."""
        rel = _relation(facts, relation_id)
        rule, year, event_date = inputs["rule"], inputs["year"], inputs["event_date"]
        lines = [c for c in facts.contributions if c.relation_id == relation_id]

        def mismatch(why: str, why_en: str, field: str = "relation_id") -> YibaoError:
            return YibaoError(REFUND_RULE_MISMATCH, field=field, rule=rule, why=why, why_en=why_en)

        def required(name: str) -> None:
            if inputs[name] is None:
                raise YibaoError(INVALID_INPUT, field=name, reason=f"{rule} needs {name} / {rule} 须填写 {name}")

        if rule == "R-REF-001":
            if rel.scheme is not Scheme.RESIDENT:
                raise mismatch("不是居民医保关系", "not a resident (390) relation")
            required("year")
            required("event_date")
            last = max(rel.status_changes, key=lambda c: c.effective, default=None)
            if last is None or last.status is InsuStatus.NORMAL:
                raise YibaoError(REFUND_RELATION_ACTIVE, field="relation_id", relation=relation_id)
            action = ref.RelationAction.SUSPENDED if last.status is InsuStatus.SUSPENDED else ref.RelationAction.TERMINATED
            year_lines = [c for c in lines if c.benefit_year == year]
            if sum_lines(c.amount for c in year_lines if c.payer is not PayerType.FISCAL_SUBSIDY) <= 0:
                raise YibaoError(REFUND_NOTHING, field="year", rule=rule, why=f"{year} 年度无未退的缴费", why_en=f"nothing collected for {year} is left")
            start = self._resident_start(facts, relation_id, year, event_date)
            return ref.resident_refund(year_lines, start, event_date, self.policy, rel.region, action=action,
                                       deceased=facts.death_date is not None), event_date
        if rule == "R-REF-003":
            if rel.insutype is not InsuType.EMPLOYEE_BASIC or not rel.psn_type.is_flexible:
                raise mismatch("不是灵活就业职工医保关系", "not a flexible worker's employee relation")
            required("year")
            required("first_unit_month")
            first: YearMonth = inputs["first_unit_month"]
            d = ref.flexible_prepaid_refund(lines, first, year, self.policy, rel.region, on=event_date)
            return d, event_date or first.first_day()
        if facts.death_date is None:
            raise mismatch("未登记死亡", "no death is recorded", field="rule")
        starts = {s.benefit_year: s.benefit_start for s in self._timeline(facts).starts
                  if s.relation_id == relation_id and s.benefit_year is not None and s.benefit_start is not None}
        return ref.death_refund(lines, facts.death_date, self.policy, rel.region, benefit_starts=starts), facts.death_date

    def _timeline(self, facts: PersonFacts):
        return build_timeline(facts, self.policy, self.today())

    def _resident_start(self, facts: PersonFacts, relation_id: str, year: int, event_date: date) -> date:
        """The benefit start resident year ``year`` had before the relation was ended: the timeline of
        the facts without this relation's status changes from ``event_date`` on."""
        rels = tuple(
            replace(e, status_changes=tuple(c for c in e.status_changes if c.effective < event_date)) if e.relation_id == relation_id else e
            for e in facts.enrollments
        )
        starts = [s.benefit_start for s in self._timeline(replace(facts, enrollments=rels)).starts
                  if s.relation_id == relation_id and s.benefit_year == year and s.benefit_start is not None]
        if not starts:
            raise YibaoError(ref.REF_BENEFIT_START_MISSING, field="year", year=year)
        return min(starts)

    # ------------------------------------------------------------------------------ retirement

    def retirement_review(self, psn_no: str, relation_id: str, on: date) -> Decision[RetirementReview]:
        """R-XFER-003 + R-RET-001 (+ R-RET-002 when short): the cumulative months across regions, the
        minimum of the relation's region, and the lump sum that makes up the shortfall on ``on``."""
        return self._review(self.facts(psn_no), relation_id, on)

    def _review(self, facts: PersonFacts, relation_id: str, on: date) -> Decision[RetirementReview]:
        rel = _employee_relation(facts, relation_id)
        counted = cumulative_months(facts, self.policy, rel.region, on, through=YearMonth.of(on))
        check = retirement_check(counted.value, facts.sex, self.policy, rel.region, on)  # type: ignore[arg-type]
        reasons = [*counted.reasons, *check.reasons]
        notices = [*counted.notices, *check.notices]
        topup = None
        if check.value.shortfall_months:
            q = topup_quote(check.value.shortfall_months, self.policy, rel.region, on)
            topup = q.value
            reasons.extend(q.reasons)
            notices.extend(q.notices)
        target = RETIREE_PSN_TYPE.get(rel.psn_type)
        review = RetirementReview(relation_id, on, counted.value, check.value, topup, target.value if target else None)
        return Decision(review, tuple(reasons), tuple(notices))

    def post_retirement_topup(self, psn_no: str, relation_id: str, *, by: str, pay_on: date, payment_key: str) -> Decision[RetirementReview]:
        """R-RET-002: post the lump sum (趸缴, kind 33, ``months_credited`` = shortfall) quoted on ``pay_on``.
        Idempotent by ``payment_key``: posting the same key again records nothing."""
        _check_length(by, MAX_BY, "by")
        if not payment_key:
            raise YibaoError(INVALID_INPUT, field="payment_key", reason="a payment key is required / 必须提供缴费幂等键")
        key = f"{payment_key}:{relation_id}:RET"
        _check_length(key, MAX_KEY, "payment_key")
        with self._tx() as session:
            _lock_person(session, psn_no)
            facts = repo.load_facts(session, psn_no)
            stored = session.execute(
                select(LineRow.paid_on, EnrollmentRow.psn_no).join(EnrollmentRow, LineRow.enrollment_id == EnrollmentRow.id)
                .where(LineRow.idempotency_key == key)
            ).first()
            if stored is not None:
                if stored.psn_no != psn_no or stored.paid_on != pay_on:
                    raise YibaoError(IDEMPOTENCY_CONFLICT, field="payment_key", key=payment_key, differences="paid_on / another person")
                return self._review(facts, relation_id, pay_on)
            review = self._review(facts, relation_id, pay_on)
            topup = review.value.topup
            if topup is None:
                raise YibaoError(RET_NO_SHORTFALL, field="relation_id")
            if topup.amount <= 0:
                raise YibaoError(EMPTY_PAYMENT, field="pay_on")
            line = ContributionLine(relation_id, ContributionKind.RETIREMENT_BACKPAY, PayerType.INDIVIDUAL, pay_on, topup.amount,
                                    months_credited=topup.shortfall_months, key=key)
            self._record(session, psn_no, [line], by=by)  # type: ignore[attr-defined]
            return review

    def retire(self, psn_no: str, relation_id: str, *, by: str, retired_on: date) -> Decision[RetirementReview]:
        """办理退休 (R-RET-001/003): the 310 relation becomes a retiree relation from ``retired_on`` —
        recorded as a ``RETIRED`` life event in the relation's region, which the timeline reads (the
        relation's psn_type becomes the retired one, e.g. 1101 → 1201). Refused while the minimum
        years are not met (``RET_YEARS_SHORT``: pay the top-up first)."""
        _check_length(by, MAX_BY, "by")
        with self._tx() as session:
            _lock_person(session, psn_no)
            facts = repo.load_facts(session, psn_no)
            rel = _employee_relation(facts, relation_id)
            if _is_retiree(facts, rel):
                raise YibaoError(RET_ALREADY_RETIRED, field="relation_id", relation=relation_id)
            if facts.death_date is not None and retired_on > facts.death_date:
                raise YibaoError(AFTER_DEATH, field="retired_on", death=facts.death_date.isoformat(), action="retire")
            if rel.status_on(retired_on) is not InsuStatus.NORMAL:
                raise YibaoError(INVALID_INPUT, field="retired_on",
                                 reason=f"relation {relation_id} is not normal on {retired_on} / 该参保关系在 {retired_on} 不是正常参保状态")
            review = self._review(facts, relation_id, retired_on)
            check = review.value.check
            if check is not None and not check.meets:
                raise YibaoError(RET_YEARS_SHORT, field="retired_on", counted=check.counted_months, required=check.required_months,
                                 shortfall=check.shortfall_months, amount=review.value.topup.amount if review.value.topup else "?")
            repo.add_event(session, psn_no, LifeEvent(EventKind.RETIRED, retired_on, rel.region), by=by, at=self.clock())
            return review

    # ------------------------------------------------------------------------------ account

    def account(self, psn_no: str, on: date) -> Decision[AccountStatement]:
        """个人账户: the balance on ``on`` and its movements — credits of paid contribution months
        (R-ACCT-001/003), reversals by refunds, balances moved by transfers (R-XFER-004, R-ACCT-006)."""
        with self._read() as session:
            facts = repo.load_facts(session, psn_no)
            reasons: list[Reason] = []
            statement = self._statement(facts, session, on, reasons)
            return Decision(statement, tuple(reasons))

    def _statement(self, facts: PersonFacts, session: Session, on: date, reasons: list[Reason] | None = None) -> AccountStatement:
        moves: list[AccountMovement] = []
        for rel in facts.enrollments:
            if rel.insutype is not InsuType.EMPLOYEE_BASIC:
                continue
            by_month: dict[YearMonth, list[ContributionLine]] = defaultdict(list)
            for c in facts.contributions:
                if c.relation_id == rel.relation_id and c.month is not None and c.paid_on <= on:
                    by_month[c.month].append(c)
            for month, month_lines in sorted(by_month.items()):
                paid = sorted((c for c in month_lines if c.amount > 0), key=lambda c: c.paid_on)
                if not paid:
                    continue
                credit = acct.account_credit(rel, month, self.policy, birth_date=facts.birth_date, kind=paid[0].kind)
                if reasons is not None:
                    reasons.extend(credit.reasons)
                amount = credit.value.account
                if amount == 0:
                    continue
                moves.append(AccountMovement(paid[0].paid_on, "CREDIT", amount, rel.relation_id, credit.reasons[-1].rule_id, month))
                if sum_lines(c.amount for c in month_lines) <= 0:  # refunded in full: the credit is reversed
                    back = max(c.paid_on for c in month_lines if c.amount < 0)
                    moves.append(AccountMovement(back, "REVERSAL", -amount, rel.relation_id, credit.reasons[-1].rule_id, month))
        for step in session.scalars(select(TransferStepRow).where(TransferStepRow.psn_no == facts.person_id).order_by(TransferStepRow.id)):
            if step.step == "OUT" and step.account_balance and step.on_date <= on:
                moves.append(AccountMovement(step.on_date, "TRANSFER_OUT", -step.account_balance, step.relation_id, "R-ACCT-006",
                                             reference=step.transfer_no))
            if step.step == "IN" and step.account_credited:
                day = max(step.on_date, step.money_received_on or step.on_date)
                if day <= on:
                    moves.append(AccountMovement(day, "TRANSFER_IN", step.account_credited, step.relation_id, "R-XFER-004",
                                                 reference=step.transfer_no))
        moves.sort(key=lambda m: (m.on, str(m.month or "")))
        balance = sum_lines(m.amount for m in moves)
        if reasons is not None:
            reasons.append(reason("R-ACCT-001", f"{on} 个人账户余额 {balance}（{len(moves)} 笔变动）",
                                  f"personal account balance on {on}: {balance} ({len(moves)} movements)", on=on))
        return AccountStatement(on, balance, tuple(moves))

    # ------------------------------------------------------------------------------ corrections

    def correct_status_change(
        self,
        psn_no: str,
        relation_id: str,
        effective: date,
        *,
        by: str,
        reason: str,
        new_effective: date | None = None,
        new_status: InsuStatus | None = None,
        new_reason: StatusReason | None = None,
        withdraw: bool = False,
    ) -> Corrected:
        """更正参保状态变更: the change of ``relation_id`` effective ``effective`` is replaced (or
        withdrawn); the corrected history must still follow the status machine (R-CODE-003)."""
        _check_length(by, MAX_BY, "by")
        with self._tx() as session:
            _lock_person(session, psn_no)
            rel = repo.get_relation(session, psn_no, relation_id)
            rows = [r for r in session.scalars(select(StatusChangeRow).where(StatusChangeRow.enrollment_id == rel.id,
                                                                           StatusChangeRow.superseded_at.is_(None)))]
            old = next((r for r in rows if r.effective == effective), None)
            if old is None:
                raise YibaoError(NOT_STORED, field="effective", what=f"{relation_id} @ {effective}")
            new = None
            if not withdraw:
                new = StatusChangeRow(enrollment_id=rel.id, effective=new_effective or old.effective, status=new_status or old.status,
                                      status_reason=new_reason or old.status_reason, note=old.note)
                start = repo.relation_values(session, rel)["start"]  # as corrected (revision 0006)
                if new.effective < start:
                    raise YibaoError(BEFORE_RELATION_START, field="new_effective", effective=new.effective.isoformat(), start=start.isoformat())
            history = [StatusChange(r.effective, r.status, r.status_reason) for r in rows if r is not old]
            if new is not None:
                history.append(StatusChange(new.effective, new.status, new.status_reason))
            check_transitions(history, field="new_status")
            repo.supersede_fact(session, old, new, reason=reason, by=by, at=self.clock())
            return Corrected(psn_no, "status_change", old.id, new.id if new is not None else None)

    def correct_death(self, psn_no: str, *, by: str, reason: str, death_date: date | None) -> Corrected:
        """更正死亡日期 (or withdraw a death reported in error, ``death_date=None``)."""
        _check_length(by, MAX_BY, "by")
        if death_date is not None and death_date > self.today():
            raise YibaoError(AFTER_DEATH_FUTURE, field="death_date", death=death_date.isoformat())
        with self._tx() as session:
            person = _lock_person(session, psn_no)
            old = session.scalars(select(DeathRow).where(DeathRow.psn_no == psn_no, DeathRow.superseded_at.is_(None))).first()
            if old is None:
                raise YibaoError(NOT_STORED, field="death_date", what="death / 死亡登记")
            birth = repo.person_values(session, person)["birth_date"]  # as corrected
            if death_date is not None and birth is not None and death_date < birth:
                raise YibaoError(DEATH_BEFORE_BIRTH, field="death_date", death=death_date.isoformat(), birth=birth.isoformat())
            new = DeathRow(psn_no=psn_no, death_date=death_date) if death_date is not None else None
            repo.supersede_fact(session, old, new, reason=reason, by=by, at=self.clock())
            return Corrected(psn_no, "person_death", old.id, new.id if new is not None else None)

    def correct_wage(self, psn_no: str, relation_id: str, from_month: YearMonth, *, by: str, reason: str, monthly_wage: Decimal) -> Corrected:
        """更正申报工资 from ``from_month`` on (R-CONT-001 input)."""
        _check_length(by, MAX_BY, "by")
        wage = check_money(monthly_wage, field="monthly_wage")
        if wage < 0:
            raise YibaoError(INVALID_INPUT, field="monthly_wage", reason="a wage is not negative / 工资不能为负")
        with self._tx() as session:
            _lock_person(session, psn_no)
            rel = repo.get_relation(session, psn_no, relation_id)
            old = session.scalars(select(WageRow).where(WageRow.enrollment_id == rel.id, WageRow.from_month == from_month,
                                                      WageRow.superseded_at.is_(None))).first()
            if old is None:
                raise YibaoError(NOT_STORED, field="from_month", what=f"{relation_id} wage from {from_month}")
            new = WageRow(enrollment_id=rel.id, from_month=from_month, monthly_wage=wage)
            repo.supersede_fact(session, old, new, reason=reason, by=by, at=self.clock())
            return Corrected(psn_no, "declared_wage", old.id, new.id)


# ------------------------------------------------------------------------------------ helpers


def _steps(session: Session, psn_no: str, transfer_no: str) -> dict[str, TransferStepRow]:
    rows = session.scalars(select(TransferStepRow).where(TransferStepRow.transfer_no == transfer_no, TransferStepRow.psn_no == psn_no))
    return {r.step: r for r in rows}


def _step(row: TransferStepRow) -> TransferStep:
    return TransferStep(
        row.transfer_no, row.step, row.case, row.relation_id, row.region, row.other_region, row.on_date, row.due_on, row.account_balance,
        row.account_state, row.account_credited, row.cumulative_months, row.other_relation_id, row.recorded_by,
    )


def _refund_case(app: RefundApplicationRow, decision: RefundDecisionRow | None, keys: tuple[str, ...]) -> RefundCase:
    return RefundCase(
        app.refund_no, app.relation_id, app.rule, app.event_date, app.total, tuple(json.loads(app.detail)["lines"]),
        decision.outcome if decision else None, decision.recorded_by if decision else None, decision.reason if decision else None, keys,
    )


def _parse_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """The stored (JSON) inputs of an application, typed again."""
    out = dict(inputs)
    out["event_date"] = date.fromisoformat(inputs["event_date"]) if inputs.get("event_date") else None
    out["first_unit_month"] = YearMonth.parse(inputs["first_unit_month"]) if inputs.get("first_unit_month") else None
    return out


__all__ = ["AccountMovement", "AccountStatement", "CaseUseCases", "Corrected", "RefundCase", "RetirementReview", "TransferStep"]
