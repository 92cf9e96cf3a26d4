"""Corrections of a relation (start, end, psn_type, employer) and of a person (name, sex, birth date)
through the service: validated first, one correction row + one audit row, nothing written on error,
visible as known from the day recorded, and the coverage projection answers from them at once."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from yibao.codes import PsnType
from yibao.model import StatusReason
from yibao.store.correction_models import PersonCorrectionRow, RelationCorrectionRow
from yibao.store.models import AuditRow
from yibao.store.projection import CoverageProjectionRow

from .helpers import ID_B, USCC, months, rejected


@pytest.fixture
def worker(svc, clock):
    """A flexible worker of 510500 (ID_B: born 1960-03-15, male), enrolled 2025-01-01, January–June paid."""
    clock.on(date(2025, 1, 5))
    psn = svc.register_person(by="clerk", name="王五", documents=[("01", ID_B, None)]).psn_no
    svc.enroll(psn, by="clerk", insutype="310", region="510500", psn_type="1103", start=date(2025, 1, 1), relation_id="E1",
               monthly_wage=Decimal(6300))
    clock.on(date(2025, 6, 20))
    svc.record_contributions(psn, months("E1", "2025-01", "2025-06"), by="cashier")
    clock.on(date(2025, 7, 3))
    return psn


def test_a_relation_correction_is_recorded_with_who_when_why(svc, db, clock, worker):
    d = svc.correct_relation(worker, "E1", by="auditor", reason="单位参保录为灵活就业 wrong category", psn_type="1101", employer=USCC)
    assert d.value.table == "enrollment" and d.value.relation_id == "E1"
    assert d.value.changed == {"psn_type": {"before": "1103", "after": "1101"}, "employer": {"before": None, "after": USCC}}
    assert d.rule_ids == ("R-CODE-002",)
    rel = svc.facts(worker).relation("E1")
    assert (rel.psn_type, rel.employer, rel.start, rel.region) == (PsnType.EMPLOYEE_IN_SERVICE, USCC, date(2025, 1, 1), "510500")
    assert svc.facts(worker, as_known_on=date(2025, 7, 2)).relation("E1").psn_type is PsnType.FLEXIBLE_IN_SERVICE
    with db.session() as s:
        audit = s.scalars(select(AuditRow).where(AuditRow.action == "CORRECT_RELATION")).one()
        assert (audit.psn_no, audit.recorded_by, audit.reason, audit.replacement_id) == (
            worker, "auditor", "单位参保录为灵活就业 wrong category", d.value.correction_id)
        assert s.get(RelationCorrectionRow, d.value.correction_id).recorded_by == "auditor"


def test_a_correction_changes_the_coverage_answer_at_once(svc, clock, worker):
    # covered from 2025-07 (R-WAIT-005: six months' wait for a new flexible enrollee), open-ended
    assert svc.covered_on(worker, date(2025, 7, 3)).value.covered
    with svc.sessions() as s:
        assert s.get(CoverageProjectionRow, worker).payload is not None  # the lookup stored the index
    svc.correct_relation(worker, "E1", by="auditor", reason="已于6月底停保 the relation ended in June", end=date(2025, 6, 30))
    with svc.sessions() as s:
        assert s.get(CoverageProjectionRow, worker).payload is None  # invalidated by the correction's transaction
    assert not svc.covered_on(worker, date(2025, 7, 3)).value.covered
    assert svc.covered_on(worker, date(2025, 7, 3), as_known_on=date(2025, 7, 2)).value.covered  # as known before the correction
    svc.correct_relation(worker, "E1", by="auditor", reason="停保有误 the relation goes on", end=None)
    assert svc.covered_on(worker, date(2025, 7, 3)).value.covered


def test_relation_corrections_refused_write_nothing(svc, clock, worker, unchanged):
    svc.suspend(worker, "E1", by="clerk", effective=date(2025, 7, 1), reason=StatusReason.OTHER)
    e1 = ("E1",)
    for code, field, kwargs in [
        ("RELATION_KEY_FIXED", "region", {"region": "210200"}),
        ("RELATION_KEY_FIXED", "insutype", {"insutype": "390", "psn_type": "1101"}),
        ("CORRECTION_UNCHANGED", "region", {"region": "510500"}),
        ("CORRECTION_UNCHANGED", "psn_type", {"psn_type": "1103"}),
        ("CORRECTION_EMPTY", None, {}),
        ("PSN_TYPE_INSUTYPE_MISMATCH", "psn_type", {"psn_type": "1501"}),
        ("UNKNOWN_CODE", "psn_type", {"psn_type": "9999"}),
        ("RETIRE_BY_EVENT", "psn_type", {"psn_type": "1203"}),
        ("USCC_CHECK", "employer", {"employer": USCC[:-1] + "0"}),
        ("CORRECTION_PERIOD", "end", {"end": date(2024, 12, 31)}),
        ("START_AFTER_STATUS_CHANGE", "start", {"start": date(2025, 8, 1)}),
        ("REASON_REQUIRED", "reason", {"reason": " ", "end": date(2025, 12, 31)}),
    ]:
        kwargs = {"reason": "r", **kwargs}
        err = rejected(unchanged, code, field, svc.correct_relation, worker, *e1, by="auditor", **kwargs)
        if code == "RELATION_KEY_FIXED":
            assert "转移接续" in err.message_zh and "another relation" in err.message_en
    rejected(unchanged, "RELATION_NOT_FOUND", "relation_id", svc.correct_relation, worker, "E9", by="a", reason="r", end=date(2025, 12, 31))
    rejected(unchanged, "PERSON_NOT_FOUND", "psn_no", svc.correct_relation, "NOPE", "E1", by="a", reason="r", end=date(2025, 12, 31))
    # an end date cleared again (None is a value, not "unchanged")
    svc.correct_relation(worker, "E1", by="a", reason="r", end=date(2025, 12, 31))
    svc.correct_relation(worker, "E1", by="a", reason="结束日期录入错误 no end", end=None)
    assert svc.facts(worker).relation("E1").end is None


def test_a_person_correction_and_r_id_007(svc, db, clock, worker, unchanged):
    d = svc.correct_person(worker, by="auditor", reason="姓名错字 typo", name="汪五")
    assert d.value.changed == {"name": {"before": "王五", "after": "汪五"}} and d.notices == ()
    assert svc.facts(worker).name == "汪五" and svc.facts(worker, as_known_on=date(2025, 7, 2)).name == "王五"
    # the ID encodes 1960-03-15 and male: a contradiction is refused unless the clerk states why
    err = rejected(unchanged, "DERIVED_CONTRADICTION", "birth_date", svc.correct_person, worker, by="a", reason="r",
                   birth_date=date(1961, 3, 15))
    assert ID_B not in err.message_zh and "override_reason" in err.message_en
    rejected(unchanged, "DERIVED_CONTRADICTION", "sex", svc.correct_person, worker, by="a", reason="r", sex="F")
    rejected(unchanged, "BIRTH_IN_FUTURE", "birth_date", svc.correct_person, worker, by="a", reason="r", birth_date=date(2030, 1, 1))
    rejected(unchanged, "INVALID_INPUT", "name", svc.correct_person, worker, by="a", reason="r", name=" ")
    rejected(unchanged, "INVALID_INPUT", "sex", svc.correct_person, worker, by="a", reason="r", sex="X")
    rejected(unchanged, "CORRECTION_UNCHANGED", "sex", svc.correct_person, worker, by="a", reason="r", sex="M")
    rejected(unchanged, "CORRECTION_EMPTY", None, svc.correct_person, worker, by="a", reason="r")
    forced = svc.correct_person(worker, by="auditor", reason="户籍出生日期更正", birth_date=date(1961, 3, 15),
                                override_reason="公安机关已出具出生日期更正证明 police certificate")
    assert [n.code for n in forced.notices] == ["DERIVED_MISMATCH"] and forced.rule_ids == ("R-ID-007",)
    assert svc.facts(worker).birth_date == date(1961, 3, 15)
    with db.session() as s:
        audit = s.scalars(select(AuditRow).where(AuditRow.action == "CORRECT_PERSON").order_by(AuditRow.id.desc())).first()
        assert json.loads(audit.detail)["override_reason"] == "公安机关已出具出生日期更正证明 police certificate"
        assert len(s.scalars(select(PersonCorrectionRow)).all()) == 2
    agreeing = svc.correct_person(worker, by="auditor", reason="恢复", birth_date=date(1960, 3, 15))  # back to what the ID says
    assert agreeing.notices == () and agreeing.rule_ids == ("R-ID-007",)


def test_a_birth_date_after_death_is_refused(svc, clock, unchanged):
    clock.on(date(2025, 3, 1))
    psn = svc.register_person(by="clerk", documents=[("08", "E1234567", "USA")], birth_date=date(1990, 1, 1)).psn_no
    svc.record_death(psn, date(2025, 2, 1), by="clerk")
    rejected(unchanged, "DEATH_BEFORE_BIRTH", "birth_date", svc.correct_person, psn, by="a", reason="r", birth_date=date(2025, 2, 2))
    assert svc.correct_person(psn, by="a", reason="r", birth_date=date(1991, 1, 1)).notices == ()  # a passport encodes nothing


def test_merged_person_is_not_corrected(svc, clock, worker, unchanged):
    other = svc.register_person(by="clerk", documents=[("08", "E1234567", "USA")]).psn_no
    svc.merge_persons(worker, other, by="admin", reason="same person")
    rejected(unchanged, "PERSON_MERGED", "psn_no", svc.correct_person, other, by="a", reason="r", name="x")


def test_a_death_is_checked_against_the_corrected_birth_date(svc, clock, unchanged):
    """DEATH_BEFORE_BIRTH compares with the birth date as corrected, not the person row's own."""
    clock.on(date(2025, 3, 1))
    psn = svc.register_person(by="clerk", documents=[("08", "E7654321", "USA")], birth_date=date(1990, 1, 1)).psn_no
    svc.correct_person(psn, by="a", reason="护照出生日期 passport", birth_date=date(2000, 6, 1))
    rejected(unchanged, "DEATH_BEFORE_BIRTH", "death_date", svc.record_death, psn, date(1995, 1, 1), by="clerk")
    svc.record_death(psn, date(2025, 2, 1), by="clerk")
    rejected(unchanged, "DEATH_BEFORE_BIRTH", "death_date", svc.correct_death, psn, by="a", reason="r", death_date=date(1999, 1, 1))
