"""Append-only: corrections supersede with a reason; nothing is updated or deleted."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, text, update

from yibao.codes import InsuStatus
from yibao.errors import YibaoError
from yibao.model import (
    EventKind,
    GroupMembership,
    LifeEvent,
    PersonGroup,
    StatusChange,
    StatusReason,
)
from yibao.store import repository as repo
from yibao.store.errors import integrity_guard
from yibao.store.models import AuditRow, DocumentRow, GroupRow, LineRow, PersonRow

from .helpers import ID_A, ID_B, at, doc, line, relation


def _setup(db):
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc(ID_A)], at=at(date(2024, 1, 2)))
        repo.add_person(s, by="clerk", psn_no="P2", documents=[doc(ID_B)], at=at(date(2024, 1, 2)))
        repo.add_enrollment(s, "P1", relation(), by="clerk", at=at(date(2024, 1, 2)))
        repo.append_lines(s, "P1", [line(f"2024-{m:02d}", key=f"PAY-{m}") for m in (1, 2, 3)], by="clerk", at=at(date(2024, 3, 20)))


def test_supersede_hides_the_old_line_but_keeps_it(db):
    _setup(db)
    with db.Session.begin() as s:
        fixed = repo.supersede_line(s, "PAY-2", line("2024-02", key="PAY-2b", amount="500.00"), reason="wrong base 错误基数",
                                    by="auditor", at=at(date(2024, 4, 10)))
        assert fixed.supersedes_id is not None
    with db.session() as s:
        facts = repo.load_facts(s, "P1")
        assert [(c.key, c.amount, c.supersedes) for c in facts.contributions] == [
            ("PAY-1", Decimal("480.00"), None), ("PAY-3", Decimal("480.00"), None), ("PAY-2b", Decimal("500.00"), "PAY-2")]
        old = s.scalars(select(LineRow).where(LineRow.idempotency_key == "PAY-2")).one()
        assert old.amount == Decimal("480.00") and old.superseded_by_id == fixed.id  # still there, unchanged, marked
        assert repo.load_facts(s, "P1", as_known_on=date(2024, 4, 9)).contributions[1].key == "PAY-2"  # before the correction
        assert {c.key for c in repo.load_facts(s, "P1", as_known_on=date(2024, 4, 10)).contributions} == {"PAY-1", "PAY-3", "PAY-2b"}
        audit = s.scalars(select(AuditRow).where(AuditRow.action == "SUPERSEDE")).one()
        assert (audit.table_name, audit.row_id, audit.replacement_id, audit.recorded_by) == ("contribution_line", old.id, fixed.id, "auditor")
        assert audit.reason == "wrong base 错误基数" and json.loads(audit.detail) == {"key": "PAY-2"}


def test_withdraw_without_replacement_and_rules_of_correction(db):
    _setup(db)
    with db.Session.begin() as s:
        assert repo.supersede_line(s, "PAY-3", None, reason="entered twice", by="auditor") is None
    with db.Session.begin() as s:
        for call, code in [
            (lambda: repo.supersede_line(s, "PAY-3", None, reason="again", by="auditor"), "ALREADY_SUPERSEDED"),
            (lambda: repo.supersede_line(s, "PAY-1", None, reason=" ", by="auditor"), "REASON_REQUIRED"),
            (lambda: repo.supersede_line(s, "NOPE", None, reason="x", by="auditor"), "LINE_NOT_FOUND"),
            (lambda: repo.append_lines(s, "P1", [line("2024-01", key="C1", supersedes="PAY-1")], by="a"), "REASON_REQUIRED"),
        ]:
            with pytest.raises(YibaoError) as info:
                call()
            assert info.value.code == code
    with db.session() as s:
        assert [c.key for c in repo.load_facts(s, "P1").contributions] == ["PAY-1", "PAY-2"]
        assert len(s.scalars(select(LineRow)).all()) == 3


def test_repeating_a_correction_is_a_no_op(db):
    _setup(db)
    fix = line("2024-02", key="PAY-2b", amount="500.00")
    with db.Session.begin() as s:
        first = repo.supersede_line(s, "PAY-2", fix, reason="wrong base", by="auditor")
    with db.Session.begin() as s:
        assert repo.supersede_line(s, "PAY-2", fix, reason="wrong base", by="auditor").id == first.id
        assert repo.append_lines(s, "P1", [fix.__class__(**{**fix.__dict__, "supersedes": "PAY-2"})], by="a", reason="r")[0].id == first.id


def test_as_known_on_filters_by_recorded_at_in_shanghai(db):
    """A line recorded at 23:30 Beijing time on 2024-05-06 (15:30 UTC) is known on 2024-05-06, not before."""
    _setup(db)
    with db.Session.begin() as s:
        repo.append_lines(s, "P1", [line("2024-04", key="LATE", paid_on=date(2024, 5, 6))], by="clerk", at=at(date(2024, 5, 6), 23))
        repo.append_status_change(s, "P1", "E1", StatusChange(date(2024, 6, 1), InsuStatus.SUSPENDED, StatusReason.OTHER),
                                  by="clerk-7", at=at(date(2024, 6, 3)))
        repo.add_group(s, "P1", GroupMembership(PersonGroup.FLEXIBLE_WORKER, date(2024, 1, 1)), by="clerk", at=at(date(2024, 1, 5)))
    with db.session() as s:
        assert "LATE" not in {c.key for c in repo.load_facts(s, "P1", as_known_on=date(2024, 5, 5)).contributions}
        known = repo.load_facts(s, "P1", as_known_on=date(2024, 5, 6))
        late = [c for c in known.contributions if c.key == "LATE"][0]
        assert late.recorded_on == date(2024, 5, 6)
        assert known.enrollments[0].status_changes == ()
        now = repo.load_facts(s, "P1")
        assert now.enrollments[0].status_changes == (
            StatusChange(date(2024, 6, 1), InsuStatus.SUSPENDED, StatusReason.OTHER, "", date(2024, 6, 3), "clerk-7"),)
        assert repo.load_facts(s, "P1", as_known_on=date(2024, 1, 4)).groups == ()
        assert len(repo.load_facts(s, "P1", as_known_on=date(2024, 1, 5)).groups) == 1
        assert repo.load_facts(s, "P1", as_known_on=date(2024, 3, 1)) == now.known_on(date(2024, 3, 1))


def test_supersede_any_fact_with_a_reason(db):
    _setup(db)
    with db.Session.begin() as s:
        group = repo.add_group(s, "P1", GroupMembership(PersonGroup.LOW_INCOME, date(2024, 3, 1)), by="clerk", at=at(date(2024, 3, 2)))
        ended = GroupRow(psn_no="P1", group=PersonGroup.LOW_INCOME, start=date(2024, 3, 1), end=date(2024, 12, 31), recorded_at=at(date(2025, 1, 3)))
        repo.supersede_fact(s, group, ended, reason="低保 ended", by="clerk-2")
        repo.add_event(s, "P1", LifeEvent(EventKind.HIRED, date(2024, 1, 1)), by="clerk")
    with db.session() as s:
        assert repo.load_facts(s, "P1").groups == (GroupMembership(PersonGroup.LOW_INCOME, date(2024, 3, 1), date(2024, 12, 31), None, date(2025, 1, 3)),)
        assert repo.load_facts(s, "P1", as_known_on=date(2024, 6, 1)).groups[0].end is None


def test_death_is_a_fact_of_its_own(db):
    _setup(db)
    with db.Session.begin() as s:
        repo.record_death(s, "P1", date(2025, 2, 1), by="clerk", at=at(date(2025, 2, 10)))
        assert repo.record_death(s, "P1", date(2025, 2, 1), by="clerk").death_date == date(2025, 2, 1)  # again: no-op
        with pytest.raises(YibaoError) as info:
            repo.record_death(s, "P1", date(2025, 2, 2), by="clerk")
        assert info.value.code == "DEATH_ALREADY_RECORDED"
    with db.session() as s:
        assert (repo.load_facts(s, "P1").death_date, repo.load_facts(s, "P1").death_recorded_on) == (date(2025, 2, 1), date(2025, 2, 10))
        assert repo.load_facts(s, "P1", as_known_on=date(2025, 2, 9)).death_date is None


# --------------------------------------------------------------------------------------
# the database refuses UPDATE and DELETE of facts (triggers)
# --------------------------------------------------------------------------------------

TAMPERING = [
    ("update amount", lambda: update(LineRow).where(LineRow.idempotency_key == "PAY-1").values(amount=Decimal("1.00"))),
    ("delete line", lambda: delete(LineRow).where(LineRow.idempotency_key == "PAY-1")),
    ("update person name", lambda: update(PersonRow).where(PersonRow.psn_no == "P1").values(name="x")),
    ("delete audit", lambda: delete(AuditRow)),
    ("move a document without a merge", lambda: update(DocumentRow).where(DocumentRow.psn_no == "P1").values(psn_no="P2")),
    ("move a line to another relation", lambda: update(LineRow).where(LineRow.idempotency_key == "PAY-1").values(enrollment_id=999)),
    ("re-mark a superseded line", lambda: update(LineRow).where(LineRow.idempotency_key == "PAY-3").values(superseded_at=at(date(2030, 1, 1)))),
]


@pytest.mark.parametrize("name,statement", TAMPERING, ids=[t[0] for t in TAMPERING])
def test_trigger_rejects_update_and_delete_of_facts(db, name, statement):
    _setup(db)
    with db.Session.begin() as s:
        repo.supersede_line(s, "PAY-3", None, reason="r", by="a")
    with db.session() as s:
        with pytest.raises(YibaoError) as info, integrity_guard():
            s.execute(statement().execution_options(synchronize_session=False))
        assert info.value.code == "APPEND_ONLY_VIOLATION"


def test_trigger_lets_a_marker_be_set_once(db):
    """What the repository itself does through the triggers: set NULL markers; nothing else."""
    _setup(db)
    with db.Session.begin() as s:
        s.execute(update(LineRow).where(LineRow.idempotency_key == "PAY-1").values(superseded_at=at(date(2024, 5, 1)))
                  .execution_options(synchronize_session=False))
    with db.session() as s:
        assert [c.key for c in repo.load_facts(s, "P1").contributions] == ["PAY-2", "PAY-3"]


def test_truncate_is_refused_on_postgresql(db):
    if db.backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _setup(db)
    with db.session() as s:
        with pytest.raises(YibaoError) as info, integrity_guard():
            s.execute(text("TRUNCATE contribution_line CASCADE"))
        assert info.value.code == "APPEND_ONLY_VIOLATION"


def test_correct_a_mistyped_document(db):
    """A document entered with the wrong number is superseded; its key is free again, the old row stays."""
    from yibao.codes import CertType

    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc("H12345678", CertType.HK_TRAVEL_PERMIT)])
    with db.Session.begin() as s:
        wrong = s.scalars(select(DocumentRow)).one()
        repo.supersede_fact(s, wrong, DocumentRow(cert_type=CertType.HK_TRAVEL_PERMIT, number="h 1234 5679"), reason="typo 录入错误", by="auditor")
    with db.Session.begin() as s:
        assert [d.number for d in repo.load_facts(s, "P1").documents] == ["H12345679"]
        assert repo.find_person(s, "04", "H12345678") is None
        repo.add_person(s, by="clerk", psn_no="P2", documents=[doc("H12345678", CertType.HK_TRAVEL_PERMIT)])  # the real holder
        assert len(s.scalars(select(DocumentRow)).all()) == 3
        enrollment = repo.add_enrollment(s, "P2", relation(), by="clerk")
        with pytest.raises(YibaoError) as info:
            repo.supersede_fact(s, enrollment, None, reason="r", by="a")
        assert info.value.code == "INVALID_INPUT"
        with pytest.raises(YibaoError) as info:
            repo.supersede_fact(s, s.scalars(select(DocumentRow).where(DocumentRow.psn_no == "P2")).one(),
                                DocumentRow(cert_type=CertType.HK_TRAVEL_PERMIT, number="H12345679"), reason="r", by="a")
        assert info.value.code == "DUPLICATE_PERSON_KEY"
