"""`yibao dedup --database`: the places recorded in the store (person_place, revision 0007) fill the
batch's person_context on the detection day, so a resident–resident pair whose habitual residence is
recorded is resolved (R-DUP-003) instead of going to manual review — SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq
from service.conftest import clock, svc  # noqa: F401 (fixtures)
from store.conftest import backend, db  # noqa: F401 (fixtures: SQLite and PostgreSQL)
from typer.testing import CliRunner

from batch.test_worklist import _person
from yibao.batch.database import read_database, with_store_keys
from yibao.batch.dedup import detect_arrow
from yibao.cli import app
from yibao.service.duplicates import DuplicatesService

ON = date(2025, 3, 1)
runner = CliRunner()


def _proposal(url: str, on: date = ON) -> dict:
    source = read_database(url, on=on)
    proposals, _ = detect_arrow(source.tables, on)
    [row] = with_store_keys(proposals, source).to_pylist()
    kept = source.relation[int(row["kept"])][1] if row["kept"] else None
    return {**row, "kept_key": kept, "context": source.tables["person_context"].to_pylist()}


def test_without_a_place_the_pair_goes_to_manual_review(db, svc) -> None:  # noqa: F811
    _person(svc)
    row = _proposal(db.url)
    assert (row["outcome"], row["rule_id"], row["context"]) == ("MANUAL_REVIEW", "R-DUP-003", [])


def test_the_recorded_habitual_residence_resolves_the_pair(db, svc) -> None:  # noqa: F811
    _person(svc)
    svc.record_place("P1", "HABITUAL_RESIDENCE", "350100", date(2024, 6, 1), by="clerk")
    svc.record_place("P1", "STUDY", "110108", date(2023, 9, 1), by="clerk", student_cause="SCHOOL_ENTRY")
    row = _proposal(db.url)
    assert (row["outcome"], row["rule_id"], row["psn_no"], row["kept_key"]) == ("RESOLVED", "R-DUP-003", "P1", "CITY")
    [ctx] = row["context"]
    assert (ctx["habitual_region"], ctx["employment_region"], ctx["study_region"], ctx["student_cause"]) == (
        "350100", None, "110108", "SCHOOL_ENTRY")


def test_the_place_in_force_on_the_detection_day_and_not_a_withdrawn_one(db, svc) -> None:  # noqa: F811
    _person(svc)
    svc.record_place("P1", "HABITUAL_RESIDENCE", "350121", date(2020, 1, 1), by="clerk")
    moved = svc.record_place("P1", "HABITUAL_RESIDENCE", "350100", date(2025, 5, 1), by="clerk")
    assert _proposal(db.url)["kept_key"] == "VILLAGE"  # on 2025-03-01 the person lived in 350121
    assert _proposal(db.url, on=date(2025, 6, 1))["kept_key"] == "CITY"
    svc.withdraw_place("P1", moved.place_id, by="clerk", reason="录入错误")
    assert _proposal(db.url, on=date(2025, 6, 1))["kept_key"] == "VILLAGE"


def test_dedup_record_resolves_by_the_recorded_place(tmp_path) -> None:
    from yibao.service.records import RecordsService

    url = f"sqlite:///{tmp_path / 'w.db'}"
    service = RecordsService.open(url)
    try:
        _person(service)
        service.record_place("P1", "HABITUAL_RESIDENCE", "350100", date(2024, 6, 1), by="clerk")
        args = ["dedup", "--database", url, "--out", str(tmp_path / "r"), "--on", "2025-03-01", "--record", "--by", "batch-test"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "(0 人工复核 / manual review)" in result.output
        assert "1 新案件 / new" in result.output
        [proposal] = pq.read_table(tmp_path / "r" / "proposals.parquet").to_pylist()
        assert (proposal["outcome"], proposal["rule_id"]) == ("RESOLVED", "R-DUP-003")
        [case] = DuplicatesService(service).cases()
        assert (case.outcome, case.rule, case.proposal["value"]["kept"], case.state) == ("RESOLVED", "R-DUP-003", "CITY", "OPEN")
    finally:
        service.engine.dispose()
