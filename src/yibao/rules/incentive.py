"""Resident incentives and subsidy deduction — SPEC §9 R-RES-004…007, A-05, A-06, E-14.

Inputs are plain values (the years a person was covered, the fund payments of each year), not the
timeline: the timeline or the claims system supplies them.

* :func:`continuous_incentive` — R-RES-004: steps after 4 full continuous years.
* :func:`zero_claim_incentive` — R-RES-005: steps after years without fund reimbursement.
* :func:`stack_incentives` / :func:`critical_illness_max` — R-RES-006: both stack, capped at 20 %.
* :func:`subsidy_deduction` — R-RES-007: deduct the year's fiscal subsidies of an extra resident
  relation; :func:`continuous_months` counts "≥ 12 months continuous" inclusively (E-14).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Iterable, Mapping

from yibao.dates import YearMonth
from yibao.errors import YibaoError, define
from yibao.explain import Decision, Reason, Record, UsedParameter, reason
from yibao.money import ZERO, round_fen, sum_lines
from yibao.policy import Policy

INC_YEAR_NOT_COVERED = define(
    "INC_YEAR_NOT_COVERED",
    "{year} 年度未参加居民医保，没有大病保险最高支付限额",
    "the person is not covered by the resident scheme in {year}; there is no critical-illness maximum",
)
INC_BAD_YEAR = define("INC_BAD_YEAR", "年度无效：{value}", "invalid year {value!r}")
INC_BAD_AMOUNT = define(
    "INC_BAD_AMOUNT",
    "金额无效：{value}（应为不小于0的金额）",
    "invalid amount {value!r} (expected at least 0)",
)
INC_CLAIMS_INCONSISTENT = define(
    "INC_CLAIMS_INCONSISTENT",
    "{year} 年度大病保险支付 {critical} 大于基金支付合计 {fund}",
    "in {year} the critical-illness payment {critical} exceeds the total fund payment {fund}",
)
INC_STEP_BELOW_MINIMUM = define(
    "INC_STEP_BELOW_MINIMUM",
    "统筹区 {region} 的 {key} 为 {value}，低于全国“每次不低于1000元”",
    "region {region} sets {key} to {value}, below the national minimum of 1 000 per step",
)
INC_BAD_KIND = define(
    "INC_BAD_KIND",
    "重复参保类型无效：{value}（应为 RESIDENT_RESIDENT 或 CROSS_SCHEME）",
    "invalid duplicate kind {value!r} (expected RESIDENT_RESIDENT or CROSS_SCHEME)",
)
INC_MONTHS_MISSING = define(
    "INC_MONTHS_MISSING",
    "跨制度重复参保须给出职工医保连续参保月数",
    "a cross-scheme duplicate needs the number of continuous employee months",
)

_MIN_STEP = Decimal("1000")


def _year(value: object, field: str = "year") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 9999:
        raise YibaoError(INC_BAD_YEAR, field=field, value=value)
    return value


def _amount(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or Decimal(value) < 0 or not Decimal(value).is_finite():
        raise YibaoError(INC_BAD_AMOUNT, field=field, value=value)
    return Decimal(value)


def _step(policy: Policy, region: str, key: str, on: date) -> UsedParameter:
    p = policy.param(region, key, on)
    if p.value < _MIN_STEP:
        raise YibaoError(INC_STEP_BELOW_MINIMUM, field=key, region=region, key=key, value=p.value)
    return p


def _runs(years: Iterable[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive years, in order."""
    out: list[tuple[int, int]] = []
    for y in sorted(set(years)):
        if out and y == out[-1][1] + 1:
            out[-1] = (out[-1][0], y)
        else:
            out.append((y, y))
    return out


# --- R-RES-004 ---------------------------------------------------------------------------



