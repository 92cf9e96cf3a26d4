"""Contributions due (缴费) — SPEC §6 R-CONT-001…010 and R-RET-003.

Pure functions over facts and the dated regional policy; every result is a :class:`Decision`
whose reasons name the rule, the parameters used (each with its citation) and the documents.

Conventions (SPEC §0.2, §17):

* Parameters are resolved on the first day of the **contribution month** (费款所属期), never on
  the payment date (E-03, E-13); resident amounts on 1 January of the benefit year.
* Every amount is computed per person, per month and per line (unit share, individual share,
  payer) and rounded half-up to the region's ``contribution.rounding_unit`` (0.01 by default)
  *before* anything is summed (R-CONT-010, E-11).
* A parameter a rule needs and the pack does not give raises ``PARAM_MISSING`` naming the key.

Main entry points:

* :func:`clamp_base` (R-CONT-001), :func:`employee_base`, :func:`employee_month_due`
  (R-CONT-001/002/004/005, R-RET-003), :func:`unit_wage_bill_due` (R-CONT-004),
  :func:`base_true_up` (R-CONT-003), :func:`individual_backpay_due` (R-CONT-006),
  :func:`late_fee` (R-CONT-007), :func:`resident_year_due` (R-CONT-008),
  :func:`dae_month_due` / :func:`dae_account_debit` (R-CONT-009), :func:`monthly_lines_total`
  (R-CONT-010), and :func:`contribution_schedule` (what ``yibao contributions`` prints).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Iterable, Sequence

from yibao.codes import ContributionKind, FundLine, InsuStatus, InsuType, PsnType
from yibao.dates import BAD_MONTH_RANGE, YearMonth, days_between, month_range
from yibao.errors import INVALID_INPUT, Notice, YibaoError, dedupe_notices, define
from yibao.explain import Citation, Decision, Reason, Record, UsedParameter, reason
from yibao.model import ContributionLine, Enrollment, PayerType, PersonFacts, PersonGroup
from yibao.money import ZERO, round_fen, round_to_unit, sum_lines
from yibao.policy import Policy
from yibao.policy.schema import PARAM_MISSING

# --------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------

NEGATIVE_AMOUNT = define(
    "NEGATIVE_AMOUNT",
    "{what} 不能为负数：{value}",
    "{what} must not be negative: {value}",
)
WAGE_NOT_DECLARED = define(
    "WAGE_NOT_DECLARED",
    "参保关系 {relation_id} 在费款所属期 {month} 没有申报工资（缴费基数），无法计算应缴金额",
    "no wage (contribution base) is declared for relation {relation_id} in contribution month {month}; the amount due cannot be computed",
)
ACCOUNT_INSUFFICIENT = define(
    "ACCOUNT_INSUFFICIENT",
    "个人账户余额 {balance} 不足以划扣 {amount}（{month}），不作部分划扣，记欠费 {arrears}，下次划入后重试",
    "the personal account balance {balance} does not cover the debit of {amount} ({month}); no partial debit, arrears of {arrears} recorded for the next crediting",
)
DAE_UNIT_PART_UNKNOWN = define(
    "DAE_UNIT_PART_UNKNOWN",
    "领取失业保险金人员大额医疗费用补助的单位部分按晋人社厅发〔2023〕64号执行，本系统未收录其金额",
    "the unit part of the 大额 contribution for people on unemployment benefit follows 晋人社厅发〔2023〕64号, whose amount is not captured",
)
ASSISTANCE_SHARE_NOT_CONFIGURED = define(
    "ASSISTANCE_SHARE_NOT_CONFIGURED",
    "参保人属于医疗救助资助人群（{groups}），但统筹区 {region} 未配置 {year} 年度的资助比例，暂按个人全额缴费计算",
    "the person belongs to an assistance group ({groups}) but region {region} has no assistance share for {year}; the full amount is shown as individual",
)
NO_CONTRIBUTION_RULE = define(
    "NO_CONTRIBUTION_RULE",
    "险种 {insutype} 的参保关系 {relation_id} 没有缴费规则，未计算应缴金额",
    "relation {relation_id} of insurance type {insutype} has no contribution rule; nothing due is computed",
)
PAID_WITHOUT_MONTH = define(
    "PAID_WITHOUT_MONTH",
    "参保关系 {relation_id} 有 {count} 条缴费明细未标明费款所属期或年度（合计 {amount}），未计入逐月对账",
    "relation {relation_id} has {count} contribution line(s) without a contribution month or year (total {amount}); they are not matched month by month",
)

# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


class Share(StrEnum):
    """Which part of a contribution a line is (the payer is separate: a flexible worker pays both)."""

    UNIT = "UNIT"  # 单位缴费部分
    INDIVIDUAL = "INDIVIDUAL"  # 个人缴费部分
    COMBINED = "COMBINED"  # 单一费率，不区分单位与个人（大连灵活就业 6%）


class RefWagePhase(StrEnum):
    FINAL = "FINAL"  # the published previous-year average
    PROVISIONAL = "PROVISIONAL"  # used before publication (R-CONT-003)


_FUND_OF = {
    InsuType.EMPLOYEE_BASIC: FundLine.EMPLOYEE_POOL,
    InsuType.MAJOR_MEDICAL: FundLine.MAJOR_MEDICAL,
    InsuType.RESIDENT_BASIC: FundLine.RESIDENT_POOL,
    InsuType.OTHER_SPECIAL: FundLine.RESIDENT_POOL,
}


@dataclass(frozen=True)
class DueLine(Record):
    """One rounded line of money due: a share of one insurance, paid by one payer, for one month or year."""

    insutype: InsuType
    share: Share
    payer: PayerType
    amount: Decimal
    base: Decimal | None = None
    rate: Decimal | None = None

    _computed: ClassVar[tuple[str, ...]] = ("fund",)

    @property
    def fund(self) -> FundLine:
        return _FUND_OF[self.insutype]


@dataclass(frozen=True)
class ClampedBase(Record):
    """R-CONT-001: ``base = min(max(declared, floor), ceiling)``."""

    declared: Decimal
    base: Decimal
    floor: Decimal
    ceiling: Decimal
    bound: str | None  # "FLOOR", "CEILING" or None when the declared wage is inside the band


@dataclass(frozen=True)
class RefWage(Record):
    value: Decimal
    definition: str
    phase: RefWagePhase
    published_on: date | None


@dataclass(frozen=True)
class MonthDue(Record):
    """What one relation owes for one contribution month (basic 310 or 大额 330)."""

    relation_id: str | None
    month: YearMonth
    insutype: InsuType
    base: Decimal | None
    lines: tuple[DueLine, ...]
    unit_at_unit_level: bool = False  # R-CONT-004: the unit part is assessed on the unit's wage bill
    ref_wage: RefWage | None = None

    _computed: ClassVar[tuple[str, ...]] = ("total",)

    @property
    def total(self) -> Decimal:
        return sum_lines(line.amount for line in self.lines)

    def amount(self, share: Share | None = None, payer: PayerType | None = None) -> Decimal:
        return sum_lines(
            line.amount
            for line in self.lines
            if (share is None or line.share is share) and (payer is None or line.payer is payer)
        )


@dataclass(frozen=True)
class UnitWageBillDue(Record):
    """R-CONT-004: a unit's monthly contribution from its wage bill and headcount."""

    month: YearMonth
    headcount: int
    wage_bill: Decimal | None
    base: Decimal
    rate: Decimal
    amount: Decimal
    method: str  # "WAGE_BILL", "FLOOR_X_HEADCOUNT" or "REF_WAGE_X_HEADCOUNT"


