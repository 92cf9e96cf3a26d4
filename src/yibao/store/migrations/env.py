"""Alembic environment for yibao's store.

``yibao.store.db.migrate`` passes its open connection in ``config.attributes["connection"]``; from
the command line the URL comes from ``-x url=…`` or ``sqlalchemy.url`` in alembic.ini.
"""

from __future__ import annotations

from alembic import context

from yibao.store.db import create_engine_for
from yibao.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            _configure_and_run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("yibao migrations run online only (they differ by dialect: triggers, types)")
run_migrations_online()
