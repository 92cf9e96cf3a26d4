"""The contribution ledger: record_contributions (idempotent), quote, post_backpayment, and concurrency."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from yibao.codes import ContributionKind
from yibao.dates import YearMonth
from yibao.errors import YibaoError
from yibao.model import ContributionLine, PayerType
from yibao.rules.quote import quote as rules_quote
from yibao.store.models import LineRow

from .helpers import ID_A, ID_B, ID_D, month_line, months, rejected, year_line


def _lines(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(LineRow))


@pytest.fixture
def flex(svc, clock):
    """A flexible worker in Luzhou (510500), enrolled 2023-01 with a declared wage, paying on the 10th."""
    clock.on(date(2023, 1, 5))
    psn = svc.register_person(by="clerk-1", documents=[("01", ID_B, None)]).psn_no
    svc.enroll(psn, by="clerk-1", insutype="310", region="510500", psn_type="1103", start=date(2023, 1, 1), relation_id="E1",
               monthly_wage=Decimal("6300"))
    clock.on(date(2025, 8, 15))
    return psn


@pytest.fixture
def resident(svc, clock):
    psn = svc.register_person(by="clerk-1", documents=[("01", ID_D, None)]).psn_no
    svc.enroll(psn, by="clerk-1", insutype="390", region="510500", psn_type="1501", start=date(2024, 1, 1), relation_id="R1")
    return psn


# ------------------------------------------------------------------------------- record_contributions


def test_lines_are_recorded_once_by_their_derived_key(svc, db, flex):
    lines = months("E1", "2023-01", "2023-06")
    first = svc.record_contributions(flex, lines, by="cashier-1")
    assert first.new == 6 and len(set(first.keys)) == 6
    again = svc.record_contributions(flex, lines, by="cashier-2")
    assert (again.keys, again.new) == (first.keys, 0)
    # 567, 567.0 and 567.00 are the same amount, so the same payment
    same = svc.record_contributions(flex, [month_line("E1", "2023-01", "567"), month_line("E1", "2023-02", "567.0")], by="cashier-1")
    assert same.new == 0 and same.keys == first.keys[:2]
    assert _lines(db) == 6
    facts = svc.facts(flex)
    assert [c.month for c in facts.contributions] == [YearMonth(2023, m) for m in range(1, 7)]
    assert {c.recorded_on for c in facts.contributions} == {date(2025, 8, 15)}


def test_same_key_twice_records_once_and_other_content_is_a_conflict(svc, db, flex, unchanged):
    assert svc.record_contributions(flex, [month_line("E1", "2023-01", key="BANK-0001")], by="cashier-1").new == 1
    assert svc.record_contributions(flex, [month_line("E1", "2023-01", key="BANK-0001")], by="cashier-2").new == 0
    both = svc.record_contributions(flex, [month_line("E1", "2023-02", key="BANK-0002"), month_line("E1", "2023-02", key="BANK-0002")], by="c")
    assert both.new == 1
    err = rejected(unchanged, "IDEMPOTENCY_CONFLICT", "lines.1.key", svc.record_contributions, flex,
                   [month_line("E1", "2023-03", key="BANK-0003"), month_line("E1", "2023-01", "600.00", key="BANK-0001")], by="cashier-1")
    assert "amount" in err.message_en
    rejected(unchanged, "IDEMPOTENCY_CONFLICT", "lines.0.key", svc.record_contributions, flex,
             [month_line("E1", "2023-01", key="BANK-0001", paid_on=date(2023, 1, 11))], by="cashier-1")
    assert _lines(db) == 2


@pytest.mark.parametrize(
    "bad, code, field",
    [
        (month_line("E1", "2023-02", "0"), "ZERO_AMOUNT", "lines.1.amount"),
        (month_line("E9", "2023-02"), "RELATION_NOT_FOUND", "lines.1.relation_id"),
        (month_line("E1", "2023-02", "567.005"), "MONEY_PRECISION", "lines.1.amount"),
        (month_line("E1", "2023-02", key="K" * 129), "INVALID_INPUT", "lines.1.key"),
        (ContributionLine("E1", ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(2023, 2, 1), Decimal("5"), month=YearMonth(2023, 2), benefit_year=2023),
         "INVALID_INPUT", "lines.1.benefit_year"),
        (ContributionLine("E1", ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(2023, 2, 1), Decimal("5")), "INVALID_INPUT", "lines.1.month"),
    ],
    ids=["zero", "relation", "precision", "long-key", "two-periods", "no-period"],
)
def test_one_bad_line_refuses_the_whole_payment(svc, flex, unchanged, bad, code, field):
    rejected(unchanged, code, field, svc.record_contributions, flex, [month_line("E1", "2023-01"), bad], by="cashier-1")


def test_payment_refusals_before_any_line(svc, flex, unchanged):
    rejected(unchanged, "EMPTY_PAYMENT", "lines", svc.record_contributions, flex, [], by="cashier-1")
    rejected(unchanged, "PERSON_NOT_FOUND", "psn_no", svc.record_contributions, "nobody", [month_line("E1", "2023-01")], by="cashier-1")
    rejected(unchanged, "INVALID_INPUT", "by", svc.record_contributions, flex, [month_line("E1", "2023-01")], by="")


def test_next_year_before_the_window_is_refused(svc, resident, unchanged):
    """R-RES-001: the window opens on 09-01 (national default), a region without prepayment refuses earlier payments."""
    err = rejected(unchanged, "OUTSIDE_WINDOW", "lines.0.paid_on", svc.record_contributions, resident,
                   [year_line("R1", 2026, date(2025, 8, 31))], by="cashier-1")
    assert "2025-09-01" in err.message_en
    assert svc.record_contributions(resident, [year_line("R1", 2026, date(2025, 9, 1))], by="cashier-1").new == 1
    assert svc.record_contributions(resident, [year_line("R1", 2025, date(2025, 3, 1))], by="cashier-1").new == 1  # late, but not early
    refund = year_line("R1", 2026, date(2025, 8, 1), "-400.00")
    assert svc.record_contributions(resident, [refund], by="cashier-1").new == 1  # a refund is no payment in advance


def test_payments_after_death(svc, flex, unchanged, clock):
    svc.record_contributions(flex, months("E1", "2023-01", "2025-01"), by="cashier-1")
    svc.record_death(flex, date(2025, 3, 10), by="clerk-1")
    # the month of death, collected after the death (collection lag): accepted
    assert svc.record_contributions(flex, [month_line("E1", "2025-03", paid_on=date(2025, 3, 20))], by="cashier-1").new == 1
    rejected(unchanged, "RET_PAID_AFTER_DEATH", "lines.0.month", svc.record_contributions, flex,
             [month_line("E1", "2025-04", paid_on=date(2025, 4, 10))], by="cashier-1")
    backpay = dict(kind=ContributionKind.INTERRUPTION_BACKPAY, paid_on=date(2025, 4, 1))
    rejected(unchanged, "RET_PAID_AFTER_DEATH", "lines.1.payer", svc.record_contributions, flex,
             [month_line("E1", "2025-03", paid_on=date(2025, 3, 5)), month_line("E1", "2025-02", **backpay)], by="cashier-1")
    # an heir settles arrears for a month before death
    assert svc.record_contributions(flex, [month_line("E1", "2025-02", payer=PayerType.HEIR, **backpay)], by="cashier-1").new == 1
    rejected(unchanged, "PAYMENT_AFTER_DEATH", "pay_on", svc.quote, flex, date(2025, 4, 1))
    rejected(unchanged, "PAYMENT_AFTER_DEATH", "pay_on", svc.post_backpayment, flex, date(2025, 4, 1), by="cashier-1", payment_key="AFTER")


# ------------------------------------------------------------------------------- quote and back-payment


@pytest.fixture
def gap(svc, flex, clock):
    """Paid 2023-01 … 2025-01 (recorded on 2025-02-01); February to April 2025 unpaid; today is 2025-05-06."""
    clock.on(date(2025, 2, 1))
    svc.record_contributions(flex, months("E1", "2023-01", "2025-01"), by="cashier-1")
    clock.on(date(2025, 5, 6))
    return flex


def test_quote_equals_the_rules_on_the_stored_facts(svc, gap, clock):
    decision = svc.quote(gap, date(2025, 5, 6))
    assert decision == rules_quote(svc.facts(gap), svc.policy, date(2025, 5, 6), as_known_on=date(2025, 5, 6))
    (item,) = decision.value.items
    assert item.backpay_months == (YearMonth(2025, 2), YearMonth(2025, 3), YearMonth(2025, 4))
    assert item.months[-1] == YearMonth(2025, 5)
    assert item.retroactive_from == date(2025, 2, 1)


def test_backpayment_covers_the_gap_retroactively_as_known_from_the_posting_day(svc, db, gap, clock):
    assert not svc.covered_on(gap, date(2025, 3, 3)).value.covered
    posted = svc.post_backpayment(gap, date(2025, 5, 6), by="cashier-1", payment_key="BP-20250506")
    assert posted.new == len(posted.keys) == len(posted.quote.items[0].lines) == 8
    assert all(k.startswith("BP-20250506:E1:") for k in posted.keys)
    facts = svc.facts(gap)
    backpaid = [c for c in facts.contributions if c.kind is ContributionKind.INTERRUPTION_BACKPAY]
    assert sorted({c.month for c in backpaid}) == [YearMonth(2025, 2), YearMonth(2025, 3), YearMonth(2025, 4)]
    assert svc.covered_on(gap, date(2025, 3, 3)).value.covered  # as known today
    assert svc.covered_on(gap, date(2025, 3, 3), as_known_on=date(2025, 5, 6)).value.covered
    assert not svc.covered_on(gap, date(2025, 3, 3), as_known_on=date(2025, 5, 5)).value.covered  # not known the day before
    grid = {c.month: c for c in svc.timeline(gap).months if c.relation_id == "E1"}
    assert all(grid[YearMonth(2025, m)].covered for m in (2, 3, 4, 5))
    # posting the same payment again records nothing
    count = _lines(db)
    again = svc.post_backpayment(gap, date(2025, 5, 6), by="cashier-2", payment_key="BP-20250506")
    assert (sorted(again.keys), again.new) == (sorted(posted.keys), 0)
    assert _lines(db) == count


def test_a_payment_key_names_one_payment(svc, gap, unchanged, clock):
    svc.post_backpayment(gap, date(2025, 5, 6), by="cashier-1", payment_key="BPX1")
    # "_" is a LIKE wildcard: BP_1 must not be mistaken for BPX1 (it buys the next month)
    other = svc.post_backpayment(gap, date(2025, 5, 6), by="cashier-1", payment_key="BP_1")
    assert other.new > 0 and all(k.startswith("BP_1:") for k in other.keys)
    rejected(unchanged, "IDEMPOTENCY_CONFLICT", "payment_key", svc.post_backpayment, gap, date(2025, 5, 7), by="cashier-1", payment_key="BPX1")
    stranger = svc.register_person(by="clerk-1", documents=[("01", ID_A, None)]).psn_no
    err = rejected(unchanged, "IDEMPOTENCY_CONFLICT", "payment_key", svc.post_backpayment, stranger, date(2025, 5, 6), by="cashier-1", payment_key="BPX1")
    assert gap not in err.message_en  # the other person is not named
    rejected(unchanged, "INVALID_INPUT", "payment_key", svc.post_backpayment, gap, date(2025, 5, 6), by="cashier-1", payment_key="")
    rejected(unchanged, "INVALID_INPUT", "payment_key", svc.post_backpayment, gap, date(2025, 5, 6), by="cashier-1", payment_key="K" * 100)
    rejected(unchanged, "PERSON_NOT_FOUND", "psn_no", svc.post_backpayment, "nobody", date(2025, 5, 6), by="cashier-1", payment_key="Z")


def test_nothing_to_quote(svc, unchanged):
    psn = svc.register_person(by="clerk-1", documents=[("01", ID_A, None)]).psn_no
    rejected(unchanged, "NOTHING_TO_QUOTE", "pay_on", svc.quote, psn, date(2025, 5, 6))
    rejected(unchanged, "NOTHING_TO_QUOTE", "pay_on", svc.post_backpayment, psn, date(2025, 5, 6), by="cashier-1", payment_key="N")


# ------------------------------------------------------------------------------- concurrency


def _in_threads(n: int, fn) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except BaseException as exc:  # reported below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results


def test_the_same_payment_posted_from_several_threads_is_one_row(svc, db, flex):
    lines = months("E1", "2024-01", "2024-03") + [month_line("E1", "2024-04", key="BANK-7")]
    results = _in_threads(8, lambda: svc.record_contributions(flex, lines, by="cashier"))
    assert _lines(db) == 4
    assert sum(r.new for r in results) == 4
    assert len({r.keys for r in results}) == 1


def test_the_same_backpayment_posted_from_several_threads_is_posted_once(svc, db, gap):
    before = _lines(db)
    results = _in_threads(6, lambda: svc.post_backpayment(gap, date(2025, 5, 6), by="cashier", payment_key="BP-RACE"))
    assert _lines(db) - before == 8
    assert sum(r.new for r in results) == 8
    assert len({tuple(sorted(r.keys)) for r in results}) == 1


def test_errors_are_typed_not_raw(svc, flex):
    """A rejected payment is a YibaoError, never a database exception (PostgreSQL checks column widths)."""
    with pytest.raises(YibaoError):
        svc.enroll(flex, by="clerk-1", insutype="310", region="510500", psn_type="1103", start=date(2024, 1, 1), relation_id="长" * 65)
