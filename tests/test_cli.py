"""The command line as a user meets it: answers, JSON, and one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yibao.cli import app, mask_id

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cases" / "luzhou-switch.yaml"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_explain_answers_with_reasons_and_citations() -> None:
    result = run("explain", str(EXAMPLE), "--on", "2025-03-10", "--as-known-on", "2025-06-30")
    assert result.exit_code == 0, result.output
    assert "享受待遇 / covered" in result.output
    assert "R-WAIT-003" in result.output
    assert "医保发〔2020〕33号" in result.output
    assert "110***********0011" in result.output and "110101199003070011" not in result.output


def test_explain_as_known_before_the_first_payment_is_not_covered() -> None:
    result = run("explain", str(EXAMPLE), "--on", "2025-03-10", "--as-known-on", "2025-03-01", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["answer"]["covered"] is False


def test_explain_json_is_complete() -> None:
    result = run("explain", str(EXAMPLE), "--on", "2025-03-10", "--as-known-on", "2025-06-30", "--json")
    data = json.loads(result.output)
    assert data["answer"] == {**data["answer"], "covered": True, "relation_id": "R2", "insutype": "310", "region": "510500"}
    assert [p["relation_id"] for p in data["periods"]] == ["R1", "R2"]
    assert data["periods"][1]["end"] is None
    assert data["decisions"] and all(d["reasons"] for d in data["decisions"])
    reason = data["answer"]["reasons"][1]
    assert reason["rule_id"] == "R-WAIT-003" and reason["citations"] and reason["parameters"]
    assert data["actions"][0]["kind"] == "BACKPAY"
    assert data["person"]["documents"][0]["number"] == "110***********0011"


@pytest.mark.parametrize(
    ("content", "code", "field"),
    [
        ('person: {id: X, documents: [{type: "01", number: "110101199003070012"}]}\n', "CHECK_DIGIT", "person.documents.0.number"),
        ('person: {id: X}\nenrollments: [{id: R1, insutype: "310", region: "999999", psn_type: "1101", start: 2025-01-01}]\n', "UNKNOWN_REGION", None),
        ('person: {id: X}\nenrollments: [{id: R1, insutype: "310", region: "510500", psn_type: "1101", start: 2025-01-01, end: 2024-01-01}]\n', "CASE_INCONSISTENT", "enrollments.0.end"),
        ('person: {id: X}\nenrollments: [{id: R1, insutype: "390", region: "510500", psn_type: "1101", start: 2025-01-01}]\n', "PSN_TYPE_INSUTYPE_MISMATCH", "enrollments.0.psn_type"),
        ('person: {id: X}\ncontributions: [{relation: R9, month: 2025-01, paid_on: 2025-01-15, amount: 1}]\n', "CASE_INCONSISTENT", "contributions.0.relation"),
        ('person: {id: X}\nunknown_key: 1\n', "CASE_INVALID", "unknown_key"),
        ('person: {id: X\n', "CASE_UNREADABLE", "path"),
    ],
)
def test_bad_case_files_give_one_line_and_exit_2(tmp_path: Path, content: str, code: str, field: str | None) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(content, encoding="utf-8")
    result = run("explain", str(case), "--on", "2025-06-01")
    assert result.exit_code == 2, result.output
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error {code}")
    assert "Traceback" not in result.output
    if field:
        assert f"[{field}]" in lines[0]


def test_bad_date_and_missing_file() -> None:
    result = run("explain", str(EXAMPLE), "--on", "2025-02-30")
    assert result.exit_code == 2 and "BAD_DATE [--on]" in result.output
    result = run("explain", "does-not-exist.yaml")
    assert result.exit_code == 2 and "CASE_UNREADABLE" in result.output


def test_policy_show_prints_values_with_sources() -> None:
    result = run("policy", "show", "510500", "--on", "2022-03-01", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    values = {p["key"]: p for p in data["parameters"]}
    window = values["employee.continuation_window_months"]
    assert window["value"] == 3 and window["defined_in"] == "510500" and window["citation"]["source"] == "S10"
    assert values["employee.max_gap_no_wait"]["defined_in"] == "national"
    text = run("policy", "show", "510500", "--on", "2022-03-01")
    assert text.exit_code == 0 and "S10" in text.output and "泸州市" in text.output


def test_policy_show_unknown_region() -> None:
    result = run("policy", "show", "123456")
    assert result.exit_code == 2 and result.output.startswith("error UNKNOWN_REGION [region]")


def test_mask_id() -> None:
    assert mask_id("510502199003070011") == "510***********0011"
    assert mask_id("H1234") == "H****"


def test_quote_command() -> None:
    result = run("quote", str(EXAMPLE), "--pay-on", "2025-09-20", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] == "1786.05" and data["person_pays"] == "396.90"
    assert data["items"][0]["benefit_start"] == "2025-07-01"
    assert data["notices"][0]["code"] == "RESIDENT_WHILE_EMPLOYED"
    text = run("quote", str(EXAMPLE), "--pay-on", "2025-09-20")
    assert text.exit_code == 0 and "补缴 / back-pay: 2025-07–2025-08" in text.output and "R-WAIT-001" in text.output


def test_quote_requires_a_valid_date() -> None:
    result = run("quote", str(EXAMPLE), "--pay-on", "tomorrow")
    assert result.exit_code == 2 and "BAD_DATE [--pay-on]" in result.output


def test_contributions_command() -> None:
    result = run("contributions", str(EXAMPLE), "--months", "2025-03..2025-09", "--as-known-on", "2025-09-20", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total_due"] == "4567.45"  # 7 employee months × 595.35 + the unpaid 2025 resident year 400.00
    assert data["total_paid"] == "2268.00"
    rows = {(r["month"], r["payer"]): r for r in data["lines"] if r["relation_id"] == "R2"}
    assert rows[("2025-07", "UNIT")]["outstanding"] == "463.05"
    text = run("contributions", str(EXAMPLE), "--months", "2025-03..2025-09", "--as-known-on", "2025-09-20")
    assert text.exit_code == 0 and "4,567.45" in text.output


def test_contributions_bad_range() -> None:
    result = run("contributions", str(EXAMPLE), "--months", "2025-09..2025-03")
    assert result.exit_code == 2 and "BAD_MONTH_RANGE [--months]" in result.output
