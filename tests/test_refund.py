"""Refunds (R-REF-001…006): E-07 (death and lump sums, heirs), E-11 (exactly what was collected), properties."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.codes import ContributionKind
from yibao.dates import YearMonth, month_range
from yibao.errors import YibaoError
from yibao.model import ContributionLine, PayerType
from yibao.policy import default_policy
from yibao.rules.refund import (
    RefundChannel,
    death_refund,
    flexible_prepaid_refund,
    lump_sum_death_refund,
    resident_refund,
    true_up_applies,
)

POLICY = default_policy()
LUZHOU = "510500"


def monthly(month: YearMonth, amount: str, *, payer=PayerType.INDIVIDUAL, kind=ContributionKind.REGULAR, key=None,
            supersedes=None) -> ContributionLine:
    return ContributionLine("F1", kind, payer, date(2025, 1, 5), Decimal(amount), month=month, key=key, supersedes=supersedes)


def yearly(year: int, amount: str, payer=PayerType.INDIVIDUAL) -> ContributionLine:
    return ContributionLine("C1", ContributionKind.REGULAR, payer, date(year - 1, 10, 10), Decimal(amount), benefit_year=year)


LUMP = ContributionLine("L1", ContributionKind.LUMP_SUM, PayerType.INDIVIDUAL, date(2023, 3, 20), Decimal("36000.00"),
                        months_credited=60)
START = date(2023, 9, 1)


# --- E-07 / R-REF-004 ----------------------------------------------------------------------


def test_death_the_day_before_the_start_refunds_the_lump_sum_to_heirs() -> None:
    refund = lump_sum_death_refund([LUMP], START, START - timedelta(days=1), POLICY, LUZHOU).value
    assert refund.total == Decimal("36000.00")
    assert {line.channel for line in refund.lines} == {RefundChannel.HEIRS}


def test_death_on_the_start_date_refunds_nothing() -> None:
    decision = lump_sum_death_refund([LUMP], START, START, POLICY, LUZHOU)
    assert decision.value.total == Decimal("0.00")
    assert decision.value.lines == ()
    assert decision.rule_ids == ("R-REF-004",)


def test_a_lump_sum_refunded_once_is_not_refunded_again() -> None:
    earlier = ContributionLine("L1", ContributionKind.REFUND, PayerType.INDIVIDUAL, date(2023, 8, 1), Decimal("-36000.00"))
    assert lump_sum_death_refund([LUMP, earlier], START, date(2023, 8, 1), POLICY, LUZHOU).value.total == Decimal("0.00")


def test_refunds_after_death_go_to_heirs_never_to_the_account() -> None:
    lines = [monthly(m, "10.00", payer=PayerType.PERSONAL_ACCOUNT) for m in month_range(YearMonth(2025, 1), YearMonth(2025, 12))]
    refund = death_refund(lines, date(2025, 9, 10), POLICY, "220000").value
    assert refund.total == Decimal("30.00")
    assert all(line.channel is RefundChannel.HEIRS for line in refund.lines)


def test_assistance_money_goes_back_through_the_terminated_region() -> None:
    lines = [yearly(2025, "160.00"), yearly(2025, "240.00", PayerType.MEDICAL_ASSISTANCE)]
    refund = resident_refund(lines, date(2025, 1, 1), date(2025, 4, 10), POLICY, "140200").value
    (line,) = refund.lines
    assert (line.channel, line.region, line.amount) == (RefundChannel.ASSISTANCE_FUND, "140200", Decimal("240.00"))


def test_fiscal_subsidy_is_never_refunded() -> None:
    lines = [yearly(2026, "400.00"), yearly(2026, "724.00", PayerType.FISCAL_SUBSIDY)]
    refund = resident_refund(lines, date(2026, 1, 1), date(2025, 12, 1), POLICY, "210200").value
    assert refund.by_payer() == {"INDIVIDUAL": Decimal("400.00")}


def test_superseded_lines_are_left_out() -> None:
    lines = [
        monthly(YearMonth(2025, 12), "480.00", key="a"),
        monthly(YearMonth(2025, 12), "495.00", key="b", supersedes="a"),
    ]
    assert flexible_prepaid_refund(lines, YearMonth(2025, 12), 2025, POLICY, "210200").value.total == Decimal("495.00")


def test_bad_year_is_rejected() -> None:
    with pytest.raises(YibaoError) as info:
        flexible_prepaid_refund([], YearMonth(2025, 6), "2025", POLICY, "210200")  # type: ignore[arg-type]
    assert (info.value.code, info.value.field) == ("REF_BAD_YEAR", "year")


def test_true_up_boundary_is_strictly_before_publication() -> None:
    pub = date(2025, 7, 15)
    assert true_up_applies(pub - timedelta(days=1), pub, POLICY, LUZHOU).value is False
    assert true_up_applies(pub, pub, POLICY, LUZHOU).value is True
    assert true_up_applies(pub - timedelta(days=1), pub, POLICY, "140200").value is True


# --- E-11 and properties ------------------------------------------------------------------

YEAR = 2025
MONTHS = list(month_range(YearMonth(YEAR, 1), YearMonth(YEAR, 12)))
cents = st.integers(min_value=0, max_value=200_000).map(lambda c: Decimal(c) / 100)


@st.composite
def collected_year(draw):
    """Monthly lines of one prepaid year: amounts differ by month; some months partly or fully refunded."""
    lines = []
    for m in MONTHS:
        amount = draw(cents)
        if amount:
            lines.append(monthly(m, str(amount)))
        if amount and draw(st.integers(0, 4)) == 0:
            back = draw(st.integers(min_value=1, max_value=int(amount * 100))) / Decimal(100)
            lines.append(monthly(m, str(-back), kind=ContributionKind.REFUND))
        if draw(st.integers(0, 6)) == 0:
            lines.append(monthly(m, str(draw(cents)), payer=PayerType.UNIT))
    return lines


def net_by_month(lines) -> dict[YearMonth, Decimal]:
    out: dict[YearMonth, Decimal] = defaultdict(lambda: Decimal(0))
    for c in lines:
        out[c.month] += c.amount
    return out


@settings(max_examples=150, deadline=None)
@given(collected_year(), st.integers(min_value=-3, max_value=14))
def test_flexible_refund_is_the_sum_of_the_refunded_months_collected(lines, offset) -> None:
    first_unit = YearMonth(YEAR, 1) + offset
    refund = flexible_prepaid_refund(lines, first_unit, YEAR, POLICY, "210200").value
    nets = net_by_month(lines)
    expected_months = [m for m in MONTHS if m >= first_unit]
    assert refund.total == sum((nets[m] for m in expected_months), Decimal("0.00"))
    assert set(refund.months) <= set(expected_months)
    # never more than collected for any refunded month, and per payer
    for m in refund.months:
        assert sum(line.amount for line in refund.lines if line.month == m) <= nets[m]
    for line in refund.lines:
        collected = sum(c.amount for c in lines if c.month == line.month and c.payer is line.payer)
        assert 0 < line.amount <= collected


@settings(max_examples=150, deadline=None)
@given(collected_year(), st.dates(min_value=date(2024, 11, 1), max_value=date(2026, 2, 1)))
def test_death_refund_never_exceeds_what_was_collected_after_the_death_month(lines, death) -> None:
    refund = death_refund(lines, death, POLICY, "220000").value
    after = [m for m in MONTHS if m > YearMonth.of(death)]
    nets = net_by_month(lines)
    assert refund.total <= sum((max(Decimal(0), nets[m]) for m in after), Decimal("0.00"))
    assert all(m > YearMonth.of(death) for m in refund.months)
    assert all(line.channel in (RefundChannel.HEIRS, RefundChannel.PAYER) for line in refund.lines)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(list(PayerType)), cents), max_size=6),
    st.dates(min_value=date(2025, 10, 1), max_value=date(2026, 3, 1)),
    st.booleans(),
)
def test_resident_refund_never_exceeds_what_each_payer_paid(payments, event, allow) -> None:
    lines = [yearly(2026, str(a), p) for p, a in payments if a]
    policy = POLICY.with_overrides("210200", {"refund.resident_after_start_individual": allow})
    refund = resident_refund(lines, date(2026, 1, 1), event, policy, "210200").value
    for payer, amount in refund.by_payer().items():
        assert amount <= sum(c.amount for c in lines if c.payer.value == payer)
    assert "FISCAL_SUBSIDY" not in refund.by_payer()
    if event >= date(2026, 1, 1) and not allow:
        assert set(refund.by_payer()) <= {"MEDICAL_ASSISTANCE"}