@dataclass(frozen=True)
class TrueUpRecord(Record):
    """A 补差 record (kind 34): positive = to collect, negative = to refund."""

    month: YearMonth
    share: Share
    payer: PayerType
    provisional: Decimal
    final: Decimal
    difference: Decimal
    kind: ContributionKind = ContributionKind.BASE_TRUE_UP


@dataclass(frozen=True)
class TrueUp(Record):
    relation_id: str | None
    exempt: bool
    records: tuple[TrueUpRecord, ...]

    def total(self, share: Share | None = None) -> Decimal:
        return sum_lines(r.difference for r in self.records if share is None or r.share is share)


@dataclass(frozen=True)
class BackpayMonth(Record):
    month: YearMonth
    ref_wage: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class BackpayQuote(Record):
    """R-CONT-006: the Dalian individual back-payment channel, month by month."""

    months: tuple[BackpayMonth, ...]
    total: Decimal
    late_fee_waived: bool  # the channel charges no late fee (R-CONT-006)


@dataclass(frozen=True)
class LateFee(Record):
    unpaid: Decimal
    due_date: date
    paid_on: date
    days: int
    daily_rate: Decimal
    fee: Decimal
    waived: bool


@dataclass(frozen=True)
class ResidentDue(Record):
    """R-CONT-008: one person's resident contribution for a benefit year, split by payer."""

    benefit_year: int
    standard: Decimal
    subsidy: Decimal | None
    assistance_share: Decimal
    assistance_group: PersonGroup | None
    lines: tuple[DueLine, ...]

    _computed: ClassVar[tuple[str, ...]] = ("individual_pays", "assistance_pays", "total")

    @property
    def individual_pays(self) -> Decimal:
        return sum_lines(l.amount for l in self.lines if l.payer is PayerType.INDIVIDUAL)

    @property
    def assistance_pays(self) -> Decimal:
        return sum_lines(l.amount for l in self.lines if l.payer is PayerType.MEDICAL_ASSISTANCE)

    @property
    def total(self) -> Decimal:
        return sum_lines(l.amount for l in self.lines)


@dataclass(frozen=True)
class AccountDebit(Record):
    """R-CONT-009 / A-18: an account deduction attempt and the arrears it leaves."""

    month: YearMonth
    amount: Decimal
    balance_before: Decimal
    debited: Decimal
    arrears: Decimal

    _computed: ClassVar[tuple[str, ...]] = ("balance_after",)

    @property
    def balance_after(self) -> Decimal:
        return self.balance_before - self.debited


@dataclass(frozen=True)
class RoundedTotal(Record):
    """R-CONT-010: monthly amounts rounded line by line, and their sum."""

    monthly: tuple[tuple[YearMonth, Decimal], ...]
    total: Decimal
    unrounded_total: Decimal  # shown only to explain the drift (E-11); never used as an amount


@dataclass(frozen=True)
class ScheduleLine(Record):
    """One row of ``yibao contributions``: a relation × month (or benefit year) × insurance × payer."""

    month: YearMonth
    relation_id: str
    region: str
    insutype: InsuType
    fund: FundLine
    payer: PayerType
    due: Decimal | None  # None: assessed elsewhere (the unit's wage bill, R-CONT-004)
    paid: Decimal  # payments minus refunds recorded for this relation, period and payer
    outstanding: Decimal | None  # due - paid; negative means overpaid
    benefit_year: int | None = None  # resident rows: the benefit year the row stands for
    components: tuple[DueLine, ...] = ()
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class PayerTotal(Record):
    payer: PayerType
    due: Decimal
    paid: Decimal
    outstanding: Decimal


@dataclass(frozen=True)
class ContributionSchedule(Record):
    person_id: str
    first: YearMonth
    last: YearMonth
    lines: tuple[ScheduleLine, ...]
    total_due: Decimal
    total_paid: Decimal
    total_outstanding: Decimal
    by_payer: tuple[PayerTotal, ...]
    unmatched_paid: Decimal = ZERO  # lines with neither a month nor a benefit year (e.g. 趸缴)


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


class _Params:
    """Reads parameters for one region and date and remembers which ones were used."""

    def __init__(self, policy: Policy, region: str, on: date) -> None:
        self.policy = policy
        self.region = region
        self.on = on
        self.used: list[UsedParameter] = []

    def __call__(self, key: str) -> Any:
        p = self.policy.param(self.region, key, self.on)
        if all(u.key != key for u in self.used):
            self.used.append(p)
        return p.value

    def required(self, key: str) -> Any:
        """A nullable parameter whose null means 'not known': the rule cannot go on."""
        value = self(key)
        if value is None:
            raise YibaoError(PARAM_MISSING, field=key, region=self.region, on=self.on.isoformat(), key=key)
        return value

    def take(self) -> list[UsedParameter]:
        out, self.used = self.used, []
        return out


def _check_amount(value: Decimal, what: str, field: str) -> Decimal:
    if not isinstance(value, Decimal):
        from yibao.money import yuan

        value = yuan(value, field=field)
    if value < 0:
        raise YibaoError(NEGATIVE_AMOUNT, field=field, what=what, value=format(value, "f"))
    return value


def _unit(policy: Policy, region: str, on: date) -> tuple[Decimal, UsedParameter]:
    p = policy.param(region, "contribution.rounding_unit", on)
    return p.value, p


def _round(amount: Decimal, unit: Decimal) -> Decimal:
    return round_to_unit(amount, unit)


def _cite(policy: Policy, key: str, article: str | None = None) -> Citation:
    return policy.cite(key, article)


def termination_date(relation: Enrollment) -> date | None:
    """The day a relation was terminated: its end date, else the first day of a TERMINATED status."""
    if relation.end is not None:
        return relation.end
    for change in sorted(relation.status_changes, key=lambda c: c.effective):
        if change.status is InsuStatus.TERMINATED:
            return change.effective
    return None


def is_billable(relation: Enrollment, month: YearMonth, *, partial_month_due: bool) -> bool:
    """Is a monthly contribution due for this relation and month?

    With ``partial_month_due`` (E-06, national default) any day in normal status makes the whole
    month due; otherwise the relation must be normal on the first day of the month.
    """
    first, last = month.first_day(), month.last_day()
    if not partial_month_due:
        return relation.status_on(first) is InsuStatus.NORMAL
    start = max(first, relation.start)
    end = min(last, relation.end) if relation.end is not None else last
    if start > end:
        return False
    candidates = {start} | {c.effective for c in relation.status_changes if start <= c.effective <= end}
    return any(relation.status_on(d) is InsuStatus.NORMAL for d in candidates)


# --------------------------------------------------------------------------------------
# R-CONT-001 clamp
# --------------------------------------------------------------------------------------


