"""`yibao synth` and `yibao dedup` from the command line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from typer.testing import CliRunner

from yibao.cli import app

runner = CliRunner()


def test_synth_then_dedup_writes_proposals_csv_and_html(tmp_path) -> None:
    data, report = tmp_path / "pop", tmp_path / "report"
    result = runner.invoke(app, ["synth", str(data), "--relations", "4000", "--seed", "3", "--dup-rate", "0.02"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["dedup", "--input", str(data), "--out", str(report), "--on", "2026-01-15"])
    assert result.exit_code == 0, result.output
    proposals = pq.read_table(report / "proposals.parquet")
    truth = pq.read_table(data / "truth.parquet")
    assert proposals.num_rows == truth.num_rows > 0
    assert (report / "proposals.csv").read_text(encoding="utf-8").count("\n") == proposals.num_rows + 1
    page = (report / "summary.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "重复参保组 / duplicate groups" in page and "subsidy at stake" in page
    assert f"{proposals.num_rows:,} 重复参保组" in result.output


def test_dedup_needs_exactly_one_source(tmp_path) -> None:
    result = runner.invoke(app, ["dedup", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "DEDUP_SOURCE" in result.output


def test_bad_engine_rate_and_date_are_one_line_errors(tmp_path) -> None:
    assert runner.invoke(app, ["dedup", "--input", str(tmp_path), "--engine", "pandas"]).exit_code == 2
    result = runner.invoke(app, ["synth", str(tmp_path), "--dup-rate", "0.5"])
    assert result.exit_code == 2 and "BAD_RATE" in result.output
    result = runner.invoke(app, ["dedup", "--input", str(tmp_path), "--on", "2026-13-01"])
    assert result.exit_code == 2 and "BAD_DATE" in result.output


def test_missing_input_files_are_named(tmp_path) -> None:
    result = runner.invoke(app, ["dedup", "--input", str(tmp_path), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "BATCH_INPUT_MISSING" in result.output and "documents.parquet" in result.output


def test_dedup_record_puts_the_proposals_on_the_worklist_once(tmp_path) -> None:
    from batch.test_worklist import _person
    from yibao.service.duplicates import DuplicatesService
    from yibao.service.records import RecordsService

    url = f"sqlite:///{tmp_path / 'w.db'}"
    service = RecordsService.open(url)
    _person(service)  # P1: two paid resident relations in 2025 (350121 and 350100)
    args = ["dedup", "--database", url, "--out", str(tmp_path / "r"), "--on", "2025-03-01", "--record", "--by", "batch-test"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "1 新案件 / new, 0 已在清单 / already known, 0 被替代 / superseded" in first.output
    [case] = DuplicatesService(service).cases()
    assert (case.psn_no, case.relation_ids, case.state, case.detected_on.isoformat()) == ("P1", ("CITY", "VILLAGE"), "OPEN", "2025-03-01")
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "0 新案件 / new, 1 已在清单 / already known" in again.output
    assert len(DuplicatesService(service).cases()) == 1
    without = runner.invoke(app, ["dedup", "--database", url, "--out", str(tmp_path / "r2"), "--on", "2025-03-01"])
    assert without.exit_code == 0 and "工作清单" not in without.output  # detection alone records nothing
    assert len(DuplicatesService(service).cases()) == 1
    service.engine.dispose()


def test_record_needs_a_database(tmp_path) -> None:
    result = runner.invoke(app, ["dedup", "--input", str(tmp_path), "--record"])
    assert result.exit_code == 2 and "RECORD_NEEDS_DATABASE" in result.output


def test_timelines_writes_periods_and_who_loses_coverage_as_the_reference_says(tmp_path) -> None:
    from yibao.batch.dedup import _connect, register_parquet
    from yibao.batch.timeline import coverage_grid
    from yibao.dates import YearMonth

    data, report = tmp_path / "pop", tmp_path / "t"
    assert runner.invoke(app, ["synth", str(data), "--relations", "3000", "--seed", "4"]).exit_code == 0
    args = ["timelines", "--input", str(data), "--out", str(report), "--as-known-on", "2025-06-20", "--from", "2024-01"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    con = _connect(1)
    register_parquet(con, data)
    reference = coverage_grid(con, YearMonth(2024, 1), YearMonth(2025, 8), date(2025, 6, 20), reference_only=True)
    periods = pq.read_table(report / "periods.parquet")
    assert periods.drop_columns(["fast"]).equals(reference.periods().drop_columns(["fast"]))
    losers = pacsv.read_csv(report / "losing-202507.csv").column("psn_no").to_pylist()
    assert losers == reference.losing_next_month(YearMonth(2025, 7)).tolist() and losers
    assert f"{len(losers):,} 人在 2025-07 内失去保障" in result.output


def test_timelines_from_the_database_name_the_stores_people(tmp_path) -> None:
    from batch.test_worklist import _person
    from yibao.codes import CertType, ContributionKind, InsuType, PsnType
    from yibao.dates import YearMonth
    from yibao.model import ContributionLine, Enrollment, IdentityDocument, PayerType, PersonFacts
    from yibao.policy import default_policy
    from yibao.service.records import RecordsService
    from yibao.store import repository as repo

    url = f"sqlite:///{tmp_path / 't.db'}"
    service = RecordsService.open(url)
    _person(service)  # P1: two resident relations in 350121 / 350100 — regions without a policy pack
    months = [YearMonth(2024, 1) + i for i in range(14)]  # a Luzhou unit employee paid 2024-01..2025-02
    worker = PersonFacts(
        "W1", "职工", date(1985, 5, 1), "F", (IdentityDocument(CertType.RESIDENT_ID, "510502198505010025"),),
        enrollments=(Enrollment("JOB", InsuType.EMPLOYEE_BASIC, "510500", PsnType.EMPLOYEE_IN_SERVICE, date(2024, 1, 1), None),),
        contributions=tuple(
            ContributionLine("JOB", ContributionKind.REGULAR, PayerType.UNIT, m.first_day().replace(day=15), Decimal("500.00"), month=m)
            for m in months
        ),
    )
    with service.sessions() as session, session.begin():
        repo.add_facts(session, worker, by="test")
    service.engine.dispose()
    result = runner.invoke(app, ["timelines", "--database", url, "--out", str(tmp_path / "t"), "--as-known-on", "2025-03-01",
                                 "--from", "2024-01", "--losing", "2025-12"])
    assert result.exit_code == 0, result.output
    [period] = pq.read_table(tmp_path / "t" / "periods.parquet").to_pylist()
    assert (period["psn_no"], period["fast"], period["last_month"]) == ("W1", True, 202601)  # open: paid within the grace
    wait = default_policy().value("510500", "employee.new_enrollee_wait_unit", date(2024, 1, 1))
    start = YearMonth(2024, 1) + wait  # a first-time unit enrollee's wait (R-WAIT-005)
    assert period["first_month"] == start.year * 100 + start.month
    undetermined = pacsv.read_csv(tmp_path / "t" / "undetermined.csv").to_pylist()
    assert [(u["psn_no"], u["code"]) for u in undetermined] == [("P1", "UNKNOWN_REGION")]
    assert "1 人无法判定（UNKNOWN_REGION）" in result.output


def test_timelines_window_must_hold_the_losing_month(tmp_path) -> None:
    result = runner.invoke(app, ["timelines", "--input", str(tmp_path), "--from", "2025-01", "--to", "2025-06", "--losing", "2025-06"])
    assert result.exit_code == 2 and "BAD_WINDOW" in result.output


def test_timelines_on_spark_write_what_duckdb_writes(tmp_path, spark) -> None:
    data = tmp_path / "pop"
    assert runner.invoke(app, ["synth", str(data), "--relations", "1500", "--seed", "6"]).exit_code == 0
    common = ["timelines", "--input", str(data), "--as-known-on", "2025-06-20", "--from", "2024-01"]
    on_duckdb = runner.invoke(app, [*common, "--out", str(tmp_path / "d")])
    on_spark = runner.invoke(app, [*common, "--out", str(tmp_path / "s"), "--engine", "spark"])
    assert on_duckdb.exit_code == 0 and on_spark.exit_code == 0, on_spark.output
    for name in ("periods.parquet", "losing-202507.csv", "undetermined.csv"):
        assert (tmp_path / "d" / name).read_bytes() == (tmp_path / "s" / name).read_bytes(), name
    refused = runner.invoke(app, ["timelines", "--database", "sqlite:///x.db", "--engine", "spark"])
    assert refused.exit_code == 2 and "BAD_ENGINE" in refused.output
