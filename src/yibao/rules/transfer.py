"""Transfer and continuation (转移接续) — SPEC §11 R-XFER-001, -002, -004 (R-XFER-003 is in retirement.py).

* :func:`classify_transfer` — R-XFER-001: within 310, within 390 (no transfer in the current
  year), or across schemes; whether the preconditions are met.
* :func:`transfer_deadlines` — R-XFER-002: 10 working days to send, 5 to receive, on the official
  calendar with make-up days (E-09); regions may set shorter limits, never longer.
* :func:`account_on_transfer` — R-XFER-004: the personal-account balance, held in suspense when the
  money arrives before the form or does not match it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from yibao.codes import Scheme
from yibao.dates import YearMonth, add_working_days, gap_months
from yibao.errors import Notice, YibaoError, define
from yibao.explain import Decision, Reason, Record, reason
from yibao.money import ZERO, round_fen
from yibao.policy import Policy

XFER_LIMIT_ABOVE_NATIONAL = define(
    "XFER_LIMIT_ABOVE_NATIONAL",
    "统筹区 {region} 的 {key} 为 {value} 个工作日，超过全国规定的 {national} 个工作日",
    "region {region} sets {key} to {value} working days, longer than the national {national}",
)
XFER_NO_DATE = define(
    "XFER_NO_DATE",
    "需要受理日期或参保信息表接收日期",
    "an acceptance date or a form receipt date is needed",
)
XFER_DATE_ORDER = define(
    "XFER_DATE_ORDER",
    "参保信息表接收日期 {received} 早于转移申请受理日期 {accepted}",
    "the form was received on {received}, before the application was accepted on {accepted}",
)
XFER_BAD_BALANCE = define(
    "XFER_BAD_BALANCE",
    "个人账户金额无效：{value}（应为不小于0、精确到分的金额）",
    "invalid account amount {value!r} (expected at least 0, to the fen)",
)
XFER_NO_ACCOUNT = define(
    "XFER_NO_ACCOUNT",
    "居民医保没有个人账户，不能转移账户余额 {value}",
    "the resident scheme has no personal account; a balance of {value} cannot be transferred",
)
XFER_BAD_SCHEME = define("XFER_BAD_SCHEME", "险种制度无效：{value}（应为 310 或 390）", "invalid scheme {value!r} (expected 310 or 390)")
XFER_SENDING_ACTIVE = define(
    "XFER_SENDING_ACTIVE",
    "转出地参保关系尚未停止，须先停止缴费再办理转移",
    "the sending relation has not stopped; it must stop before the transfer",
)
XFER_RECEIVING_NOT_ENROLLED = define(
    "XFER_RECEIVING_NOT_ENROLLED",
    "尚未在转入地参保，须先参保再申请转移",
    "the person is not yet enrolled at the receiving region; enroll first, then apply",
)
XFER_RESIDENT_CURRENT_YEAR = define(
    "XFER_RESIDENT_CURRENT_YEAR",
    "居民医保原则上不在当年度内转移：保留转出地至 {keep_until}，在转入地参加 {next_year} 年度后申请转移",
    "no resident transfer within the current year: keep the sending relation until {keep_until}, enroll at the receiving region for {next_year}, then apply",
)
XFER_RETIREE = define(
    "XFER_RETIREE",
    "退休人员不按流动就业人员办理转移接续",
    "retirees are not transferred as job-mobility cases",
)
XFER_SUSPENSE = define(
    "XFER_SUSPENSE",
    "账户资金 {amount} 先于参保信息表到账或与信息表不符，暂挂待核",
    "the account money {amount} arrived before the form, or does not match it: held in suspense",
)


class TransferCase(StrEnum):
    WITHIN_EMPLOYEE = "WITHIN_EMPLOYEE"  # case 1: 310 → 310 in another region
    WITHIN_RESIDENT = "WITHIN_RESIDENT"  # case 2: 390 → 390 in another region
    CROSS_SCHEME = "CROSS_SCHEME"  # case 3: 310 ↔ 390 across regions
    NOT_NEEDED = "NOT_NEEDED"  # same region: no transfer (a switch, R-WAIT-003)
    RETIREE = "RETIREE"  # not a job-mobility transfer [M]



@dataclass(frozen=True)
class TransferClassification(Record):
    case: TransferCase
    ready: bool  # the preconditions of the case are met: the person may apply now
    gap_months: int | None = None  # unpaid months between the sending and receiving relations (310 side)
    keep_sending_until: date | None = None  # resident: the paid year at the sending region runs to its end
    receiving_from_year: int | None = None  # resident: first year to enroll at the receiving region
    follow_up_rule: str | None = None  # the rule that decides benefits after the move


def _scheme(value: Scheme | str, field: str) -> Scheme:
    try:
        return value if isinstance(value, Scheme) else Scheme(str(value))
    except ValueError:
        raise YibaoError(XFER_BAD_SCHEME, field=field, value=value) from None


def classify_transfer(
    policy: Policy,
    *,
    from_scheme: Scheme | str,
    from_region: str,
    to_scheme: Scheme | str,
    to_region: str,
    sending_stopped: bool,
    receiving_enrolled: bool,
    sending_last_month: YearMonth | None = None,
    receiving_first_month: YearMonth | None = None,
    move_date: date | None = None,
    sending_paid_year: int | None = None,
    retiree: bool = False,
) -> Decision[TransferClassification]:
    """R-XFER-001: which transfer case applies and whether the person may apply now."""
    fs, ts = _scheme(from_scheme, "from_scheme"), _scheme(to_scheme, "to_scheme")
    cite = [policy.cite("S2")]
    notices: list[Notice] = []
    gap = None
    if sending_last_month is not None and receiving_first_month is not None:
        gap = max(0, gap_months(sending_last_month, receiving_first_month))
    if retiree:
        r = reason(
            "R-XFER-001",
            "退休人员不按流动就业人员办理转移接续",
            "retirees are not transferred as job-mobility cases",
            citations=cite,
        )
        return Decision(TransferClassification(TransferCase.RETIREE, False), (r,), (Notice.of(XFER_RETIREE),))
    if str(from_region) == str(to_region):
        r = reason(
            "R-XFER-001",
            f"同一统筹区 {from_region} 内，不办理转移接续{'；跨制度转换按 R-WAIT-003' if fs != ts else ''}",
            f"same pooling region {from_region}: no transfer{'; the switch follows R-WAIT-003' if fs != ts else ''}",
            citations=cite,
        )
        follow = "R-WAIT-003" if fs != ts else None
        return Decision(TransferClassification(TransferCase.NOT_NEEDED, False, gap, follow_up_rule=follow), (r,))

    if fs is Scheme.RESIDENT and ts is Scheme.RESIDENT:
        year = sending_paid_year if sending_paid_year is not None else (move_date.year if move_date else None)
        keep_until = date(year, 12, 31) if year is not None else None
        next_year = year + 1 if year is not None else None
        ready = receiving_enrolled
        if year is not None:
            notices.append(Notice.of(XFER_RESIDENT_CURRENT_YEAR, keep_until=keep_until, next_year=next_year))
        if not receiving_enrolled:
            notices.append(Notice.of(XFER_RECEIVING_NOT_ENROLLED))
        r = reason(
            "R-XFER-001",
            f"居民医保跨统筹区转移（{from_region} → {to_region}）：当年度不转移，保留转出地至 {keep_until}，"
            f"在转入地参加 {next_year} 年度后申请{'，现可申请' if ready else ''}",
            f"resident transfer {from_region} → {to_region}: none within the current year; keep the sending relation until "
            f"{keep_until}, enroll at the receiving region for {next_year}, then apply{' — may apply now' if ready else ''}",
            citations=cite,
            move_date=move_date,
        )
        value = TransferClassification(TransferCase.WITHIN_RESIDENT, ready, None, keep_until, next_year, "R-RES-001")
        return Decision(value, (r,), tuple(notices))

    case = TransferCase.WITHIN_EMPLOYEE if fs is Scheme.EMPLOYEE and ts is Scheme.EMPLOYEE else TransferCase.CROSS_SCHEME
    if not sending_stopped:
        notices.append(Notice.of(XFER_SENDING_ACTIVE))
    if not receiving_enrolled:
        notices.append(Notice.of(XFER_RECEIVING_NOT_ENROLLED))
    ready = sending_stopped and receiving_enrolled
    follow = "R-WAIT-001" if case is TransferCase.WITHIN_EMPLOYEE else "R-WAIT-003"
    label_zh = "职工医保跨统筹区转移" if case is TransferCase.WITHIN_EMPLOYEE else f"跨制度转移（{fs.value} → {ts.value}）"
    label_en = "employee transfer" if case is TransferCase.WITHIN_EMPLOYEE else f"cross-scheme transfer ({fs.value} → {ts.value})"
    gap_zh = f"，中断 {gap} 个月" if gap is not None else ""
    gap_en = f", gap {gap} month(s)" if gap is not None else ""
    r = reason(
        "R-XFER-001",
        f"{label_zh}：{from_region} → {to_region}{gap_zh}；{'可申请转移' if ready else '条件未满足'}；待遇衔接按 {follow}",
        f"{label_en}: {from_region} → {to_region}{gap_en}; {'may apply' if ready else 'preconditions not met'}; benefits follow {follow}",
        citations=cite,
        sending_stopped=sending_stopped,
        receiving_enrolled=receiving_enrolled,
    )
    return Decision(TransferClassification(case, ready, gap, follow_up_rule=follow), (r,), tuple(notices))


# --- R-XFER-002 --------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferDeadlines(Record):
    transfer_out_due: date | None  # sending agency: form uploaded and balance remitted by this day
    transfer_in_due: date | None  # receiving agency: transfer-in completed by this day
    sending_working_days: int
    receiving_working_days: int


def _limit(policy: Policy, region: str, key: str, on: date):
    p = policy.param(region, key, on)
    national = policy.value("national", key, on)
    if int(p.value) > int(national):
        raise YibaoError(XFER_LIMIT_ABOVE_NATIONAL, field=key, region=region, key=key, value=p.value, national=national)
    return p


def transfer_deadlines(
    policy: Policy,
    *,
    sending_region: str,
    receiving_region: str,
    accepted_on: date | None = None,
    form_received_on: date | None = None,
) -> Decision[TransferDeadlines]:
    """R-XFER-002: due dates counted in official working days (E-09), the start day not counted.

    Accepted Thu 2024-04-25 → transfer-out due Sat 2024-05-11 (a make-up working day).
    """
    if accepted_on is None and form_received_on is None:
        raise YibaoError(XFER_NO_DATE, field="accepted_on")
    if accepted_on is not None and form_received_on is not None and form_received_on < accepted_on:
        raise YibaoError(XFER_DATE_ORDER, field="form_received_on", received=form_received_on, accepted=accepted_on)
    reasons: list[Reason] = []
    out_due = in_due = None
    anchor = accepted_on or form_received_on
    send_p = _limit(policy, sending_region, "transfer.sending_working_days", anchor)
    recv_p = _limit(policy, receiving_region, "transfer.receiving_working_days", form_received_on or anchor)
    if accepted_on is not None:
        out_due = add_working_days(accepted_on, send_p.value)
        reasons.append(
            reason(
                "R-XFER-002",
                f"转出地 {sending_region} 于 {accepted_on} 受理，{send_p.value} 个工作日内（按法定节假日及调休）办结转出：{out_due} 前",
                f"accepted by the sending region {sending_region} on {accepted_on}: transfer-out within {send_p.value} working days "
                f"(official calendar with make-up days), by {out_due}",
                parameters=[send_p],
                citations=[policy.cite("S2")],
                accepted_on=accepted_on,
            )
        )
    if form_received_on is not None:
        in_due = add_working_days(form_received_on, recv_p.value)
        reasons.append(
            reason(
                "R-XFER-002",
                f"转入地 {receiving_region} 于 {form_received_on} 收到参保信息表，{recv_p.value} 个工作日内办结转入：{in_due} 前",
                f"form received by the receiving region {receiving_region} on {form_received_on}: transfer-in within "
                f"{recv_p.value} working days, by {in_due}",
                parameters=[recv_p],
                citations=[policy.cite("S2")],
                form_received_on=form_received_on,
            )
        )
    value = TransferDeadlines(out_due, in_due, send_p.value, recv_p.value)
    return Decision(value, tuple(reasons))


# --- R-XFER-004 --------------------------------------------------------------------------


class AccountTransferState(StrEnum):
    NO_ACCOUNT = "NO_ACCOUNT"  # resident relation
    AWAITING_MONEY = "AWAITING_MONEY"  # form here, money not yet remitted
    AWAITING_FORM = "AWAITING_FORM"  # nothing received yet
    SUSPENSE = "SUSPENSE"  # money here before the form, or not matching it
    CREDITED = "CREDITED"  # reconciled and credited


@dataclass(frozen=True)
class AccountTransfer(Record):
    state: AccountTransferState
    credit_amount: Decimal  # credited to the person's account
    suspense_amount: Decimal  # held in the suspense account
    credited_on: date | None = None


def _balance(value: Decimal | None, field: str) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0 or round_fen(value) != value:
        raise YibaoError(XFER_BAD_BALANCE, field=field, value=value)
    return value


def account_on_transfer(
    policy: Policy,
    *,
    scheme: Scheme | str,
    form_balance: Decimal | None = None,
    form_received_on: date | None = None,
    remitted_amount: Decimal | None = None,
    money_received_on: date | None = None,
) -> Decision[AccountTransfer]:
    """R-XFER-004: what the receiving region does with the remitted account balance.

    ``form_balance`` is the balance on the information form; ``remitted_amount`` the money that
    arrived. Credited only when both are here and they match (reconciliation); money without a
    matching form is parked in suspense.
    """
    s = _scheme(scheme, "scheme")
    form_balance = _balance(form_balance, "form_balance")
    remitted_amount = _balance(remitted_amount, "remitted_amount")
    cite = [policy.cite("S2"), policy.cite("S4")]
    if s is Scheme.RESIDENT:
        for name, v in (("form_balance", form_balance), ("remitted_amount", remitted_amount)):
            if v is not None and v != 0:
                raise YibaoError(XFER_NO_ACCOUNT, field=name, value=v)
        r = reason("R-XFER-004", "居民医保没有个人账户，无余额转移", "resident relations have no personal account", citations=cite)
        return Decision(AccountTransfer(AccountTransferState.NO_ACCOUNT, ZERO, ZERO), (r,))
    form_here = form_received_on is not None and form_balance is not None
    money_here = money_received_on is not None and remitted_amount is not None
    if money_here and form_here and remitted_amount == form_balance:
        on = max(form_received_on, money_received_on)
        r = reason(
            "R-XFER-004",
            f"账户余额 {remitted_amount} 与参保信息表一致，对账后于 {on} 记入个人账户",
            f"the remitted {remitted_amount} matches the form: credited to the account on {on} after reconciliation",
            citations=cite,
        )
        return Decision(AccountTransfer(AccountTransferState.CREDITED, remitted_amount, ZERO, on), (r,))
    if money_here:
        why_zh = "参保信息表未到" if not form_here else f"与信息表余额 {form_balance} 不符"
        why_en = "the form has not arrived" if not form_here else f"it does not match the form's {form_balance}"
        r = reason(
            "R-XFER-004",
            f"账户资金 {remitted_amount} 已到账但{why_zh}：暂挂待核，核对一致后记账",
            f"the account money {remitted_amount} arrived but {why_en}: held in suspense until the form matches",
            citations=cite,
        )
        value = AccountTransfer(AccountTransferState.SUSPENSE, ZERO, remitted_amount)
        return Decision(value, (r,), (Notice.of(XFER_SUSPENSE, amount=remitted_amount),))
    state = AccountTransferState.AWAITING_MONEY if form_here else AccountTransferState.AWAITING_FORM
    r = reason(
        "R-XFER-004",
        "等待转出地划转账户资金" if form_here else "等待参保信息表及账户资金",
        "waiting for the sending region to remit the balance" if form_here else "waiting for the form and the money",
        citations=cite,
    )
    return Decision(AccountTransfer(state, ZERO, ZERO), (r,))
