"""Queries: timeline, covered_on, contributions_due, quote — the service answers exactly what the rules
answer on the same facts from a case file (the service adds storage, never logic)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from yibao.casefile import read_case
from yibao.dates import YearMonth
from yibao.errors import YibaoError
from yibao.policy import default_policy
from yibao.rules.contribution import contribution_schedule
from yibao.rules.entitlement import answer_coverage, build_timeline
from yibao.rules.quote import quote
from yibao.service import RecordsService
from yibao.store import repository as repo

from .conftest import Clock
from .helpers import ID_A, ID_B, months, rejected

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "cases").glob("*.*"))


def _outcome(fn, *args, **kwargs):
    """The answer, or the error code when the engine refuses (the same both ways)."""
    try:
        return fn(*args, **kwargs)
    except YibaoError as exc:
        return ("error", exc.code, exc.field)


def _days(facts) -> list[date]:
    """Dates worth asking about: the relation starts, the payments, and year ends around them."""
    days = {e.start for e in facts.enrollments} | {c.paid_on for c in facts.contributions}
    days |= {date(d.year, 12, 31) for d in list(days)}
    return sorted(days)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_service_answers_equal_the_rules_on_an_example_case(db, path):
    facts, overrides = read_case(path)
    policy = default_policy()
    for region, values in overrides.items():
        policy = policy.with_overrides(region, values, label=path.name)
    with db.Session.begin() as session:
        repo.add_facts(session, facts, by="import:test")
    today = date(2026, 11, 23)
    svc = RecordsService(db.Session, policy=policy, clock=Clock(today))
    pid = facts.person_id
    assert svc.facts(pid) == facts
    days = _days(facts)
    for k in [None, *days]:
        expected = _outcome(build_timeline, facts, policy, k or today)
        assert _outcome(svc.timeline, pid, as_known_on=k) == expected, k
        for d in days[:: max(1, len(days) // 6)]:
            want = expected if isinstance(expected, tuple) else answer_coverage(expected, d)
            assert _outcome(svc.covered_on, pid, d, as_known_on=k) == want, (k, d)
    first, last = YearMonth.of(days[0]), YearMonth.of(days[-1])
    for k in (days[len(days) // 2], days[-1]):
        assert _outcome(svc.contributions_due, pid, first, last, as_known_on=k) == _outcome(
            contribution_schedule, facts.known_on(k), policy, first, last, as_of=k
        ), k
    for pay_on in (days[len(days) // 2], today):
        assert _outcome(svc.quote, pid, pay_on) == _outcome(quote, facts, policy, pay_on, as_known_on=max(pay_on, today)), pay_on


def test_queries_on_a_clerk_built_history(svc, clock):
    """The same person through the use cases: the answers follow the facts as known on each day."""
    from decimal import Decimal

    clock.on(date(2024, 1, 3))
    psn = svc.register_person(by="clerk-1", documents=[("01", ID_B, None)]).psn_no
    svc.enroll(psn, by="clerk-1", insutype="310", region="510500", psn_type="1103", start=date(2024, 1, 1), relation_id="E1",
               monthly_wage=Decimal("6300"))
    for month in ("2024-01", "2024-02", "2024-03"):
        ym = YearMonth.parse(month)
        clock.on(date(ym.year, ym.month, 10))
        svc.record_contributions(psn, months("E1", month, month), by="cashier-1")
    clock.on(date(2024, 6, 1))
    timeline = svc.timeline(psn)
    assert timeline == build_timeline(svc.facts(psn), svc.policy, date(2024, 6, 1))
    assert svc.covered_on(psn, date(2024, 2, 15)) == answer_coverage(timeline, date(2024, 2, 15))
    # as known on 2024-02-09 the February payment (recorded on 02-10) is not known yet
    early = svc.timeline(psn, as_known_on=date(2024, 2, 9))
    assert early == build_timeline(svc.facts(psn, as_known_on=date(2024, 2, 9)), svc.policy, date(2024, 2, 9))
    assert {c.month for c in early.months if c.paid_on} == {YearMonth(2024, 1)}
    due = svc.contributions_due(psn, YearMonth(2024, 1), YearMonth(2024, 6))
    assert due == contribution_schedule(svc.facts(psn, as_known_on=date(2024, 6, 1)), svc.policy, YearMonth(2024, 1), YearMonth(2024, 6),
                                        as_of=date(2024, 6, 1))
    assert due.value.total_outstanding > 0  # April to June are unpaid


def test_query_refusals(svc, unchanged):
    psn = svc.register_person(by="clerk-1", documents=[("01", ID_A, None)]).psn_no
    other = svc.register_person(by="clerk-1", documents=[("01", ID_B, None)]).psn_no
    for fn, args in ((svc.timeline, ()), (svc.covered_on, (date(2025, 1, 1),)), (svc.facts, ()),
                     (svc.contributions_due, (YearMonth(2025, 1), YearMonth(2025, 2))), (svc.quote, (date(2025, 1, 1),))):
        rejected(unchanged, "PERSON_NOT_FOUND", "psn_no", fn, "nobody", *args)
    rejected(unchanged, "BAD_MONTH_RANGE", "months", svc.contributions_due, psn, YearMonth(2025, 3), YearMonth(2025, 1))
    svc.merge_persons(psn, other, by="auditor-1", reason="same person")
    rejected(unchanged, "PERSON_MERGED", "psn_no", svc.covered_on, other, date(2025, 1, 1))
    assert not svc.covered_on(psn, date(2025, 1, 1)).value.covered