def clamp_base(declared: Decimal, ref_wage: Decimal, floor_pct: Decimal, ceiling_pct: Decimal) -> Decision[ClampedBase]:
    """R-CONT-001: ``min(max(declared, floor), ceiling)`` with floor and ceiling rounded to the fen."""
    declared = _check_amount(declared, "申报工资 / declared wage", "wage")
    ref_wage = _check_amount(ref_wage, "社平工资 / reference wage", "ref_wage")
    floor_pct = _check_amount(floor_pct, "下限比例 / floor percentage", "floor_pct")
    ceiling_pct = _check_amount(ceiling_pct, "上限比例 / ceiling percentage", "ceiling_pct")
    if floor_pct > ceiling_pct:
        raise YibaoError(INVALID_INPUT, field="floor_pct", reason=f"floor_pct {floor_pct} > ceiling_pct {ceiling_pct}")
    floor = round_fen(ref_wage * floor_pct)
    ceiling = round_fen(ref_wage * ceiling_pct)
    if declared < floor:
        base, bound = floor, "FLOOR"
    elif declared > ceiling:
        base, bound = ceiling, "CEILING"
    else:
        base, bound = round_fen(declared), None
    where = {"FLOOR": ("按下限", "raised to the floor"), "CEILING": ("按上限", "capped at the ceiling"), None: ("在上下限之间", "within the band")}[bound]
    r = reason(
        "R-CONT-001",
        f"缴费基数 {base}：申报工资 {declared} {where[0]}（下限 {floor} = {ref_wage} × {floor_pct}，上限 {ceiling} = {ref_wage} × {ceiling_pct}）",
        f"contribution base {base}: declared wage {declared} {where[1]} (floor {floor} = {ref_wage} × {floor_pct}, ceiling {ceiling} = {ref_wage} × {ceiling_pct})",
        declared=declared,
        ref_wage=ref_wage,
        floor=floor,
        ceiling=ceiling,
    )
    return Decision(ClampedBase(declared, base, floor, ceiling, bound), (r,))


# --------------------------------------------------------------------------------------
# Reference wage (R-CONT-001 / R-CONT-003)
# --------------------------------------------------------------------------------------


def reference_wage(
    policy: Policy,
    region: str,
    month: YearMonth,
    *,
    as_of: date | None = None,
    terminated_on: date | None = None,
    phase: RefWagePhase | None = None,
) -> Decision[RefWage]:
    """The previous-year average wage that applies to a contribution month (R-CONT-001, R-CONT-003).

    If the region publishes the average late (``ref_wage_published_on`` set for the month), the
    provisional value applies while it is not yet known (``as_of`` before publication), and for
    good for a relation terminated strictly before publication when the region exempts those from
    the true-up (A-10). ``as_of=None`` means "everything published so far is known".
    """
    region = policy.check_region(region)
    P = _Params(policy, region, month.first_day())
    published_on = P("contribution.employee.ref_wage_published_on")
    chosen = phase
    why_zh, why_en = "", ""
    if chosen is None:
        chosen = RefWagePhase.FINAL
        if published_on is not None:
            if as_of is not None and as_of < published_on:
                chosen = RefWagePhase.PROVISIONAL
                why_zh, why_en = f"（{as_of} 时尚未公布，{published_on} 公布）", f" (not yet published on {as_of}; published {published_on})"
            elif terminated_on is not None and terminated_on < published_on and P("contribution.employee.true_up_exempt_terminated"):
                chosen = RefWagePhase.PROVISIONAL
                why_zh = f"（参保关系于 {terminated_on} 终止，早于 {published_on} 公布，不补差）"
                why_en = f" (relation terminated {terminated_on}, before publication on {published_on}: no true-up)"
    if chosen is RefWagePhase.PROVISIONAL:
        value = P("contribution.employee.provisional_ref_wage")
        rule = "R-CONT-003"
        label_zh, label_en = "暂按", "provisional"
    else:
        value = P("contribution.employee.ref_wage")
        rule = "R-CONT-001"
        label_zh, label_en = "", "published"
    definition = P("contribution.employee.ref_wage_definition")
    r = reason(
        rule,
        f"费款所属期 {month} 的缴费基数参照{label_zh}上年度平均工资 {value}（口径 {definition}）{why_zh}",
        f"contribution month {month} uses the {label_en} previous-year average wage {value} (definition {definition}){why_en}",
        parameters=P.take(),
        month=month,
    )
    return Decision(RefWage(value, definition, chosen, published_on), (r,))


def employee_base(
    wage: Decimal,
    month: YearMonth,
    policy: Policy,
    region: str,
    *,
    as_of: date | None = None,
    terminated_on: date | None = None,
    phase: RefWagePhase | None = None,
) -> Decision[ClampedBase]:
    """R-CONT-001/002/004: the declared wage clamped to the region's band for the contribution month."""
    region = policy.check_region(region)
    wage = _check_amount(wage, "申报工资 / declared wage", "wage")
    ref = reference_wage(policy, region, month, as_of=as_of, terminated_on=terminated_on, phase=phase)
    P = _Params(policy, region, month.first_day())
    floor_pct = P("contribution.employee.base_floor_pct")
    ceiling_pct = P("contribution.employee.base_ceiling_pct")
    clamped = clamp_base(wage, ref.value.value, floor_pct, ceiling_pct)
    (cr,) = clamped.reasons
    r = Reason(cr.rule_id, cr.message_zh, cr.message_en, tuple(P.take()), (), cr.facts)
    return Decision(clamped.value, (*ref.reasons, r))


# --------------------------------------------------------------------------------------
# Employee month (R-CONT-001/002/004/005, R-RET-003)
# --------------------------------------------------------------------------------------