@dataclass(frozen=True)
class ContinuousIncentive(Record):
    _computed = ('increase',)

    year: int
    continuous_years: int  # length of the current run as counted
    steps: int  # steps earned in the current run
    kept_steps: int  # steps of earlier runs kept after a break
    step: Decimal
    penalty: Decimal  # re-entry reduction applied this year

    @property
    def increase(self) -> Decimal:
        return round_fen(self.step * (self.steps + self.kept_steps))


def continuous_incentive(
    year: int,
    covered_years: Iterable[int],
    policy: Policy,
    region: str,
) -> Decision[ContinuousIncentive]:
    """R-RES-004: continuous-enrollment steps for ``year``, given every resident year covered.

    A step is earned in each year from ``incentive.first_year`` on whose position in the current
    run of continuous years is beyond ``incentive.continuous_threshold_years`` (continuous 2021–2025:
    2025 is the 5th year, one step). Years before the first year count toward the run when
    ``incentive.count_years_before_2025``. A break restarts the count; earlier steps are kept only
    with ``incentive.keep_earned_on_break``; a re-entry penalty applies in the re-entry year(s).
    """
    year = _year(year)
    covered = {_year(y, "covered_years") for y in covered_years}
    if year not in covered:
        raise YibaoError(INC_YEAR_NOT_COVERED, field="year", year=year)
    on = date(year, 1, 1)
    first_p = policy.param(region, "incentive.first_year", on)
    threshold_p = policy.param(region, "incentive.continuous_threshold_years", on)
    step_p = _step(policy, region, "incentive.continuous_step", on)
    before_p = policy.param(region, "incentive.count_years_before_2025", on)
    keep_p = policy.param(region, "incentive.keep_earned_on_break", on)
    penalty_p = policy.param(region, "incentive.reentry_penalty", on)
    penalty_years_p = policy.param(region, "incentive.reentry_penalty_years", on)
    first_year, threshold = int(first_p.value), int(threshold_p.value)

    def counted_from(run: tuple[int, int]) -> int:
        return run[0] if before_p.value else max(run[0], first_year)

    def steps_in(run: tuple[int, int]) -> int:
        start = counted_from(run)
        return sum(1 for y in range(max(run[0], first_year), run[1] + 1) if y - start + 1 > threshold)

    runs = _runs(y for y in covered if y <= year)
    current, earlier = runs[-1], runs[:-1]
    steps = steps_in(current)
    kept = sum(steps_in(r) for r in earlier) if keep_p.value else 0
    continuous = max(0, current[1] - counted_from(current) + 1)
    reentry = bool(earlier) and current[0] >= first_year and year - current[0] < int(penalty_years_p.value)
    penalty = _amount(penalty_p.value, "incentive.reentry_penalty") if reentry else ZERO
    value = ContinuousIncentive(year, continuous, steps, kept, step_p.value, penalty)
    params = [first_p, threshold_p, step_p, before_p, keep_p, penalty_p, penalty_years_p]
    reasons: list[Reason] = [
        reason(
            "R-RES-004",
            f"{year} 年度：连续参保 {continuous} 年（{counted_from(current)}–{current[1]}），满 {threshold} 年后每年一档，"
            f"本段 {steps} 档、保留此前 {kept} 档，每档 {step_p.value}，提高 {value.increase}",
            f"{year}: {continuous} continuous year(s) ({counted_from(current)}–{current[1]}); one step per year after {threshold}; "
            f"{steps} step(s) in this run, {kept} kept from earlier runs, {step_p.value} each: +{value.increase}",
            parameters=params,
            citations=[policy.cite("S3", "连续参保激励")],
            covered_years=sorted(covered),
        )
    ]
    if reentry:
        reasons.append(
            reason(
                "R-RES-004",
                f"断保后于 {current[0]} 年再参保：大病保险最高支付限额降低 {penalty}",
                f"re-enrolled in {current[0]} after a break: the maximum is lowered by {penalty}",
                parameters=[penalty_p, penalty_years_p],
                citations=[policy.cite("S3", "连续参保激励")],
            )
        )
    return Decision(value, tuple(reasons))


