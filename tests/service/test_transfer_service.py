"""Transfer out and in (转移接续, R-XFER-001…004, R-ACCT-006) through the records service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from yibao.codes import InsuStatus
from yibao.model import StatusReason
from yibao.store.case_models import TransferStepRow

from .helpers import ID_B, ID_D, months, rejected, year_line


@pytest.fixture
def mover(svc, clock):
    """A Dalian (210200) employee since 2023-01 (born 1960: 3.3 % legacy account rate, R-ACCT-002),
    paid through 2024-03, and enrolled in Datong (140200) from 2024-04."""
    clock.on(date(2024, 4, 25))
    psn = svc.register_person(by="clerk-dl", documents=[("01", ID_B, None)]).psn_no
    svc.enroll(psn, by="clerk-dl", insutype="310", region="210200", psn_type="1101", start=date(2023, 1, 1), relation_id="E1",
               monthly_wage=Decimal(6000))
    svc.enroll(psn, by="clerk-dt", insutype="310", region="140200", psn_type="1101", start=date(2024, 4, 1), relation_id="E2",
               monthly_wage=Decimal(6000))
    svc.record_contributions(psn, months("E1", "2023-01", "2024-03", "120.00"), by="cashier")
    return psn


def test_transfer_out_and_in_moves_the_account_on_working_day_deadlines(svc, clock, mover):
    before = svc.account(mover, date(2024, 4, 25)).value
    assert before.balance == Decimal("2970.00")  # 15 months × 6 000 × 3.3 %
    out = svc.transfer_out(mover, "E1", by="clerk-dl", receiving_relation_id="E2", accepted_on=date(2024, 4, 25), terminate_on=date(2024, 4, 1))
    step = out.value
    # R-XFER-002 example 2: accepted Thu 2024-04-25 → due Sat 2024-05-11 (a make-up working day)
    assert (step.case, step.due_on, step.account_balance, step.cumulative_months) == ("WITHIN_EMPLOYEE", date(2024, 5, 11), Decimal("2970.00"), 15)
    assert {"R-XFER-001", "R-XFER-002", "R-XFER-003", "R-ACCT-006"} <= set(out.rule_ids)
    # the sending relation was terminated through the status machine, reason TRANSFER_OUT (R-CODE-003)
    e1 = next(e for e in svc.facts(mover).enrollments if e.relation_id == "E1")
    assert e1.status_on(date(2024, 4, 1)) is InsuStatus.TERMINATED
    assert e1.status_changes[-1].reason is StatusReason.TRANSFER_OUT and e1.status_changes[-1].recorded_by == "clerk-dl"
    assert svc.account(mover, date(2024, 4, 25)).value.balance == Decimal("0.00")  # remitted

    clock.on(date(2024, 5, 15))
    back = svc.transfer_in(mover, step.transfer_no, by="clerk-dt", form_received_on=date(2024, 5, 13),
                           remitted_amount=Decimal("2970.00"), money_received_on=date(2024, 5, 14))
    assert (back.value.due_on, back.value.account_state, back.value.account_credited) == (date(2024, 5, 20), "CREDITED", Decimal("2970.00"))
    assert "R-XFER-004" in back.rule_ids and back.value.cumulative_months == 15  # years carried (R-XFER-003)
    statement = svc.account(mover, date(2024, 6, 1)).value
    assert statement.balance == Decimal("2970.00")
    assert [m.kind for m in statement.movements[-2:]] == ["TRANSFER_OUT", "TRANSFER_IN"]
    assert [s.step for s in svc.transfers(mover)] == ["OUT", "IN"]
    # paid at the receiving region without a gap, the person is covered there at once (R-WAIT-001)
    svc.record_contributions(mover, months("E2", "2024-04", "2024-05", "120.00", day=15), by="cashier")
    assert svc.covered_on(mover, date(2024, 5, 16)).value.relation_id == "E2"


def test_money_that_does_not_match_the_form_is_held_in_suspense(svc, clock, mover):
    out = svc.transfer_out(mover, "E1", by="clerk-dl", receiving_relation_id="E2", accepted_on=date(2024, 4, 25), terminate_on=date(2024, 4, 1),
                           account_balance=Decimal("3210.55"))
    assert out.value.account_balance == Decimal("3210.55")  # the sending agency's ledger is what the form carries
    assert [n.code for n in out.notices] == ["XFER_BALANCE_DIFFERS"]  # … flagged: the recorded lines give 2 970.00
    back = svc.transfer_in(mover, out.value.transfer_no, by="clerk-dt", form_received_on=date(2024, 5, 13),
                           remitted_amount=Decimal("3000.00"), money_received_on=date(2024, 5, 10))
    assert (back.value.account_state, back.value.account_credited) == ("SUSPENSE", None)
    assert [n.code for n in back.notices] == ["XFER_SUSPENSE"]
    # not credited at the receiving end; the statement shows the ledger difference left behind (2 970.00 − 3 210.55)
    assert svc.account(mover, date(2024, 6, 1)).value.balance == Decimal("-240.55")


def test_refusals_write_nothing(svc, db, clock, mover, unchanged):
    # R-XFER-001: the sending relation has not stopped
    rejected(unchanged, "TRANSFER_NOT_POSSIBLE", "terminate_on", svc.transfer_out, mover, "E1", by="c", receiving_relation_id="E2",
             accepted_on=date(2024, 4, 25))
    # no transfer inside one region (E1 → E1 is the same region)
    rejected(unchanged, "TRANSFER_NOT_POSSIBLE", "receiving_relation_id", svc.transfer_out, mover, "E1", by="c",
             receiving_relation_id="E1", accepted_on=date(2024, 4, 25), terminate_on=date(2024, 4, 1))
    rejected(unchanged, "RELATION_NOT_FOUND", "receiving_relation_id", svc.transfer_out, mover, "E1", by="c",
             receiving_relation_id="E9", accepted_on=date(2024, 4, 25), terminate_on=date(2024, 4, 1))
    # a year whose official calendar is not loaded: the deadline cannot be counted (E-09)
    err = rejected(unchanged, "CALENDAR_YEAR_UNKNOWN", "accepted_on", svc.transfer_out, mover, "E1", by="c", receiving_relation_id="E2",
                   accepted_on=date(2098, 3, 2), terminate_on=date(2098, 3, 1))
    assert "2098" in err.message_en
    rejected(unchanged, "INVALID_INPUT", "terminate_on", svc.transfer_out, mover, "E1", by="c", receiving_relation_id="E2",
             accepted_on=date(2024, 4, 25), terminate_on=date(2024, 4, 26))
    rejected(unchanged, "TRANSFER_NOT_FOUND", "transfer_no", svc.transfer_in, mover, "T-NONE", by="c", form_received_on=date(2024, 5, 13))
    out = svc.transfer_out(mover, "E1", by="c", receiving_relation_id="E2", accepted_on=date(2024, 4, 25), terminate_on=date(2024, 4, 1))
    rejected(unchanged, "TRANSFER_EXISTS", "relation_id", svc.transfer_out, mover, "E1", by="c", receiving_relation_id="E2",
             accepted_on=date(2024, 4, 26))
    rejected(unchanged, "XFER_DATE_ORDER", "form_received_on", svc.transfer_in, mover, out.value.transfer_no, by="c",
             form_received_on=date(2024, 4, 24))
    rejected(unchanged, "INVALID_INPUT", "money_received_on", svc.transfer_in, mover, out.value.transfer_no, by="c",
             form_received_on=date(2024, 5, 13), remitted_amount=Decimal("1.00"))
    svc.transfer_in(mover, out.value.transfer_no, by="c", form_received_on=date(2024, 5, 13))
    rejected(unchanged, "TRANSFER_ALREADY_IN", "transfer_no", svc.transfer_in, mover, out.value.transfer_no, by="c",
             form_received_on=date(2024, 5, 14))
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(TransferStepRow)) == 2


def test_resident_transfer_waits_for_the_next_year_and_has_no_account(svc, clock, unchanged):
    """R-XFER-001 example 2: a resident paid for 2025 at A keeps it; enrolled at B for 2026, then applies."""
    clock.on(date(2025, 11, 20))
    psn = svc.register_person(by="c", documents=[("01", ID_D, None)]).psn_no
    svc.enroll(psn, by="c", insutype="390", region="510500", psn_type="1501", start=date(2025, 1, 1), relation_id="R1")
    svc.record_contributions(psn, [year_line("R1", 2025, date(2024, 11, 10))], by="c")
    svc.enroll(psn, by="c", insutype="390", region="220000", psn_type="1501", start=date(2026, 1, 1), relation_id="R2")
    rejected(unchanged, "XFER_NO_ACCOUNT", "account_balance", svc.transfer_out, psn, "R1", by="c", receiving_relation_id="R2",
             accepted_on=date(2025, 11, 20), account_balance=Decimal("10.00"))
    out = svc.transfer_out(psn, "R1", by="c", receiving_relation_id="R2", accepted_on=date(2025, 11, 20))
    assert (out.value.case, out.value.account_balance, out.value.cumulative_months) == ("WITHIN_RESIDENT", None, None)
    assert "XFER_RESIDENT_CURRENT_YEAR" in [n.code for n in out.notices]
    back = svc.transfer_in(psn, out.value.transfer_no, by="c", form_received_on=date(2025, 11, 24))
    assert back.value.account_state == "NO_ACCOUNT"
