"""Two backends for every store test: SQLite in a temporary file and a real PostgreSQL server.

The PostgreSQL server is started once per test session (see ``pg.py``) and each test gets a new
database cloned from a migrated template. Without the PostgreSQL binaries the PostgreSQL half is
skipped locally, and FAILS when the environment variable ``CI`` is set.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from yibao.store.db import create_engine_for, migrate, session_factory

from .pg import PostgresServer

BACKENDS = ("sqlite", "postgresql")
_counter = itertools.count()


@dataclass
class Database:
    backend: str
    url: str
    engine: Engine
    Session: sessionmaker[Session]

    def session(self) -> Session:
        return self.Session()


class PostgresCluster:
    """The session's server plus a migrated template database to clone for each test."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
        self._template_ready = False

    def create_database(self, *, migrated: bool) -> str:
        name = f"t{os.getpid()}_{next(_counter)}"
        with self.admin.connect() as conn:
            if migrated:
                if not self._template_ready:
                    conn.execute(text("CREATE DATABASE yibao_template"))
                    migrate(self.server.url("yibao_template"))
                    self._template_ready = True
                conn.execute(text(f"CREATE DATABASE {name} TEMPLATE yibao_template STRATEGY FILE_COPY"))
            else:
                conn.execute(text(f"CREATE DATABASE {name}"))
        return self.server.url(name)


# The session's PostgreSQL server (fixture ``postgres``) is defined once, in tests/conftest.py,
# and shared by the store, service and API suites.


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _empty_url(backend: str, request: pytest.FixtureRequest, tmp_path, *, migrated: bool) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'yibao.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database(migrated=migrated)


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path) -> str:
    """The URL of an empty database (no tables)."""
    return _empty_url(backend, request, tmp_path, migrated=False)


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """A fresh database migrated to head."""
    url = _empty_url(backend, request, tmp_path, migrated=True)
    engine = create_engine_for(url)
    if backend == "sqlite":
        migrate(engine)
    try:
        yield Database(backend, url, engine, session_factory(engine))
    finally:
        engine.dispose()
