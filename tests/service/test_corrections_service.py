"""Corrections through the service: a superseding row with who, when and why; the old row stays."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from yibao.codes import InsuStatus
from yibao.dates import YearMonth
from yibao.model import StatusReason
from yibao.store.models import AuditRow, StatusChangeRow

from .helpers import ID_B, rejected


@pytest.fixture
def person(svc, clock):
    clock.on(date(2025, 3, 1))
    psn = svc.register_person(by="clerk", documents=[("01", ID_B, None)]).psn_no
    svc.enroll(psn, by="clerk", insutype="310", region="510500", psn_type="1103", start=date(2025, 1, 1), relation_id="E1",
               monthly_wage=Decimal(6300))
    svc.suspend(psn, "E1", by="clerk", effective=date(2025, 2, 1), reason=StatusReason.OTHER)
    clock.on(date(2025, 3, 10))
    return psn


def test_a_status_change_is_corrected_by_a_superseding_row(svc, db, clock, person):
    done = svc.correct_status_change(person, "E1", date(2025, 2, 1), by="auditor", reason="录入日期错误 wrong date",
                                     new_effective=date(2025, 2, 15))
    rel = svc.facts(person).enrollments[0]
    assert [(c.effective, c.status) for c in rel.status_changes] == [(date(2025, 2, 15), InsuStatus.SUSPENDED)]
    assert rel.status_on(date(2025, 2, 10)) is InsuStatus.NORMAL
    # as known before the correction, the old date stands (nothing was overwritten)
    assert svc.facts(person, as_known_on=date(2025, 3, 9)).enrollments[0].status_changes[0].effective == date(2025, 2, 1)
    with db.session() as s:
        audit = s.scalars(select(AuditRow).where(AuditRow.row_id == done.row_id, AuditRow.table_name == "status_change")).one()
        assert (audit.recorded_by, audit.reason, audit.replacement_id) == ("auditor", "录入日期错误 wrong date", done.replacement_id)
        assert s.get(StatusChangeRow, done.row_id).superseded_by_id == done.replacement_id
    svc.correct_status_change(person, "E1", date(2025, 2, 15), by="auditor", reason="从未暂停 never suspended", withdraw=True)
    assert svc.facts(person).enrollments[0].status_changes == ()


def test_a_correction_must_keep_the_status_machine(svc, person, unchanged):
    svc.terminate(person, "E1", by="clerk", effective=date(2025, 3, 1), reason=StatusReason.EMPLOYMENT_ENDED)
    # moving the termination before the suspension would make the suspension follow a termination (R-CODE-003)
    rejected(unchanged, "TERMINATED_IS_FINAL", "new_status", svc.correct_status_change, person, "E1", date(2025, 3, 1), by="a",
             reason="r", new_effective=date(2025, 1, 15))
    rejected(unchanged, "NOT_STORED", "effective", svc.correct_status_change, person, "E1", date(2025, 2, 2), by="a", reason="r",
             withdraw=True)
    rejected(unchanged, "REASON_REQUIRED", "reason", svc.correct_status_change, person, "E1", date(2025, 2, 1), by="a", reason=" ",
             withdraw=True)
    rejected(unchanged, "BEFORE_RELATION_START", "new_effective", svc.correct_status_change, person, "E1", date(2025, 2, 1), by="a",
             reason="r", new_effective=date(2024, 12, 1))
    rejected(unchanged, "RELATION_NOT_FOUND", "relation_id", svc.correct_status_change, person, "E9", date(2025, 2, 1), by="a",
             reason="r", withdraw=True)


def test_death_and_wage_corrections(svc, db, clock, person, unchanged):
    rejected(unchanged, "NOT_STORED", "death_date", svc.correct_death, person, by="a", reason="r", death_date=date(2025, 3, 1))
    svc.record_death(person, date(2025, 3, 5), by="clerk")
    rejected(unchanged, "AFTER_DEATH_FUTURE", "death_date", svc.correct_death, person, by="a", reason="r", death_date=date(2025, 4, 1))
    svc.correct_death(person, by="auditor", reason="死亡证明载明 3 月 4 日", death_date=date(2025, 3, 4))
    assert svc.facts(person).death_date == date(2025, 3, 4)
    svc.correct_death(person, by="auditor", reason="误报死亡 reported in error", death_date=None)
    assert svc.facts(person).death_date is None

    due_before = svc.contributions_due(person, YearMonth(2025, 1), YearMonth(2025, 1)).value
    svc.correct_wage(person, "E1", YearMonth(2025, 1), by="auditor", reason="申报工资有误", monthly_wage=Decimal(7000))
    assert svc.facts(person).enrollments[0].wages[0].monthly_wage == Decimal("7000.00")
    assert svc.contributions_due(person, YearMonth(2025, 1), YearMonth(2025, 1)).value != due_before
    rejected(unchanged, "NOT_STORED", "from_month", svc.correct_wage, person, "E1", YearMonth(2025, 2), by="a", reason="r",
             monthly_wage=Decimal(1))
    rejected(unchanged, "INVALID_INPUT", "monthly_wage", svc.correct_wage, person, "E1", YearMonth(2025, 1), by="a", reason="r",
             monthly_wage=Decimal(-1))
    with db.session() as s:
        reasons = [a.reason for a in s.scalars(select(AuditRow).where(AuditRow.psn_no == person).order_by(AuditRow.id))]
    assert reasons == ["死亡证明载明 3 月 4 日", "误报死亡 reported in error", "申报工资有误"]
