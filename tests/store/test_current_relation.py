"""``repository.current_relation``: the relation's start, end, psn_type and employer as corrected
now, in SQL (for readers that query ``enrollment`` rows: the dashboard's counts, the importer's
re-run check) — the same values as ``relation_values`` / ``load_facts`` give for "now"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from yibao.codes import PsnType
from yibao.store import repository as repo
from yibao.store.models import EnrollmentRow

from .helpers import ID_A, at, doc, relation

USCC = "91350100M000100Y43"


def test_current_relation_is_what_relation_values_gives(db):
    """Corrections recorded out of order, at the same instant, an end and an employer corrected to
    unknown (a correction carries every value), a correction of a correction, and none at all."""
    t0 = datetime(2025, 1, 5, 2, 0, tzinfo=UTC)
    cases = {
        "none": [],
        "one": [({"end": date(2024, 12, 31)}, t0)],
        "earlier_later_row": [({"start": date(2024, 2, 1)}, t0 + timedelta(hours=5)), ({"start": date(2024, 3, 1)}, t0)],  # the later row was recorded earlier
        "same_instant": [({"psn_type": PsnType.EMPLOYEE_IN_SERVICE}, t0), ({"psn_type": PsnType.FLEXIBLE_RETIRED}, t0)],
        "to_unknown": [({"end": date(2025, 6, 30), "employer": USCC}, t0), ({"end": None, "employer": None}, t0 + timedelta(days=1))],
    }
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", name="张三", documents=[doc(ID_A)], at=at(date(2024, 1, 2)))
        for rid, corrections in cases.items():
            repo.add_enrollment(s, "P1", relation(rid, start=date(2024, 1, 1)), by="clerk", at=at(date(2024, 1, 2)))
            for changes, when in corrections:
                repo.correct_relation(s, "P1", rid, changes, reason="r", by="test", at=when)
    cur = repo.current_relation()
    with db.session() as s:
        rows = {r.relation_id: r for r in s.execute(
            select(EnrollmentRow.relation_id, cur.start, cur.end, cur.psn_type, cur.employer).select_from(cur.source)
            .where(EnrollmentRow.psn_no == "P1")
        )}
        assert sorted(rows) == sorted(cases)  # one row per relation, however many corrections
        for rid in cases:
            expected = repo.relation_values(s, repo.get_relation(s, "P1", rid))
            assert {"start": rows[rid].start, "end": rows[rid].end, "psn_type": rows[rid].psn_type, "employer": rows[rid].employer} == expected, rid
        facts = {e.relation_id: (e.start, e.end, e.psn_type, e.employer) for e in repo.load_facts(s, "P1").enrollments}
    assert {rid: tuple(r[1:]) for rid, r in rows.items()} == facts
    assert rows["earlier_later_row"].start == date(2024, 2, 1) and rows["same_instant"].psn_type is PsnType.FLEXIBLE_RETIRED
    assert (rows["to_unknown"].end, rows["to_unknown"].employer) == (None, None)
    assert (rows["one"].start, rows["one"].end) == (date(2024, 1, 1), date(2024, 12, 31))
    assert isinstance(rows["one"].end, date) and rows["none"].end is None
