"""Import re-runs after a relation was corrected (更正参保关系, ``enrollment_correction``), on SQLite
and PostgreSQL: the importer's re-run context reads the relations as corrected now
(``repository.current_relation``). A relations row equal to the relation as imported (a re-run of
that file) or as corrected (a later extract that has the correction) is present; any other start,
end, psn_type or employer is ``IMPORT_CONFLICT`` naming the current value, and nothing is written.
Status rows are checked against the corrected period, as the records service checks them; status
changes and wages corrected by supersession are present as recorded and as corrected too."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from yibao.codes import PsnType
from yibao.dates import YearMonth
from yibao.importer import Importer, ImportResult
from yibao.service import RecordsService
from yibao.store import repository as repo
from yibao.store.types import SHANGHAI

from .helpers import ID_C, ID_D
from .importing import dump

HEADER = "psn_no,relation_id,insutype,region,psn_type,start,end,employer,monthly_wage"
ORIGINAL = "P1,E1,310,510500,1103,2024-01-01,,,6300"
CORRECTED = "P1,E1,310,510500,1101,2024-03-01,2025-06-30,,6300"  # the start, end and psn_type as corrected below


def _run(db, tmp_path: Path, name: str, text: str) -> ImportResult:
    path = tmp_path / name
    path.write_text(text.strip() + "\n", encoding="utf-8")
    importer = Importer(db.Session, clock=lambda: datetime(2025, 8, 15, 10, tzinfo=SHANGHAI))
    return importer.run([path], report=tmp_path / "errors.csv")


def _relations(db, tmp_path: Path, *rows: str) -> ImportResult:
    return _run(db, tmp_path, "relations.csv", "\n".join([HEADER, *rows]))


@pytest.fixture
def corrected(db, svc: RecordsService, tmp_path: Path) -> RecordsService:
    """P1 with relation E1 imported (1103, from 2024-01-01, open), then corrected through the service:
    1101, from 2024-03-01 to 2025-06-30."""
    first = _run(db, tmp_path, "persons.csv", f"psn_no,name,cert_type,number\nP1,张三,01,{ID_C}")
    assert (first.imported, first.errors) == (1, [])
    first = _relations(db, tmp_path, ORIGINAL)
    assert (first.imported, first.errors) == (1, [])
    d = svc.correct_relation("P1", "E1", by="clerk", reason="劳动合同所载起止日期", start=date(2024, 3, 1), end=date(2025, 6, 30), psn_type="1101")
    assert set(d.value.changed) == {"start", "end", "psn_type"}
    return svc


def _e1(db):
    with db.session() as session:
        return repo.load_facts(session, "P1").enrollments[0]


def test_the_file_as_imported_and_an_extract_with_the_corrected_values_are_present(db, corrected, tmp_path):
    before = dump(db.engine)
    again = _relations(db, tmp_path, ORIGINAL)  # a re-run of the file as imported
    assert (again.imported, again.skipped, again.errors) == (0, 1, [])
    again = _relations(db, tmp_path, CORRECTED)  # the source has the correction too; its wage is from the corrected start month
    assert (again.imported, again.skipped, again.errors) == (0, 1, [])
    assert dump(db.engine) == before
    e1 = _e1(db)
    assert (e1.start, e1.end, e1.psn_type) == (date(2024, 3, 1), date(2025, 6, 30), PsnType.EMPLOYEE_IN_SERVICE)  # the correction stands


@pytest.mark.parametrize(
    ("row", "column", "current", "given"),
    [
        ("P1,E1,310,510500,1101,2024-03-01,2025-07-31,,6300", "end", "2025-06-30", "2025-07-31"),  # a third end
        ("P1,E1,310,510500,1101,2024-02-01,2025-06-30,,6300", "start", "2024-03-01", "2024-02-01"),  # a third start
        ("P1,E1,310,510500,1102,2024-03-01,2025-06-30,,6300", "psn_type", "1101", "1102"),  # a third psn_type
        # neither the row as imported nor as corrected: the corrected start with the end as first imported
        ("P1,E1,310,510500,1101,2024-03-01,,,6300", "end", "2025-06-30", "—"),
    ],
    ids=["end", "start", "psn_type", "mixed"],
)
def test_another_value_is_a_conflict_naming_the_corrected_value(db, corrected, tmp_path, row, column, current, given):
    before = dump(db.engine)
    again = _relations(db, tmp_path, row)
    conflicts = [e for e in again.errors if e.code == "IMPORT_CONFLICT"]
    assert [e.field for e in conflicts] == [column], again.errors
    assert f"已存：{current}；文件：{given}" in conflicts[0].message_zh, conflicts[0].message_zh
    assert f"stored: {current}; file: {given}" in conflicts[0].message_en
    assert (again.imported, again.skipped, again.rejected) == (0, 0, 1)
    assert dump(db.engine) == before  # nothing written: the correction stands
    e1 = _e1(db)
    assert (e1.start, e1.end, e1.psn_type) == (date(2024, 3, 1), date(2025, 6, 30), PsnType.EMPLOYEE_IN_SERVICE)


def test_a_status_row_is_checked_against_the_corrected_start(db, corrected, tmp_path):
    """A suspension effective after the start as imported but before the corrected one is refused,
    as ``RecordsService.change_status`` refuses it; one inside the corrected period is recorded."""
    before = dump(db.engine)
    early = _run(db, tmp_path, "statuses.csv", "psn_no,relation_id,effective,status,reason\nP1,E1,2024-02-01,2,OTHER")
    assert [(e.field, e.code) for e in early.errors if e.code != "BATCH_REJECTED"] == [("effective", "BEFORE_RELATION_START")]
    assert "2024-03-01" in early.errors[0].message_zh
    assert dump(db.engine) == before
    inside = _run(db, tmp_path, "statuses.csv", "psn_no,relation_id,effective,status,reason\nP1,E1,2024-05-01,2,OTHER")
    assert (inside.imported, inside.errors) == (1, [])
    assert [c.effective for c in _e1(db).status_changes] == [date(2024, 5, 1)]


STATUSES = "psn_no,relation_id,effective,status,reason\nP1,E1,2024-05-01,2,OTHER\nP1,E1,2024-07-01,1,RESTORE"


def test_status_changes_corrected_or_withdrawn_since_are_not_imported_again(db, corrected, tmp_path):
    """A re-run of the statuses file after one change was moved and another withdrawn
    (更正参保状态变更): both rows are present as recorded — nothing is re-added; a new row is imported."""
    assert (r := _run(db, tmp_path, "statuses.csv", STATUSES)).imported == 2 and r.errors == []
    corrected.correct_status_change("P1", "E1", date(2024, 5, 1), by="clerk", reason="暂停日期有误", new_effective=date(2024, 4, 15))
    corrected.correct_status_change("P1", "E1", date(2024, 7, 1), by="clerk", reason="误录恢复", withdraw=True)
    before = dump(db.engine)
    again = _run(db, tmp_path, "statuses.csv", STATUSES)
    assert (again.imported, again.skipped, again.errors) == (0, 2, [])
    assert dump(db.engine) == before
    new = _run(db, tmp_path, "statuses.csv", STATUSES + "\nP1,E1,2025-01-01,1,RESTORE")
    assert (new.imported, new.skipped, new.errors) == (1, 2, [])
    assert [(c.effective, c.status.value) for c in _e1(db).status_changes] == [(date(2024, 4, 15), "2"), (date(2025, 1, 1), "1")]


def test_a_relations_row_with_the_wage_as_imported_or_as_corrected_is_present(db, corrected, tmp_path):
    """After 更正申报工资 the relations file as imported (6300) and an extract with the corrected wage
    (7000) are present; a third wage is a conflict naming the corrected one."""
    corrected.correct_wage("P1", "E1", YearMonth(2024, 1), by="clerk", reason="工资申报有误", monthly_wage=Decimal(7000))
    before = dump(db.engine)
    assert (r := _relations(db, tmp_path, ORIGINAL)).skipped == 1 and r.errors == []
    assert (r := _relations(db, tmp_path, CORRECTED.replace(",6300", ",7000"))).skipped == 1 and r.errors == []
    third = _relations(db, tmp_path, ORIGINAL.replace(",6300", ",8000"))
    conflicts = [e for e in third.errors if e.code == "IMPORT_CONFLICT"]
    assert [e.field for e in conflicts] == ["monthly_wage"] and "已存：7000.00" in conflicts[0].message_zh, third.errors
    assert dump(db.engine) == before


def test_a_death_corrected_or_withdrawn_since_is_not_recorded_again(db, svc, tmp_path):
    """更正死亡日期: a re-run of the persons file that first recorded the deaths finds them present —
    the corrected date stands (no ``DEATH_ALREADY_RECORDED``), the withdrawn death is not re-recorded;
    a third date is still ``DEATH_ALREADY_RECORDED``."""
    persons = f"psn_no,name,cert_type,number,death_date\nD1,李四,01,{ID_C},2025-02-01\nD2,王五,01,{ID_D},2025-02-01"
    assert (r := _run(db, tmp_path, "persons.csv", persons)).imported == 2 and r.errors == []
    svc.correct_death("D1", by="clerk", reason="死亡证明所载日期", death_date=date(2025, 3, 1))
    svc.correct_death("D2", by="clerk", reason="误报死亡", death_date=None)
    before = dump(db.engine)
    again = _run(db, tmp_path, "persons.csv", persons)
    assert (again.imported, again.skipped, again.errors) == (0, 2, [])
    assert dump(db.engine) == before
    with db.session() as session:
        assert (repo.load_facts(session, "D1").death_date, repo.load_facts(session, "D2").death_date) == (date(2025, 3, 1), None)
    third = _run(db, tmp_path, "persons.csv", persons.replace("2025-02-01\nD2", "2025-04-01\nD2"))
    assert [(e.field, e.code) for e in third.errors if e.code != "BATCH_REJECTED"] == [("death_date", "DEATH_ALREADY_RECORDED")]
    assert dump(db.engine) == before
