"""人员多号合并 (R-ID-005): one person's documents, relations and lines move to another, with an audit row."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from yibao.codes import CertType, InsuStatus
from yibao.errors import YibaoError
from yibao.model import EventKind, LifeEvent, StatusChange, StatusReason
from yibao.store import repository as repo
from yibao.store.models import AuditRow, DocumentRow, EnrollmentRow, LineRow, PersonRow

from .helpers import ID_A, PASSPORT, PR_CARD, doc, line, relation


def _two_records(db):
    """R-ID-005 example 2: a passport record in Shenzhen and a PR-card record in Beijing."""
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="SZ", documents=[doc(PASSPORT, CertType.FOREIGN_PASSPORT, "USA")])
        repo.add_enrollment(s, "SZ", relation("SZ-1", region="440300"), by="clerk")
        repo.append_lines(s, "SZ", [line("2024-01", key="SZ-2024-01", relation_id="SZ-1")], by="clerk")
        repo.append_status_change(s, "SZ", "SZ-1", StatusChange(date(2024, 3, 1), InsuStatus.SUSPENDED, StatusReason.OTHER), by="clerk")
        repo.add_event(s, "SZ", LifeEvent(EventKind.HIRED, date(2024, 1, 1)), by="clerk")
        repo.add_person(s, by="clerk", psn_no="BJ", documents=[doc(PR_CARD, CertType.FOREIGN_PERMANENT_RESIDENCE)])
        repo.add_enrollment(s, "BJ", relation("BJ-1", region="110100"), by="clerk")
        repo.append_lines(s, "BJ", [line("2024-01", key="BJ-2024-01", relation_id="BJ-1")], by="clerk")


def test_merge_moves_everything_and_leaves_an_audit_row(db):
    _two_records(db)
    with db.session() as s:
        before = repo.load_facts(s, "SZ")
    with db.Session.begin() as s:
        audit = repo.merge_persons(s, "BJ", "SZ", by="auditor-1", reason="same foreigner: passport and PR card")
    with db.session() as s:
        merged = repo.load_facts(s, "BJ")
        assert {d.number for d in merged.documents} == {PASSPORT, PR_CARD}
        assert [e.relation_id for e in merged.enrollments] == ["SZ-1", "BJ-1"]
        assert {c.key for c in merged.contributions} == {"SZ-2024-01", "BJ-2024-01"}
        assert merged.relation("SZ-1").status_changes == before.relation("SZ-1").status_changes
        assert merged.events == before.events
        assert repo.find_person(s, "08", PASSPORT, "USA").psn_no == "BJ"
        assert s.scalars(select(DocumentRow.psn_no).distinct()).all() == ["BJ"]  # rows really moved
        assert s.scalars(select(EnrollmentRow.psn_no).distinct()).all() == ["BJ"]
        absorbed = s.get(PersonRow, "SZ")
        assert absorbed.merged_into == "BJ" and absorbed.merged_at is not None
        with pytest.raises(YibaoError) as info:
            repo.load_facts(s, "SZ")
        assert info.value.code == "PERSON_MERGED" and info.value.details["merged_into"] == "BJ"
        assert repo.get_person(s, "SZ", follow_merges=True).psn_no == "BJ"
        row = s.scalars(select(AuditRow).where(AuditRow.action == "MERGE_PERSON")).one()
        assert (row.psn_no, row.other_psn_no, row.recorded_by, row.reason) == ("BJ", "SZ", "auditor-1", "same foreigner: passport and PR card")
        moved = json.loads(row.detail)["moved"]
        assert set(moved) == {"person_document", "enrollment", "contribution_line", "status_change", "life_event"}
        assert moved["contribution_line"] == [s.scalars(select(LineRow.id).where(LineRow.idempotency_key == "SZ-2024-01")).one()]
        assert audit.id == row.id
    with db.Session.begin() as s:  # the kept person goes on as usual, with the absorbed relation
        repo.append_lines(s, "BJ", [line("2024-02", key="SZ-2024-02", relation_id="SZ-1")], by="clerk")


def test_merge_refusals(db):
    _two_records(db)
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="X", documents=[doc(ID_A)])
        repo.add_enrollment(s, "X", relation("BJ-1"), by="clerk")
    with db.Session.begin() as s:
        for args, code in [
            (("BJ", "BJ"), "MERGE_CONFLICT"),
            (("BJ", "X"), "MERGE_CONFLICT"),  # both have a relation "BJ-1"
            (("BJ", "NOPE"), "PERSON_NOT_FOUND"),
        ]:
            with pytest.raises(YibaoError) as info:
                repo.merge_persons(s, *args, by="auditor", reason="r")
            assert info.value.code == code
        with pytest.raises(YibaoError) as info:
            repo.merge_persons(s, "BJ", "SZ", by="auditor", reason="")
        assert info.value.code == "REASON_REQUIRED"
    with db.Session.begin() as s:
        repo.merge_persons(s, "BJ", "SZ", by="auditor", reason="r")
    with db.Session.begin() as s:
        with pytest.raises(YibaoError) as info:
            repo.merge_persons(s, "BJ", "SZ", by="auditor", reason="again")
        assert info.value.code == "PERSON_MERGED"
