"""Resident incentives (R-RES-004…006), subsidy deduction (R-RES-007, E-14), and the Datong
chronic-disease ratio by service date (R-BEN-003, E-13: benefit rules have no test file of their own here)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.dates import YearMonth, month_range
from yibao.errors import YibaoError
from yibao.policy import default_policy
from yibao.rules.benefit import chronic_outpatient_payment, chronic_outpatient_payments
from yibao.rules.incentive import (
    ClaimYear,
    continuous_incentive,
    continuous_months,
    critical_illness_max,
    stack_incentives,
    subsidy_deduction,
    zero_claim_incentive,
)

BASE = default_policy()
POLICY = BASE.with_overrides(
    "national",
    {"incentive.critical_illness_cap": 300000, "incentive.continuous_step": 2000, "incentive.zero_claim_step": 2000},
)


# --- E-14 ----------------------------------------------------------------------------------


def test_e14_twelve_months_inclusive() -> None:
    months = month_range(YearMonth(2024, 3), YearMonth(2025, 2))
    assert continuous_months(months, YearMonth(2025, 2)) == 12
    yes = subsidy_deduction("CROSS_SCHEME", 2025, Decimal("700"), BASE, "510500", employee_continuous_months=12)
    no = subsidy_deduction("CROSS_SCHEME", 2025, Decimal("700"), BASE, "510500", employee_continuous_months=11)
    assert (yes.value.deduct, yes.value.amount) == (True, Decimal("700.00"))
    assert (no.value.deduct, no.value.amount) == (False, Decimal("0.00"))


def test_continuous_months_stop_at_an_unpaid_month() -> None:
    months = [*month_range(YearMonth(2023, 1), YearMonth(2023, 12)), *month_range(YearMonth(2024, 2), YearMonth(2025, 2))]
    assert continuous_months(months, YearMonth(2025, 2)) == 13
    assert continuous_months(months, YearMonth(2024, 1)) == 0
    assert continuous_months(months, YearMonth(2023, 12)) == 12


def test_student_entry_year_exception_is_for_resident_duplicates_only() -> None:
    d = subsidy_deduction("RESIDENT_RESIDENT", 2025, Decimal("700"), BASE, "510500", student_entry_year=True)
    assert d.value.deduct is False
    d = subsidy_deduction("RESIDENT_RESIDENT", 2025, Decimal("700"), BASE, "510500")
    assert (d.value.deduct, d.value.region) == (True, "510500")


def test_subsidy_deduction_rejects_a_float() -> None:
    with pytest.raises(YibaoError) as info:
        subsidy_deduction("RESIDENT_RESIDENT", 2025, 700.0, BASE, "510500")  # type: ignore[arg-type]
    assert (info.value.code, info.value.field) == ("INC_BAD_AMOUNT", "subsidy")


# --- R-RES-004…006 -----------------------------------------------------------------------


def test_continuous_steps_restart_after_a_break_and_kept_steps_follow_the_flag() -> None:
    covered = [*range(2021, 2028), *range(2029, 2031)]
    d = continuous_incentive(2030, covered, POLICY, "national").value
    assert (d.steps, d.kept_steps, d.continuous_years) == (0, 0, 2)
    keep = POLICY.with_overrides("national", {"incentive.keep_earned_on_break": True})
    d = continuous_incentive(2030, covered, keep, "national").value
    assert (d.steps, d.kept_steps, d.increase) == (0, 3, Decimal("6000.00"))


def test_zero_claim_and_continuous_stack_under_the_twenty_percent_limit() -> None:
    covered = range(2000, 2041)
    claims = {y: ClaimYear(Decimal("0")) for y in range(2025, 2040)}
    d = critical_illness_max(2040, covered, claims, POLICY, "national").value
    assert d.continuous_increase == Decimal("32000.00")  # 2025..2040 = 16 steps
    assert d.zero_claim_increase == Decimal("30000.00")  # 2025..2039 = 15 steps
    assert (d.increase, d.cap) == (Decimal("60000.00"), Decimal("360000.00"))


def test_zero_claim_reward_used_is_derived_from_the_original_cap() -> None:
    claims = {2025: ClaimYear(Decimal("0")), 2026: ClaimYear(Decimal("300000"), Decimal("300000"))}
    assert zero_claim_incentive(2027, claims, POLICY, "national").value.steps == 1  # 300 000 does not exceed the cap
    claims[2026] = ClaimYear(Decimal("300000.01"), Decimal("300000.01"))
    assert zero_claim_incentive(2027, claims, POLICY, "national").value.steps == 0


@settings(max_examples=150, deadline=None)
@given(
    st.sets(st.integers(min_value=2015, max_value=2034), min_size=1),
    st.dictionaries(st.integers(2025, 2034), st.integers(0, 500_000).map(Decimal), max_size=10),
    st.booleans(),
    st.integers(0, 5000),
)
def test_cap_never_rises_more_than_twenty_percent(covered, fund, keep, penalty) -> None:
    year = max(covered)
    if year < 2025:
        return
    policy = POLICY.with_overrides("national", {"incentive.keep_earned_on_break": keep, "incentive.reentry_penalty": penalty})
    claims = {y: ClaimYear(a) for y, a in fund.items()}
    d = critical_illness_max(year, covered, claims, policy, "national").value
    assert Decimal("0") <= d.increase <= Decimal("60000.00")
    assert d.cap <= Decimal("360000.00")
    assert d.increase == min(d.continuous_increase + d.zero_claim_increase, Decimal("60000.00"))


@settings(max_examples=100, deadline=None)
@given(st.integers(2025, 2040), st.integers(0, 30))
def test_a_longer_unbroken_run_never_has_fewer_steps(year, run) -> None:
    shorter = continuous_incentive(year, range(year - run, year + 1), POLICY, "national").value.steps
    longer = continuous_incentive(year, range(year - run - 1, year + 1), POLICY, "national").value.steps
    assert longer >= shorter


def test_stack_rejects_negative_increase() -> None:
    with pytest.raises(YibaoError) as info:
        stack_incentives(2026, Decimal("-1"), Decimal("0"), POLICY, "national")
    assert (info.value.code, info.value.field) == ("INC_BAD_AMOUNT", "continuous_increase")


# --- E-13 / R-BEN-003 -------------------------------------------------------------------

DATONG = "140200"


@pytest.mark.parametrize(
    ("service_date", "cls", "ratio"),
    [
        (date(2025, 4, 1), 1, "0.65"), (date(2025, 4, 1), 2, "0.70"), (date(2025, 4, 1), 3, "0.80"),
        (date(2026, 3, 31), 3, "0.80"), (date(2026, 4, 1), 3, "0.75"), (date(2026, 4, 1), 1, "0.65"),
        (date(2027, 3, 31), 3, "0.75"), (date(2027, 3, 31), 1, "0.65"),
        (date(2027, 4, 1), 1, "0.70"), (date(2027, 4, 1), 2, "0.70"), (date(2027, 4, 1), 3, "0.70"),
    ],
)
def test_e13_ratio_by_service_date_on_both_sides_of_each_change(service_date, cls, ratio) -> None:
    d = chronic_outpatient_payment(Decimal("1000.00"), cls, service_date, BASE, DATONG)
    assert d.value.ratio == Decimal(ratio)
    assert d.value.fund_pays == Decimal(ratio) * 1000
    assert d.reasons[0].parameters[0].key == "benefit.resident_chronic_ratio"


def test_e13_a_stay_spanning_the_change_uses_each_visit_date() -> None:
    first = date(2027, 3, 29)
    visits = [(first + timedelta(days=i), "二级乙等及以下", Decimal("100.00")) for i in range(5)]  # 03-29 … 04-02
    payments = chronic_outpatient_payments(visits, BASE, DATONG).value
    assert [p.ratio for p in payments] == [Decimal("0.75")] * 3 + [Decimal("0.70")] * 2
    assert sum(p.fund_pays for p in payments) == Decimal("365.00")


def test_ratio_table_only_in_datong() -> None:
    with pytest.raises(YibaoError) as info:
        chronic_outpatient_payment(Decimal("1000.00"), 1, date(2025, 5, 10), BASE, "510500")
    assert (info.value.code, info.value.field) == ("PARAM_MISSING", "benefit.resident_chronic_ratio")
