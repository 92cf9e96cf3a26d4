"""The migrations on SQLite and PostgreSQL: head matches the models (every table, 0001 onwards), and
the schema goes down to 0001 and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from yibao.store.auth_models import AUTH_TABLES
from yibao.store.db import alembic_config, create_engine_for, current_revision, migrate
from yibao.store.models import Base

from .conftest import BACKENDS, database_url


@pytest.fixture(params=BACKENDS)
def fresh(request, tmp_path_factory):
    engine = create_engine_for(database_url(request.param, request, tmp_path_factory))
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrated_to_head_and_matches_the_models(fresh):
    assert current_revision(fresh) == HEAD
    assert set(AUTH_TABLES) <= set(inspect(fresh).get_table_names())
    with fresh.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_downgrade_to_0001_and_up_again(fresh):
    config = alembic_config()
    with fresh.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    assert current_revision(fresh) == "0001"
    assert not set(AUTH_TABLES) & set(inspect(fresh).get_table_names())
    migrate(fresh)
    assert current_revision(fresh) == HEAD
    assert set(AUTH_TABLES) <= set(inspect(fresh).get_table_names())
