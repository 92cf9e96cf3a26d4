"""Revision 0002 (users, tokens, home regions) on SQLite and PostgreSQL: it matches the models, and
it goes down to 0001 and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
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


def test_head_is_0002_and_matches_the_models(fresh):
    assert current_revision(fresh) == "0002"
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
    assert current_revision(fresh) == "0002"
    assert set(AUTH_TABLES) <= set(inspect(fresh).get_table_names())
