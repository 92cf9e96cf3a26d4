"""``yibao synth`` and ``yibao dedup``: population-scale jobs (docs/batch.md).

    yibao synth OUT --relations 1000000 --seed 1 [--dup-rate 0.005] [--decoy-rate 0.005]
    yibao dedup --input OUT --out REPORT [--on 2026-01-15] [--engine duckdb|spark] [--workers 2]
    yibao dedup --database sqlite:///yibao-demo.db --out REPORT [--record --by NAME]
    yibao timelines --input OUT | --database URL [--as-known-on D] [--from YYYY-MM --to YYYY-MM] [--losing YYYY-MM] --out DIR

``dedup`` writes ``proposals.parquet``, ``proposals.csv`` and ``summary.html`` (inline SVG charts).
With ``--database … --record`` it also records the proposals on the duplicate worklist (重复参保核查,
``DuplicatesService.scan`` for the persons found), where clerks confirm or dismiss them.
``timelines`` writes every person's covered periods (``periods.parquet`` / ``.csv``), the people who
lose coverage in a month (``losing-YYYYMM.csv``) and those the rules could not decide, with the error
(``undetermined.csv``, e.g. a region without a policy pack), from :func:`yibao.batch.timeline.coverage_grid`.
Registered in :mod:`yibao.cli` by :func:`register`.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from yibao.errors import YibaoError, define

DEDUP_SOURCE = define(
    "DEDUP_SOURCE",
    "请指定 --input（Parquet 目录）或 --database（数据库），二者选一",
    "give either --input (a folder of Parquet files) or --database (a database URL), not both",
)
BAD_ENGINE = define("BAD_ENGINE", "批处理引擎无效：{value}（应为 duckdb 或 spark）", "invalid engine {value!r} (expected duckdb or spark)")
RECORD_NEEDS_DATABASE = define(
    "RECORD_NEEDS_DATABASE", "--record 只能与 --database 一起使用", "--record needs --database (cases are recorded in the database)"
)
BAD_WINDOW = define(
    "BAD_WINDOW",
    "月份范围 {first}..{last} 须包含 {losing} 及其下一月",
    "the months {first}..{last} must include {losing} and the month after it",
)
BAD_RATE = define("BAD_RATE", "比例无效：{value}（应在 0 与 0.2 之间）", "invalid rate {value} (expected between 0 and 0.2)")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

STAGES_ZH = {
    "persons": "合并人员 / merging persons",
    "candidates": "筛选候选 / candidates",
    "facts": "读取事实 / gathering facts",
    "decide": "规则判定 / deciding",
    "people": "生成人员 / persons",
    "segments": "参保关系 / relations",
    "relations": "写入参保关系 / relations",
    "contributions": "写入缴费明细 / contributions",
    "documents": "写入证件 / documents",
    "fast": "向量化判定 / vectorised",
    "reference": "逐人规则判定 / reference rules",
}


def _progress() -> tuple[Progress, Callable[[str, int, int], None]]:
    progress = Progress(
        TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=False,
    )
    tasks: dict[str, Any] = {}

    def step(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(STAGES_ZH.get(stage, stage), total=max(total, 1))
        progress.update(tasks[stage], completed=done, total=max(total, 1))

    return progress, step


def synth(
    folder: Path = typer.Argument(..., help="输出目录 / output folder (Parquet)"),
    relations: int = typer.Option(100_000, "--relations", min=10, help="参保关系数 / this many relations"),
    seed: int = typer.Option(1, "--seed", help="随机种子 / seed (same seed, same population)"),
    dup_rate: float = typer.Option(0.005, "--dup-rate", help="植入重复参保的人员比例 / share of persons with a planted duplicate"),
    decoy_rate: float = typer.Option(0.005, "--decoy-rate", help="植入非重复干扰项的比例 / share with a planted non-duplicate overlap"),
) -> None:
    """生成合成参保人口（Parquet）/ write a synthetic population with planted duplicates."""
    from yibao.batch.synth import synthesize

    for value in (dup_rate, decoy_rate):
        if not 0 <= value <= 0.2:
            raise YibaoError(BAD_RATE, field="dup_rate", value=value)
    progress, step = _progress()
    started = time.perf_counter()
    with progress:
        summary = synthesize(folder, relations=relations, seed=seed, dup_rate=dup_rate, decoy_rate=decoy_rate,
                             progress=lambda stage, n: step(stage, n, n))
    out.print(Text(
        f"{summary.persons:,} 人（{summary.person_records:,} 条人员记录）/ persons, {summary.relations:,} 参保关系 / relations, "
        f"{summary.contributions:,} 缴费明细 / contribution lines, {summary.planted:,} 重复 / planted duplicates, "
        f"{summary.decoys:,} 干扰 / decoys → {summary.folder}  ({time.perf_counter() - started:.1f} s)"
    ))


def dedup(
    input: Optional[Path] = typer.Option(None, "--input", help="Parquet 目录（yibao synth 的格式）/ folder of Parquet files"),
    database: Optional[str] = typer.Option(None, "--database", help="数据库 / database URL"),
    report: Path = typer.Option(Path("dedup-report"), "--out", help="输出目录 / output folder"),
    on: Optional[str] = typer.Option(None, "--on", help="核查日期 / detection date (default today)"),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb | spark"),
    workers: int = typer.Option(1, "--workers", min=1, help="规则判定进程数 / processes for the rule decisions"),
    record: bool = typer.Option(False, "--record", help="把处理建议记入重复参保核查工作清单（须 --database）/ record the proposals on the worklist"),
    by: str = typer.Option("yibao-dedup", "--by", help="记录人 / recorded_by of the worklist cases"),
) -> None:
    """重复参保核查与处理建议 / duplicate enrollment detection and resolution proposals."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from yibao.batch.report import summary_html
    from yibao.cli import parse_day

    if (input is None) == (database is None):
        raise YibaoError(DEDUP_SOURCE, field="input")
    if record and database is None:
        raise YibaoError(RECORD_NEEDS_DATABASE, field="record")
    if engine not in ("duckdb", "spark"):
        raise YibaoError(BAD_ENGINE, field="engine", value=engine)
    detected_on = parse_day(on, "on", date.today())
    progress, step = _progress()
    started = time.perf_counter()
    with progress:
        if database is not None:
            from yibao.batch.database import read_database, with_store_keys
            from yibao.batch.dedup import detect_arrow

            source = read_database(database, on=detected_on)
            proposals, facts = detect_arrow(source.tables, detected_on, progress=step, workers=workers)
            proposals = with_store_keys(proposals, source)
            label = database.split("@")[-1]
        elif engine == "spark":
            from yibao.batch.spark import detect_parquet_spark

            proposals, facts = detect_parquet_spark(input, detected_on, progress=step, workers=workers)
            label = str(input)
        else:
            from yibao.batch.dedup import detect_parquet

            proposals, facts = detect_parquet(input, detected_on, progress=step, workers=workers)
            label = str(input)
    seconds = time.perf_counter() - started
    report.mkdir(parents=True, exist_ok=True)
    pq.write_table(proposals, report / "proposals.parquet")
    pacsv.write_csv(proposals, report / "proposals.csv")
    (report / "summary.html").write_text(
        summary_html(proposals, source=label, detected_on=detected_on, population=facts.population, seconds=seconds), encoding="utf-8"
    )
    manual = sum(1 for o in proposals.column("outcome").to_pylist() if o == "MANUAL_REVIEW")
    out.print(Text(
        f"{facts.population:,} 参保关系 / relations scanned, {proposals.num_rows:,} 重复参保组 / duplicate groups "
        f"({manual:,} 人工复核 / manual review) → {report}  ({seconds:.1f} s)"
    ))
    if record:
        _record(database, sorted({p for p in proposals.column("psn_no").to_pylist() if p}), detected_on, by)


