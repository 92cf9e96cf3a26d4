"""Refund application and decision (退费, R-REF-001/002/003/005) through the records service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from yibao.codes import ContributionKind
from yibao.dates import YearMonth
from yibao.model import ContributionLine, PayerType, StatusReason
from yibao.store.case_models import RefundApplicationRow, RefundDecisionRow

from .helpers import ID_B, ID_D, months, rejected, year_line


@pytest.fixture
def resident(svc, clock):
    """A Luzhou resident insured every year since 2024 who paid 400 (+200 from assistance) for 2026 on
    2025-11-10, then joined 310 on 2025-12-01 (R-REF-001): 2026 would have started on 2026-01-01."""
    clock.on(date(2025, 11, 10))
    psn = svc.register_person(by="clerk", documents=[("01", ID_D, None)]).psn_no
    svc.enroll(psn, by="clerk", insutype="390", region="510500", psn_type="1501", start=date(2024, 1, 1), relation_id="R1")
    svc.record_contributions(psn, [year_line("R1", 2024, date(2023, 11, 10)), year_line("R1", 2025, date(2024, 11, 10)),
                                   year_line("R1", 2026, date(2025, 11, 10)),
                                   year_line("R1", 2026, date(2025, 11, 10), "200.00", payer=PayerType.MEDICAL_ASSISTANCE)], by="cashier")
    clock.on(date(2025, 12, 3))
    return psn


def _count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_resident_refund_before_the_benefit_year_is_applied_approved_and_netted(svc, db, clock, resident, unchanged):
    rejected(unchanged, "REFUND_RELATION_ACTIVE", "relation_id", svc.apply_refund, resident, "R1", by="clerk", rule="R-REF-001",
             year=2026, event_date=date(2025, 12, 1))
    svc.terminate(resident, "R1", by="clerk", effective=date(2025, 12, 1), reason=StatusReason.DUPLICATE_CLEANUP)
    applied = svc.apply_refund(resident, "R1", by="clerk", rule="R-REF-001", year=2026, event_date=date(2025, 12, 1))
    case = applied.value
    assert case.total == Decimal("600.00") and case.outcome is None
    assert {(l["payer"], l["amount"], l["channel"]) for l in case.lines} == {
        ("INDIVIDUAL", "400.00", "PERSON"), ("MEDICAL_ASSISTANCE", "200.00", "ASSISTANCE_FUND")}
    assert applied.rule_ids == ("R-REF-001",)
    assert svc.facts(resident).contributions[-1].amount > 0  # an application posts nothing yet

    decided = svc.decide_refund(resident, case.refund_no, by="chief", approve=True, reason="核实无误 verified")
    assert (decided.value.outcome, decided.value.decided_by) == ("APPROVED", "chief")
    assert decided.value.refund_keys == (f"{case.refund_no}:1", f"{case.refund_no}:2")
    refunds = [c for c in svc.facts(resident).contributions if c.kind is ContributionKind.REFUND]
    assert sorted(c.amount for c in refunds) == [Decimal("-400.00"), Decimal("-200.00")]
    assert {c.paid_on for c in refunds} == {date(2025, 12, 3)}
    # the timeline stays consistent: the refunded year gives no benefits, and nothing is refundable twice
    assert not svc.covered_on(resident, date(2026, 3, 1)).value.covered
    assert svc.covered_on(resident, date(2025, 11, 30)).value.relation_id == "R1"  # 2025, before the termination, is untouched
    rejected(unchanged, "REFUND_NOTHING", "year", svc.apply_refund, resident, "R1", by="clerk", rule="R-REF-001",
             year=2026, event_date=date(2025, 12, 1))
    rejected(unchanged, "REFUND_ALREADY_DECIDED", "refund_no", svc.decide_refund, resident, case.refund_no, by="chief", approve=False,
             reason="again")
    listed = svc.refunds(resident)
    assert [(r.refund_no, r.outcome, r.refund_keys) for r in listed] == [(case.refund_no, "APPROVED", decided.value.refund_keys)]


def test_reject_stale_and_bad_decisions_write_nothing(svc, db, clock, resident, unchanged):
    svc.terminate(resident, "R1", by="clerk", effective=date(2025, 12, 1), reason=StatusReason.DUPLICATE_CLEANUP)
    first = svc.apply_refund(resident, "R1", by="clerk", rule="R-REF-001", year=2026, event_date=date(2025, 12, 1)).value
    rejected(unchanged, "REASON_REQUIRED", "reason", svc.decide_refund, resident, first.refund_no, by="chief", approve=True, reason=" ")
    rejected(unchanged, "REFUND_NOT_FOUND", "refund_no", svc.decide_refund, resident, "F-NONE", by="chief", approve=True, reason="x")
    # another channel refunded part of it meanwhile: the application no longer matches the ledger
    svc.record_contributions(resident, [ContributionLine("R1", ContributionKind.REFUND, PayerType.INDIVIDUAL, date(2025, 12, 2),
                                                         Decimal("-400.00"), benefit_year=2026, key="BANK-REFUND")], by="cashier")
    rejected(unchanged, "REFUND_STALE", "refund_no", svc.decide_refund, resident, first.refund_no, by="chief", approve=True, reason="ok")
    lines = _count(db, RefundApplicationRow)
    rejected_case = svc.decide_refund(resident, first.refund_no, by="chief", approve=False, reason="已由银行退回 refunded by the bank").value
    assert (rejected_case.outcome, rejected_case.refund_keys) == ("REJECTED", ())
    assert _count(db, RefundDecisionRow) == 1 and _count(db, RefundApplicationRow) == lines
    assert sum(c.amount for c in svc.facts(resident).contributions if c.benefit_year == 2026) == Decimal("200.00")  # only the bank's refund


def test_suspended_relation_gets_nothing_back_and_bad_inputs(svc, clock, resident, unchanged):
    svc.suspend(resident, "R1", by="clerk", effective=date(2025, 12, 1), reason=StatusReason.OTHER)
    err = rejected(unchanged, "REFUND_NOTHING", "rule", svc.apply_refund, resident, "R1", by="clerk", rule="R-REF-001",
                   year=2026, event_date=date(2025, 12, 1))
    assert "暂停" in err.message_zh  # R-REF-002: suspended, not terminated
    rejected(unchanged, "INVALID_INPUT", "rule", svc.apply_refund, resident, "R1", by="clerk", rule="R-REF-999")
    rejected(unchanged, "INVALID_INPUT", "year", svc.apply_refund, resident, "R1", by="clerk", rule="R-REF-001", event_date=date(2025, 12, 1))
    rejected(unchanged, "REFUND_RULE_MISMATCH", "relation_id", svc.apply_refund, resident, "R1", by="clerk", rule="R-REF-003", year=2025,
             first_unit_month=YearMonth(2025, 7))
    rejected(unchanged, "REFUND_RULE_MISMATCH", "rule", svc.apply_refund, resident, "R1", by="clerk", rule="R-REF-005")
    rejected(unchanged, "RELATION_NOT_FOUND", "relation_id", svc.apply_refund, resident, "R9", by="clerk", rule="R-REF-001", year=2026,
             event_date=date(2025, 12, 1))


@pytest.fixture
def flexible(svc, clock):
    """A Luzhou flexible worker who prepaid every month of 2025 (567.00 each) on 2025-01-10."""
    clock.on(date(2025, 1, 10))
    psn = svc.register_person(by="clerk", documents=[("01", ID_B, None)]).psn_no
    svc.enroll(psn, by="clerk", insutype="310", region="510500", psn_type="1103", start=date(2025, 1, 1), relation_id="E1",
               monthly_wage=Decimal(6300))
    svc.record_contributions(psn, [l.__class__(**{**l.__dict__, "paid_on": date(2025, 1, 10)}) for l in months("E1", "2025-01", "2025-12")],
                             by="cashier")
    clock.on(date(2025, 8, 20))
    return psn


def test_flexible_prepaid_months_are_refunded_from_the_first_unit_month(svc, flexible):
    """R-REF-003 (A-11: from the first unit-paid month through December, exactly as collected)."""
    case = svc.apply_refund(flexible, "E1", by="clerk", rule="R-REF-003", year=2025, first_unit_month=YearMonth(2025, 7)).value
    assert case.total == Decimal("3402.00") and [l["month"] for l in case.lines] == [f"2025-{m:02d}" for m in range(7, 13)]
    svc.decide_refund(flexible, case.refund_no, by="chief", approve=True, reason="单位已参保")
    paid = {c.month: c.amount for c in svc.facts(flexible).contributions if c.amount > 0}
    net = {m: sum(c.amount for c in svc.facts(flexible).contributions if c.month == m) for m in paid}
    assert [str(m) for m, v in sorted(net.items()) if v == 0] == [f"2025-{m:02d}" for m in range(7, 13)]


def test_death_refund_goes_to_the_heirs(svc, clock, flexible):
    """R-REF-005: months after the month of death, to the heirs (A-12)."""
    svc.record_death(flexible, date(2025, 8, 10), by="clerk")
    applied = svc.apply_refund(flexible, "E1", by="clerk", rule="R-REF-005")
    assert applied.value.total == Decimal("2268.00") and {l["channel"] for l in applied.value.lines} == {"HEIRS"}
    assert applied.value.event_date == date(2025, 8, 10) and "REF_TO_HEIRS" in [n.code for n in applied.notices]
    approved = svc.decide_refund(flexible, applied.value.refund_no, by="chief", approve=True, reason="继承人申请").value
    assert len(approved.refund_keys) == 4  # 2025-09 … 2025-12, after death (E-07 accepts refunds)
