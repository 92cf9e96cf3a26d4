"""``yibao import``: round trip of the demo population (CSV and Parquet), the error report, batches
that are all or nothing, idempotent re-runs, unusable input — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from yibao.cli_import import import_command
from yibao.importer import REPORT_COLUMNS, Importer, import_files
from yibao.store import repository as repo
from yibao.store.types import SHANGHAI

from .helpers import ID_A, ID_B, ID_C, ID_D, ID_X, resident_id
from .importing import demo_people, dump, export, normalised

TODAY = date(2025, 8, 15)
DEMO_TODAY = date(2026, 11, 23)  # yibao.demo.population's default "today"


def _importer(db, day: date = TODAY, **kwargs) -> Importer:
    return Importer(db.Session, clock=lambda: datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI), **kwargs)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text.strip() + "\n", encoding=encoding)
    return path


def _report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [] or tuple(rows[0]) == REPORT_COLUMNS
    return rows


# ------------------------------------------------------------------------------- round trip


def test_demo_population_round_trips_through_csv_and_parquet(db, tmp_path):
    """population(200) → CSV and Parquet files → import one format: load_facts equals the generated facts;
    import the other format: every row is found present with the same content — nothing is recorded twice."""
    people = demo_people(200)
    first, second = ("csv", "parquet") if db.backend == "sqlite" else ("parquet", "csv")
    files = {fmt: export(people, tmp_path / fmt, fmt) for fmt in (first, second)}
    # strict import: the demo population follows the service's rules
    result = _importer(db, DEMO_TODAY).run(files[first], report=tmp_path / "errors.csv")
    assert result.errors == [] and result.ok
    total = result.read
    assert total == sum(len(f.documents) + len(f.groups) + len(f.events) + len(f.enrollments)
                        + sum(len(e.status_changes) for e in f.enrollments) + len(f.contributions) for f in people)
    assert (result.imported, result.skipped, result.rejected) == (total, 0, 0)
    with db.session() as session:
        for facts in people:
            assert normalised(repo.load_facts(session, facts.person_id)) == normalised(facts), facts.person_id
    before = dump(db.engine)
    again = _importer(db, DEMO_TODAY).run(files[second], report=tmp_path / "errors.csv")
    assert (again.read, again.imported, again.skipped, again.rejected, again.errors) == (total, 0, total, 0, [])
    assert dump(db.engine) == before
    assert _report(tmp_path / "errors.csv") == []


def test_the_whole_demo_population_follows_the_rules_on_death():
    """Nobody of the 3 000 demo people is enrolled after their death (the importer's AFTER_DEATH):
    a strict import of the whole demo, not only of its first 200, must pass."""
    deceased = [p for p in demo_people(3000) if p.death_date is not None]
    assert deceased and all(e.start <= p.death_date for p in deceased for e in p.enrollments)
    assert all(line.paid_on is not None and (line.month is None or line.month.first_day() <= p.death_date)
               for p in deceased for line in p.contributions)


def test_strict_import_rejects_relations_before_their_code_existed(db, tmp_path):
    """Without --migration the service's rules hold: 390 exists from 2016-01-12 (R-CODE-001)."""
    from dataclasses import replace as dc_replace

    resident = next(p for p in demo_people(200) if any(e.insutype.value == "390" for e in p.enrollments))
    early = tuple(dc_replace(e, start=date(2016, 1, 1)) if e.insutype.value == "390" else e for e in resident.enrollments)
    people = [dc_replace(resident, enrollments=early)]
    files = export(people, tmp_path, "csv")
    result = _importer(db, DEMO_TODAY).run(files, report=tmp_path / "errors.csv")
    codes = {(e.file.rsplit("/", 1)[-1], e.field, e.code) for e in result.errors if e.code != "BATCH_REJECTED"}
    assert ("relations.csv", "insutype", "UNKNOWN_CODE") in codes
    assert {c for _, _, c in codes} <= {"UNKNOWN_CODE", "RELATION_NOT_FOUND"}  # and the lines of that relation


# ------------------------------------------------------------------------------- the error report

PERSONS = f"""
psn_no,name,birth_date,sex,cert_type,number,nationality,death_date
P1,张三,,,01,{ID_A},,
P2,李四,,,01,{ID_B},,
P3,王五,,,01,110101199003070012,,
P4,赵六,,,98,{ID_C},,
P5,钱七,,,01,１１０１０１１９９００３０７００１１,,
,孙八,,,01,{ID_C},,
P7,周九,,X,01,{ID_C},,
P8,吴十,,,01,{ID_D},,2025-02-01
P2,,,,08,E1234567,USA,
P9,,,,01,{ID_X.lower()},,
"""
RELATIONS = """
psn_no,relation_id,insutype,region,psn_type,start,end,employer,monthly_wage
P1,E1,310,510500,1103,2024-01-01,,,6300
P1,X1,380,510500,1501,2024-01-01,,,
P1,X2,390,510500,1101,2024-01-01,,,
P1,X3,310,999999,1101,2024-01-01,,,
P2,X4,330,510500,1101,2024-01-01,,,
P404,E1,310,510500,1101,2024-01-01,,,
P2,R1,390,510500,1501,2024-01-01,2023-12-31,,
P2,R1,390,510500,1501,2024-01-01,,,
P8,E1,310,510500,1101,2025-03-01,,,
P8,E1,310,510500,1101,2024-01-01,,91350100M000100Y44,
P8,E1,310,510500,1101,2024-01-01,,,
P1,E1,310,210200,1103,2024-01-01,,,6300
"""
STATUSES = """
psn_no,relation_id,effective,status,reason
P2,R1,2024-06-01,4,EMIGRATION
P2,R1,2024-07-01,1,
P1,E1,2024-05-01,2,OTHER
P1,E1,2024-04-01,1,
P1,E1,2023-12-01,2,
P1,E9,2024-05-01,2,
P1,E1,2024-08-01,7,
P1,E1,2024-08-01,1,NOPE
"""
LINES = """
psn_no,relation_id,month,benefit_year,paid_on,kind,payer,amount,base,key
P1,E1,2024-01,,2024-01-10,10,INDIVIDUAL,567.00,,
P1,E1,2024-02,,2024-02-10,10,INDIVIDUAL,0,,
P2,R1,,2026,2025-08-31,10,INDIVIDUAL,400,,
P8,E1,2025-03,,2025-03-10,10,INDIVIDUAL,567,,
P1,E9,2024-03,,2024-03-10,10,INDIVIDUAL,567,,
P1,E1,2024-03,2024,2024-03-10,10,INDIVIDUAL,567,,
P1,E1,2024-04,,2024-04-10,10,INDIVIDUAL,567,,K-1
P1,E1,2024-04,,2024-04-10,10,INDIVIDUAL,600,,K-1
P1,E1,2024-05,,2024-05-10,10,NOBODY,567,,
P1,E1,2024-05,,2024-05-10,10,INDIVIDUAL,567.001,,
P1,E1,2024-05,,2024-05-10,99,INDIVIDUAL,567,,
P1,E1,2024-13,,2024-05-10,10,INDIVIDUAL,567,,
P1,E1,2024-01,,2024-01-10,10,INDIVIDUAL,567.0,,
P1,E1,,,2024-05-10,10,INDIVIDUAL,567,,
P1,E1,2024-06,,2024/06/10,10,INDIVIDUAL,567,,
P8,E1,2025-01,,2025-02-20,31,INDIVIDUAL,567,,
P8,E1,2025-01,,2025-02-20,31,HEIR,567,,
"""
EXPECTED = {
    "persons.csv": {(3, "number", "CHECK_DIGIT"), (4, "cert_type", "UNKNOWN_CODE"), (5, "number", "DUPLICATE_PERSON_KEY"),
                    (6, "psn_no", "IMPORT_MISSING"), (7, "sex", "IMPORT_VALUE")},
    "relations.csv": {(2, "insutype", "LEGACY_INSUTYPE"), (3, "psn_type", "PSN_TYPE_INSUTYPE_MISMATCH"), (4, "region", "UNKNOWN_REGION"),
                      (5, "insutype", "RIDER_WITHOUT_BASE"), (6, "psn_no", "PERSON_NOT_FOUND"), (7, "end", "IMPORT_VALUE"),
                      (9, "start", "AFTER_DEATH"), (10, "employer", "USCC_CHECK"), (12, "region", "IMPORT_CONFLICT")},
    "statuses.csv": {(2, "status", "TERMINATED_IS_FINAL"), (4, "effective", "STATUS_DATE_ORDER"), (5, "effective", "BEFORE_RELATION_START"),
                     (6, "relation_id", "RELATION_NOT_FOUND"), (7, "status", "UNKNOWN_CODE"), (8, "reason", "IMPORT_VALUE")},
    "lines.csv": {(2, "amount", "ZERO_AMOUNT"), (3, "paid_on", "OUTSIDE_WINDOW"), (4, "month", "RET_PAID_AFTER_DEATH"),
                  (5, "relation_id", "RELATION_NOT_FOUND"), (6, "benefit_year", "IMPORT_VALUE"), (8, "key", "IDEMPOTENCY_CONFLICT"),
                  (9, "payer", "IMPORT_VALUE"), (10, "amount", "MONEY_PRECISION"), (11, "kind", "UNKNOWN_CODE"), (12, "month", "BAD_MONTH"),
                  (14, "month", "IMPORT_MISSING"), (15, "paid_on", "IMPORT_VALUE"), (16, "payer", "RET_PAID_AFTER_DEATH")},
}


def _bad_files(directory: Path) -> list[Path]:
    directory.mkdir(exist_ok=True)
    # given in the "wrong" order on purpose: the importer takes persons first and lines last
    return [_write(directory / "lines.csv", LINES), _write(directory / "statuses.csv", STATUSES),
            _write(directory / "relations.csv", RELATIONS), _write(directory / "persons.csv", PERSONS, "utf-8-sig")]


def test_the_error_report_names_file_row_field_and_code(db, tmp_path):
    report = tmp_path / "errors.csv"
    result = _importer(db, batch_size=1).run(_bad_files(tmp_path / "in"), report=report)
    rows = _report(report)
    found: dict[str, set] = {}
    for r in rows:
        if r["code"] != "BATCH_REJECTED":
            found.setdefault(Path(r["file"]).name, set()).add((int(r["row"]), r["field"], r["code"]))
            assert r["message_zh"] and r["message_en"]
    assert found == EXPECTED
    rejected = sum(len(v) for v in EXPECTED.values())
    assert sum(1 for r in rows if r["code"] == "BATCH_REJECTED") == rejected  # batch size 1: one batch per bad row
    assert (result.read, result.rejected, result.rejected_batches) == (47, rejected, rejected)
    assert (result.imported, result.skipped) == (47 - rejected - 1, 1)  # lines row 13 repeats row 1
    with db.session() as s:
        p1, p2, p8 = (repo.load_facts(s, p) for p in ("P1", "P2", "P8"))
        assert [d.cert_type.value for d in p2.documents] == ["01", "08"]
        assert [e.relation_id for e in p1.enrollments] == ["E1"] and p1.enrollments[0].region == "510500"
        assert [(c.month, c.amount) for c in p1.contributions] == [(c.month, Decimal("567.00")) for c in p1.contributions]
        assert len(p1.contributions) == 2 and len(p8.contributions) == 1 and p8.contributions[0].payer.value == "HEIR"
        assert p8.death_date == date(2025, 2, 1)
        assert repo.find_person(s, "01", ID_X) is not None
        assert s.get(repo.PersonRow, "P3") is None
    # the same files again: the same report, nothing recorded twice
    before = dump(db.engine)
    again = _importer(db, batch_size=1).run(_bad_files(tmp_path / "in"), report=report)
    assert dump(db.engine) == before
    assert [(r["file"], r["row"]) for r in _report(report)] == [(r["file"], r["row"]) for r in rows]
    redo = {(int(r["row"]), r["code"]) for r in _report(report) if Path(r["file"]).name == "relations.csv"}
    assert (9, "IMPORT_CONFLICT") in redo  # E1 of P8 exists now (row 11): the conflict comes first
    assert (again.imported, again.skipped, again.rejected) == (0, 47 - rejected, rejected)


def test_a_batch_with_an_invalid_row_is_rejected_whole_and_the_others_proceed(db, tmp_path):
    ids = [ID_A, ID_B, ID_C, "110101199003070012", ID_D, ID_X]
    persons = "psn_no,cert_type,number\n" + "\n".join(f"P{i},01,{n}" for i, n in enumerate(ids, 1))
    path = _write(tmp_path / "people.csv", persons)
    result = _importer(db, batch_size=3).run([path], report=tmp_path / "errors.csv")
    assert [(e.row, e.field, e.code) for e in result.errors] == [(4, "number", "CHECK_DIGIT"), (4, "", "BATCH_REJECTED")]
    assert "4–6" in result.errors[1].message_zh and "4" in result.errors[1].message_en
    assert (result.imported, result.rejected, result.rejected_batches, result.files[0].batches) == (3, 3, 1, 2)
    with db.session() as s:
        assert [repo.find_person(s, "01", n) is not None for n in (ID_A, ID_B, ID_C, ID_D, ID_X)] == [True, True, True, False, False]
    # fix the row and run again: the first batch is already present, the second goes in
    _write(path, persons.replace("110101199003070012", resident_id("44030519850101001")))
    fixed = _importer(db, batch_size=3).run([path], report=tmp_path / "errors.csv")
    assert (fixed.imported, fixed.skipped, fixed.rejected, fixed.errors) == (3, 3, 0, [])


def test_conflicting_content_is_never_an_overwrite(db, tmp_path):
    base = tmp_path / "a"
    base.mkdir()
    _write(base / "p.csv", f"psn_no,name,cert_type,number\nP1,张三,01,{ID_A}")
    _write(base / "r.csv", "psn_no,relation_id,insutype,region,psn_type,start\nP1,E1,310,510500,1103,2024-01-01")
    _write(base / "l.csv", "psn_no,relation_id,month,paid_on,kind,payer,amount,key\nP1,E1,2024-01,2024-01-10,10,INDIVIDUAL,567,BANK-1")
    assert _importer(db).run(sorted(base.iterdir())).imported == 3
    before = dump(db.engine)
    _write(base / "p.csv", f"psn_no,name,cert_type,number\nP1,张叁,01,{ID_A}")
    _write(base / "r.csv", "psn_no,relation_id,insutype,region,psn_type,start\nP1,E1,310,510500,1101,2024-01-01")
    _write(base / "l.csv", "psn_no,relation_id,month,paid_on,kind,payer,amount,key\nP1,E1,2024-01,2024-01-11,10,INDIVIDUAL,567,BANK-1")
    result = _importer(db).run(sorted(base.iterdir()))
    assert [(Path(e.file).name, e.field, e.code) for e in result.errors if e.code != "BATCH_REJECTED"] == [
        ("p.csv", "name", "IMPORT_CONFLICT"), ("r.csv", "psn_type", "IMPORT_CONFLICT"), ("l.csv", "key", "IDEMPOTENCY_CONFLICT")
    ]
    assert dump(db.engine) == before


def test_a_line_posted_by_the_service_is_not_imported_again(db, tmp_path):
    """Without a key, the import derives the service's key: the same payment through both channels is one line."""
    from yibao.service import RecordsService

    from .conftest import Clock
    from .helpers import month_line

    svc = RecordsService(db.Session, clock=Clock(TODAY))
    psn = svc.register_person(by="clerk-1", documents=[("01", ID_A, None)]).psn_no
    svc.enroll(psn, by="clerk-1", insutype="310", region="510500", psn_type="1103", start=date(2024, 1, 1), relation_id="E1")
    svc.record_contributions(psn, [month_line("E1", "2024-01", "567")], by="cashier-1")
    path = _write(tmp_path / "l.csv", f"psn_no,relation_id,month,paid_on,kind,payer,amount\n{psn},E1,2024-01,2024-01-10,10,INDIVIDUAL,567.00\n"
                                      f"{psn},E1,2024-02,2024-02-10,10,INDIVIDUAL,567.00")
    result = _importer(db).run([path])
    assert (result.imported, result.skipped) == (1, 1)
    assert len(svc.facts(psn).contributions) == 2


def test_typed_parquet_columns(db, tmp_path):
    """Dates, integers and decimals as Parquet types; a float NaN (pandas' missing number) is "not given"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({
        "psn_no": ["P1"], "cert_type": ["01"], "number": [ID_A], "birth_date": pa.array([date(1990, 3, 7)], pa.date32()),
    }), tmp_path / "persons.parquet")
    pq.write_table(pa.table({
        "psn_no": ["P1"], "relation_id": ["R1"], "insutype": [390], "region": [510500], "psn_type": [1501],
        "start": pa.array([date(2024, 1, 1)], pa.date32()),
    }), tmp_path / "relations.parquet")
    pq.write_table(pa.table({
        "psn_no": ["P1", "P1"], "relation_id": ["R1", "R1"], "benefit_year": pa.array([2025, 2026], pa.int64()),
        "paid_on": pa.array([date(2024, 10, 1), date(2025, 9, 1)], pa.date32()), "kind": ["10", "10"], "payer": ["INDIVIDUAL", "INDIVIDUAL"],
        "amount": pa.array([Decimal("400.00"), Decimal("400.00")], pa.decimal128(14, 2)), "base": pa.array([float("nan"), None], pa.float64()),
    }), tmp_path / "lines.parquet")
    result = _importer(db).run(sorted(tmp_path.glob("*.parquet")))
    assert (result.errors, result.imported) == ([], 4)
    with db.session() as s:
        facts = repo.load_facts(s, "P1")
    assert [(c.benefit_year, c.amount, c.base) for c in facts.contributions] == [(2025, Decimal("400.00"), None), (2026, Decimal("400.00"), None)]


# ------------------------------------------------------------------------------- the command


def _run(args: list[str]):
    app = typer.Typer()
    app.command()(import_command)
    return CliRunner().invoke(app, args)


def test_command_exit_status_and_report(db, tmp_path):
    ok = _write(tmp_path / "ok.csv", f"psn_no,cert_type,number\nP1,01,{ID_A}")
    report = tmp_path / "out" / "errors.csv"
    done = _run([str(ok), "--database", db.url, "--report", str(report)])
    assert done.exit_code == 0, done.output
    assert "imported 1" in done.output and _report(report) == []
    bad = _write(tmp_path / "bad.csv", f"psn_no,cert_type,number\nP2,01,{ID_B}\nP3,01,110101199003070012")
    partial = _run([str(bad), "--database", db.url, "--report", str(report), "--batch-size", "1"])
    assert partial.exit_code == 1, partial.output
    assert [(r["row"], r["field"], r["code"]) for r in _report(report)] == [("2", "number", "CHECK_DIGIT"), ("2", "", "BATCH_REJECTED")]
    again = _run([str(ok), str(bad), "--database", db.url, "--report", str(report), "--batch-size", "1"])
    assert again.exit_code == 1 and "present 2" in again.output


@pytest.mark.parametrize(
    "name, content, code",
    [
        ("missing.csv", None, "IMPORT_UNREADABLE"),
        ("gbk.csv", "psn_no,cert_type,number\nP1,01,张三".encode("gbk"), "IMPORT_UNREADABLE"),
        ("empty.csv", b"", "IMPORT_BAD_HEADER"),
        ("unknown.csv", b"who,what\n1,2\n", "IMPORT_BAD_HEADER"),
        ("typo.csv", b"psn_no,cert_type,number,nmae\nP1,01,x,y\n", "IMPORT_BAD_HEADER"),
        ("twice.csv", b"psn_no,cert_type,number,number\n", "IMPORT_BAD_HEADER"),
        ("fake.parquet", b"PAR1 not really", "IMPORT_UNREADABLE"),
    ],
    ids=lambda v: v if isinstance(v, str) and "." in v else None,
)
def test_unusable_input_is_one_line_and_exit_2_with_nothing_imported(db, tmp_path, name, content, code):
    good = _write(tmp_path / "good.csv", f"psn_no,cert_type,number\nP1,01,{ID_A}")
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    before = dump(db.engine)
    result = _run([str(good), str(path), "--database", db.url, "--report", str(tmp_path / "r.csv")])
    assert result.exit_code == 2, result.output
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error {code}") and "Traceback" not in result.output
    assert dump(db.engine) == before  # every file is checked before anything is imported


def test_unusable_database_is_exit_2(tmp_path):
    good = _write(tmp_path / "good.csv", f"psn_no,cert_type,number\nP1,01,{ID_A}")
    result = _run([str(good), "--database", "nosuch://x"])
    assert result.exit_code == 2 and result.output.startswith("error IMPORT_DATABASE")
    with pytest.raises(Exception) as info:
        import_files([good], "nosuch://x")
    assert getattr(info.value, "code", None) == "IMPORT_DATABASE"