def timelines(
    input: Optional[Path] = typer.Option(None, "--input", help="Parquet 目录（yibao synth 的格式）/ folder of Parquet files"),
    database: Optional[str] = typer.Option(None, "--database", help="数据库 / database URL"),
    report: Path = typer.Option(Path("timelines"), "--out", help="输出目录 / output folder"),
    as_known_on: Optional[str] = typer.Option(None, "--as-known-on", help="依据截至该日已知的事实 / facts as known on this day (default today)"),
    first: Optional[str] = typer.Option(None, "--from", help="起始月 YYYY-MM / first month (default 11 months before)"),
    last: Optional[str] = typer.Option(None, "--to", help="截止月 YYYY-MM / last month (default the month after --losing)"),
    losing: Optional[str] = typer.Option(None, "--losing", help="列出该月内失去保障的人 YYYY-MM / list who loses coverage in this month (default next month)"),
    workers: int = typer.Option(1, "--workers", min=1, help="逐人规则计算的进程数 / processes for the people the reference rules decide"),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb | spark (spark: --input only; the grid is computed on the executors)"),
) -> None:
    """批量待遇享受期 / batch benefit timelines: covered periods of everyone, and who loses coverage next month."""
    from yibao.batch.dedup import _connect, register_arrow, register_parquet
    from yibao.batch.timeline import coverage_grid
    from yibao.cli import parse_day
    from yibao.dates import YearMonth

    if (input is None) == (database is None):
        raise YibaoError(DEDUP_SOURCE, field="input")
    if engine not in ("duckdb", "spark") or (engine == "spark" and database is not None):
        raise YibaoError(BAD_ENGINE, field="engine", value=engine if engine != "spark" else "spark + --database")
    known = parse_day(as_known_on, "as_known_on", date.today())
    losing_month = YearMonth.parse(losing, field="losing") if losing else YearMonth.of(known) + 1
    last_month = YearMonth.parse(last, field="to") if last else losing_month + 1
    first_month = YearMonth.parse(first, field="from") if first else min(last_month - 11, losing_month)
    if first_month > losing_month or last_month < losing_month + 1:
        raise YibaoError(BAD_WINDOW, field="losing", losing=str(losing_month), first=str(first_month), last=str(last_month))
    started = time.perf_counter()
    con = _connect()
    progress, step = _progress()
    try:
        if engine == "spark":
            from yibao.batch.spark import collect_grid, spark_coverage_grid, spark_session

            grid = collect_grid(spark_coverage_grid(spark_session(), input, first_month, last_month, known), first_month, last_month)
            return _write_timelines(grid, None, report, first_month, last_month, losing_month, known, time.perf_counter() - started)
        if database is not None:
            from yibao.batch.database import read_database

            source = read_database(database)
            register_arrow(con, source.tables)
        else:
            register_parquet(con, input)
        with progress:
            grid = coverage_grid(con, first_month, last_month, known, workers=workers, progress=step)
    finally:
        con.close()
    _write_timelines(grid, source if database is not None else None, report, first_month, last_month, losing_month, known,
                     time.perf_counter() - started)


