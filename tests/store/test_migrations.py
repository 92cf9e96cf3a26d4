"""Migrations run from an empty database to head, and the result is what the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

import yibao.store.auth_models  # noqa: F401  (revision 0002: the API's users and tokens are on Base too)
from yibao.store.auth_models import AUTH_TABLES
from yibao.store.db import alembic_config, create_engine_for, current_revision, migrate
from yibao.store.projection import DERIVED_TABLES
from yibao.store.models import FACT_TABLES, Base

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrate_from_empty_to_head(empty_url):
    engine = create_engine_for(empty_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == HEAD
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        migrate(engine)  # at head already: nothing to do
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()


def test_migrate_by_url_with_default_engine(empty_url):
    migrate(empty_url)
    engine = create_engine_for(empty_url)
    try:
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()


def test_migrated_schema_matches_models(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(db):
    from alembic import command

    from yibao.store.db import alembic_config

    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    migrate(db.engine)
    assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())


def test_every_table_is_a_declared_fact_table():
    assert set(FACT_TABLES) == set(Base.metadata.tables) - set(AUTH_TABLES) - set(DERIVED_TABLES)


def test_person_key_is_a_partial_unique_index(db):
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("person_document")}
    key = indexes["uq_person_document_key"]
    assert key["unique"]
    assert key["column_names"] == ["cert_type", "number", "key_nationality"]