def employee_month_due(
    relation: Enrollment,
    month: YearMonth,
    policy: Policy,
    *,
    groups: frozenset[PersonGroup] = frozenset(),
    as_of: date | None = None,
    phase: RefWagePhase | None = None,
) -> Decision[MonthDue]:
    """Basic employee contribution (310) due for one relation and contribution month.

    * Retirees (psn_type 12xx/13xx) owe nothing (R-RET-003).
    * Unit employees: unit and individual shares on the clamped base, each rounded (R-CONT-001/002);
      in a region whose unit part is assessed on the unit's wage bill (R-CONT-004) only the
      individual share is computed here and ``unit_at_unit_level`` is set.
    * Flexible workers pay both shares themselves (R-CONT-005), or the region's single rate on
      ``max(own base, 社平)`` — own base only for the groups exempt from that floor — with
      ``min_monthly`` as a floor (Dalian, historical).
    * People on unemployment benefit: the UI fund pays (R-ENR-001(5)) where the region says so.
    * No wage declared → no lines and a ``WAGE_NOT_DECLARED`` notice.
    """
    region = policy.check_region(relation.region)
    if relation.insutype is not InsuType.EMPLOYEE_BASIC:
        raise YibaoError(INVALID_INPUT, field="insutype", reason=f"employee_month_due needs a 310 relation, got {relation.insutype.value}")
    on = month.first_day()
    if relation.psn_type.is_retired:
        r = reason(
            "R-RET-003",
            f"人员类别 {relation.psn_type.value} 为退休人员，{month} 不缴纳基本医疗保险费（应缴 0.00）",
            f"person category {relation.psn_type.value} is retired: no basic contribution is due for {month} (0.00)",
            citations=[_cite(policy, "S5", "第二十七条")],
            psn_type=relation.psn_type,
        )
        return Decision(MonthDue(relation.relation_id, month, relation.insutype, None, ()), (r,))
    wage = relation.wage_for(month)
    if wage is None:
        notice = Notice.of(WAGE_NOT_DECLARED, field="wages", relation_id=relation.relation_id, month=str(month))
        return Decision(MonthDue(relation.relation_id, month, relation.insutype, None, ()), (), (notice,))
    _check_amount(wage, "申报工资 / declared wage", "wage")
    unit_amt, unit_p = _unit(policy, region, on)
    P = _Params(policy, region, on)
    reasons: list[Reason] = []
    terminated_on = termination_date(relation)

    # Who pays (R-CONT-005 flexible workers pay both shares; R-ENR-001(5) UI fund).
    unit_payer, indiv_payer = PayerType.UNIT, PayerType.INDIVIDUAL
    if PersonGroup.UNEMPLOYED_ON_BENEFIT in groups and P("contribution.employee.unemployed_paid_by_ui_fund"):
        unit_payer = indiv_payer = PayerType.UI_FUND
        reasons.append(
            reason(
                "R-ENR-001",
                f"{month} 领取失业保险金，基本医疗保险费由失业保险基金缴纳",
                f"on unemployment benefit in {month}: the unemployment-insurance fund pays the contribution",
                parameters=P.take(),
                citations=[_cite(policy, "S11")],
            )
        )
    elif relation.is_flexible:
        unit_payer = PayerType.INDIVIDUAL

    if relation.is_flexible and P("contribution.flexible.method") == "FLAT_RATE":
        due = _flexible_flat_rate(relation, month, wage, groups, policy, region, unit_amt, unit_p, as_of, terminated_on, phase)
        return Decision(due.value, (*reasons, *due.reasons), due.notices)

    based = employee_base(wage, month, policy, region, as_of=as_of, terminated_on=terminated_on, phase=phase)
    reasons.extend(based.reasons)
    base = based.value.base
    ref = reference_wage(policy, region, month, as_of=as_of, terminated_on=terminated_on, phase=phase).value
    method = P("contribution.employee.unit_base_method")
    unit_at_unit_level = method == "UNIT_WAGE_BILL" and not relation.is_flexible
    indiv_rate = P("contribution.employee.indiv_rate")
    lines: list[DueLine] = []
    if not unit_at_unit_level:
        unit_rate = P("contribution.employee.unit_rate")
        lines.append(DueLine(InsuType.EMPLOYEE_BASIC, Share.UNIT, unit_payer, _round(base * unit_rate, unit_amt), base, unit_rate))
    lines.append(DueLine(InsuType.EMPLOYEE_BASIC, Share.INDIVIDUAL, indiv_payer, _round(base * indiv_rate, unit_amt), base, indiv_rate))
    parts_zh = "；".join(f"{_share_zh(l.share)} {l.amount} = {base} × {l.rate}（{l.payer.value}）" for l in lines)
    parts_en = "; ".join(f"{l.share.value.lower()} share {l.amount} = {base} × {l.rate} ({l.payer.value})" for l in lines)
    rule = "R-CONT-005" if relation.is_flexible else "R-CONT-001"
    extra_zh = "灵活就业人员自行缴纳单位和个人两部分；" if relation.is_flexible else ""
    extra_en = "a flexible worker pays both the unit and the individual share; " if relation.is_flexible else ""
    if unit_at_unit_level:
        extra_zh += "单位部分按单位工资总额核定（R-CONT-004），不在个人名下计算；"
        extra_en += "the unit part is assessed on the unit's wage bill (R-CONT-004), not per person; "
    reasons.append(
        reason(
            rule,
            f"{month}：{extra_zh}{parts_zh}，每项四舍五入到 {unit_amt}",
            f"{month}: {extra_en}{parts_en}; each line rounded half-up to {unit_amt}",
            parameters=[*P.take(), unit_p],
            citations=[_cite(policy, "S11")] if relation.is_flexible else [],
            month=month,
            base=base,
        )
    )
    value = MonthDue(relation.relation_id, month, relation.insutype, base, tuple(lines), unit_at_unit_level, ref)
    return Decision(value, tuple(reasons))


def _share_zh(share: Share) -> str:
    return {Share.UNIT: "单位部分", Share.INDIVIDUAL: "个人部分", Share.COMBINED: "合并费率"}[share]


def _flexible_flat_rate(
    relation: Enrollment,
    month: YearMonth,
    own_base: Decimal,
    groups: frozenset[PersonGroup],
    policy: Policy,
    region: str,
    unit_amt: Decimal,
    unit_p: UsedParameter,
    as_of: date | None,
    terminated_on: date | None,
    phase: RefWagePhase | None,
) -> Decision[MonthDue]:
    """R-CONT-005 (Dalian, historical): ``rate × max(own base, 社平)``; own base alone for the exempt groups."""
    P = _Params(policy, region, month.first_day())
    ref = reference_wage(policy, region, month, as_of=as_of, terminated_on=terminated_on, phase=phase)
    rate = P("contribution.flexible.rate")
    exempt_groups = {str(g) for g in P("contribution.flexible.no_ref_floor_groups")}
    min_monthly = P("contribution.flexible.min_monthly")
    exempt = sorted(g.value for g in groups if g.value in exempt_groups)
    if exempt:
        base = round_fen(own_base)
        how_zh, how_en = f"属于 {', '.join(exempt)}，按本人基数 {base}", f"in {', '.join(exempt)}: own base {base}"
    else:
        base = max(round_fen(own_base), ref.value.value)
        how_zh = f"按 max(本人基数 {own_base}, 社平 {ref.value.value}) = {base}"
        how_en = f"max(own base {own_base}, reference wage {ref.value.value}) = {base}"
    computed = _round(base * rate, unit_amt)
    amount = computed
    floor_zh = floor_en = ""
    if min_monthly is not None and computed < min_monthly:
        amount = _round(min_monthly, unit_amt)
        floor_zh, floor_en = f"，低于月最低缴费额 {min_monthly}，按 {amount}", f", below the monthly minimum {min_monthly}: {amount}"
    line = DueLine(InsuType.EMPLOYEE_BASIC, Share.COMBINED, PayerType.INDIVIDUAL, amount, base, rate)
    r = reason(
        "R-CONT-005",
        f"{month} 灵活就业人员按 {rate} 缴费：{how_zh}，计算 {computed}{floor_zh}",
        f"{month} flexible worker pays {rate}: {how_en}, computed {computed}{floor_en}",
        parameters=[*P.take(), unit_p],
        citations=[_cite(policy, "S17")],
        computed=computed,
        groups=sorted(g.value for g in groups),
    )
    value = MonthDue(relation.relation_id, month, relation.insutype, base, (line,), False, ref.value)
    return Decision(value, (*ref.reasons, r))


# --------------------------------------------------------------------------------------
# R-CONT-004 unit wage bill
# --------------------------------------------------------------------------------------