def _write_timelines(grid, source, report: Path, first_month, last_month, losing_month, known: date, seconds: float) -> None:
    """periods.parquet/.csv, losing-YYYYMM.csv and undetermined.csv (``source``: a database's keys)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    database = source is not None
    periods = grid.periods()
    losers = grid.losing_next_month(losing_month)
    if database:  # the store's own person numbers
        periods = periods.set_column(0, "psn_no", pa.array([source.psn_no[p] for p in periods.column("psn_no").to_pylist()], pa.string()))
        losers_col = pa.array([source.psn_no[int(p)] for p in losers], pa.string())
    else:
        losers_col = pa.array(losers, pa.int64())
    report.mkdir(parents=True, exist_ok=True)
    pq.write_table(periods, report / "periods.parquet")
    pacsv.write_csv(periods, report / "periods.csv")
    losing_file = report / f"losing-{losing_month.year}{losing_month.month:02d}.csv"
    pacsv.write_csv(pa.table({"psn_no": losers_col}), losing_file)
    undetermined = sorted(grid.errors.items())
    pacsv.write_csv(pa.table({
        "psn_no": pa.array([source.psn_no[p] if database else p for p, _ in undetermined], pa.string() if database else pa.int64()),
        "code": pa.array([e.code for _, e in undetermined], pa.string()),
        "field": pa.array([e.field for _, e in undetermined], pa.string()),
        "message_zh": pa.array([e.message_zh for _, e in undetermined], pa.string()),
        "message_en": pa.array([e.message_en for _, e in undetermined], pa.string()),
    }), report / "undetermined.csv")
    person_months = grid.covered.size
    out.print(Text(
        f"{len(grid.persons):,} 人 / persons × {grid.covered.shape[1]} 月 / months ({first_month}..{last_month}，截至 {known} 已知 / as known on), "
        f"{grid.fast.mean() if len(grid.persons) else 0:.1%} 向量化 / vectorised; {seconds:.1f} s "
        f"({person_months / max(seconds, 1e-9) / 1e6:.1f} M 人月/s / person-months/s)"
    ))
    out.print(Text(f"{len(losers):,} 人在 {losing_month} 内失去保障 / lose coverage in {losing_month} → {losing_file}"))
    out.print(Text(f"{periods.num_rows:,} 段享受期 / covered periods → {report / 'periods.parquet'}"))
    if undetermined:
        codes = sorted({e.code for _, e in undetermined})
        out.print(Text(f"{len(undetermined):,} 人无法判定（{', '.join(codes)}）/ could not be decided → {report / 'undetermined.csv'}"))


def _record(database: str, psn_nos: list[str], detected_on: date, by: str) -> None:
    """The worklist's own scan for the persons the batch found: the same rules on the store's facts."""
    from yibao.service.duplicates import DuplicatesService
    from yibao.service.records import RecordsService

    service = RecordsService.open(database)
    try:
        result = DuplicatesService(service).scan(by=by, on=detected_on, psn_nos=psn_nos)
    finally:
        service.engine.dispose()
    out.print(Text(
        f"工作清单 / worklist: {len(result.new):,} 新案件 / new, {result.known:,} 已在清单 / already known, "
        f"{len(result.superseded):,} 被替代 / superseded"
    ))


def register(app: typer.Typer, guarded: Callable[..., Any]) -> None:
    app.command("synth", help="生成合成参保人口 / write a synthetic population (Parquet)")(guarded(synth))
    app.command("dedup", help="重复参保核查与处理建议 / duplicate detection and proposals")(guarded(dedup))
    app.command("timelines", help="批量待遇享受期 / batch benefit timelines and who loses coverage")(guarded(timelines))
