"""Cumulative contribution months (R-XFER-003), retirement minimum and top-up (R-RET-001/002), E-07."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.codes import ContributionKind, InsuType, PsnType
from yibao.dates import YearMonth, month_range
from yibao.errors import YibaoError
from yibao.model import ContributionLine, Enrollment, PayerType, PersonFacts, ServicePeriod
from yibao.policy import default_policy
from yibao.rules.retirement import (
    RET_HEIR_SETTLEMENT,
    check_payment_after_death,
    cumulative_months,
    retirement_check,
    topup_quote,
)

POLICY = default_policy()
ON = date(2026, 1, 15)
REGIONS = ("210200", "140200", "510500")


def employee(rel: str, region: str) -> Enrollment:
    return Enrollment(rel, InsuType.EMPLOYEE_BASIC, region, PsnType.EMPLOYEE_IN_SERVICE, date(2000, 1, 1))


def line(rel: str, month: YearMonth | None, amount: str, *, kind=ContributionKind.REGULAR, payer=PayerType.UNIT,
         paid_on=date(2020, 1, 1), months_credited: int = 0) -> ContributionLine:
    return ContributionLine(rel, kind, payer, paid_on, Decimal(amount), month=month, months_credited=months_credited)


# --- E-07 --------------------------------------------------------------------------------

DEATH = date(2025, 4, 18)


def test_lump_sum_after_death_is_rejected_unless_an_heir_settles() -> None:
    lump = line("R1", None, "36000.00", kind=ContributionKind.LUMP_SUM, payer=PayerType.INDIVIDUAL,
                paid_on=date(2025, 5, 2), months_credited=60)
    with pytest.raises(YibaoError) as info:
        check_payment_after_death(lump, DEATH)
    assert (info.value.code, info.value.field) == ("RET_PAID_AFTER_DEATH", "payer")

    by_heir = line("R1", None, "36000.00", kind=ContributionKind.LUMP_SUM, payer=PayerType.HEIR,
                   paid_on=date(2025, 5, 2), months_credited=60)
    decision = check_payment_after_death(by_heir, DEATH)
    assert decision.value is True
    assert [n.code for n in decision.notices] == [RET_HEIR_SETTLEMENT]


def test_heir_backpay_for_a_month_after_death_is_rejected() -> None:
    after = line("R1", YearMonth(2025, 5), "480.00", kind=ContributionKind.INTERRUPTION_BACKPAY, payer=PayerType.HEIR,
                 paid_on=date(2025, 6, 1))
    with pytest.raises(YibaoError) as info:
        check_payment_after_death(after, DEATH)
    assert (info.value.code, info.value.field) == ("RET_PAID_AFTER_DEATH", "month")
    # The month of death itself is before death for settlement purposes.
    death_month = line("R1", YearMonth(2025, 4), "480.00", kind=ContributionKind.INTERRUPTION_BACKPAY,
                       payer=PayerType.HEIR, paid_on=date(2025, 6, 1))
    assert check_payment_after_death(death_month, DEATH).value is True


def test_backpay_on_the_day_of_death_and_regular_collection_lag_are_accepted() -> None:
    same_day = line("R1", YearMonth(2025, 3), "480.00", kind=ContributionKind.INTERRUPTION_BACKPAY,
                    payer=PayerType.INDIVIDUAL, paid_on=DEATH)
    assert check_payment_after_death(same_day, DEATH).value is True
    lag = line("R1", YearMonth(2025, 4), "600.00", payer=PayerType.UNIT, paid_on=date(2025, 5, 15))
    assert check_payment_after_death(lag, DEATH).value is True
    next_day_backpay = line("R1", YearMonth(2025, 3), "480.00", kind=ContributionKind.INTERRUPTION_BACKPAY,
                            payer=PayerType.INDIVIDUAL, paid_on=date(2025, 4, 19))
    with pytest.raises(YibaoError):
        check_payment_after_death(next_day_backpay, DEATH)


def test_no_death_means_no_check() -> None:
    lump = line("R1", None, "1.00", kind=ContributionKind.LUMP_SUM, payer=PayerType.INDIVIDUAL, months_credited=1)
    assert check_payment_after_death(lump, None).value is True


# --- R-XFER-003 ------------------------------------------------------------------------------


def test_military_months_overlapping_paid_months_count_once() -> None:
    facts = PersonFacts(
        "P",
        service_periods=(ServicePeriod(YearMonth(2005, 1), YearMonth(2005, 12)),),
        enrollments=(employee("R1", "210200"),),
        contributions=tuple(line("R1", m, "300.00") for m in month_range(YearMonth(2005, 7), YearMonth(2006, 6))),
    )
    value = cumulative_months(facts, POLICY, "210200", ON).value
    assert value.employee_paid_months == 12
    assert value.military_months == 6  # 2005-01..06 only; 07..12 are already paid
    assert value.total == 18


def test_unknown_relation_is_rejected_with_its_index() -> None:
    facts = PersonFacts("P", enrollments=(employee("R1", "210200"),), contributions=(line("R1", YearMonth(2020, 1), "1"), line("RX", YearMonth(2020, 2), "1")))
    with pytest.raises(YibaoError) as info:
        cumulative_months(facts, POLICY, "210200", ON)
    assert (info.value.code, info.value.field) == ("RET_UNKNOWN_RELATION", "contributions[1].relation_id")


def test_true_up_alone_does_not_credit_a_month_and_superseded_lines_are_ignored() -> None:
    facts = PersonFacts(
        "P",
        enrollments=(employee("R1", "210200"),),
        contributions=(
            line("R1", YearMonth(2020, 1), "22.05", kind=ContributionKind.BASE_TRUE_UP),
            ContributionLine("R1", ContributionKind.REGULAR, PayerType.UNIT, date(2020, 2, 1), Decimal("300"),
                             month=YearMonth(2020, 2), key="a"),
            ContributionLine("R1", ContributionKind.REGULAR, PayerType.UNIT, date(2020, 2, 2), Decimal("0"),
                             month=YearMonth(2020, 2), key="b", supersedes="a"),
        ),
    )
    assert cumulative_months(facts, POLICY, "210200", ON).value.total == 0


def test_retirement_check_drops_deemed_years_where_not_allowed() -> None:
    facts = PersonFacts(
        "P",
        service_periods=(ServicePeriod(YearMonth(2000, 9), YearMonth(2005, 8)),),
        enrollments=(employee("R1", "210200"),),
        contributions=tuple(line("R1", m, "300.00") for m in month_range(YearMonth(2005, 10), YearMonth(2025, 9))),
    )
    cumulative = cumulative_months(facts, POLICY, "210200", ON).value
    assert retirement_check(cumulative, "M", POLICY, "210200", ON).value.meets
    strict = POLICY.with_overrides("210200", {"retirement.deemed_years_allowed": False})
    check = retirement_check(cumulative, "M", strict, "210200", ON).value
    assert (check.counted_months, check.shortfall_months) == (240, 60)


def test_topup_rounds_each_month_before_multiplying() -> None:
    policy = POLICY.with_overrides("210200", {"retirement.topup_base_ref": "6666.67", "retirement.topup_rate": "0.02"})
    quote = topup_quote(3, policy, "210200", ON).value
    assert quote.monthly_amount == Decimal("133.33")
    assert quote.amount == Decimal("399.99")  # not round2(6 666.67 × 2% × 3) = 400.00 (R-CONT-010)


# --- properties -------------------------------------------------------------------------------

MONTHS = [YearMonth(2019, 1) + i for i in range(36)]
KINDS = [ContributionKind.REGULAR, ContributionKind.INTERRUPTION_BACKPAY, ContributionKind.ONE_OFF_BACKPAY,
         ContributionKind.BASE_TRUE_UP]
payment = st.builds(
    lambda rel, m, cents, kind: line(rel, m, str(Decimal(cents) / 100), kind=kind),
    st.sampled_from(["A", "B", "C"]),
    st.sampled_from(MONTHS),
    st.integers(min_value=1, max_value=100_000),
    st.sampled_from(KINDS),
)
refund = st.builds(
    lambda rel, m, cents: line(rel, m, str(-Decimal(cents) / 100), kind=ContributionKind.REFUND),
    st.sampled_from(["A", "B", "C"]),
    st.sampled_from(MONTHS),
    st.integers(min_value=1, max_value=100_000),
)
ENROLLMENTS = (employee("A", "210200"), employee("B", "140200"), employee("C", "140200"))


def facts_of(lines) -> PersonFacts:
    return PersonFacts("P", enrollments=ENROLLMENTS, contributions=tuple(lines))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(payment, refund), max_size=40))
def test_cumulative_months_count_each_paid_month_once(lines) -> None:
    value = cumulative_months(facts_of(lines), POLICY, "210200", ON).value
    # Oracle: a month counts when some relation has a crediting payment for it and a positive net.
    nets: dict[tuple[str, YearMonth], Decimal] = {}
    credited = set()
    for c in lines:
        nets[(c.relation_id, c.month)] = nets.get((c.relation_id, c.month), Decimal(0)) + c.amount
        if c.kind in (ContributionKind.REGULAR, ContributionKind.INTERRUPTION_BACKPAY, ContributionKind.ONE_OFF_BACKPAY) and c.amount > 0:
            credited.add((c.relation_id, c.month))
    expected = {m for (rel, m) in credited if nets[(rel, m)] > 0}
    assert value.paid_months == frozenset(expected)
    assert value.total == len(expected) <= len({c.month for c in lines})
    assert sum(n for _, n in value.paid_by_region) == value.total


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(payment, refund), max_size=40), payment)
def test_adding_a_payment_never_lowers_cumulative_months(lines, extra) -> None:
    before = cumulative_months(facts_of(lines), POLICY, "210200", ON).value.total
    after = cumulative_months(facts_of([*lines, extra]), POLICY, "210200", ON).value.total
    assert after >= before


@settings(max_examples=100, deadline=None)
@given(st.lists(payment, max_size=30), st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=24))
def test_military_and_lump_sums_add_without_double_counting(lines, service_len, lump) -> None:
    service = (ServicePeriod(MONTHS[0], MONTHS[0] + service_len),) if service_len else ()
    extra = (line("A", None, "100.00", kind=ContributionKind.LUMP_SUM, months_credited=lump),) if lump else ()
    facts = PersonFacts("P", service_periods=service, enrollments=ENROLLMENTS, contributions=(*lines, *extra))
    value = cumulative_months(facts, POLICY, "210200", ON).value
    named = set(value.paid_months)
    if service:
        named |= set(month_range(service[0].start, service[0].end))
    assert value.employee_paid_months + value.military_months == len(named)
    assert value.lump_sum_months == lump