def unit_wage_bill_due(
    month: YearMonth, policy: Policy, region: str, *, headcount: int, wage_bill: Decimal | None
) -> Decision[UnitWageBillDue]:
    """R-CONT-004 (Dalian, historical): unit part = rate × the unit's previous-month wage bill.

    If the average wage is below ``unit_avg_floor_pct`` × 社平, the base is that floor × headcount;
    if the wage bill cannot be established (``None``), ``unit_unknown_bill_pct`` × 社平 × headcount.
    """
    region = policy.check_region(region)
    if isinstance(headcount, bool) or not isinstance(headcount, int) or headcount <= 0:
        raise YibaoError(INVALID_INPUT, field="headcount", reason=f"headcount must be a positive integer, got {headcount!r}")
    ref = reference_wage(policy, region, month)
    P = _Params(policy, region, month.first_day())
    unit_amt = P("contribution.rounding_unit")
    rate = P("contribution.employee.unit_rate")
    sp = ref.value.value
    if wage_bill is None:
        pct = P("contribution.employee.unit_unknown_bill_pct")
        base = round_fen(sp * pct) * headcount
        method = "REF_WAGE_X_HEADCOUNT"
        how_zh = f"工资总额无法确定，按社平 {sp} × {pct} × {headcount} 人 = {base}"
        how_en = f"wage bill unknown: reference wage {sp} × {pct} × {headcount} staff = {base}"
    else:
        wage_bill = _check_amount(wage_bill, "工资总额 / wage bill", "wage_bill")
        pct = P("contribution.employee.unit_avg_floor_pct")
        floor_avg = round_fen(sp * pct)
        average = wage_bill / headcount
        if average < floor_avg:
            base = floor_avg * headcount
            method = "FLOOR_X_HEADCOUNT"
            how_zh = f"人均工资 {round_fen(average)} 低于 {floor_avg}（社平 × {pct}），按 {floor_avg} × {headcount} 人 = {base}"
            how_en = f"average wage {round_fen(average)} below {floor_avg} (reference × {pct}): {floor_avg} × {headcount} staff = {base}"
        else:
            base = round_fen(wage_bill)
            method = "WAGE_BILL"
            how_zh, how_en = f"按上月工资总额 {base}", f"previous month's wage bill {base}"
    amount = _round(base * rate, unit_amt)
    r = reason(
        "R-CONT-004",
        f"{month} 单位缴费 {amount} = {rate} × 基数 {base}：{how_zh}",
        f"{month} unit contribution {amount} = {rate} × base {base}: {how_en}",
        parameters=P.take(),
        citations=[_cite(policy, "S17")],
        headcount=headcount,
        wage_bill=wage_bill,
    )
    return Decision(UnitWageBillDue(month, headcount, wage_bill, base, rate, amount, method), (*ref.reasons, r))


# --------------------------------------------------------------------------------------
# R-CONT-003 provisional base and true-up
# --------------------------------------------------------------------------------------


def base_true_up(
    relation: Enrollment,
    months: Iterable[YearMonth],
    policy: Policy,
    *,
    groups: frozenset[PersonGroup] = frozenset(),
    terminated_on: date | None = None,
) -> Decision[TrueUp]:
    """R-CONT-003: 补差 records once the average used provisionally is published.

    For each month whose reference wage was published late, recompute with the published value and
    record the difference per share and payer (kind 34; negative = refund). No records at all — in
    either direction — for a relation terminated *strictly before* the publication date where the
    region exempts those (A-10). ``terminated_on`` defaults to :func:`termination_date`.
    """
    region = policy.check_region(relation.region)
    ended = terminated_on if terminated_on is not None else termination_date(relation)
    records: list[TrueUpRecord] = []
    reasons: list[Reason] = []
    exempt_any = False
    for month in sorted(set(months)):
        P = _Params(policy, region, month.first_day())
        published_on = P("contribution.employee.ref_wage_published_on")
        if published_on is None:
            reasons.append(
                reason(
                    "R-CONT-003",
                    f"{month} 的上年度平均工资无暂定期，不需补差",
                    f"{month}: the reference wage had no provisional period; no true-up",
                    parameters=P.take(),
                )
            )
            continue
        if ended is not None and ended < published_on and P("contribution.employee.true_up_exempt_terminated"):
            exempt_any = True
            reasons.append(
                reason(
                    "R-CONT-003",
                    f"{month}：参保关系于 {ended} 终止，早于社平公布日 {published_on}，单位和个人均不补差（不补收也不退还）",
                    f"{month}: relation terminated on {ended}, before publication on {published_on}: no true-up for unit or individual, either direction",
                    parameters=P.take(),
                    citations=[_cite(policy, "S10", "第三项"), _cite(policy, "YIBAO", "A-10")],
                    terminated_on=ended,
                )
            )
            continue
        provisional = employee_month_due(relation, month, policy, groups=groups, phase=RefWagePhase.PROVISIONAL)
        final = employee_month_due(relation, month, policy, groups=groups, phase=RefWagePhase.FINAL)
        before = {(l.share, l.payer): l.amount for l in provisional.value.lines}
        after = {(l.share, l.payer): l.amount for l in final.value.lines}
        month_records = []
        for key in sorted(set(before) | set(after)):
            diff = after.get(key, ZERO) - before.get(key, ZERO)
            if diff != 0:
                month_records.append(TrueUpRecord(month, key[0], key[1], before.get(key, ZERO), after.get(key, ZERO), diff))
        records.extend(month_records)
        detail_zh = "；".join(f"{_share_zh(t.share)} {t.final} - {t.provisional} = {t.difference}" for t in month_records) or "无差额"
        detail_en = "; ".join(f"{t.share.value.lower()} {t.final} - {t.provisional} = {t.difference}" for t in month_records) or "no difference"
        reasons.append(
            reason(
                "R-CONT-003",
                f"{month}：社平于 {published_on} 公布，按公布值重算并补差（类型34）：{detail_zh}",
                f"{month}: the average was published on {published_on}; recomputed with it, true-up (kind 34): {detail_en}",
                parameters=P.take(),
                citations=[_cite(policy, "S10", "第三项")],
            )
        )
    value = TrueUp(relation.relation_id, exempt_any and not records, tuple(records))
    return Decision(value, tuple(reasons))


# --------------------------------------------------------------------------------------
# R-CONT-006 individual back-payment channel
# --------------------------------------------------------------------------------------


def individual_backpay_due(months: Iterable[YearMonth], policy: Policy, region: str) -> Decision[BackpayQuote]:
    """R-CONT-006 (Dalian, historical): per arrears month, ``社平(that month's period) × base_pct × rate``; no late fee."""
    region = policy.check_region(region)
    out: list[BackpayMonth] = []
    reasons: list[Reason] = []
    waived_all = True
    for month in sorted(set(months)):
        ref = reference_wage(policy, region, month)
        P = _Params(policy, region, month.first_day())
        unit_amt = P("contribution.rounding_unit")
        base_pct = P("contribution.employee.individual_backpay_base_pct")
        rate = P("contribution.employee.individual_backpay_rate")
        waived_all = waived_all and bool(P("contribution.late_fee.waived_individual_backpay"))
        base = round_fen(ref.value.value * base_pct)
        amount = _round(base * rate, unit_amt)
        out.append(BackpayMonth(month, ref.value.value, base, amount))
        reasons.append(
            reason(
                "R-CONT-006",
                f"补缴 {month}：基数 {base} = 该期社平 {ref.value.value} × {base_pct}，金额 {amount} = {base} × {rate}",
                f"back-pay {month}: base {base} = that period's reference wage {ref.value.value} × {base_pct}; amount {amount} = {base} × {rate}",
                parameters=[*ref.reasons[0].parameters, *P.take()],
                citations=[_cite(policy, "S17")],
            )
        )
    total = sum_lines(m.amount for m in out)
    fee_zh, fee_en = ("不收滞纳金", "no late fee") if waived_all else ("滞纳金按 R-CONT-007 另计", "late fee per R-CONT-007")
    reasons.append(
        reason(
            "R-CONT-006",
            f"个人补缴渠道合计 {total}，{fee_zh}",
            f"individual back-payment channel total {total}; {fee_en}",
        )
    )
    return Decision(BackpayQuote(tuple(out), total, waived_all), tuple(reasons))