# --- R-RES-005 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimYear(Record):
    """What the funds paid for a resident in one covered year (settled claims only)."""

    fund_paid: Decimal  # every fund line under 390/392 (zero_claim_definition)
    critical_illness_paid: Decimal = ZERO  # the 392 part
    reward_used: bool | None = None  # a critical-illness payment used the reward; None: derive it


@dataclass(frozen=True)
class ZeroClaimIncentive(Record):
    _computed = ('increase',)

    year: int
    steps: int  # accumulated zero-claim steps available in ``year``
    step: Decimal
    zero_claim_years: tuple[int, ...]  # the years that earned the steps since the last reset
    reset_in: int | None  # the last year in which the reward was used (accumulation reset)

    @property
    def increase(self) -> Decimal:
        return round_fen(self.step * self.steps)


def zero_claim_incentive(
    year: int,
    claims: Mapping[int, ClaimYear],
    policy: Policy,
    region: str,
) -> Decision[ZeroClaimIncentive]:
    """R-RES-005: zero-claim steps available in ``year``.

    ``claims`` has one entry per covered year (a year not listed is not covered: it neither earns
    a step nor resets). Each year from ``incentive.first_year`` with no fund payment adds a step for
    the following years; a year in which a critical-illness payment used the reward resets the
    accumulation to 0. A year with only other payments adds nothing and keeps what was accumulated.
    When ``reward_used`` is not given, it is derived: critical-illness payments above the original
    cap (``incentive.critical_illness_cap``) used the reward.
    """
    year = _year(year)
    on = date(year, 1, 1)
    first_p = policy.param(region, "incentive.first_year", on)
    step_p = _step(policy, region, "incentive.zero_claim_step", on)
    params: list[UsedParameter] = [first_p, step_p]
    cap_p: UsedParameter | None = None
    zero_years: list[int] = []
    reset_in: int | None = None
    for y in range(int(first_p.value), year):
        rec = claims.get(y)
        if rec is None:
            continue
        fund = _amount(rec.fund_paid, f"claims[{y}].fund_paid")
        critical = _amount(rec.critical_illness_paid, f"claims[{y}].critical_illness_paid")
        if critical > fund:
            raise YibaoError(INC_CLAIMS_INCONSISTENT, field=f"claims[{y}].critical_illness_paid", year=y, critical=critical, fund=fund)
        used = rec.reward_used
        if used is None:
            if critical > 0:
                if cap_p is None:
                    cap_p = policy.param(region, "incentive.critical_illness_cap", on)
                    params.append(cap_p)
                used = critical > cap_p.value
            else:
                used = False
        if used:
            zero_years.clear()
            reset_in = y
        if fund == 0:
            zero_years.append(y)
    value = ZeroClaimIncentive(year, len(zero_years), step_p.value, tuple(zero_years), reset_in)
    reset_zh = f"；{reset_in} 年大病保险支付使用了奖励额度，此前累计清零" if reset_in is not None else ""
    reset_en = f"; in {reset_in} a critical-illness payment used the reward, so the earlier accumulation was reset" if reset_in is not None else ""
    r = reason(
        "R-RES-005",
        f"{year} 年度：零报销年度 {', '.join(map(str, zero_years)) or '无'}，累计 {value.steps} 档，每档 {step_p.value}，提高 {value.increase}{reset_zh}",
        f"{year}: zero-claim years {', '.join(map(str, zero_years)) or 'none'}, {value.steps} step(s) of {step_p.value}: +{value.increase}{reset_en}",
        parameters=params,
        citations=[policy.cite("S3", "零报销激励")],
    )
    return Decision(value, (r,))


# --- R-RES-006 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CriticalIllnessMax(Record):
    _computed = ('cap',)

    year: int
    original_cap: Decimal
    continuous_increase: Decimal
    zero_claim_increase: Decimal
    limit: Decimal  # max_increase_pct × original cap
    increase: Decimal  # min(continuous + zero-claim, limit)
    penalty: Decimal  # re-entry reduction (R-RES-004)

    @property
    def cap(self) -> Decimal:
        return max(ZERO, self.original_cap + self.increase - self.penalty)


