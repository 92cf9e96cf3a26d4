"""The console dashboard's figures after a relation was corrected (更正参保关系), on SQLite and
PostgreSQL: ``queries.region_counts`` reads the relations' start, end and psn_type as corrected now
(``repository.current_relation``), and the cached ``queries.attention`` is computed again when a
correction is recorded."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from api.conftest import resident_id
from service.conftest import Clock
from sqlalchemy import select
from store.conftest import Database, backend, db  # noqa: F401  (the store tests' fixtures: SQLite and PostgreSQL)

from web.conftest import flexible_with_gap
from yibao.codes import InsuStatus
from yibao.model import StatusReason
from yibao.service import RecordsService
from yibao.store import repository as repo
from yibao.store.models import EnrollmentRow
from yibao.web import queries

REGION = "510500"
EMPLOYEE = "310"


@pytest.fixture
def svc(db: Database) -> RecordsService:  # noqa: F811
    return RecordsService(db.Session, clock=Clock(date(2025, 8, 15)))


def _seed(service: RecordsService, *psn_nos: str, unpaid: int = 0) -> None:
    """Flexible workers (1103) in ``REGION`` from 2024-01-01, open-ended, paid up to ``unpaid`` months before this one."""
    with service.sessions() as session, session.begin():
        for psn in psn_nos:
            repo.add_facts(session, flexible_with_gap(psn, resident_id(REGION), REGION, service.today(), unpaid=unpaid), by="test-seed")


def _count(counts: queries.RegionCounts, status: InsuStatus) -> tuple[int, int]:
    """(relations, persons) of the employee scheme in ``status`` today."""
    k = (EMPLOYEE, status.value)
    return counts.relations_by.get(k, 0), counts.people_by.get(k, 0)


def test_a_relation_corrected_to_end_earlier_no_longer_counts_as_current(svc: RecordsService) -> None:
    today = svc.today()
    _seed(svc, "D1", "D2")
    before = queries.region_counts(svc, REGION)
    assert _count(before, InsuStatus.NORMAL) == (2, 2) and _count(before, InsuStatus.TERMINATED) == (0, 0)
    assert {("D1", "F1"), ("D2", "F1")} <= before.normal

    svc.correct_relation("D1", "F1", by="clerk", reason="解除劳动合同，终止日期录入遗漏", end=today - timedelta(days=45))
    after = queries.region_counts(svc, REGION)
    assert _count(after, InsuStatus.NORMAL) == (1, 1)
    assert _count(after, InsuStatus.TERMINATED) == (1, 1)  # ended before today: counted as terminated, as an uncorrected end is
    assert ("D1", "F1") not in after.normal and ("D2", "F1") in after.normal
    assert after.people == 2 and after.names["D1"] == "赵敏"


def test_the_counts_are_what_load_facts_gives(svc: RecordsService) -> None:
    """The SQL of the counts against the Python rule: each relation's status today from
    ``load_facts`` (corrections applied), with a start corrected to after today and a correction
    of a correction (the latest one, by ``recorded_at``, wins)."""
    today = svc.today()
    _seed(svc, "S1", "S2", "S3")
    svc.correct_relation("S1", "F1", by="clerk", reason="参保日期有误", start=date(2024, 3, 1), end=today + timedelta(days=200))
    svc.correct_relation("S1", "F1", by="clerk", reason="再次更正", end=today - timedelta(days=1))  # the later one stands
    svc.correct_relation("S2", "F1", by="clerk", reason="参保日期有误", start=today + timedelta(days=10))
    expected: dict[tuple[str, str], int] = {}
    with svc.sessions() as session:
        for psn in ("S1", "S2", "S3"):
            for e in repo.load_facts(session, psn).enrollments:
                status = e.status_on(today)
                status = InsuStatus.TERMINATED if status is InsuStatus.NOT_ENROLLED and e.end is not None and e.end < today else status
                k = (e.insutype.value, status.value)
                expected[k] = expected.get(k, 0) + 1
        own = {r.psn_no: (r.start, r.end) for r in session.scalars(select(EnrollmentRow))}
    assert own["S2"] == (date(2024, 1, 1), None)  # the rows themselves are never changed
    assert queries.region_counts(svc, REGION).relations_by == expected
    assert expected == {(EMPLOYEE, InsuStatus.NORMAL.value): 1, (EMPLOYEE, InsuStatus.TERMINATED.value): 1,
                        (EMPLOYEE, InsuStatus.NOT_ENROLLED.value): 1}


def test_the_attention_lists_follow_a_correction(svc: RecordsService) -> None:
    """A relation corrected to end within the horizon: its person is about to lose cover. The
    attention lists are cached by the state of the data, which a correction changes."""
    today = svc.today()
    _seed(svc, "L1")
    assert queries.attention(svc, REGION).losing == []
    end = today + timedelta(days=30)
    svc.correct_relation("L1", "F1", by="clerk", reason="劳动合同期满", end=end)
    losing = queries.attention(svc, REGION).losing
    assert [(psn, last, rid) for psn, _, last, rid in losing] == [("L1", end, "F1")]


def test_the_attention_lists_follow_a_withdrawn_status_change(svc: RecordsService) -> None:
    """A suspension withdrawn (更正参保状态变更, no new row: the old one is marked superseded): the
    relation is in normal status again and its unpaid months are arrears again."""
    _seed(svc, "W1", unpaid=3)  # 2025-05 … 2025-07 unpaid
    svc.suspend("W1", "F1", by="clerk", effective=date(2025, 1, 1), reason=StatusReason.OTHER)
    assert [a[0] for a in queries.attention(svc, REGION).arrears] == []
    svc.correct_status_change("W1", "F1", date(2025, 1, 1), by="clerk", reason="误录暂停", withdraw=True)
    assert [(a[0], a[2]) for a in queries.attention(svc, REGION).arrears] == [("W1", 3)]
