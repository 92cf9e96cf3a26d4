"""The coverage projection: the fast "covered on D" answers exactly as the engine, and never from old facts.

On SQLite and PostgreSQL: a lookup stores the person's index; every write to the person
invalidates it in the same transaction; an index computed before a write is never stored after
it; the month turning makes it stale; a refused use case leaves it alone; the bulk refresh
computes what is stale.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from yibao.codes import InsuStatus
from yibao.model import StatusReason
from yibao.rules.entitlement import answer_coverage, build_timeline
from yibao.store import projection
from yibao.store.projection import CoverageProjectionRow

from .helpers import ID_A, ID_B, months, rejected


def _row(svc, psn_no: str) -> CoverageProjectionRow | None:
    with svc.sessions() as session:
        return session.scalar(select(CoverageProjectionRow).where(CoverageProjectionRow.psn_no == psn_no))


def _engine_answer(svc, psn_no: str, on: date):
    today = svc.today()
    return answer_coverage(build_timeline(svc.facts(psn_no, as_known_on=today), svc.policy, today), on)


def _flexible_worker(svc, clock, number: str = ID_B) -> str:
    clock.on(date(2025, 1, 5))
    psn = svc.register_person(by="clerk-1", documents=[("01", number, None)]).psn_no
    svc.enroll(psn, by="clerk-1", insutype="310", region="510500", psn_type="1103", start=date(2025, 1, 1), relation_id=f"E-{psn[:6]}",
               monthly_wage=Decimal("6300"))
    clock.on(date(2025, 6, 20))
    svc.record_contributions(psn, months(f"E-{psn[:6]}", "2025-01", "2025-06"), by="cashier-1")
    return psn


def test_a_lookup_stores_the_index_and_the_next_one_reads_it(svc, clock):
    psn = _flexible_worker(svc, clock)
    clock.on(date(2025, 7, 3))
    row = _row(svc, psn)
    assert row is not None and row.payload is None  # the writes invalidated it; nothing computed yet
    first = svc.locate_document("01", ID_B)
    assert first is not None and not first.usable_on(svc.today())
    answer = svc.coverage_of_found(first, date(2025, 6, 30))
    assert answer.answer == _engine_answer(svc, psn, date(2025, 6, 30)) and not answer.from_projection
    stored = _row(svc, psn)
    assert stored.payload and stored.known_on == date(2025, 7, 3) and stored.stable_through == date(2025, 7, 31)
    assert stored.regions == "510500"
    again = svc.locate_document("01", ID_B)
    assert again.usable_on(svc.today()) and again.regions == frozenset({"510500"})
    for day in (date(2024, 12, 31), date(2025, 1, 1), date(2025, 6, 30), date(2025, 7, 15), date(2026, 1, 1)):
        served = svc.coverage_of_found(again, day)
        assert served.from_projection
        assert served.answer == _engine_answer(svc, psn, day), day
        assert svc.covered_on(psn, day) == served.answer


def test_every_write_invalidates_in_its_own_transaction(svc, clock):
    psn = _flexible_worker(svc, clock)
    rel = f"E-{psn[:6]}"
    clock.on(date(2025, 7, 3))
    svc.covered_on(psn, date(2025, 7, 3))
    before = _row(svc, psn)
    assert before.payload is not None
    svc.suspend(psn, rel, by="clerk-1", effective=date(2025, 7, 1), reason=StatusReason.OTHER)
    after = _row(svc, psn)
    assert after.payload is None and after.revision == before.revision + 1
    answer = svc.covered_on(psn, date(2025, 7, 2))
    assert answer == _engine_answer(svc, psn, date(2025, 7, 2))
    assert not answer.value.covered  # the suspension is seen at once
    svc.restore(psn, rel, by="clerk-1", effective=date(2025, 7, 3))
    assert _row(svc, psn).payload is None
    svc.covered_on(psn, date(2025, 7, 3))
    svc.record_death(psn, date(2025, 7, 2), by="clerk-1")
    assert _row(svc, psn).payload is None
    assert not svc.covered_on(psn, date(2025, 7, 3)).value.covered


def test_a_refused_use_case_leaves_the_projection_alone(svc, clock, unchanged):
    psn = _flexible_worker(svc, clock)
    rel = f"E-{psn[:6]}"
    svc.covered_on(psn, date(2025, 6, 25))
    rejected(unchanged, "BAD_TRANSITION", "status", svc.restore, psn, rel, by="clerk-1", effective=date(2025, 6, 25))


def test_an_index_computed_before_a_write_is_not_stored_after_it(svc, clock):
    psn = _flexible_worker(svc, clock)
    seen = svc.locate_document("01", ID_B)
    svc.suspend(psn, f"E-{psn[:6]}", by="clerk-1", effective=date(2025, 6, 21), reason=StatusReason.OTHER)
    with svc.sessions() as session, session.begin():
        kept = projection.store(session, psn, seen.revision, payload="{}", known_on=svc.today(), stable_through=svc.today(), regions=["510500"],
                                at=svc.clock())
    assert not kept
    assert _row(svc, psn).payload is None


def test_the_month_turning_makes_the_index_stale(svc, clock):
    psn = _flexible_worker(svc, clock)
    clock.on(date(2025, 7, 31))
    svc.covered_on(psn, date(2025, 7, 31))
    clock.on(date(2025, 8, 1))
    found = svc.locate_document("01", ID_B)
    assert not found.usable_on(svc.today())
    answer = svc.coverage_of_found(found, date(2025, 8, 1))
    assert not answer.from_projection
    assert answer.answer == _engine_answer(svc, psn, date(2025, 8, 1))
    assert _row(svc, psn).known_on == date(2025, 8, 1)


def test_a_status_change_dated_ahead_ends_the_index_the_day_before(svc, clock):
    psn = _flexible_worker(svc, clock)
    svc.suspend(psn, f"E-{psn[:6]}", by="clerk-1", effective=date(2025, 6, 28), reason=StatusReason.OTHER)
    svc.covered_on(psn, date(2025, 6, 21))
    assert _row(svc, psn).stable_through == date(2025, 6, 27)
    clock.on(date(2025, 6, 28))
    assert svc.covered_on(psn, date(2025, 6, 28)) == _engine_answer(svc, psn, date(2025, 6, 28))


def test_as_known_on_another_day_is_answered_from_the_facts(svc, clock):
    psn = _flexible_worker(svc, clock)
    clock.on(date(2025, 7, 3))
    early = date(2025, 3, 1)
    want = answer_coverage(build_timeline(svc.facts(psn, as_known_on=early), svc.policy, early), date(2025, 2, 15))
    found = svc.locate_document("01", ID_B)
    got = svc.coverage_of_found(found, date(2025, 2, 15), as_known_on=early)
    assert got.answer == want and not got.from_projection
    assert _row(svc, psn).payload is None  # nothing stored for another day
    assert svc.covered_on(psn, date(2025, 2, 15), as_known_on=early) == want


def test_a_merge_invalidates_both_and_the_survivor_answers(svc, clock):
    keep = _flexible_worker(svc, clock)
    other = svc.register_person(by="clerk-1", documents=[("01", ID_A, None)]).psn_no
    svc.covered_on(keep, date(2025, 6, 20))
    svc.merge_persons(keep, other, by="clerk-1", reason="同一人 / same person")
    assert _row(svc, keep).payload is None
    found = svc.locate_document("01", ID_A)
    assert found.psn_no == keep
    assert svc.coverage_of_found(found, date(2025, 6, 20)).answer == _engine_answer(svc, keep, date(2025, 6, 20))


def test_the_bulk_refresh_computes_what_is_stale(svc, clock):
    first = _flexible_worker(svc, clock)
    second = svc.register_person(by="clerk-1", documents=[("01", ID_A, None)]).psn_no
    assert svc.coverage_counts() == {"persons": 2, "fresh": 0, "stale": 2}
    done = list(svc.refresh_coverage(batch=1))
    assert done == [1, 2]
    assert svc.coverage_counts() == {"persons": 2, "fresh": 2, "stale": 0}
    assert list(svc.refresh_coverage()) == []
    for psn in (first, second):
        assert svc.locate_document("01", ID_B if psn == first else ID_A).usable_on(svc.today())
    clock.on(svc.today() + timedelta(days=40))
    assert svc.coverage_counts()["stale"] == 2
