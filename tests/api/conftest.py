"""The API over a real database: SQLite in a temporary file and a real PostgreSQL server.

One *world* per test module and backend: a migrated database with a few persons in known regions,
users of every role, their session tokens, and a TestClient. Tests that change things create their
own persons, so the order of tests does not matter. The PostgreSQL server comes from
``tests/store/pg.py`` (skipped without binaries locally, a failure in CI), the per-test database from
a migrated template as in ``tests/store/conftest.py``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from argon2 import PasswordHasher

with warnings.catch_warnings():  # starlette's TestClient on httpx warns that it prefers httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from store.conftest import PostgresCluster

import yibao.store.auth_models  # noqa: F401 - the auth tables on Base.metadata
from yibao.api import create_app
from yibao.codes import CertType, ContributionKind, InsuType, PsnType
from yibao.dates import YearMonth, month_range
from yibao.ids import mod11_2_check_char
from yibao.model import (
    ContributionLine,
    DeclaredWage,
    Enrollment,
    IdentityDocument,
    PayerType,
    PersonFacts,
)
from yibao.service.records import RecordsService
from yibao.store import repository as repo
from yibao.store.models import Base

BACKENDS = ("sqlite", "postgresql")
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # argon2id, cheap for tests
PASSWORD = "correct-horse-1"
ADDRESS = {"510500": "510502", "210200": "210202", "220000": "220102", "140200": "140202"}
_serial = itertools.count(1)


def resident_id(region: str = "510500", n: int | None = None) -> str:
    """A valid, unique 18-digit resident ID number with the region's address code."""
    n = next(_serial) if n is None else n
    birth = date(1970, 1, 1) + timedelta(days=37 * n % 12000)
    body = f"{ADDRESS[region]}{birth:%Y%m%d}{n % 1000:03d}"
    return body + mod11_2_check_char(body)


class Clock:
    """A settable clock for the API (tokens expire by it); the service keeps the real one."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class World:
    backend: str
    url: str
    service: RecordsService
    client: TestClient
    clock: Clock
    tokens: dict[str, str]
    persons: dict[str, str]  # label -> psn_no
    numbers: dict[str, str]  # label -> resident ID number
    relations: dict[str, dict[str, str]] = field(default_factory=dict)  # label -> {region: relation_id}

    @property
    def engine(self) -> Engine:
        return self.service.engine

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(self, who: str | None, method: str, path: str, **kwargs: Any):
        headers = {**(self.auth(who) if who else {}), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table (facts and access), to prove that a request wrote nothing."""
        with self.engine.connect() as conn:
            return {name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr) for name, t in Base.metadata.tables.items()}

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        before = self.snapshot()
        yield
        after = self.snapshot()
        changed = [name for name in before if before[name] != after[name]]
        assert not changed, f"tables changed: {changed}"

    def new_person(self, region: str = "510500", *, who: str = "admin", employee: bool = True, start: str = "2024-01-01") -> tuple[str, str, str]:
        """A fresh person enrolled in ``region`` through the API: (psn_no, relation_id, ID number)."""
        number = resident_id(region)
        r = self.call(who, "POST", "/api/v1/persons", json={"documents": [{"cert_type": "01", "number": number}], "name": "测试", "region": region})
        assert r.status_code == 201, r.text
        psn_no = r.json()["psn_no"]
        body = (
            {"insutype": "310", "region": region, "psn_type": "1103", "start": start, "monthly_wage": "6000"}
            if employee
            else {"insutype": "390", "region": region, "psn_type": "1501", "start": start}
        )
        r = self.call(who, "POST", f"/api/v1/persons/{psn_no}/relations", json=body)
        assert r.status_code == 201, r.text
        return psn_no, r.json()["relation_id"], number


def _employee(psn_no: str, number: str, region: str, rid: str = "E1") -> PersonFacts:
    start = YearMonth(2024, 1)
    lines = tuple(
        ContributionLine(rid, ContributionKind.REGULAR, payer, m.first_day() + timedelta(days=14), amount, month=m)
        for m in month_range(start, YearMonth(2026, 10))
        for payer, amount in ((PayerType.UNIT, Decimal("441.00")), (PayerType.INDIVIDUAL, Decimal("126.00")))
    )
    rel = Enrollment(rid, InsuType.EMPLOYEE_BASIC, region, PsnType.EMPLOYEE_IN_SERVICE, start.first_day(), wages=(DeclaredWage(start, Decimal(6300)),))
    return PersonFacts(psn_no, "王伟", None, None, (IdentityDocument(CertType.RESIDENT_ID, number),), enrollments=(rel,), contributions=lines)


def _resident(psn_no: str, number: str, regions: list[str]) -> PersonFacts:
    rels, lines = [], []
    for i, region in enumerate(regions, 1):
        rid = f"R{i}"
        rels.append(Enrollment(rid, InsuType.RESIDENT_BASIC, region, PsnType.ADULT_RESIDENT, date(2023, 1, 1)))
        for year in range(2023, 2027):
            lines.append(ContributionLine(rid, ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(year - 1, 11, 10), Decimal("400.00"), benefit_year=year))
    return PersonFacts(psn_no, "李娜", None, None, (IdentityDocument(CertType.RESIDENT_ID, number),), enrollments=tuple(rels), contributions=tuple(lines))


USERS = {
    "admin": ("administrator", []),
    "clerk510": ("clerk", ["510500"]),
    "clerk210": ("clerk", ["210200"]),
    "auditor": ("auditor", ["*"]),
    "auditor510": ("auditor", ["510500"]),
}


def database_url(backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('api') / 'yibao.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database(migrated=True)


def build_world(backend: str, url: str) -> World:
    service = RecordsService.open(url)
    numbers = {"p510": resident_id("510500"), "p210": resident_id("210200"), "both": resident_id("510500"), "p220": resident_id("220000")}
    persons = {"p510": "A510", "p210": "A210", "both": "ABOTH", "p220": "A220"}
    facts = [
        _employee("A510", numbers["p510"], "510500"),
        _employee("A210", numbers["p210"], "210200"),
        _resident("ABOTH", numbers["both"], ["510500", "210200"]),
        _employee("A220", numbers["p220"], "220000"),
    ]
    with service.sessions() as session, session.begin():
        for f in facts:
            repo.add_facts(session, f, by="test-seed")
    clock = Clock()
    app = create_app(service, password_hasher=FAST_HASHER, clock=clock)
    client = TestClient(app, raise_server_exceptions=False)
    access = app.state.yibao.access
    tokens = {}
    for username, (role, regions) in USERS.items():
        access.create_user(username=username, password=PASSWORD, role=role, regions=regions, by="test-seed")
        r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        tokens[username] = r.json()["access_token"]
    relations = {"p510": {"510500": "E1"}, "p210": {"210200": "E1"}, "both": {"510500": "R1", "210200": "R2"}, "p220": {"220000": "E1"}}
    return World(backend, url, service, client, clock, tokens, persons, numbers, relations)


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = build_world(request.param, database_url(request.param, request, tmp_path_factory))
    try:
        yield w
    finally:
        w.client.close()
        w.service.engine.dispose()
