"""``yibao coverage``: the coverage projection behind the hospital lookup (``/api/v1/coverage``).

    yibao coverage status  [--database URL]     how many persons' projections are usable today
    yibao coverage refresh [--database URL]     compute the missing and stale ones (e.g. nightly, and
                                                after the month turns: a projection holds at most to
                                                the end of the month it was computed in)

Lookups compute a missing projection themselves (about 10 ms); the refresh only saves the first
lookup of each person that wait. See ``yibao.store.projection`` for how writes invalidate.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from yibao.cli_serve import DEFAULT_DATABASE, ENV_DATABASE, _normalise_url

coverage_app = typer.Typer(help="参保待遇查询投影（医院端快速查询）/ the coverage projection behind the hospital lookup", no_args_is_help=True)
out = Console()

Database = Annotated[
    str,
    typer.Option("--database", envvar=ENV_DATABASE, help="数据库 URL（默认演示库）/ database URL (default: the demo SQLite file)"),
]


def _service(database: str):
    from yibao.service.records import RecordsService

    return RecordsService.open(_normalise_url(database))


def status(database: Database = DEFAULT_DATABASE) -> None:
    """今天可用的投影数 / how many projections are usable today."""
    service = _service(database)
    try:
        counts = service.coverage_counts()
    finally:
        service.engine.dispose()
    out.print(f"人员 persons {counts['persons']}  可用 usable today {counts['fresh']}  待计算 stale or missing {counts['stale']}")


def refresh(
    database: Database = DEFAULT_DATABASE,
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="每批人数 / persons per batch")] = 500,
) -> None:
    """计算缺失或过期的投影 / compute the missing and stale projections."""
    service = _service(database)
    try:
        todo = service.coverage_counts()["stale"]
        with Progress(TextColumn("投影 projections"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=out) as bar:
            task = bar.add_task("refresh", total=todo)
            done = 0
            for done in service.refresh_coverage(batch=batch, limit=todo):
                bar.update(task, completed=done)
        out.print(f"已计算 computed {done}；{service.coverage_counts()['stale']} 仍待计算 still stale (written meanwhile)")
    finally:
        service.engine.dispose()


coverage_app.command("status")(status)
coverage_app.command("refresh")(refresh)