def stack_incentives(
    year: int,
    continuous_increase: Decimal,
    zero_claim_increase: Decimal,
    policy: Policy,
    region: str,
    *,
    penalty: Decimal = ZERO,
) -> Decision[CriticalIllnessMax]:
    """R-RES-006: both incentives stack; their sum is capped at ``incentive.max_increase_pct`` of the cap."""
    year = _year(year)
    cont = _amount(continuous_increase, "continuous_increase")
    zero = _amount(zero_claim_increase, "zero_claim_increase")
    penalty = _amount(penalty, "penalty")
    on = date(year, 1, 1)
    cap_p = policy.param(region, "incentive.critical_illness_cap", on)
    pct_p = policy.param(region, "incentive.max_increase_pct", on)
    limit = round_fen(cap_p.value * pct_p.value)
    total = sum_lines([cont, zero])
    increase = min(total, limit)
    value = CriticalIllnessMax(year, round_fen(cap_p.value), cont, zero, limit, increase, penalty)
    limited = total > limit
    r = reason(
        "R-RES-006",
        f"{year} 年度大病保险最高支付限额：原限额 {cap_p.value} + 连续参保 {cont} + 零报销 {zero}"
        f"{f'（合计 {total} 超过上限 {limit}，按 {limit}）' if limited else ''}"
        f"{f' − 再参保降低 {penalty}' if penalty else ''} = {value.cap}",
        f"{year} critical-illness maximum: original {cap_p.value} + continuous {cont} + zero-claim {zero}"
        f"{f' (total {total} above the limit {limit}, limited)' if limited else ''}"
        f"{f' − re-entry reduction {penalty}' if penalty else ''} = {value.cap}",
        parameters=[cap_p, pct_p],
        citations=[policy.cite("S3", "参保激励")],
    )
    return Decision(value, (r,))


def critical_illness_max(
    year: int,
    covered_years: Iterable[int],
    claims: Mapping[int, ClaimYear],
    policy: Policy,
    region: str,
) -> Decision[CriticalIllnessMax]:
    """R-RES-004 + R-RES-005 + R-RES-006: the critical-illness maximum of ``year``."""
    cont = continuous_incentive(year, covered_years, policy, region)
    zero = zero_claim_incentive(year, claims, policy, region)
    stacked = stack_incentives(
        year, cont.value.increase, zero.value.increase, policy, region, penalty=cont.value.penalty
    )
    return Decision(stacked.value, cont.reasons + zero.reasons + stacked.reasons, cont.notices + zero.notices)


# --- R-RES-007 ---------------------------------------------------------------------------


class DuplicateKind(StrEnum):
    RESIDENT_RESIDENT = "RESIDENT_RESIDENT"  # 390 + 390 (制度内)
    CROSS_SCHEME = "CROSS_SCHEME"  # 310 + 390 (跨制度)


@dataclass(frozen=True)
class SubsidyDeduction(Record):
    deduct: bool
    amount: Decimal  # all levels of that year's fiscal subsidy of the terminated relation
    region: str  # the region that granted them and claws them back
    year: int


def continuous_months(months: Iterable[YearMonth], through: YearMonth) -> int:
    """Consecutive paid months ending at ``through`` inclusive (E-14: 2024-03..2025-02 → 12)."""
    paid = set(months)
    count = 0
    current = through
    while current in paid:
        count += 1
        current = current - 1
    return count


