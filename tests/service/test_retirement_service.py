"""Retirement conversion (R-RET-001…003, R-XFER-003) through the records service: review, lump-sum
top-up (idempotent by key), conversion to a retiree relation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from yibao.codes import ContributionKind
from yibao.model import EventKind, StatusReason
from yibao.store.models import LineRow

from .helpers import ID_B, months, rejected


@pytest.fixture
def worker(svc, clock):
    """A man (born 1960) insured in Datong 2001-01..2012-12 (144 months), then Dalian 2013-01..2024-12
    (144 months): 288 months = 24 years, 12 months short of Dalian's male minimum of 25 (R-RET-001)."""
    clock.on(date(2024, 12, 20))
    psn = svc.register_person(by="clerk", documents=[("01", ID_B, None)]).psn_no
    svc.enroll(psn, by="clerk", insutype="310", region="140200", psn_type="1101", start=date(2001, 1, 1), relation_id="E1",
               monthly_wage=Decimal(4000))
    svc.terminate(psn, "E1", by="clerk", effective=date(2013, 1, 1), reason=StatusReason.EMPLOYMENT_ENDED)
    svc.enroll(psn, by="clerk", insutype="310", region="210200", psn_type="1101", start=date(2013, 1, 1), relation_id="E2",
               monthly_wage=Decimal(6000))
    svc.record_contributions(psn, months("E1", "2001-01", "2012-12", "80.00") + months("E2", "2013-01", "2024-12", "120.00"), by="cashier")
    clock.on(date(2025, 1, 2))
    return psn


def _lines(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(LineRow))


def test_short_years_are_topped_up_once_then_the_relation_converts(svc, db, clock, worker, unchanged):
    review = svc.retirement_review(worker, "E2", date(2025, 1, 2))
    r = review.value
    # R-XFER-003: years across regions add up; R-RET-001: 12 months short; R-RET-002: 12 × 6 000 × 10 % (illustrative)
    assert (r.cumulative.total, dict(r.cumulative.paid_by_region)) == (288, {"140200": 144, "210200": 144})
    assert (r.check.required_months, r.check.shortfall_months, r.topup.amount) == (300, 12, Decimal("7200.00"))
    assert r.retiree_psn_type == "1201" and {"R-XFER-003", "R-RET-001", "R-RET-002"} <= set(review.rule_ids)
    assert "RET_ILLUSTRATIVE" in [n.code for n in review.notices]

    err = rejected(unchanged, "RET_YEARS_SHORT", "retired_on", svc.retire, worker, "E2", by="clerk", retired_on=date(2025, 1, 2))
    assert "7200.00" in err.message_zh

    before = _lines(db)
    svc.post_retirement_topup(worker, "E2", by="cashier", pay_on=date(2025, 1, 2), payment_key="RET-001")
    again = svc.post_retirement_topup(worker, "E2", by="cashier", pay_on=date(2025, 1, 2), payment_key="RET-001")
    assert _lines(db) == before + 1 and again.value.check.meets  # posted once; the repeat reports the state now
    lump = [c for c in svc.facts(worker).contributions if c.kind is ContributionKind.RETIREMENT_BACKPAY]
    assert [(c.amount, c.months_credited, c.month, c.key) for c in lump] == [(Decimal("7200.00"), 12, None, "RET-001:E2:RET")]
    rejected(unchanged, "IDEMPOTENCY_CONFLICT", "payment_key", svc.post_retirement_topup, worker, "E2", by="cashier",
             pay_on=date(2025, 1, 3), payment_key="RET-001")
    rejected(unchanged, "RET_NO_SHORTFALL", "relation_id", svc.post_retirement_topup, worker, "E2", by="cashier",
             pay_on=date(2025, 1, 2), payment_key="RET-002")

    done = svc.retire(worker, "E2", by="clerk", retired_on=date(2025, 1, 2))
    assert done.value.check.meets and done.value.check.counted_months == 300
    assert [(e.kind, e.on, e.region) for e in svc.facts(worker).events] == [(EventKind.RETIRED, date(2025, 1, 2), "210200")]
    # R-RET-003: a retiree keeps benefits without paying, and owes no basic contribution
    assert svc.covered_on(worker, date(2025, 6, 1)).value.relation_id == "E2"
    rejected(unchanged, "RET_ALREADY_RETIRED", "relation_id", svc.retire, worker, "E2", by="clerk", retired_on=date(2025, 1, 3))


def test_refusals_write_nothing(svc, clock, worker, unchanged):
    svc.enroll(worker, by="clerk", insutype="390", region="510500", psn_type="1501", start=date(2025, 1, 1), relation_id="R1")
    rejected(unchanged, "RET_NOT_EMPLOYEE", "relation_id", svc.retire, worker, "R1", by="clerk", retired_on=date(2025, 1, 2))
    rejected(unchanged, "RELATION_NOT_FOUND", "relation_id", svc.retirement_review, worker, "E9", date(2025, 1, 2))
    rejected(unchanged, "INVALID_INPUT", "retired_on", svc.retire, worker, "E1", by="clerk", retired_on=date(2025, 1, 2))  # E1 ended
    rejected(unchanged, "INVALID_INPUT", "payment_key", svc.post_retirement_topup, worker, "E2", by="c", pay_on=date(2025, 1, 2), payment_key="")
    # a region without a minimum in the packs: the parameter is missing, nothing is guessed
    rejected(unchanged, "PARAM_MISSING", "retirement.min_years_male", svc.retirement_review, worker, "E1", date(2012, 12, 1))