# --------------------------------------------------------------------------------------
# R-CONT-007 late fee
# --------------------------------------------------------------------------------------


def late_fee(
    unpaid: Decimal,
    due_date: date,
    paid_on: date,
    policy: Policy,
    region: str,
    *,
    individual_backpay: bool = False,
) -> Decision[LateFee]:
    """R-CONT-007: ``unpaid × daily_rate × days``, days counted after the due date up to and including payment."""
    region = policy.check_region(region)
    unpaid = _check_amount(unpaid, "欠缴金额 / unpaid amount", "unpaid")
    P = _Params(policy, region, due_date)
    rate = P("contribution.late_fee.daily_rate")
    days = days_between(due_date, paid_on)
    waived = individual_backpay and bool(P("contribution.late_fee.waived_individual_backpay"))
    fee = ZERO if waived else round_fen(unpaid * rate * days)
    if waived:
        zh = f"个人补缴渠道免收滞纳金（{days} 天）"
        en = f"the individual back-payment channel waives the late fee ({days} days)"
    else:
        zh = f"滞纳金 {fee} = {unpaid} × {rate} × {days} 天（{due_date} 次日起至 {paid_on}，含缴费当日）"
        en = f"late fee {fee} = {unpaid} × {rate} × {days} days (from the day after {due_date} to {paid_on} inclusive)"
    r = reason("R-CONT-007", zh, en, parameters=P.take(), citations=[_cite(policy, "S5", "第八十六条")], days=days)
    return Decision(LateFee(unpaid, due_date, paid_on, days, rate, fee, waived), (r,))


# --------------------------------------------------------------------------------------
# R-CONT-008 resident
# --------------------------------------------------------------------------------------


def resident_year_due(
    benefit_year: int,
    policy: Policy,
    region: str,
    *,
    groups: frozenset[PersonGroup] = frozenset(),
) -> Decision[ResidentDue]:
    """R-CONT-008: the individual standard for the benefit year, split between the person and medical
    assistance by the region's share for the person's group (the highest share if several), one
    line per payer because refunds follow the payer channel (R-REF-002). The subsidy is shown for
    information (the person does not pay it)."""
    region = policy.check_region(region)
    on = date(benefit_year, 1, 1)
    P = _Params(policy, region, on)
    unit_amt = P("contribution.rounding_unit")
    standard = P.required("contribution.resident.individual_standard")
    subsidy = P("contribution.resident.subsidy")
    shares_raw = P("contribution.resident.assistance_share") or {}
    shares = {str(k): Decimal(str(v)) for k, v in shares_raw.items()}
    best: tuple[Decimal, PersonGroup] | None = None
    for g in sorted(groups, key=lambda g: g.value):
        s = shares.get(g.value)
        if s is not None and (best is None or s > best[0]):
            best = (s, g)
    notices: list[Notice] = []
    reasons: list[Reason] = []
    lines: list[DueLine] = []
    if best is None:
        share, group = ZERO, None
        assisted = sorted(g.value for g in groups if g.is_assistance)
        if assisted:
            notices.append(Notice.of(ASSISTANCE_SHARE_NOT_CONFIGURED, field="groups", groups=", ".join(assisted), region=region, year=benefit_year))
        lines.append(DueLine(InsuType.RESIDENT_BASIC, Share.INDIVIDUAL, PayerType.INDIVIDUAL, _round(standard, unit_amt)))
        zh = f"{benefit_year} 年度居民医保个人缴费 {lines[0].amount}"
        en = f"{benefit_year} resident individual contribution {lines[0].amount}"
    else:
        share, group = best
        assistance = _round(standard * share, unit_amt)
        person = _round(standard - assistance, unit_amt)
        lines.append(DueLine(InsuType.RESIDENT_BASIC, Share.INDIVIDUAL, PayerType.INDIVIDUAL, person))
        lines.append(DueLine(InsuType.RESIDENT_BASIC, Share.INDIVIDUAL, PayerType.MEDICAL_ASSISTANCE, assistance))
        zh = f"{benefit_year} 年度个人缴费标准 {standard}，{group.value} 医疗救助资助 {share}：救助 {assistance}，个人 {person}，分渠道记录"
        en = f"{benefit_year} individual standard {standard}; {group.value} assisted at {share}: assistance {assistance}, person {person}, recorded per payer"
    if subsidy is not None:
        zh += f"；财政补助 {subsidy}（不由个人缴纳）"
        en += f"; fiscal subsidy {subsidy} (not paid by the person)"
    reasons.append(
        reason("R-CONT-008", zh, en, parameters=P.take(), citations=[_cite(policy, "S18")], benefit_year=benefit_year, groups=sorted(g.value for g in groups))
    )
    value = ResidentDue(benefit_year, standard, subsidy, share, group, tuple(lines))
    return Decision(value, tuple(reasons), tuple(notices))


# --------------------------------------------------------------------------------------
# R-CONT-009 Datong 大额
# --------------------------------------------------------------------------------------


def dae_month_due(
    month: YearMonth,
    policy: Policy,
    region: str,
    *,
    psn_type: PsnType,
    unemployed_on_benefit: bool = False,
    delinked: bool = False,
    unit_payer: PayerType | None = None,
    relation_id: str | None = None,
) -> Decision[MonthDue]:
    """R-CONT-009: the 大额 (330) contribution for one contribution month, chosen by that month (E-03, E-13).

    * in service (incl. flexible workers): unit part + individual part debited from the account;
    * retired or de-linked (脱钩): one amount from the account, no unit part;
    * on unemployment benefit: individual part from the account; the unit part only if captured;
    * ``unit_payer`` overrides who pays the unit part (e.g. ``MUNICIPAL_FINANCE`` for closed enterprises).
    """
    region = policy.check_region(region)
    P = _Params(policy, region, month.first_day())
    unit_amt = P("contribution.rounding_unit")
    annual = P("contribution.dae.annual_standard")
    lines: list[DueLine] = []
    notices: list[Notice] = []
    if psn_type.is_retired or delinked:
        amt = P("contribution.dae.retiree_monthly")
        lines.append(DueLine(InsuType.MAJOR_MEDICAL, Share.INDIVIDUAL, PayerType.PERSONAL_ACCOUNT, _round(amt, unit_amt)))
        who_zh, who_en = ("办理脱钩人员" if delinked else "退休人员"), ("de-linked person" if delinked else "retiree")
    elif unemployed_on_benefit:
        amt = P("contribution.dae.unemployed_monthly")
        lines.append(DueLine(InsuType.MAJOR_MEDICAL, Share.INDIVIDUAL, PayerType.PERSONAL_ACCOUNT, _round(amt, unit_amt)))
        unit_part = P("contribution.dae.unemployed_unit_monthly")
        if unit_part is None:
            notices.append(Notice.of(DAE_UNIT_PART_UNKNOWN, field="contribution.dae.unemployed_unit_monthly"))
        else:
            lines.insert(0, DueLine(InsuType.MAJOR_MEDICAL, Share.UNIT, unit_payer or PayerType.UI_FUND, _round(unit_part, unit_amt)))
        who_zh, who_en = "领取失业保险金人员", "person on unemployment benefit"
    else:
        unit_part = P("contribution.dae.unit_monthly")
        indiv = P("contribution.dae.individual_monthly")
        payer = unit_payer or (PayerType.INDIVIDUAL if psn_type.is_flexible else PayerType.UNIT)
        if unit_part != 0:
            lines.append(DueLine(InsuType.MAJOR_MEDICAL, Share.UNIT, payer, _round(unit_part, unit_amt)))
        lines.append(DueLine(InsuType.MAJOR_MEDICAL, Share.INDIVIDUAL, PayerType.PERSONAL_ACCOUNT, _round(indiv, unit_amt)))
        who_zh, who_en = ("在职灵活就业人员" if psn_type.is_flexible else "在职职工"), ("in-service flexible worker" if psn_type.is_flexible else "in-service employee")
    parts_zh = "，".join(f"{'单位' if l.share is Share.UNIT else '个人账户划扣' if l.payer is PayerType.PERSONAL_ACCOUNT else '个人'} {l.amount}" for l in lines)
    parts_en = ", ".join(f"{'unit' if l.share is Share.UNIT else 'account debit' if l.payer is PayerType.PERSONAL_ACCOUNT else 'individual'} {l.amount}" for l in lines)
    r = reason(
        "R-CONT-009",
        f"费款所属期 {month}（按所属期而非缴费日期选标准）{who_zh} 大额医疗费用补助：{parts_zh}（年标准 {annual}）",
        f"contribution month {month} (standard chosen by contribution month, not payment date), {who_en}, 大额: {parts_en} (annual standard {annual})",
        parameters=P.take(),
        citations=[_cite(policy, "S12")],
        month=month,
        psn_type=psn_type,
    )
    return Decision(MonthDue(relation_id, month, InsuType.MAJOR_MEDICAL, None, tuple(lines)), (r,), tuple(notices))


