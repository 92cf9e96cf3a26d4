"""Invariants of the entitlement timeline on random histories (hypothesis).

* learning of a payment never removes coverage (monotone in knowledge);
* back-paying a gap of at most 3 months never shortens coverage;
* no two benefit periods of one person overlap unless a rule says so (a flagged duplicate or an
  entry-year student);
* the same facts as known later never lose a payment's months.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.codes import ContributionKind, InsuType, PsnType
from yibao.dates import YearMonth, month_range
from yibao.model import ContributionLine, Enrollment, GroupMembership, PayerType, PersonFacts, PersonGroup
from yibao.policy import default_policy
from yibao.rules.entitlement import build_timeline

POLICY = default_policy()
REGIONS = ["510500", "350000", "220000", "210200"]
FIRST = YearMonth(2016, 1)
LAST = YearMonth(2026, 10)
SPAN = LAST - FIRST


def _sample_days() -> list[date]:
    days = []
    for m in month_range(YearMonth(2016, 1), YearMonth(2027, 3)):
        days += [m.first_day(), m.first_day() + timedelta(days=14), m.last_day()]
    return days


DAYS = _sample_days()


def covered_days(facts: PersonFacts, k: date | None) -> set[date]:
    tl = build_timeline(facts, POLICY, k)
    return {d for d in DAYS if tl.covered(d)}


@st.composite
def employee_lines(draw, relation_id: str, payer: PayerType) -> list[ContributionLine]:
    lines = []
    runs = draw(st.lists(st.tuples(st.integers(0, SPAN), st.integers(1, 30)), max_size=4))
    for start, length in runs:
        first = FIRST + start
        backpaid_late = draw(st.booleans())
        for i in range(length):
            m = first + i
            if m > LAST:
                break
            paid_on = m.first_day() + timedelta(days=14)
            if backpaid_late:
                paid_on = (first + length).first_day() + timedelta(days=3)
            lines.append(ContributionLine(relation_id, ContributionKind.REGULAR, payer, paid_on, Decimal("400.00"), month=m))
    return lines


@st.composite
def resident_lines(draw, relation_id: str) -> list[ContributionLine]:
    lines = []
    years = draw(st.sets(st.integers(2016, 2026), max_size=8))
    for y in sorted(years):
        when = draw(st.sampled_from(["window", "extension", "mid", "late"]))
        paid_on = {
            "window": date(y - 1, 10, 10),
            "extension": date(y, 2, 10),
            "mid": date(y, 5, 20),
            "late": date(y, 11, 2),
        }[when]
        payer = draw(st.sampled_from([PayerType.INDIVIDUAL, PayerType.INDIVIDUAL, PayerType.MEDICAL_ASSISTANCE]))
        lines.append(ContributionLine(relation_id, ContributionKind.REGULAR, payer, paid_on, Decimal("400.00"), benefit_year=y))
    return lines


@st.composite
def histories(draw) -> PersonFacts:
    region = draw(st.sampled_from(REGIONS))
    flexible = draw(st.booleans())
    enrollments = [
        Enrollment("E1", InsuType.EMPLOYEE_BASIC, region, PsnType.FLEXIBLE_IN_SERVICE if flexible else PsnType.EMPLOYEE_IN_SERVICE, date(2016, 1, 1)),
        Enrollment("R1", InsuType.RESIDENT_BASIC, region, PsnType.ADULT_RESIDENT, date(2016, 1, 1)),
    ]
    lines = draw(employee_lines("E1", PayerType.INDIVIDUAL if flexible else PayerType.UNIT)) + draw(resident_lines("R1"))
    groups = ()
    if draw(st.booleans()):
        start = draw(st.dates(date(2016, 1, 1), date(2026, 6, 1)))
        groups = (GroupMembership(PersonGroup.LOW_INCOME, start, None),)
    birth = draw(st.dates(date(1955, 1, 1), date(2000, 12, 31)))
    return PersonFacts("P", birth_date=birth, enrollments=tuple(enrollments), contributions=tuple(lines), groups=groups)


knowledge = st.one_of(st.none(), st.dates(date(2016, 6, 1), date(2027, 3, 1)))
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(histories(), knowledge, st.data())
def test_learning_of_a_payment_never_removes_coverage(facts: PersonFacts, k: date | None, data) -> None:
    if data.draw(st.booleans()):
        m = FIRST + data.draw(st.integers(0, SPAN))
        extra = ContributionLine("E1", ContributionKind.INTERRUPTION_BACKPAY, facts.contributions[0].payer if facts.contributions else PayerType.INDIVIDUAL, m.last_day() + timedelta(days=data.draw(st.integers(0, 90))), Decimal("400.00"), month=m)
    else:
        y = data.draw(st.integers(2016, 2026))
        extra = ContributionLine("R1", ContributionKind.REGULAR, PayerType.INDIVIDUAL, data.draw(st.dates(date(y - 1, 9, 1), date(y, 12, 31))), Decimal("400.00"), benefit_year=y)
    if k is not None and extra.paid_on > k:
        extra = replace(extra, paid_on=k)
        if extra.month is not None and extra.month.first_day() > k:
            return
    before = covered_days(facts, k)
    after = covered_days(replace(facts, contributions=facts.contributions + (extra,)), k)
    lost = sorted(before - after)
    assert not lost, f"adding {extra} removed coverage on {lost[:5]}"


@SETTINGS
@given(histories(), st.integers(1, 3), st.integers(0, SPAN - 20), st.integers(1, 12))
def test_back_paying_a_short_gap_never_shortens_coverage(facts: PersonFacts, gap: int, start: int, run: int) -> None:
    payer = PayerType.UNIT if facts.enrollments[0].psn_type is PsnType.EMPLOYEE_IN_SERVICE else PayerType.INDIVIDUAL
    first = FIRST + start
    before_gap = [ContributionLine("E1", ContributionKind.REGULAR, payer, m.first_day() + timedelta(days=14), Decimal("400.00"), month=m) for m in month_range(first, first + run - 1)]
    resume = first + run + gap
    after_gap = [ContributionLine("E1", ContributionKind.REGULAR, payer, m.first_day() + timedelta(days=14), Decimal("400.00"), month=m) for m in month_range(resume, resume + 5)]
    base = replace(facts, contributions=tuple(c for c in facts.contributions if c.month is None) + tuple(before_gap + after_gap))
    backpay_on = resume.first_day() + timedelta(days=20)
    backpay = tuple(
        ContributionLine("E1", ContributionKind.INTERRUPTION_BACKPAY, payer, backpay_on, Decimal("400.00"), month=m)
        for m in month_range(first + run, resume - 1)
    )
    k = (resume + 6).last_day()
    before = covered_days(base, k)
    after = covered_days(replace(base, contributions=base.contributions + backpay), k)
    assert before <= after, f"back-paying lost {sorted(before - after)[:5]}"


@SETTINGS
@given(histories(), knowledge, st.sampled_from(REGIONS))
def test_benefit_periods_do_not_overlap_unless_a_rule_says_so(facts: PersonFacts, k: date | None, other_region: str) -> None:
    # add a second employee relation elsewhere with a few months, to provoke overlaps
    extra_rel = Enrollment("E2", InsuType.EMPLOYEE_BASIC, other_region, PsnType.EMPLOYEE_IN_SERVICE, date(2020, 1, 1))
    extra_lines = tuple(
        ContributionLine("E2", ContributionKind.REGULAR, PayerType.UNIT, m.first_day() + timedelta(days=14), Decimal("400.00"), month=m)
        for m in month_range(YearMonth(2021, 1), YearMonth(2021, 12))
    )
    facts = replace(facts, enrollments=facts.enrollments + (extra_rel,), contributions=facts.contributions + extra_lines)
    tl = build_timeline(facts, POLICY, k)
    flagged = {tuple(sorted((n.details["first"], n.details["second"]))) for n in tl.notices if n.code == "DUPLICATE_ENROLLMENT"}
    periods = tl.periods
    for i, a in enumerate(periods):
        for b in periods[i + 1 :]:
            a_end, b_end = a.end or date.max, b.end or date.max
            if a.start > b_end or b.start > a_end:
                continue
            assert a.relation_id != b.relation_id, f"one relation has overlapping periods {a} {b}"
            assert a.insutype is b.insutype, f"an employee and a resident period overlap: {a} {b}"
            assert tuple(sorted((a.relation_id, b.relation_id))) in flagged, f"unflagged overlap {a} {b}"


@SETTINGS
@given(histories(), st.dates(date(2016, 6, 1), date(2026, 6, 1)), st.integers(1, 400))
def test_later_knowledge_keeps_paid_months(facts: PersonFacts, k1: date, extra_days: int) -> None:
    """Months paid and covered as known on K1 stay enrolled as known on K2 > K1 (facts are append-only)."""
    k2 = k1 + timedelta(days=extra_days)
    first = build_timeline(facts, POLICY, k1)
    second = build_timeline(facts, POLICY, k2)
    paid_first = {(c.relation_id, c.month) for c in first.months if c.kind.value in ("PAID", "BACKPAID", "RESIDENT")}
    paid_second = {(c.relation_id, c.month) for c in second.months if c.kind.value in ("PAID", "BACKPAID", "RESIDENT")}
    assert paid_first <= paid_second


@given(histories(), knowledge)
def test_the_month_grid_is_only_a_view(facts: PersonFacts, k: date | None) -> None:
    """build_timeline(month_grid=False) — what the batch timelines use — differs from the full
    timeline in nothing but the month cells."""
    full = build_timeline(facts, POLICY, k)
    lean = build_timeline(facts, POLICY, k, month_grid=False)
    assert lean.months == () and replace(full, months=()) == lean