def subsidy_deduction(
    kind: DuplicateKind | str,
    year: int,
    subsidy: Decimal | Mapping[str, Decimal],
    policy: Policy,
    region: str,
    *,
    student_entry_year: bool = False,
    employee_continuous_months: int | None = None,
    employee_payment_normal: bool = True,
) -> Decision[SubsidyDeduction]:
    """R-RES-007: are ``year``'s fiscal subsidies of the extra resident relation (in ``region``) deducted?

    ``subsidy`` is the total, or the amounts by level (central, provincial, city, county): all
    levels are deducted. Resident + resident: yes, except a student's entry-year duplicate.
    Cross-scheme: yes when 310 has been continuous for at least
    ``incentive.duplicate_subsidy_min_employee_months`` (inclusive, E-14) with normal payment;
    otherwise no automatic deduction (R-DUP-008).
    """
    try:
        kind = DuplicateKind(str(kind.value if isinstance(kind, DuplicateKind) else kind).upper())
    except ValueError:
        raise YibaoError(INC_BAD_KIND, field="kind", value=kind) from None
    year = _year(year)
    if isinstance(subsidy, Mapping):
        levels = {str(k): _amount(v, f"subsidy.{k}") for k, v in subsidy.items()}
    else:
        levels = {"total": _amount(subsidy, "subsidy")}
    amount = sum_lines(round_fen(v) for v in levels.values())
    cite = [policy.cite("S1", "二(六)")]
    if kind is DuplicateKind.RESIDENT_RESIDENT:
        if student_entry_year:
            r = reason(
                "R-RES-007",
                f"学生入学当年（{year}）的重复参保：终止生源地参保关系，不核减财政补助",
                f"a student's entry-year ({year}) duplicate: the origin relation is terminated, no subsidy is deducted",
                citations=cite,
            )
            return Decision(SubsidyDeduction(False, ZERO, region, year), (r,))
        r = reason(
            "R-RES-007",
            f"{year} 年度居民医保重复参保：终止统筹区 {region} 的参保关系，核减该年度各级财政补助 {amount}",
            f"duplicate resident enrollment in {year}: the relation in region {region} is terminated and all levels of that year's "
            f"fiscal subsidy, {amount}, are deducted",
            citations=cite,
            levels=levels,
        )
        return Decision(SubsidyDeduction(True, amount, region, year), (r,))
    if employee_continuous_months is None:
        raise YibaoError(INC_MONTHS_MISSING, field="employee_continuous_months")
    if isinstance(employee_continuous_months, bool) or not isinstance(employee_continuous_months, int) or employee_continuous_months < 0:
        raise YibaoError(INC_BAD_AMOUNT, field="employee_continuous_months", value=employee_continuous_months)
    min_p = policy.param(region, "incentive.duplicate_subsidy_min_employee_months", date(year, 1, 1))
    if employee_continuous_months >= min_p.value and employee_payment_normal:
        r = reason(
            "R-RES-007",
            f"跨制度重复参保，职工医保连续参保 {employee_continuous_months} 个月（不少于 {min_p.value} 个月，含）且缴费正常："
            f"保留职工医保，终止居民医保，核减 {year} 年度财政补助 {amount}",
            f"cross-scheme duplicate with {employee_continuous_months} continuous employee months (at least {min_p.value}, inclusive) "
            f"and normal payment: 310 kept, 390 terminated, the {year} subsidy of {amount} deducted",
            parameters=[min_p],
            citations=cite,
            levels=levels,
        )
        return Decision(SubsidyDeduction(True, amount, region, year), (r,))
    why_zh = "缴费状态不正常" if not employee_payment_normal else f"职工医保连续参保 {employee_continuous_months} 个月，不足 {min_p.value} 个月"
    why_en = "employee payment is not normal" if not employee_payment_normal else f"only {employee_continuous_months} continuous employee months, fewer than {min_p.value}"
    r = reason(
        "R-RES-007",
        f"跨制度重复参保，{why_zh}：不自动核减财政补助（按 R-DUP-008 人工复核）",
        f"cross-scheme duplicate, {why_en}: no automatic subsidy deduction (manual review, R-DUP-008)",
        parameters=[min_p],
        citations=cite,
    )
    return Decision(SubsidyDeduction(False, ZERO, region, year), (r,))