def dae_account_debit(amount: Decimal, balance: Decimal, month: YearMonth, policy: Policy, region: str) -> Decision[AccountDebit]:
    """R-CONT-009 / A-18: debit the account for 大额; a balance below the debit → no partial debit,
    the full amount becomes arrears (``ACCOUNT_INSUFFICIENT``), unless ``contribution.dae.partial_debit``."""
    region = policy.check_region(region)
    amount = _check_amount(amount, "划扣金额 / debit", "amount")
    balance = _check_amount(balance, "账户余额 / balance", "balance")
    P = _Params(policy, region, month.first_day())
    partial = P("contribution.dae.partial_debit")
    notices: list[Notice] = []
    if balance >= amount:
        debited, arrears = amount, ZERO
        zh, en = f"{month} 从个人账户划扣 {amount}（余额 {balance}）", f"{month}: {amount} debited from the account (balance {balance})"
    elif partial:
        debited, arrears = balance, amount - balance
        zh = f"{month} 余额 {balance} 不足 {amount}：部分划扣 {debited}，欠费 {arrears}"
        en = f"{month}: balance {balance} below {amount}: partial debit {debited}, arrears {arrears}"
    else:
        debited, arrears = ZERO, amount
        notices.append(Notice.of(ACCOUNT_INSUFFICIENT, field="balance", balance=balance, amount=amount, arrears=arrears, month=str(month)))
        zh = f"{month} 余额 {balance} 不足 {amount}：不作部分划扣，记欠费 {arrears}"
        en = f"{month}: balance {balance} below {amount}: no partial debit, arrears {arrears}"
    r = reason("R-CONT-009", zh, en, parameters=P.take(), citations=[_cite(policy, "S12"), _cite(policy, "YIBAO", "A-18")])
    return Decision(AccountDebit(month, amount, balance, debited, arrears), (r,), tuple(notices))


# --------------------------------------------------------------------------------------
# R-CONT-010 rounding
# --------------------------------------------------------------------------------------


def monthly_lines_total(base: Decimal, rate: Decimal, months: Sequence[YearMonth], policy: Policy, region: str) -> Decision[RoundedTotal]:
    """R-CONT-010: round ``base × rate`` for each month, then add the rounded amounts (E-11)."""
    region = policy.check_region(region)
    base = _check_amount(base, "缴费基数 / base", "base")
    rate = _check_amount(rate, "费率 / rate", "rate")
    monthly: list[tuple[YearMonth, Decimal]] = []
    used: list[UsedParameter] = []
    for m in months:
        unit_amt, p = _unit(policy, region, m.first_day())
        if p not in used:
            used.append(p)
        monthly.append((m, _round(base * rate, unit_amt)))
    total = sum_lines(a for _, a in monthly)
    unrounded = base * rate * len(monthly)
    r = reason(
        "R-CONT-010",
        f"逐月逐项四舍五入后相加：{len(monthly)} 个月合计 {total}（不是先相加再取整的 {round_fen(unrounded)}）",
        f"each month's line rounded, then added: {len(monthly)} months total {total} (not {round_fen(unrounded)} from rounding the unrounded sum)",
        parameters=used,
        citations=[_cite(policy, "YIBAO", "SPEC §0.2")],
    )
    return Decision(RoundedTotal(tuple(monthly), total, unrounded), (r,))


# --------------------------------------------------------------------------------------
# The schedule
# --------------------------------------------------------------------------------------

_MONTHLY = (InsuType.EMPLOYEE_BASIC, InsuType.MAJOR_MEDICAL)
_ANNUAL = (InsuType.RESIDENT_BASIC, InsuType.OTHER_SPECIAL)
_FAMILIES = {"310": InsuType.EMPLOYEE_BASIC, "330": InsuType.MAJOR_MEDICAL, "390": InsuType.RESIDENT_BASIC}


def _family(line: ContributionLine, relation: Enrollment) -> InsuType:
    """Which insurance a paid line belongs to: its fund code's insutype, else the relation's."""
    if line.fund is not None and line.fund.value[:3] in _FAMILIES:
        family = _FAMILIES[line.fund.value[:3]]
        if family is InsuType.RESIDENT_BASIC and relation.insutype is InsuType.OTHER_SPECIAL:
            return relation.insutype
        return family
    return relation.insutype


def _dae_category_relation(facts: PersonFacts, rider: Enrollment, month: YearMonth) -> Enrollment:
    """The 310 base relation in the same region active in the month (its psn_type decides the 大额 category)."""
    for e in sorted(facts.enrollments, key=lambda e: (e.start, e.relation_id)):
        if e.insutype is InsuType.EMPLOYEE_BASIC and e.region == rider.region and is_billable(e, month, partial_month_due=True):
            return e
    return rider


