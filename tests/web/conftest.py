"""The console over a real database: a few hand-made persons in known regions, users of every role,
and a logged-in TestClient per user (through the login form, as a browser would).

``world`` runs on SQLite and on the real PostgreSQL of ``tests/conftest.py`` (skipped without the
binaries locally, a failure under CI), like the API suite.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from api.conftest import (
    FAST_HASHER,
    PASSWORD,
    _employee,
    _resident,
    database_url,
    resident_id,
)

from yibao.api import create_app
from yibao.codes import CertType, ContributionKind, InsuType, PsnType
from yibao.dates import YearMonth, month_range
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

USERS = {
    "admin": ("administrator", []),
    "clerk510": ("clerk", ["510500"]),
    "clerk210": ("clerk", ["210200"]),
    "auditor": ("auditor", ["*"]),
}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def flexible_with_gap(psn_no: str, number: str, region: str, today: date, unpaid: int = 4) -> PersonFacts:
    """A flexible worker (1103) who paid from 2024-01 and left the ``unpaid`` months before today's month unpaid."""
    start = YearMonth(2024, 1)
    last_paid = YearMonth.of(today) - (unpaid + 1)
    lines = tuple(
        ContributionLine("F1", ContributionKind.REGULAR, PayerType.INDIVIDUAL, m.first_day() + timedelta(days=9), Decimal("500.00"), month=m)
        for m in month_range(start, last_paid)
    )
    rel = Enrollment("F1", InsuType.EMPLOYEE_BASIC, region, PsnType.FLEXIBLE_IN_SERVICE, start.first_day(), wages=(DeclaredWage(start, Decimal(5000)),))
    return PersonFacts(psn_no, "赵敏", None, None, (IdentityDocument(CertType.RESIDENT_ID, number),), enrollments=(rel,), contributions=lines)


def seed(service: RecordsService) -> tuple[dict[str, str], dict[str, str]]:
    """The hand-made persons: label -> psn_no and label -> resident ID number."""
    numbers = {k: resident_id(r) for k, r in (("p510", "510500"), ("p210", "210200"), ("both", "510500"), ("gap", "510500"), ("new", "510500"), ("back", "510500"))}
    facts = [
        _employee("A510", numbers["p510"], "510500"),
        _employee("A210", numbers["p210"], "210200"),
        _resident("ABOTH", numbers["both"], ["510500", "210200"]),
        flexible_with_gap("AGAP", numbers["gap"], "510500", service.today()),
        PersonFacts("ANEW", "陈新", None, None, (IdentityDocument(CertType.RESIDENT_ID, numbers["new"]),)),
        replace(flexible_with_gap("ABACK", numbers["back"], "510500", service.today(), unpaid=2), name="孙悦"),
    ]
    with service.sessions() as session, session.begin():
        for f in facts:
            repo.add_facts(session, f, by="test-seed")
    with service.sessions() as session, session.begin():  # a person without relations belongs to its home region
        from yibao.store.auth_models import PersonHomeRow

        session.add(PersonHomeRow(psn_no="ANEW", region="510500", recorded_at=service.clock(), recorded_by="test-seed"))
    return {"p510": "A510", "p210": "A210", "both": "ABOTH", "gap": "AGAP", "new": "ANEW", "back": "ABACK"}, numbers


def make_app(service: RecordsService):
    app = create_app(service, password_hasher=FAST_HASHER)
    access = app.state.yibao.access
    for username, (role, regions) in USERS.items():
        access.create_user(username=username, password=PASSWORD, role=role, regions=regions, by="test-seed")
    return app


def client_for(app, username: str | None) -> TestClient:
    """A browser-like client, logged in through the form as ``username`` (None: anonymous)."""
    c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    if username is None:
        return c
    r = c.get("/login")
    token = CSRF.search(r.text).group(1)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": token, "next": "/"})
    assert r.status_code == 303, r.text
    return c


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF field on the page"
    return m.group(1)


@dataclass
class WebWorld:
    backend: str
    service: RecordsService
    app: object
    persons: dict[str, str]
    numbers: dict[str, str]
    clients: dict[str, TestClient] = field(default_factory=dict)

    def client(self, who: str) -> TestClient:
        if who not in self.clients:
            self.clients[who] = client_for(self.app, who)
        return self.clients[who]

    def csrf(self, who: str) -> str:
        return csrf_of(self.client(who).get("/").text)


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebWorld]:
    url = database_url(request.param, request, tmp_path_factory)
    service = RecordsService.open(url)
    persons, numbers = seed(service)
    w = WebWorld(request.param, service, make_app(service), persons, numbers)
    try:
        yield w
    finally:
        for c in w.clients.values():
            c.close()
        service.engine.dispose()


_fresh = iter(range(1, 10_000))


def fresh_person(w: WebWorld, kind: str = "bare", region: str = "510500") -> tuple[str, str]:
    """A person of this test only: (psn_no, ID number). ``bare``: no relation (home ``region``);
    ``gap``: a flexible worker who stopped paying; ``employee``: a steady employee."""
    n = next(_fresh)
    psn_no = f"T{w.backend[:2].upper()}{n:05d}"
    number = resident_id(region)
    facts = {
        "bare": lambda: PersonFacts(psn_no, "测试人", None, None, (IdentityDocument(CertType.RESIDENT_ID, number),)),
        "gap": lambda: flexible_with_gap(psn_no, number, region, w.service.today()),
        "employee": lambda: _employee(psn_no, number, region),
        "resident": lambda: _resident(psn_no, number, [region]),  # relation R1, benefit years 2023–2026 paid
    }[kind]()
    with w.service.sessions() as session, session.begin():
        repo.add_facts(session, facts, by="test-seed")
        if kind == "bare":
            from yibao.store.auth_models import PersonHomeRow

            session.add(PersonHomeRow(psn_no=psn_no, region=region, recorded_at=w.service.clock(), recorded_by="test-seed"))
    return psn_no, number


def snapshot(service: RecordsService) -> dict[str, list[tuple]]:
    """Every row of every fact table (the login tables change on every login, so they are left out)."""
    from sqlalchemy import select

    from yibao.store.models import Base

    with service.engine.connect() as conn:
        return {
            name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
            for name, t in Base.metadata.tables.items()
            if name not in ("api_token", "api_user")
        }
