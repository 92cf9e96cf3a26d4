"""`yibao synth` and `yibao dedup` from the command line."""

from __future__ import annotations

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