def contribution_schedule(
    facts: PersonFacts,
    policy: Policy,
    first: YearMonth,
    last: YearMonth,
    *,
    as_of: date | None = None,
) -> Decision[ContributionSchedule]:
    """Month by month, for each relation active in the month: every fund line due (with payer),
    paid (payments minus refunds recorded for that relation, period and payer), outstanding.

    * 310 relations: :func:`employee_month_due`; 330 riders: :func:`dae_month_due` (category from
      the base 310 relation); 390/399 relations: one row set per benefit year, in the first month of
      that year inside the range in which the relation is active (:func:`resident_year_due`).
    * A month is due when the relation is normal on any day of it (``partial_month_due``, E-06) —
      or on its first day where the region says so; nothing is due for months after death.
    * Paid lines are matched by relation, contribution month (or benefit year), insurance (from the
      line's fund code) and payer; paid lines without a due line show as overpaid.
    """
    if last < first:
        raise YibaoError(BAD_MONTH_RANGE, field="months", value=f"{first}..{last}")
    rows: list[ScheduleLine] = []
    reasons: list[Reason] = []
    notices: list[Notice] = []
    unmatched = ZERO
    death_month = YearMonth.of(facts.death_date) if facts.death_date else None
    if death_month is not None and death_month < last:
        reasons.append(
            reason(
                "R-ACCT-006",
                f"参保人于 {facts.death_date} 死亡，{death_month + 1} 起不再计算应缴（含个人账户划扣）",
                f"the person died on {facts.death_date}: nothing is due from {death_month + 1} on (account debits included)",
                death_date=facts.death_date,
            )
        )

    for relation in sorted(facts.enrollments, key=lambda e: (e.start, e.relation_id)):
        region = policy.check_region(relation.region, field="enrollments.region")
        lines = facts.lines_for(relation.relation_id)
        paid: dict[tuple[Any, InsuType, PayerType], Decimal] = {}
        no_period = [l for l in lines if l.month is None and l.benefit_year is None]
        if no_period:
            amount = sum_lines(l.amount for l in no_period)
            unmatched += amount
            notices.append(Notice.of(PAID_WITHOUT_MONTH, field="contributions", relation_id=relation.relation_id, count=len(no_period), amount=amount))
        annual = relation.insutype in _ANNUAL
        for l in lines:
            if annual:
                period: Any = l.benefit_year if l.benefit_year is not None else (l.month.year if l.month else None)
            else:
                period = l.month
            if period is None:
                continue
            key = (period, _family(l, relation), l.payer)
            paid[key] = paid.get(key, ZERO) + l.amount

        if relation.insutype not in _MONTHLY and relation.insutype not in _ANNUAL:
            notices.append(Notice.of(NO_CONTRIBUTION_RULE, field="insutype", insutype=relation.insutype.value, relation_id=relation.relation_id))
            continue

        if annual:
            rows.extend(_resident_rows(facts, relation, region, policy, first, last, death_month, paid, notices))
            continue

        retired_noted = False
        for month in month_range(first, last):
            if death_month is not None and month > death_month:
                due_lines: tuple[DueLine, ...] = ()
                month_reasons: tuple[Reason, ...] = ()
                unit_level = False
            else:
                partial = policy.value(region, "contribution.employee.partial_month_due", month.first_day())
                billable = is_billable(relation, month, partial_month_due=partial)
                due_lines, month_reasons, unit_level = (), (), False
                if billable:
                    groups = facts.groups_on(month.first_day())
                    if relation.insutype is InsuType.EMPLOYEE_BASIC:
                        d = employee_month_due(relation, month, policy, groups=groups, as_of=as_of)
                        if d.value.lines == () and relation.psn_type.is_retired:
                            if not retired_noted:
                                reasons.extend(d.reasons)
                                retired_noted = True
                    else:
                        base_rel = _dae_category_relation(facts, relation, month)
                        d = dae_month_due(
                            month,
                            policy,
                            region,
                            psn_type=base_rel.psn_type,
                            unemployed_on_benefit=PersonGroup.UNEMPLOYED_ON_BENEFIT in groups,
                            relation_id=relation.relation_id,
                        )
                    due_lines, month_reasons, unit_level = d.value.lines, d.reasons, d.value.unit_at_unit_level
                    notices.extend(d.notices)
            rows.extend(_rows_for(relation, region, month, None, due_lines, month_reasons, paid, unit_level))
    rows.sort(key=lambda r: (r.month, r.relation_id, r.insutype.value, r.payer.value))
    total_due = sum_lines(r.due for r in rows if r.due is not None)
    total_paid = sum_lines(r.paid for r in rows)
    total_out = sum_lines(r.outstanding for r in rows if r.outstanding is not None)
    by_payer = []
    for payer in sorted({r.payer for r in rows}, key=lambda p: p.value):
        mine = [r for r in rows if r.payer is payer]
        by_payer.append(
            PayerTotal(
                payer,
                sum_lines(r.due for r in mine if r.due is not None),
                sum_lines(r.paid for r in mine),
                sum_lines(r.outstanding for r in mine if r.outstanding is not None),
            )
        )
    reasons.insert(
        0,
        reason(
            "R-CONT-010",
            f"{first}..{last} 应缴 {total_due}，已缴 {total_paid}，欠缴 {total_out}：逐人逐月逐项四舍五入后相加",
            f"{first}..{last}: due {total_due}, paid {total_paid}, outstanding {total_out}; every line rounded per person, month and fund line before adding",
            citations=[_cite(policy, "YIBAO", "SPEC §0.2")],
        ),
    )
    value = ContributionSchedule(facts.person_id, first, last, tuple(rows), total_due, total_paid, total_out, tuple(by_payer), unmatched)
    return Decision(value, tuple(reasons), tuple(dedupe_notices(notices)))


def _rows_for(
    relation: Enrollment,
    region: str,
    month: YearMonth,
    benefit_year: int | None,
    due_lines: tuple[DueLine, ...],
    reasons: tuple[Reason, ...],
    paid: dict[tuple[Any, InsuType, PayerType], Decimal],
    unit_level: bool,
) -> list[ScheduleLine]:
    period: Any = benefit_year if benefit_year is not None else month
    keys: dict[tuple[InsuType, PayerType], list[DueLine]] = {}
    for line in due_lines:
        keys.setdefault((line.insutype, line.payer), []).append(line)
    for (p, fam, payer) in paid:
        if p == period:
            keys.setdefault((fam, payer), [])
    if unit_level:
        keys.setdefault((InsuType.EMPLOYEE_BASIC, PayerType.UNIT), [])
    out = []
    for (fam, payer), comps in sorted(keys.items(), key=lambda kv: (kv[0][0].value, kv[0][1].value)):
        got = round_fen(paid.get((period, fam, payer), ZERO))
        assessed_elsewhere = unit_level and fam is InsuType.EMPLOYEE_BASIC and payer is PayerType.UNIT and not comps
        due = None if assessed_elsewhere else sum_lines(c.amount for c in comps)
        outstanding = None if due is None else due - got
        out.append(
            ScheduleLine(month, relation.relation_id, region, fam, _FUND_OF[fam], payer, due, got, outstanding, benefit_year, tuple(comps), reasons)
        )
    return out


def _resident_rows(
    facts: PersonFacts,
    relation: Enrollment,
    region: str,
    policy: Policy,
    first: YearMonth,
    last: YearMonth,
    death_month: YearMonth | None,
    paid: dict[tuple[Any, InsuType, PayerType], Decimal],
    notices: list[Notice],
) -> list[ScheduleLine]:
    out: list[ScheduleLine] = []
    for year in range(first.year, last.year + 1):
        shown: YearMonth | None = None
        for month in month_range(max(first, YearMonth(year, 1)), min(last, YearMonth(year, 12))):
            if death_month is not None and month > death_month:
                break
            if is_billable(relation, month, partial_month_due=True):
                shown = month
                break
        has_paid = any(p == year for (p, _, _) in paid)
        if shown is None:
            if not has_paid:
                continue
            shown = max(first, YearMonth(year, 1))
            out.extend(_rows_for(relation, region, shown, year, (), (), paid, False))
            continue
        groups = facts.groups_on(max(date(year, 1, 1), relation.start))
        d = resident_year_due(year, policy, region, groups=groups)
        notices.extend(d.notices)
        out.extend(_rows_for(relation, region, shown, year, d.value.lines, d.reasons, paid, False))
    return out


