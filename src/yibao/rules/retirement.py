"""Cumulative contribution years and retirement (SPEC §11 R-XFER-003, §14 R-RET-001…002, E-07).

* :func:`cumulative_months` — R-XFER-003: the union of months paid in employee-scheme relations in
  every region (a month paid twice counts once), plus active military service (deemed years), plus
  other recognised deemed months, plus lump-sum ``months_credited``; resident years count only
  through a regional conversion (``retirement.resident_year_months``).
* :func:`retirement_check` — R-RET-001: minimum years by sex and region, and the shortfall.
* :func:`topup_quote` — R-RET-002: ``shortfall × base_ref × rate``, and when benefits start.
* :func:`check_payment_after_death` — E-07: a back-payment or lump sum after the date of death is
  rejected unless it is an heir's settlement of months before death.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable, Mapping

from yibao.codes import ContributionKind, Scheme
from yibao.dates import YearMonth, month_range
from yibao.errors import Notice, YibaoError, define
from yibao.explain import Decision, Reason, Record, UsedParameter, reason
from yibao.model import ContributionLine, PayerType, PersonFacts
from yibao.money import ZERO, round_fen
from yibao.policy import Policy

RET_UNKNOWN_RELATION = define(
    "RET_UNKNOWN_RELATION",
    "缴费明细引用了不存在的参保关系 {relation_id}",
    "a contribution line refers to an unknown enrollment relation {relation_id}",
)
RET_BAD_MONTHS = define(
    "RET_BAD_MONTHS",
    "月数无效：{value}（应为不小于0的整数）",
    "invalid number of months {value!r} (expected a whole number of at least 0)",
)
RET_SEX_UNKNOWN = define(
    "RET_SEX_UNKNOWN",
    "性别无效：{value}（应为 M 或 F），无法确定最低缴费年限",
    "sex {value!r} is not M or F; the minimum contribution years cannot be chosen",
)
RET_RESIDENT_TIER_MISSING = define(
    "RET_RESIDENT_TIER_MISSING",
    "{year} 年度居民医保缴费档次未知（可选：{tiers}），无法折算职工医保缴费年限",
    "the resident contribution tier of {year} is not given (one of: {tiers}); the year cannot be converted",
)
RET_PAID_AFTER_DEATH = define(
    "RET_PAID_AFTER_DEATH",
    "缴费日期 {paid_on} 晚于死亡日期 {death_date}：{why}",
    "payment on {paid_on} is after the date of death {death_date}: {why}",
)
RET_DUPLICATE_MONTHS = define(
    "RET_DUPLICATE_MONTHS",
    "{count} 个月份在多个职工医保参保关系中重复缴费，只计算一次",
    "{count} month(s) were paid in more than one employee relation; each counts once",
)
RET_RESIDENT_YEARS_NOT_COUNTED = define(
    "RET_RESIDENT_YEARS_NOT_COUNTED",
    "居民医保参保年度 {years} 不计入职工医保缴费年限（本统筹区无折算规定）",
    "resident-scheme years {years} do not count as employee contribution years (no regional conversion)",
)
RET_ILLUSTRATIVE = define(
    "RET_ILLUSTRATIVE",
    "所用参数 {keys} 为示例值而非公布数，金额仅供参考",
    "parameters {keys} are illustrative figures, not published ones; the amount is indicative only",
)
RET_HEIR_SETTLEMENT = define(
    "RET_HEIR_SETTLEMENT",
    "死亡后由继承人办理的死亡前欠费结算，予以受理",
    "settlement by a lawful heir of arrears for months before death: accepted",
)

# Kinds that credit a contribution month (true-ups and refunds only change an amount).
_CREDITING = frozenset(
    {
        ContributionKind.REGULAR,
        ContributionKind.INTERRUPTION_BACKPAY,
        ContributionKind.ONE_OFF_BACKPAY,
        ContributionKind.RETIREMENT_BACKPAY,
        ContributionKind.LUMP_SUM,
    }
)
_LUMP_SUM_KINDS = frozenset({ContributionKind.RETIREMENT_BACKPAY, ContributionKind.LUMP_SUM})
_BACKPAY_KINDS = frozenset(
    {
        ContributionKind.INTERRUPTION_BACKPAY,
        ContributionKind.ONE_OFF_BACKPAY,
        ContributionKind.RETIREMENT_BACKPAY,
        ContributionKind.LUMP_SUM,
    }
)


# --- R-XFER-003 --------------------------------------------------------------------------



@dataclass(frozen=True)
class CumulativeMonths(Record):
    _computed = ('employee_paid_months', 'deemed_total', 'total', 'years', 'remaining_months',)

    """累计缴费年限 as months, by part (R-XFER-003). ``total`` is what R-RET-001 compares."""

    paid_months: frozenset[YearMonth]  # months paid in employee relations, any region, each once
    military_months: int  # active service months not also paid (deemed)
    deemed_months: int  # other recognised deemed months (视同缴费年限) given by the caller
    lump_sum_months: int  # months credited by lump sums that name no month
    resident_converted_months: int  # resident years converted by a regional rule
    duplicate_months: int  # months paid in more than one relation (counted once above)
    paid_by_region: tuple[tuple[str, int], ...] = ()  # region → months counted there (a month paid in two regions is shown once)
    resident_years: tuple[int, ...] = ()  # resident benefit years found (counted or not)

    @property
    def employee_paid_months(self) -> int:
        return len(self.paid_months)

    @property
    def deemed_total(self) -> int:
        """Deemed months: military service plus other recognised deemed years."""
        return self.military_months + self.deemed_months

    @property
    def total(self) -> int:
        return (
            self.employee_paid_months
            + self.military_months
            + self.deemed_months
            + self.lump_sum_months
            + self.resident_converted_months
        )

    @property
    def years(self) -> int:
        """Full years in the total (252 months → 21)."""
        return self.total // 12

    @property
    def remaining_months(self) -> int:
        return self.total % 12


def _check_months(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise YibaoError(RET_BAD_MONTHS, field=field, value=value)
    return value


def _superseded(lines: Iterable[ContributionLine]) -> set[str]:
    return {c.supersedes for c in lines if c.supersedes}


def cumulative_months(
    facts: PersonFacts,
    policy: Policy,
    region: str,
    on: date,
    *,
    through: YearMonth | None = None,
    deemed_months: int = 0,
    resident_tiers: Mapping[int, str] | None = None,
) -> Decision[CumulativeMonths]:
    """R-XFER-003: cumulative employee contribution months of a person, as counted in ``region`` on ``on``.

    ``through`` limits named months (e.g. to the retirement month: prepaid months after it do not
    count). ``deemed_months`` are other recognised deemed months (视同缴费年限) from the pension
    record. ``resident_tiers`` gives the resident contribution tier of each resident year when the
    region converts resident years and has more than one tier.
    """
    deemed_months = _check_months(deemed_months, "deemed_months")
    relations = {e.relation_id: e for e in facts.enrollments}
    superseded = _superseded(facts.contributions)

    net: dict[tuple[str, YearMonth], Decimal] = defaultdict(lambda: ZERO)
    credited: set[tuple[str, YearMonth]] = set()
    lump: dict[str, int] = defaultdict(int)
    resident_net: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    for i, line in enumerate(facts.contributions):
        if line.key is not None and line.key in superseded:
            continue
        rel = relations.get(line.relation_id)
        if rel is None:
            raise YibaoError(RET_UNKNOWN_RELATION, field=f"contributions[{i}].relation_id", relation_id=line.relation_id)
        if rel.scheme is Scheme.RESIDENT:
            if line.benefit_year is not None and (through is None or line.benefit_year <= through.year):
                resident_net[(rel.relation_id, line.benefit_year)] += line.amount
            continue
        if rel.scheme is not Scheme.EMPLOYEE:
            continue  # riders (330 …) carry no contribution years
        if line.month is not None:
            if through is not None and line.month > through:
                continue
            net[(rel.relation_id, line.month)] += line.amount
            if line.kind in _CREDITING and line.amount > 0:
                credited.add((rel.relation_id, line.month))
        elif line.months_credited:
            _check_months(line.months_credited, f"contributions[{i}].months_credited")
            lump[rel.relation_id] += line.months_credited if line.amount >= 0 else -line.months_credited

    paid_in: dict[YearMonth, list[str]] = defaultdict(list)
    for rel_id, month in sorted(credited, key=lambda k: (k[1], k[0])):
        if net[(rel_id, month)] > 0:
            paid_in[month].append(rel_id)
    paid = frozenset(paid_in)
    duplicates = sum(1 for rels in paid_in.values() if len(rels) > 1)
    by_region: dict[str, int] = defaultdict(int)
    for month, rels in paid_in.items():
        by_region[relations[rels[0]].region] += 1

    service: set[YearMonth] = set()
    for sp in facts.service_periods:
        last = sp.end if through is None else min(sp.end, through)
        service.update(month_range(sp.start, last) if sp.start <= last else ())
    military = len(service - paid)
    lump_total = sum(max(0, m) for m in lump.values())

    # Resident years: only through a regional conversion, and never above the months of that year
    # not already counted (a converted year cannot make a month count twice).
    resident_years = sorted({year for (_, year), amount in resident_net.items() if amount > 0})
    conv_p = policy.param(region, "retirement.resident_year_months", on)
    conversion = conv_p.value
    resident_converted = 0
    reasons: list[Reason] = []
    notices: list[Notice] = []
    if resident_years and conversion:
        table = {str(k): _check_months(int(v), "retirement.resident_year_months") for k, v in conversion.items()}
        tiers = dict(resident_tiers or {})
        for year in resident_years:
            tier = tiers.get(year)
            if tier is None and len(table) == 1:
                tier = next(iter(table))
            if tier is None or str(tier) not in table:
                raise YibaoError(
                    RET_RESIDENT_TIER_MISSING, field="resident_tiers", year=year, tiers=", ".join(sorted(table))
                )
            already = sum(1 for m in paid | service if m.year == year)
            resident_converted += min(table[str(tier)], 12 - already)
    elif resident_years:
        notices.append(Notice.of(RET_RESIDENT_YEARS_NOT_COUNTED, years=", ".join(map(str, resident_years))))
    if duplicates:
        notices.append(Notice.of(RET_DUPLICATE_MONTHS, count=duplicates))

    value = CumulativeMonths(
        paid_months=paid,
        military_months=military,
        deemed_months=deemed_months,
        lump_sum_months=lump_total,
        resident_converted_months=resident_converted,
        duplicate_months=duplicates,
        paid_by_region=tuple(sorted(by_region.items())),
        resident_years=tuple(resident_years),
    )
    reasons.insert(
        0,
        reason(
            "R-XFER-003",
            f"累计缴费 {value.total} 个月（{value.years} 年 {value.remaining_months} 个月）：职工医保实际缴费 {value.employee_paid_months} 个月"
            f"（各统筹区合并，重复缴费 {duplicates} 个月只计一次），军龄视同 {military} 个月，其他视同 {deemed_months} 个月，"
            f"一次性缴费计入 {lump_total} 个月，居民年限折算 {resident_converted} 个月",
            f"cumulative {value.total} months ({value.years} years {value.remaining_months} months): {value.employee_paid_months} months paid in "
            f"employee relations (all regions together; {duplicates} month(s) paid twice counted once), {military} months of military service "
            f"(deemed), {deemed_months} other deemed months, {lump_total} months credited by lump sums, {resident_converted} months from resident years",
            parameters=[conv_p],
            citations=[policy.cite("S5", "第三十二条"), policy.cite("S2")],
            paid_by_region=dict(value.paid_by_region),
            through=through,
            resident_years=list(resident_years),
        ),
    )
    return Decision(value, tuple(reasons), tuple(notices))


# --- R-RET-001 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RetirementCheck(Record):
    _computed = ('meets',)

    sex: str
    min_years: int
    required_months: int
    counted_months: int
    shortfall_months: int

    @property
    def meets(self) -> bool:
        return self.shortfall_months == 0


def _sex(value: object) -> str:
    s = str(value).strip().upper() if value is not None else ""
    aliases = {"M": "M", "MALE": "M", "男": "M", "1": "M", "F": "F", "FEMALE": "F", "女": "F", "2": "F"}
    if s not in aliases:
        raise YibaoError(RET_SEX_UNKNOWN, field="sex", value=value)
    return aliases[s]


def retirement_check(
    cumulative: CumulativeMonths | int,
    sex: str,
    policy: Policy,
    region: str,
    on: date,
) -> Decision[RetirementCheck]:
    """R-RET-001: does a person retiring in ``region`` on ``on`` meet the minimum years, and by how much not.

    ``cumulative`` is the R-XFER-003 result (deemed months are dropped where the region does not
    allow them) or a plain month count already established.
    """
    sex = _sex(sex)
    key = "retirement.min_years_male" if sex == "M" else "retirement.min_years_female"
    min_p = policy.param(region, key, on)
    deemed_p = policy.param(region, "retirement.deemed_years_allowed", on)
    params: list[UsedParameter] = [min_p, deemed_p]
    if isinstance(cumulative, CumulativeMonths):
        counted = cumulative.total - (0 if deemed_p.value else cumulative.deemed_total)
    else:
        counted = _check_months(cumulative, "cumulative_months")
    min_years = int(min_p.value)
    required = min_years * 12
    shortfall = max(0, required - counted)
    check = RetirementCheck(sex, min_years, required, counted, shortfall)
    sex_zh = "男" if sex == "M" else "女"
    if check.meets:
        r = reason(
            "R-RET-001",
            f"累计缴费 {counted} 个月，达到{sex_zh}性最低缴费年限 {min_years} 年（{required} 个月）：退休后不再缴费，享受退休人员待遇",
            f"{counted} cumulative months meet the minimum of {min_years} years ({required} months) for {'men' if sex == 'M' else 'women'}: "
            "no further contributions, retiree benefits",
            parameters=params,
            citations=[policy.cite("S5", "第二十七条")],
            counted_months=counted,
        )
    else:
        r = reason(
            "R-RET-001",
            f"累计缴费 {counted} 个月，不足{sex_zh}性最低缴费年限 {min_years} 年（{required} 个月），差 {shortfall} 个月，可一次性补缴至规定年限（R-RET-002）",
            f"{counted} cumulative months are {shortfall} short of the minimum of {min_years} years ({required} months) for "
            f"{'men' if sex == 'M' else 'women'}; the shortfall may be topped up (R-RET-002)",
            parameters=params,
            citations=[policy.cite("S5", "第二十七条")],
            counted_months=counted,
            shortfall_months=shortfall,
        )
    return Decision(check, (r,))


# --- R-RET-002 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TopUpQuote(Record):
    shortfall_months: int
    base_ref: Decimal
    rate: Decimal
    monthly_amount: Decimal  # base_ref × rate, rounded to the fen (one month's line, R-CONT-010)
    amount: Decimal  # monthly_amount × shortfall_months
    benefit_start_rule: str  # IMMEDIATE or AFTER_WAIT
    wait_months: int | None  # months after the payment month (day 1), when AFTER_WAIT
    required_before_benefits: bool | None  # Jilin: the top-up must precede retiree benefits


def topup_quote(
    shortfall_months: int,
    policy: Policy,
    region: str,
    on: date,
    *,
    never_insured_pensioner: bool = False,
) -> Decision[TopUpQuote]:
    """R-RET-002: the lump sum (趸缴) for ``shortfall_months``, priced on ``on`` (the payment date).

    Benefit start: at once (default) or, for a pensioner never insured in 310 in a region with a
    waiting period (Luzhou R-WAIT-009), ``retiree_lump_sum.wait_offset_months`` after the payment
    month; the timeline computes the date (and the transitional rule), this only exposes the rule.
    """
    shortfall_months = _check_months(shortfall_months, "shortfall_months")
    base_p = policy.param(region, "retirement.topup_base_ref", on)
    rate_p = policy.param(region, "retirement.topup_rate", on)
    before_p = policy.param(region, "retirement.topup_before_retiree_benefits", on)
    params = [base_p, rate_p, before_p]
    monthly = round_fen(base_p.value * rate_p.value)
    amount = round_fen(monthly * shortfall_months)
    wait: int | None = None
    if never_insured_pensioner:
        wait_p = policy.param(region, "retiree_lump_sum.wait_offset_months", on)
        params.append(wait_p)
        wait = wait_p.value
    rule = "AFTER_WAIT" if wait else "IMMEDIATE"
    value = TopUpQuote(shortfall_months, base_p.value, rate_p.value, monthly, amount, rule, wait, before_p.value)
    start_zh = f"缴费当月加 {wait} 个月的1日起享受待遇（R-WAIT-009）" if wait else "补足后即享受退休人员待遇"
    start_en = f"benefits from day 1 of the payment month + {wait} (R-WAIT-009)" if wait else "retiree benefits at once"
    reasons = [
        reason(
            "R-RET-002",
            f"一次性补缴 {shortfall_months} 个月 × 基数 {base_p.value} × 费率 {rate_p.value} = {amount}；{start_zh}",
            f"lump-sum top-up {shortfall_months} months × base {base_p.value} × rate {rate_p.value} = {amount}; {start_en}",
            parameters=params,
            citations=[policy.cite("S11", "三(2)"), policy.cite("S17")],
            shortfall_months=shortfall_months,
        )
    ]
    illustrative = [p.key for p in params if p.illustrative]
    notices = (Notice.of(RET_ILLUSTRATIVE, keys=", ".join(illustrative)),) if illustrative else ()
    return Decision(value, tuple(reasons), notices)


# --- E-07 --------------------------------------------------------------------------------


def check_payment_after_death(line: ContributionLine, death_date: date | None) -> Decision[bool]:
    """E-07: may this payment be recorded for a person who died on ``death_date``?

    Payments made on or before the day of death, refunds, and regular or true-up lines for months up
    to the month of death (collection lag) are accepted. After death, a back-payment or lump sum is
    accepted only when a lawful heir (payer ``HEIR``) settles arrears for months before death; a
    payment for a month after the month of death is always rejected. Raises ``RET_PAID_AFTER_DEATH``.
    """
    cite = reason(
        "E-07",
        "死亡后的补缴或一次性缴费须拒绝，继承人结算死亡前欠费的除外",
        "a back-payment or lump sum after death is rejected unless an heir settles arrears for months before death",
    )
    if death_date is None or line.paid_on <= death_date or line.is_refund:
        return Decision(True, (cite,))
    death_month = YearMonth.of(death_date)
    if line.month is not None and line.month > death_month:
        raise YibaoError(
            RET_PAID_AFTER_DEATH,
            field="month",
            paid_on=line.paid_on,
            death_date=death_date,
            why=f"所属期 {line.month} 在死亡当月之后 / month {line.month} is after the month of death",
        )
    if line.kind in _BACKPAY_KINDS:
        if line.payer is not PayerType.HEIR:
            raise YibaoError(
                RET_PAID_AFTER_DEATH,
                field="payer",
                paid_on=line.paid_on,
                death_date=death_date,
                why="死亡后的补缴或一次性缴费只能由继承人结算死亡前欠费 / only an heir may settle arrears after death",
            )
        return Decision(True, (cite,), (Notice.of(RET_HEIR_SETTLEMENT),))
    return Decision(True, (cite,))
