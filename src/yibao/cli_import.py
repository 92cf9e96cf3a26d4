"""``yibao import``: bulk import of people, relations and contribution lines (format: :mod:`yibao.importer`).

    yibao import persons.csv relations.csv lines.parquet --database postgresql+psycopg://… --batch-size 1000 --report errors.csv
    python -m yibao.cli_import FILES …          # the same command on its own

Exit status: 0 when every batch was imported (rows already present count as imported), 1 when some
batches were rejected (the report names each invalid row and field), 2 when the input is unusable
(a missing or unreadable file, a file that is not UTF-8 CSV or Parquet, an unknown header, a
database that cannot be opened) — one line on stderr; every file is checked before anything is
imported — and 3 on an unexpected failure (one line; the batch in progress is rolled back,
re-running is safe). See docs/import.md.

The lead wires it into ``yibao.cli``: ``app.command("import")(import_command)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from yibao.errors import YibaoError, define
from yibao.importer import DEFAULT_BATCH_SIZE, DEFAULT_BY, Source, import_files

IMPORT_FAILED = define(
    "IMPORT_FAILED",
    "导入中断（{kind}）：当前批次已回滚，已完成的批次保留；重新运行同一文件不会重复记录",
    "the import stopped ({kind}): the batch in progress was rolled back, finished batches are kept; re-running the same files records nothing twice",
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def import_command(
    files: List[Path] = typer.Argument(..., help="导入文件 / CSV or Parquet files (persons, groups, events, relations, statuses, lines)"),
    database: str = typer.Option("sqlite:///yibao-demo.db", "--database", help="数据库 / database URL"),
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="每批行数（每批一个事务）/ rows per batch (one transaction each)"),
    report: Path = typer.Option(Path("import-errors.csv"), "--report", help="错误报告 / error report (CSV)"),
    by: str = typer.Option(DEFAULT_BY, "--by", help="记录人 / recorded_by of the imported rows"),
    migration: bool = typer.Option(False, "--migration", help="数据迁移：接受历史险种、生效前代码和15位身份证号 / accept legacy codes and 15-digit IDs"),
) -> None:
    """批量导入参保人、参保关系和缴费明细 / bulk import of people, relations and contribution lines (CSV or Parquet)."""
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err, transient=False,
    )
    tasks: dict[int, int] = {}
    started: list[bool] = []

    def opened(sources: list[Source]) -> None:  # every file is readable and the database is open
        for source in sources:
            tasks[id(source)] = progress.add_task(f"{source.kind.name:<9} {source.path.name}", total=source.total or None)
        progress.start()
        started.append(True)

    def advance(source: Source, rows: int) -> None:
        progress.advance(tasks[id(source)], rows)

    try:
        try:
            result = import_files(files, database, batch_size=batch_size, report=report, by=by, migration=migration,
                                  progress=advance, on_open=opened)
        finally:
            if started:
                progress.stop()
    except YibaoError as exc:  # unusable input (found before anything was imported, but for a Parquet file damaged mid-way)
        err.print(Text(f"error {exc.one_line()}"))
        raise typer.Exit(2)
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:  # never a traceback
        err.print(Text(f"error {YibaoError(IMPORT_FAILED, kind=type(exc).__name__).one_line()}"))
        raise typer.Exit(3)

    for f in result.files:
        line = f"{f.kind:<9} {f.path}: 读取 read {f.read}  导入 imported {f.imported}  已存在 present {f.skipped}  拒绝 rejected {f.rejected}"
        if f.rejected_batches:
            line += f"（{f.rejected_batches}/{f.batches} 批 batches）"
        out.print(Text(line))
    out.print(Text(
        f"合计 total: 读取 read {result.read}  导入 imported {result.imported}  已存在 present {result.skipped}  拒绝 rejected {result.rejected}",
        style="bold",
    ))
    if not result.ok:
        invalid = sum(1 for e in result.errors if e.code != "BATCH_REJECTED")
        out.print(Text(f"{result.rejected_batches} 批被拒绝，{invalid} 行有误，见错误报告 / batches rejected, invalid rows listed in: {report}", style="bold red"))
        raise typer.Exit(1)


def main() -> None:
    typer.run(import_command)


if __name__ == "__main__":
    main()
