"""``yibao synth`` and ``yibao dedup``: population-scale jobs (docs/batch.md).

    yibao synth OUT --relations 1000000 --seed 1 [--dup-rate 0.005] [--decoy-rate 0.005]
    yibao dedup --input OUT --out REPORT [--on 2026-01-15] [--engine duckdb|spark] [--workers 2]
    yibao dedup --database sqlite:///yibao-demo.db --out REPORT [--record --by NAME]

``dedup`` writes ``proposals.parquet``, ``proposals.csv`` and ``summary.html`` (inline SVG charts).
With ``--database … --record`` it also records the proposals on the duplicate worklist (重复参保核查,
``DuplicatesService.scan`` for the persons found), where clerks confirm or dismiss them.
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
    relations: int = typer.Option(100_000, "--relations", min=10, help="参保关系数（约）/ about this many relations"),
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

            source = read_database(database)
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
