"""The personal account (个人账户, R-ACCT-001/002/003/006) as a query of the records service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from yibao.codes import ContributionKind
from yibao.model import PayerType

from .helpers import ID_B, ID_C, month_line, months, rejected


@pytest.fixture
def dalian(svc, clock):
    """A Dalian employee born 1988 (≤ 45: 2.8 % of the base, R-ACCT-002), base 4 800, paid 2024-01..03 on the 10th."""
    clock.on(date(2024, 4, 25))
    psn = svc.register_person(by="clerk", documents=[("01", ID_C, None)]).psn_no
    svc.enroll(psn, by="clerk", insutype="310", region="210200", psn_type="1101", start=date(2023, 12, 1), relation_id="E1",
               monthly_wage=Decimal(4800))
    svc.record_contributions(psn, months("E1", "2024-01", "2024-03", "96.00"), by="cashier")
    return psn


def test_balance_on_a_day_and_its_movements(svc, dalian):
    first = svc.account(dalian, date(2024, 2, 15))
    assert first.value.balance == Decimal("268.80")  # 2 × 4 800 × 2.8 % = 2 × 134.40 (R-ACCT-002 table, row 1)
    assert [(m.on, m.kind, m.amount, str(m.month), m.rule_id) for m in first.value.movements] == [
        (date(2024, 1, 10), "CREDIT", Decimal("134.40"), "2024-01", "R-ACCT-002"),
        (date(2024, 2, 10), "CREDIT", Decimal("134.40"), "2024-02", "R-ACCT-002"),
    ]
    assert "R-ACCT-001" in first.rule_ids  # the legacy rule applies because no reform month is configured
    assert svc.account(dalian, date(2024, 4, 1)).value.balance == Decimal("403.20")
    assert svc.account(dalian, date(2023, 12, 31)).value.movements == ()


def test_refund_reverses_and_backpayment_credits_as_the_region_says(svc, dalian):
    # 2024-03 refunded in full on 04-05: its credit is reversed that day
    svc.record_contributions(dalian, [month_line("E1", "2024-03", "-96.00", paid_on=date(2024, 4, 5), kind=ContributionKind.REFUND)], by="c")
    # 2023-12 back-paid (31) on 04-20: Dalian credits back-payments of kind 31 (R-ACCT-003 example 1)
    svc.record_contributions(dalian, [month_line("E1", "2023-12", "96.00", paid_on=date(2024, 4, 20),
                                                 kind=ContributionKind.INTERRUPTION_BACKPAY, payer=PayerType.INDIVIDUAL)], by="c")
    statement = svc.account(dalian, date(2024, 4, 25)).value
    assert statement.balance == Decimal("403.20")  # 3 credits − 1 reversal + 1 back-paid credit
    assert [(m.on, m.kind, m.amount) for m in statement.movements[-2:]] == [
        (date(2024, 4, 5), "REVERSAL", Decimal("-134.40")), (date(2024, 4, 20), "CREDIT", Decimal("134.40"))]
    assert svc.account(dalian, date(2024, 4, 10)).value.balance == Decimal("268.80")


def test_a_region_without_an_account_rule_is_an_error_not_a_zero(svc, clock, unchanged):
    psn = svc.register_person(by="clerk", documents=[("01", ID_B, None)]).psn_no
    svc.enroll(psn, by="clerk", insutype="310", region="510500", psn_type="1103", start=date(2025, 1, 1), relation_id="E1",
               monthly_wage=Decimal(6300))
    svc.record_contributions(psn, months("E1", "2025-01", "2025-02"), by="c")
    rejected(unchanged, "PARAM_MISSING", "account.legacy_method", svc.account, psn, date(2025, 3, 1))
    rejected(unchanged, "PERSON_NOT_FOUND", "psn_no", svc.account, "nobody", date(2025, 3, 1))
