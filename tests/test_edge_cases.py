"""SPEC §17 edge cases that naive implementations get wrong.

Every E-NN has at least one test named ``test_eNN_…`` somewhere in the suite (the last test here
checks that); the ones that need several rule families together live in this file.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from yibao.casefile import parse_case
from yibao.dates import YearMonth, add_months, last_day_of_window
from yibao.errors import YibaoError
from yibao.ids import age_on, validate_document
from yibao.policy import default_policy
from yibao.rules.contribution import contribution_schedule
from yibao.rules.entitlement import build_timeline

POLICY = default_policy()
TESTS = Path(__file__).parent


def test_e04_leap_days_everywhere() -> None:
    doc = validate_document("17", "820000200002290048")
    assert doc.birth_date == date(2000, 2, 29)
    with pytest.raises(YibaoError) as info:
        validate_document("01", "110101190002290011")
    assert info.value.code == "BIRTH_DATE"
    assert age_on(date(2020, 2, 29), date(2021, 2, 28)) == 1 and age_on(date(2020, 2, 29), date(2021, 2, 27)) == 0
    assert last_day_of_window(date(2024, 2, 29), 90) == date(2024, 5, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def _relation(rid: str, insutype: str, region: str, psn: str, start: date, end: date | None = None, **extra) -> dict:
    return {"id": rid, "insutype": insutype, "region": region, "psn_type": psn, "start": start, "end": end, **extra}


def test_e05_open_ended_relations_overlap_and_are_flagged() -> None:
    facts, _ = parse_case(
        {
            "person": {"id": "E5"},
            "enrollments": [
                _relation("A", "310", "510500", "1101", date(2024, 1, 1)),
                _relation("B", "310", "210200", "1101", date(2025, 1, 1)),
            ],
            "contributions": [
                {"relation": "A", "months": "2024-01..2025-06", "paid_each_month_on_day": 15, "payer": "UNIT", "amount": Decimal("400")},
                {"relation": "B", "months": "2025-01..2025-06", "paid_each_month_on_day": 15, "payer": "UNIT", "amount": Decimal("400")},
            ],
        }
    )
    timeline = build_timeline(facts, POLICY, date(2025, 6, 20))
    assert {p.end for p in timeline.periods} == {None}  # both still active: open ends
    duplicates = [n for n in timeline.notices if n.code == "DUPLICATE_ENROLLMENT"]
    assert len(duplicates) == 1 and duplicates[0].details["end"] == "open"


def test_e05_touching_years_do_not_overlap() -> None:
    facts, _ = parse_case(
        {
            "person": {"id": "E5b", "birth_date": date(1980, 1, 1)},
            "enrollments": [
                _relation("A", "390", "510500", "1501", date(2024, 1, 1), date(2025, 12, 31)),
                _relation("B", "390", "220000", "1501", date(2026, 1, 1)),
            ],
            "contributions": [
                {"relation": "A", "year": 2024, "paid_on": date(2023, 10, 1), "amount": Decimal("380")},
                {"relation": "A", "year": 2025, "paid_on": date(2024, 10, 1), "amount": Decimal("400")},
                {"relation": "B", "year": 2026, "paid_on": date(2025, 10, 1), "amount": Decimal("400")},
            ],
        }
    )
    timeline = build_timeline(facts, POLICY, date(2026, 3, 1))
    assert not [n for n in timeline.notices if n.code == "DUPLICATE_ENROLLMENT"]
    assert timeline.coverage_on(date(2025, 12, 31)).relation_id == "A"
    assert timeline.coverage_on(date(2026, 1, 1)).relation_id == "B"


def test_e05_suspended_relations_are_not_duplicates() -> None:
    """The seasonal-worker pattern (R-SPEC-001) must not be flagged again and again."""
    from yibao.casefile import read_case

    facts, _ = read_case(TESTS.parent / "examples" / "cases" / "datong-seasonal-worker.yaml")
    timeline = build_timeline(facts, POLICY, date(2025, 10, 20))
    assert not [n for n in timeline.notices if n.code == "DUPLICATE_ENROLLMENT"]


def test_e06_leaving_310_mid_month_and_joining_390_the_same_month() -> None:
    facts, _ = parse_case(
        {
            "person": {"id": "E6", "birth_date": date(1985, 1, 1)},
            "enrollments": [
                _relation("E", "310", "510500", "1101", date(2023, 1, 1), date(2025, 5, 15), wages=[{"from": "2023-01", "monthly": Decimal("6500")}]),
                _relation("R", "390", "510500", "1501", date(2025, 5, 20)),
            ],
            "contributions": [
                {"relation": "E", "months": "2023-01..2025-05", "paid_each_month_on_day": 10, "payer": "UNIT", "amount": Decimal("455.00")},
                {"relation": "R", "year": 2025, "paid_on": date(2025, 5, 20), "amount": Decimal("400")},
            ],
        }
    )
    schedule = contribution_schedule(facts, POLICY, YearMonth(2025, 5), YearMonth(2025, 5)).value
    may_unit = [r for r in schedule.lines if r.relation_id == "E" and r.payer.value == "UNIT"]
    assert may_unit and may_unit[0].due and may_unit[0].due > 0  # the monthly unit is due in full
    timeline = build_timeline(facts, POLICY, date(2025, 6, 30))
    assert timeline.coverage_on(date(2025, 5, 15)).relation_id == "E"
    assert timeline.coverage_on(date(2025, 5, 20)).relation_id == "R"  # from the payment date (R-WAIT-003)
    assert not [n for n in timeline.notices if n.code == "DUPLICATE_ENROLLMENT"]
    assert not [a for a in timeline.actions if a.kind.value == "SUSPEND" and a.relation_id == "R"]


def test_e07_death_ends_cover_and_later_payments_are_flagged() -> None:
    facts, _ = parse_case(
        {
            "person": {"id": "E7", "death_date": date(2025, 4, 18)},
            "enrollments": [_relation("E", "310", "510500", "1103", date(2024, 1, 1))],
            "contributions": [
                {"relation": "E", "months": "2024-01..2025-12", "paid_on": date(2024, 1, 5), "payer": "INDIVIDUAL", "amount": Decimal("480")},
            ],
        }
    )
    timeline = build_timeline(facts, POLICY, date(2025, 6, 1))
    assert timeline.covered(date(2025, 4, 18)) and not timeline.covered(date(2025, 4, 19))
    assert "PAYMENT_AFTER_DEATH" in {n.code for n in timeline.notices}  # May–Dec were prepaid: refund (R-REF-005)


def test_e08_a_late_resident_payment_buys_nothing_and_does_not_spill() -> None:
    facts, _ = parse_case(
        {
            "person": {"id": "E8", "birth_date": date(1980, 1, 1)},
            "enrollments": [_relation("R", "390", "350000", "1501", date(2024, 1, 1))],
            "contributions": [
                {"relation": "R", "year": 2024, "paid_on": date(2023, 10, 1), "amount": Decimal("380")},
                {"relation": "R", "year": 2025, "paid_on": date(2024, 10, 1), "amount": Decimal("400")},
                {"relation": "R", "year": 2026, "paid_on": date(2026, 10, 20), "amount": Decimal("400")},
            ],
        }
    )
    timeline = build_timeline(facts, POLICY, date(2027, 3, 1))
    assert not timeline.covered(date(2026, 12, 31)) and not timeline.covered(date(2027, 1, 20))
    assert "NO_COVER_THIS_YEAR" in {n.code for n in timeline.notices}
    # a non-continuous payer in the window: anchor Jan 1 → Apr 1, not Feb 28 and not Jan 1
    facts2, _ = parse_case(
        {
            "person": {"id": "E8b", "birth_date": date(1980, 1, 1)},
            "enrollments": [_relation("R", "390", "350000", "1501", date(2024, 1, 1))],
            "contributions": [
                {"relation": "R", "year": 2024, "paid_on": date(2023, 10, 1), "amount": Decimal("380")},
                {"relation": "R", "year": 2026, "paid_on": date(2025, 11, 30), "amount": Decimal("400")},
            ],
        }
    )
    assert build_timeline(facts2, POLICY).first_covered_day("R", date(2026, 1, 1)) == date(2026, 4, 1)


def test_e14_exactly_24_continuous_months_switch_without_waiting() -> None:
    facts, _ = parse_case(
        {
            "person": {"id": "E14", "birth_date": date(1980, 1, 1)},
            "enrollments": [
                _relation("R", "390", "510500", "1501", date(2023, 1, 1), date(2024, 12, 31)),
                _relation("E", "310", "510500", "1103", date(2025, 1, 1)),
            ],
            "contributions": [
                {"relation": "R", "year": 2023, "paid_on": date(2022, 10, 1), "amount": Decimal("350")},
                {"relation": "R", "year": 2024, "paid_on": date(2023, 10, 1), "amount": Decimal("380")},
                {"relation": "E", "months": "2025-01..2025-03", "paid_each_month_on_day": 10, "payer": "INDIVIDUAL", "amount": Decimal("480")},
            ],
        }
    )
    assert build_timeline(facts, POLICY, date(2025, 3, 20)).first_covered_day("E") == date(2025, 1, 1)


@pytest.mark.parametrize("number", range(1, 16))
def test_every_edge_case_has_a_named_test(number: int) -> None:
    pattern = re.compile(rf"def test_e{number:02d}_")
    found = [p for p in TESTS.rglob("test_*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert found, f"E-{number:02d} (SPEC §17) has no test named test_e{number:02d}_…"
