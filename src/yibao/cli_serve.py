"""``yibao serve``: the REST API on http://127.0.0.1:8000 over an embedded SQLite database (or PostgreSQL).

First start: the database is created and migrated, filled with the demo population (``yibao.demo``,
``--demo-size`` people across the four regions of the sources, loaded in batches with a progress
bar) and given demo users — an administrator ``admin`` and one clerk per demo region
(``clerk-510500`` …) with random passwords **printed once** on the console. Demo only: change or
deactivate them (``PATCH /api/v1/users/{username}``) before anything real goes near the service.

Later starts reuse everything (nothing is loaded twice; an interrupted load resumes). The demo is
loaded only into a database that holds no persons other than the demo's, so ``--database`` pointed
at a real database never gets demo people; a database without users gets only the administrator.

The lead wires it into ``yibao/cli.py``::

    from yibao.cli_serve import serve
    app.command("serve")(serve)
"""

from __future__ import annotations

import copy
import os
import secrets
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import func, select

DEMO_BY = "demo-loader"
DEMO_BATCH = 200
DEFAULT_DATABASE = "sqlite:///yibao-demo.db"
ENV_DATABASE = "YIBAO_DATABASE_URL"

console = Console(highlight=False, soft_wrap=True)


def _normalise_url(database: str) -> str:
    if database.startswith("postgres://"):
        return "postgresql://" + database[len("postgres://") :]
    return database


def load_demo(service: Any, size: int, *, show_progress: bool = True) -> int:
    """Add the missing people of ``demo.population(size)``; the number added (0 if the database holds
    anything but demo people)."""
    from yibao import demo
    from yibao.store.bulk import bulk_add_facts
    from yibao.store.models import PersonRow

    with service.sessions() as s:
        others = s.scalar(select(func.count()).select_from(PersonRow).where(PersonRow.recorded_by != DEMO_BY)) or 0
        have = set(s.scalars(select(PersonRow.psn_no).where(PersonRow.recorded_by == DEMO_BY)))
    if others or len(have) >= size:
        return 0
    people = [p for p in demo.population(size, today=service.today()) if p.facts.person_id not in have]
    added = 0
    with Progress(
        TextColumn("载入演示人口 / loading demo population"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=not show_progress, transient=False,
    ) as progress:
        task = progress.add_task("demo", total=len(people))
        for i in range(0, len(people), DEMO_BATCH):
            batch = people[i : i + DEMO_BATCH]
            with service.sessions() as session, session.begin():  # the rows of add_facts, written per table
                bulk_add_facts(session, [person.facts for person in batch], by=DEMO_BY)
            added += len(batch)
            progress.update(task, advance=len(batch))
    return added


def bootstrap_users(service: Any, *, demo_regions: list[str]) -> list[tuple[str, str, str, str]]:
    """On a database without users: an administrator, and a clerk per demo region. Returns
    (username, password, role, regions) to print once; [] when users exist already."""
    from yibao.api.security import AccessStore

    access = AccessStore(service.sessions, known_regions=service.policy.regions(), clock=service.clock)
    if access.user_count():
        return []
    made = []
    wanted = [("admin", "administrator", [])] + [(f"clerk-{r}", "clerk", [r]) for r in demo_regions]
    for username, role, regions in wanted:
        password = secrets.token_urlsafe(12)
        access.create_user(username=username, password=password, role=role, regions=regions, by="yibao-serve")
        made.append((username, password, role, ",".join(regions) or "*"))
    return made


def prepare(database: str, demo_size: int, *, show_progress: bool = True) -> Any:
    """Create and migrate the database, load the demo and the demo users; the service."""
    from yibao import demo
    from yibao.service.records import RecordsService

    service = RecordsService.open(_normalise_url(database))
    loaded = load_demo(service, demo_size, show_progress=show_progress) if demo_size > 0 else 0
    from yibao.store.models import PersonRow

    with service.sessions() as s:
        demo_people = s.scalar(select(func.count()).select_from(PersonRow).where(PersonRow.recorded_by == DEMO_BY)) or 0
    users = bootstrap_users(service, demo_regions=list(demo.REGIONS) if demo_people else [])
    if loaded:
        console.print(f"已载入演示人口 {loaded} 人 / loaded {loaded} demo people")
    if not users:
        console.print("账户已存在（演示账户的密码仅在首次启动时显示）/ accounts exist (demo passwords were shown at the first start)")
    else:
        table = Table(title="演示账户（仅此一次显示，仅供演示）/ demo accounts — shown once, demo only")
        for col in ("用户名 username", "密码 password", "角色 role", "统筹区 regions"):
            table.add_column(col)
        for row in users:
            table.add_row(*row)
        console.print(table)
    return service


def _log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["mask_ids"] = {"()": "yibao.api.logs.MaskingFilter"}
    for handler in config.get("handlers", {}).values():
        handler.setdefault("filters", []).append("mask_ids")
    config["loggers"]["yibao"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def serve(
    database: str = typer.Option(DEFAULT_DATABASE, "--database", help="数据库 URL：sqlite:///文件 或 postgresql://… / database URL"),
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址 / address to listen on"),
    port: int = typer.Option(8000, "--port", help="端口 / port"),
    demo_size: int = typer.Option(3000, "--demo-size", min=0, help="首次启动载入的演示人口数（0 不载入）/ demo people on first start (0: none)"),
    reload: bool = typer.Option(False, "--reload", help="代码变更时自动重启（开发用）/ restart on code changes"),
) -> None:
    """启动 REST API（首次启动时建库、迁移并载入演示数据）/ start the REST API (first start: create, migrate, load the demo)."""
    import uvicorn

    from yibao.errors import YibaoError

    try:
        service = prepare(database, demo_size)
    except YibaoError as exc:
        Console(stderr=True).print(f"error {exc.one_line()}")
        raise typer.Exit(2)
    url = f"http://{host}:{port}"
    console.print(f"yibao API: {url}/docs  (OpenAPI {url}/openapi.json, health {url}/healthz)")
    console.print(f"经办员工作台 / clerk's console: {url}/")
    if reload:
        os.environ[ENV_DATABASE] = _normalise_url(database)
        service.engine.dispose()
        import yibao

        uvicorn.run(
            "yibao.cli_serve:app_from_env", factory=True, host=host, port=port, reload=True,
            reload_dirs=[os.path.dirname(yibao.__file__)], access_log=False, log_config=_log_config(),
        )
        return
    from yibao.api import create_app

    uvicorn.run(create_app(service), host=host, port=port, access_log=False, log_config=_log_config())


def app_from_env() -> Any:
    """The app for ``--reload`` (uvicorn imports it by name in its worker): the database from ``YIBAO_DATABASE_URL``."""
    from yibao.api import create_app
    from yibao.service.records import RecordsService

    return create_app(RecordsService.open(os.environ.get(ENV_DATABASE, DEFAULT_DATABASE)))


__all__ = ["app_from_env", "bootstrap_users", "load_demo", "prepare", "serve"]


if __name__ == "__main__":  # pragma: no cover - ``python -m yibao.cli_serve`` before the lead wires the command
    typer.run(serve)
