"""yibao quote: what to pay on a date and what it buys — the same rules as explain."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from yibao.casefile import parse_case, read_case
from yibao.errors import YibaoError
from yibao.policy import default_policy
from yibao.rules.entitlement import build_timeline
from yibao.rules.quote import quote

ROOT = Path(__file__).resolve().parents[1]
POLICY = default_policy()


def flexible_case(last_paid: str, region: str = "510500") -> dict:
    return {
        "person": {"id": "Q1"},
        "enrollments": [
            {"id": "E1", "insutype": "310", "region": region, "psn_type": "1103", "start": date(2022, 1, 1), "wages": [{"from": "2022-01", "monthly": Decimal("8000.00")}]}
        ],
        "contributions": [
            {"relation": "E1", "months": f"2022-01..{last_paid}", "paid_each_month_on_day": 10, "payer": "INDIVIDUAL", "amount": Decimal("720.00")}
        ],
    }


def test_short_gap_is_back_paid_with_retroactive_cover() -> None:
    facts, _ = read_case(ROOT / "examples" / "cases" / "luzhou-switch.yaml")
    q = quote(facts, POLICY, date(2025, 9, 20))
    (item,) = q.value.items
    assert [str(m) for m in item.months] == ["2025-07", "2025-08", "2025-09"]
    assert [str(m) for m in item.backpay_months] == ["2025-07", "2025-08"]
    assert item.total == Decimal("1786.05") and item.person_pays == Decimal("396.90")
    assert item.benefit_start == date(2025, 7, 1) and item.retroactive_from == date(2025, 7, 1)
    assert "RESIDENT_WHILE_EMPLOYED" in {n.code for n in q.notices}


def test_quote_agrees_with_explain_after_paying() -> None:
    facts, _ = parse_case(flexible_case("2025-05"))
    q = quote(facts, POLICY, date(2025, 8, 10)).value
    (item,) = q.items
    assert [str(m) for m in item.backpay_months] == ["2025-06", "2025-07"]
    # a flexible worker pays both shares
    assert item.person_pays == item.total
    timeline = build_timeline(facts, POLICY, date(2025, 8, 10))
    assert not timeline.covered(date(2025, 6, 15))  # not yet, as known before paying
    assert item.retroactive_from == date(2025, 6, 1)


def test_long_gap_quotes_only_the_current_month_and_the_wait() -> None:
    facts, _ = parse_case(flexible_case("2025-01"))
    decision = quote(facts, POLICY, date(2025, 8, 10))
    (item,) = decision.value.items
    assert [str(m) for m in item.months] == ["2025-08"] and item.backpay_months == ()
    assert "GAP_TOO_LONG_TO_REPAIR" in {n.code for n in decision.notices}
    assert item.benefit_start is None  # one month paid does not reach the end of a 6-month wait
    assert "R-WAIT-002" in {r.rule_id for r in item.reasons}


def resident_case(paid_years: dict[int, date]) -> dict:
    return {
        "person": {"id": "Q2", "birth_date": date(1980, 5, 1)},
        "enrollments": [{"id": "R1", "insutype": "390", "region": "350000", "psn_type": "1501", "start": date(2023, 1, 1)}],
        "contributions": [{"relation": "R1", "year": y, "paid_on": d, "amount": Decimal("400.00")} for y, d in paid_years.items()],
    }


def test_resident_in_the_window_quotes_next_year() -> None:
    facts, _ = parse_case(resident_case({2024: date(2023, 10, 1), 2025: date(2024, 10, 1)}))
    (item,) = quote(facts, POLICY, date(2025, 10, 15)).value.items
    assert item.benefit_years == (2026,) and item.benefit_start == date(2026, 1, 1)
    assert item.total == Decimal("400.00")


def test_resident_outside_the_window_quotes_this_year_with_the_fixed_wait() -> None:
    facts, _ = parse_case(resident_case({2024: date(2023, 10, 1), 2025: date(2024, 10, 1)}))
    (item,) = quote(facts, POLICY, date(2026, 3, 10)).value.items
    assert item.benefit_years == (2026,) and item.benefit_start == date(2026, 6, 10)


def test_resident_unpaid_this_year_in_the_window_is_offered_next_year_only() -> None:
    """E-08: paying 2026 on 2026-10-20 would start after 2026 ends; the quote offers 2027 instead."""
    facts, _ = parse_case(resident_case({2024: date(2023, 10, 1), 2025: date(2024, 10, 1)}))
    (item,) = quote(facts, POLICY, date(2026, 10, 20)).value.items
    assert item.benefit_years == (2027,)
    # and 2027 is not continuous (2026 unpaid): the fixed wait from Jan 1
    assert item.benefit_start == date(2027, 4, 1)


def test_errors() -> None:
    facts, _ = parse_case({**flexible_case("2025-05"), "person": {"id": "Q3", "death_date": date(2025, 6, 30)}})
    with pytest.raises(YibaoError) as info:
        quote(facts, POLICY, date(2025, 8, 10))
    assert info.value.code == "PAYMENT_AFTER_DEATH" and info.value.field == "pay_on"
    facts, _ = parse_case({"person": {"id": "Q4"}})
    with pytest.raises(YibaoError) as info:
        quote(facts, POLICY, date(2025, 8, 10))
    assert info.value.code == "NOTHING_TO_QUOTE"
