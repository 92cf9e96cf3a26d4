"""The service and import tests run on both backends: SQLite in a temporary file and the real
PostgreSQL server that ``tests/store`` starts (its fixtures are reused here, not copied).

``svc`` is a :class:`~yibao.service.RecordsService` over a fresh migrated database with a clock
the test sets (``clock.on(date)``), and ``snapshot`` dumps every table so that a test can prove
that a rejected use case wrote nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from store.conftest import Database, backend, db  # noqa: F401  (the store tests' fixtures, reused; postgres is in tests/conftest.py)
from yibao.service import RecordsService
from yibao.store.models import Base
from yibao.store.types import SHANGHAI


class Clock:
    """A settable clock: ``on(day)`` makes the service's today ``day`` (10:00 Beijing time, ticking)."""

    def __init__(self, day: date) -> None:
        self.on(day)

    def on(self, day: date, hour: int = 10) -> "Clock":
        self._now = datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
        return self

    def __call__(self) -> datetime:
        self._now += timedelta(microseconds=1)
        return self._now

    @property
    def today(self) -> date:
        return self._now.date()


@pytest.fixture
def clock() -> Clock:
    return Clock(date(2025, 8, 15))


@pytest.fixture
def svc(db: Database, clock: Clock) -> RecordsService:  # noqa: F811
    return RecordsService(db.Session, clock=clock)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order: equal before and after ⇔ nothing was written."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
    return out


@dataclass
class Unchanged:
    """``with unchanged(): ...`` — the block must leave every table exactly as it was."""

    engine: Engine

    def __call__(self):
        return _Unchanged(self.engine)


class _Unchanged:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> None:
        self.before = snapshot(self.engine)

    def __exit__(self, *exc: Any) -> None:
        after = snapshot(self.engine)
        changed = [t for t in after if after[t] != self.before[t]]
        assert not changed, f"tables written by a rejected use case: {changed}"


@pytest.fixture
def unchanged(db: Database) -> Unchanged:  # noqa: F811
    return Unchanged(db.engine)
