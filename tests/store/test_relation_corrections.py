"""Corrections of a relation's columns and of a person's attributes: new rows, never an UPDATE;
``load_facts`` shows the values as corrected by the day asked (revision 0006). And merges carry the
case rows of revision 0004 and the relations' corrections."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from yibao.codes import PsnType
from yibao.errors import YibaoError
from yibao.store import repository as repo
from yibao.store.case_models import (
    RefundApplicationRow,
    RefundDecisionRow,
    TransferStepRow,
)
from yibao.store.correction_models import PersonCorrectionRow, RelationCorrectionRow
from yibao.store.errors import integrity_guard
from yibao.store.models import AuditRow, EnrollmentRow, PersonRow

from .helpers import ID_A, ID_B, at, doc, relation


def _setup(db):
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", name="张三", birth_date=date(1990, 3, 7), sex="M", documents=[doc(ID_A)],
                        at=at(date(2024, 1, 2)))
        repo.add_enrollment(s, "P1", relation("E1", start=date(2024, 1, 1)), by="clerk", at=at(date(2024, 1, 2)))


def test_a_relation_correction_is_visible_from_the_day_it_was_recorded(db):
    _setup(db)
    with db.Session.begin() as s:
        row = repo.correct_relation(s, "P1", "E1", {"start": date(2024, 2, 1), "psn_type": PsnType.EMPLOYEE_IN_SERVICE},
                                    reason="开始日期录错 wrong start", by="auditor", at=at(date(2024, 5, 10)))
        assert (row.start, row.end, row.psn_type, row.employer) == (date(2024, 2, 1), None, PsnType.EMPLOYEE_IN_SERVICE, None)
    with db.Session.begin() as s:  # a second correction carries the complete values again
        repo.correct_relation(s, "P1", "E1", {"end": date(2024, 12, 31)}, reason="end", by="auditor", at=at(date(2024, 6, 1), 23))
    with db.session() as s:
        def e1(k):
            e = repo.load_facts(s, "P1", as_known_on=k).enrollments[0]
            return e.start, e.end, e.psn_type

        assert e1(date(2024, 5, 9)) == (date(2024, 1, 1), None, PsnType.FLEXIBLE_IN_SERVICE)  # not visible before it was recorded
        assert e1(date(2024, 5, 10)) == (date(2024, 2, 1), None, PsnType.EMPLOYEE_IN_SERVICE)
        assert e1(date(2024, 5, 31)) == (date(2024, 2, 1), None, PsnType.EMPLOYEE_IN_SERVICE)
        assert e1(date(2024, 6, 1)) == (date(2024, 2, 1), date(2024, 12, 31), PsnType.EMPLOYEE_IN_SERVICE)  # 23:00 Beijing time
        now = repo.load_facts(s, "P1").enrollments[0]
        assert (now.start, now.end, now.recorded_on) == (date(2024, 2, 1), date(2024, 12, 31), date(2024, 1, 2))
        original = s.scalars(select(EnrollmentRow)).one()
        assert (original.start, original.end, original.psn_type) == (date(2024, 1, 1), None, PsnType.FLEXIBLE_IN_SERVICE)  # untouched
        audits = s.scalars(select(AuditRow).where(AuditRow.action == "CORRECT_RELATION").order_by(AuditRow.id)).all()
        assert [(a.table_name, a.row_id, a.recorded_by) for a in audits] == [("enrollment", original.id, "auditor")] * 2
        assert audits[0].reason == "开始日期录错 wrong start"
        assert json.loads(audits[0].detail) == {
            "relation_id": "E1",
            "changed": {"start": {"before": "2024-01-01", "after": "2024-02-01"}, "psn_type": {"before": "1103", "after": "1101"}},
        }
        assert audits[1].replacement_id == s.scalars(select(RelationCorrectionRow.id).order_by(RelationCorrectionRow.id.desc())).first()


def test_a_person_correction_is_visible_from_the_day_it_was_recorded(db):
    _setup(db)
    with db.Session.begin() as s:
        repo.correct_person(s, "P1", {"name": "张珊", "sex": "F"}, reason="姓名错字 typo", by="auditor", at=at(date(2024, 5, 10)))
    with db.session() as s:
        before = repo.load_facts(s, "P1", as_known_on=date(2024, 5, 9))
        after = repo.load_facts(s, "P1", as_known_on=date(2024, 5, 10))
        assert (before.name, before.sex, before.birth_date) == ("张三", "M", date(1990, 3, 7))
        assert (after.name, after.sex, after.birth_date) == ("张珊", "F", date(1990, 3, 7))
        assert s.get(PersonRow, "P1").name == "张三"
        audit = s.scalars(select(AuditRow).where(AuditRow.action == "CORRECT_PERSON")).one()
        assert (audit.psn_no, audit.table_name, audit.row_id) == ("P1", "person", None)
        assert json.loads(audit.detail)["changed"] == {"name": {"before": "张三", "after": "张珊"}, "sex": {"before": "M", "after": "F"}}


def test_refusals(db):
    _setup(db)
    with db.Session.begin() as s:
        for call, code, field in [
            (lambda: repo.correct_relation(s, "P1", "E1", {"start": date(2024, 1, 1)}, reason="r", by="a"), "CORRECTION_UNCHANGED", "start"),
            (lambda: repo.correct_relation(s, "P1", "E1", {"region": "110100"}, reason="r", by="a"), "INVALID_INPUT", "region"),
            (lambda: repo.correct_relation(s, "P1", "E1", {"end": date(2023, 1, 1)}, reason="r", by="a"), "INVALID_INPUT", "end"),
            (lambda: repo.correct_relation(s, "P1", "E1", {"end": date(2025, 1, 1)}, reason=" ", by="a"), "REASON_REQUIRED", "reason"),
            (lambda: repo.correct_relation(s, "P1", "E9", {"end": date(2025, 1, 1)}, reason="r", by="a"), "RELATION_NOT_FOUND", "relation_id"),
            (lambda: repo.correct_person(s, "P1", {"name": "张三"}, reason="r", by="a"), "CORRECTION_UNCHANGED", "name"),
            (lambda: repo.correct_person(s, "P1", {"sex": "X"}, reason="r", by="a"), "INVALID_INPUT", "sex"),
            (lambda: repo.correct_person(s, "NOPE", {"name": "x"}, reason="r", by="a"), "PERSON_NOT_FOUND", "psn_no"),
        ]:
            with pytest.raises(YibaoError) as info:
                call()
            assert (info.value.code, info.value.field) == (code, field)
    with db.session() as s:
        assert s.scalars(select(RelationCorrectionRow)).all() == [] and s.scalars(select(PersonCorrectionRow)).all() == []


@pytest.mark.parametrize("model", [RelationCorrectionRow, PersonCorrectionRow])
def test_corrections_are_append_only(db, model):
    _setup(db)
    with db.Session.begin() as s:
        repo.correct_relation(s, "P1", "E1", {"end": date(2024, 12, 31)}, reason="r", by="a")
        repo.correct_person(s, "P1", {"name": "李四"}, reason="r", by="a")
    for statement in (update(model).values(reason="rewritten"), delete(model)):
        with db.Session.begin() as s:
            with pytest.raises(YibaoError) as info, integrity_guard():
                s.execute(statement)
            assert info.value.code == "APPEND_ONLY_VIOLATION"


def _case_rows(s, psn_no: str, relation_id: str) -> None:
    when = at(date(2024, 4, 25))
    s.add(TransferStepRow(transfer_no="T1", step="OUT", psn_no=psn_no, relation_id=relation_id, other_relation_id="X2", region="510500",
                          other_region="210200", case="EMPLOYEE", on_date=date(2024, 4, 25), due_on=date(2024, 5, 11),
                          recorded_at=when, recorded_by="clerk"))
    app = RefundApplicationRow(refund_no="F1", psn_no=psn_no, relation_id=relation_id, rule="R-REF-001", event_date=date(2024, 4, 1),
                               total=Decimal("10.00"), detail='{"lines": []}', reasons="[]", recorded_at=when, recorded_by="clerk")
    s.add(app)
    s.flush()
    s.add(RefundDecisionRow(application_id=app.id, psn_no=psn_no, outcome="REJECTED", reason="no", recorded_at=when, recorded_by="clerk"))


def test_a_merge_carries_case_rows_and_relation_corrections_but_not_the_absorbed_persons_attributes(db):
    _setup(db)
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P2", name="张三丰", documents=[doc(ID_B)], at=at(date(2024, 1, 2)))
        repo.add_enrollment(s, "P2", relation("E2"), by="clerk", at=at(date(2024, 1, 2)))
        _case_rows(s, "P2", "E2")
        repo.correct_relation(s, "P2", "E2", {"end": date(2024, 3, 31)}, reason="r", by="a", at=at(date(2024, 4, 1)))
        repo.correct_person(s, "P2", {"name": "张三"}, reason="r", by="a", at=at(date(2024, 4, 1)))
    with db.Session.begin() as s:
        repo.merge_persons(s, "P1", "P2", by="auditor", reason="same person")
    with db.session() as s:
        for model in (TransferStepRow, RefundApplicationRow, RefundDecisionRow):
            assert s.scalars(select(model.psn_no)).all() == ["P1"], model.__tablename__
        merged = repo.load_facts(s, "P1")
        assert merged.relation("E2").end == date(2024, 3, 31)  # the correction followed its relation
        assert (merged.name, merged.sex, merged.birth_date) == ("张三", "M", date(1990, 3, 7))  # the kept person's own
        assert s.scalars(select(PersonCorrectionRow.psn_no)).all() == ["P2"]  # stays with the corrected record
        moved = json.loads(s.scalars(select(AuditRow.detail).where(AuditRow.action == "MERGE_PERSON")).one())["moved"]
        assert {"transfer_step", "refund_application", "refund_decision", "enrollment_correction", "enrollment"} <= set(moved)
        assert "person_correction" not in moved


# --------------------------------------------------------------------------------------------- property

_examples = iter(range(10**6))
_END = st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2026, 12, 31)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corrections=st.lists(st.tuples(st.integers(0, 40), _END, st.booleans()), min_size=1, max_size=5))
def test_as_known_on_k_the_latest_correction_recorded_by_k_holds(db, corrections):
    """Invariant: whatever corrections are recorded on whatever days, the relation's end and the
    person's name as known on K are those of the last correction recorded by K (else the original)."""
    psn = f"H{next(_examples)}"
    base = date(2024, 2, 1)
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no=psn, name="原名", documents=[], at=at(date(2024, 1, 2)))
        repo.add_enrollment(s, psn, relation("E1", start=date(2024, 1, 1)), by="clerk", at=at(date(2024, 1, 2)))
    expected_end: list[tuple[date, date | None]] = []  # (recorded on, end in force from then)
    expected_name: list[tuple[date, str]] = []
    current_end, current_name = None, "原名"
    for i, (offset, end, rename) in enumerate(sorted(corrections, key=lambda c: c[0])):
        day = base + timedelta(days=offset)
        with db.Session.begin() as s:
            if end != current_end:
                repo.correct_relation(s, psn, "E1", {"end": end}, reason="r", by="a", at=at(day, 8 + i))
                current_end = end
                expected_end.append((day, end))
            if rename:
                current_name = f"名{i}"
                repo.correct_person(s, psn, {"name": current_name}, reason="r", by="a", at=at(day, 8 + i))
                expected_name.append((day, current_name))
    with db.session() as s:
        for k in [base - timedelta(days=1)] + [base + timedelta(days=d) for d in range(0, 42, 3)]:
            facts = repo.load_facts(s, psn, as_known_on=k)
            want_end = next((e for d, e in reversed(expected_end) if d <= k), None)
            want_name = next((n for d, n in reversed(expected_name) if d <= k), "原名")
            assert (facts.enrollments[0].end, facts.name) == (want_end, want_name), k
        assert (repo.load_facts(s, psn).enrollments[0].end, repo.load_facts(s, psn).name) == (current_end, current_name)
