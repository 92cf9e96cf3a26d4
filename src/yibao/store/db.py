"""Engines, migrations and sessions.

    engine = create_engine_for("sqlite:///yibao.db")       # or postgresql+psycopg://…
    migrate(engine)                                         # Alembic upgrade to head, no CLI needed
    Session = session_factory(engine)
    with Session.begin() as session:                        # one use case, one transaction
        repository.add_facts(session, facts, by="clerk-0301")

SQLite is the embedded default (``DEFAULT_URL``): WAL journal, foreign keys ON, a busy timeout,
and real transactions — pysqlite's own implicit BEGIN is switched off and every transaction starts
with ``BEGIN IMMEDIATE`` (so SAVEPOINTs and transactional DDL work, and concurrent use cases queue
for the single writer instead of failing with "database is locked"; one writer at a time is
SQLite's limit — PostgreSQL has no such limit). PostgreSQL
(``postgresql+psycopg://``) is the production target; the session time zone is UTC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///yibao.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000

_HERE = Path(__file__).resolve().parent
MIGRATIONS = _HERE / "migrations"
ALEMBIC_INI = _HERE / "alembic.ini"


def create_engine_for(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default ``sqlite:///yibao.db``), set up for yibao's store."""
    parsed = make_url(url or DEFAULT_URL)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the installed driver
        connect_args = {"options": "-c timezone=UTC", **kwargs.pop("connect_args", {})}
        return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True, **kwargs)
    return create_engine(parsed, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN from pysqlite; see "begin" below
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: a use case reads, then writes; a deferred BEGIN would fail with "database is
        # locked" (SQLITE_BUSY_SNAPSHOT) when another writer committed in between, which the busy
        # timeout cannot cure. Transactions queue at BEGIN instead (read-only ones too, briefly);
        # statements outside a transaction read WAL snapshots without waiting.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str | None = None) -> Any:
    """An Alembic ``Config`` for the packaged migrations (no alembic.ini on the command line needed)."""
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(target: str | Engine | None = None, revision: str = "head") -> None:
    """Upgrade the database at ``target`` (a URL or an engine; default ``DEFAULT_URL``) to ``revision``."""
    from alembic import command

    engine = target if isinstance(target, Engine) else create_engine_for(target)
    try:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if not isinstance(target, Engine):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for ``engine``; objects stay readable after commit (``expire_on_commit=False``).

    Every transaction of these sessions that writes a person's rows invalidates that person's
    coverage projection before it commits (:mod:`yibao.store.projection`).
    """
    from yibao.store.projection import track_writes

    factory = sessionmaker(bind=engine, expire_on_commit=False)
    track_writes(factory)
    return factory
