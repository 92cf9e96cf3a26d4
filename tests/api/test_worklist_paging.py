"""The duplicate worklist paged in SQL (重复参保核查工作清单), on SQLite and PostgreSQL: the state
filter, the region rule (a case is seen by the regions of its relations), the ``region`` filter,
the order and the page are the database's, and give exactly what the former Python filtering gave;
a page never holds a case its reader may not see; a listing costs the same few statements for 5
cases as for 50. The console's worklist pages the same way.

The cases are written as rows (what a scan records), with relations in chosen regions, so that the
expected totals are known; ids like ``A_1`` / ``AX1`` and ``R1`` / ``R10`` check that a case's
relations are matched exactly, not as a pattern or a prefix.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from web.conftest import client_for

from yibao.api.duplicate_access import count_cases, list_cases, scoped, visible
from yibao.api.security import Principal
from yibao.codes import CertType, InsuType, PsnType
from yibao.model import Enrollment, IdentityDocument, PersonFacts
from yibao.service.duplicates import DuplicatesService
from yibao.store import repository as repo
from yibao.store.worklist_models import (
    DuplicateActionRow,
    DuplicateCaseEventRow,
    DuplicateCaseRow,
)
from yibao.web import duplicates as web_duplicates

from .conftest import PASSWORD, World, resident_id

V1 = "/api/v1"
STATES = (None, "OPEN", "CONFIRMED", "DISMISSED", "SUPERSEDED")
READERS = {  # who -> regions served (None: all), as in conftest.USERS plus a two-region clerk
    "admin": None, "auditor": None, "clerk510": {"510500"}, "clerk210": {"210200"}, "auditor510": {"510500"},
    "clerk_two": {"210200", "220000"},
}
_n = itertools.count(1)


def _person(world: World, relations: dict[str, str], region_of_id: str = "510500") -> str:
    """A person with relations ``{relation_id: region}`` (no money: the rows a case points at)."""
    psn_no = f"WLP{world.backend[:2].upper()}{next(_n)}"
    rels = tuple(Enrollment(rid, InsuType.RESIDENT_BASIC, region, PsnType.ADULT_RESIDENT, date(2025, 1, 1)) for rid, region in relations.items())
    facts = PersonFacts(psn_no, "王芳", None, None, (IdentityDocument(CertType.RESIDENT_ID, resident_id(region_of_id)),), enrollments=rels)
    with world.service.sessions() as session, session.begin():
        repo.add_facts(session, facts, by="test-seed")
    return psn_no


def _case(world: World, psn_no: str, relation_ids: list[str], state: str = "OPEN", *, acting: str | None = None, actions: int = 0) -> str:
    """A case as a scan records it (and its event and actions, as deciding records them)."""
    case_no = f"DUPT{world.backend[:2].upper()}{next(_n):08d}"
    at = world.service.clock()
    changes = [{"relation_id": relation_ids[-1], "region": acting}] if acting else []
    with world.service.sessions() as session, session.begin():
        row = DuplicateCaseRow(
            case_no=case_no, psn_no=psn_no, relation_ids=",".join(sorted(relation_ids)), fingerprint=case_no[-16:], kind="RESIDENT_RESIDENT",
            outcome="RESOLVED" if acting else "MANUAL_REVIEW", rule="R-DUP-003", detected_on=date(2026, 3, 1),
            proposal=json.dumps({"value": {"changes": changes}, "reasons": []}), recorded_at=at, recorded_by="test-seed",
        )
        session.add(row)
        session.flush()
        if state != "OPEN":
            session.add(DuplicateCaseEventRow(case_id=row.id, psn_no=psn_no, state=state, reason="测试", recorded_at=at, recorded_by="test-seed"))
        for i in range(actions):
            session.add(DuplicateActionRow(
                case_id=row.id, psn_no=psn_no, action="REGION_NOTICE", relation_id=relation_ids[-1], region=acting or "510500",
                effective=date(2026, 3, 1), detail=json.dumps({"n": i}), recorded_at=at, recorded_by="test-seed",
            ))
    return case_no


@pytest.fixture(scope="module")
def seeded(world: World) -> dict[str, dict[str, set[str]]]:
    """The worklist of this module: cases by label, and who may see them (by construction)."""
    app = world.client.app
    app.state.yibao.access.create_user(username="clerk_two", password=PASSWORD, role="clerk", regions=["210200", "220000"], by="test-seed")
    r = world.client.post(f"{V1}/auth/token", json={"username": "clerk_two", "password": PASSWORD})
    assert r.status_code == 200, r.text
    world.tokens["clerk_two"] = r.json()["access_token"]
    by_region: dict[str, set[str]] = {g: set() for g in ("510500", "210200", "220000")}
    by_state: dict[str, set[str]] = {s: set() for s in STATES if s}
    states = itertools.cycle(("OPEN", "CONFIRMED", "OPEN", "DISMISSED", "SUPERSEDED", "CONFIRMED"))  # 6 × 5 pairs: every mix
    pairs = [("510500", "510500"), ("510500", "210200"), ("210200", "220000"), ("220000", "220000"), ("210200", "210200")]
    for i in range(30):
        a, b = pairs[i % len(pairs)]
        psn = _person(world, {"R1": a, "R2": b, "R3": "220000"})
        state = next(states)
        case_no = _case(world, psn, ["R1", "R2"], state, acting=b if i % 3 else None, actions=2 if state == "CONFIRMED" else 0)
        by_state[state].add(case_no)
        for g in {a, b}:
            by_region[g].add(case_no)
    # relation ids that a LIKE pattern ('_') or a prefix would confuse: the case is about AX1 and B only
    tricky = _person(world, {"A_1": "510500", "AX1": "220000", "B": "210200"})
    no = _case(world, tricky, ["AX1", "B"])
    by_state["OPEN"].add(no)
    by_region["220000"].add(no), by_region["210200"].add(no)
    prefix = _person(world, {"R1": "510500", "R10": "210200", "R2": "220000"})
    no = _case(world, prefix, ["R10", "R2"], "DISMISSED")
    by_state["DISMISSED"].add(no)
    by_region["210200"].add(no), by_region["220000"].add(no)
    return {"region": by_region, "state": by_state}


def _principal(who: str) -> Principal:
    regions = READERS[who]
    return Principal(who, "user", "administrator" if regions is None else "clerk", None if regions is None else frozenset(regions), 0)


def _old_listing(world: World, who: str, state: str | None, region: str | None) -> list[str]:
    """What the worklist listed before: every case one by one, its regions, filtered in Python."""
    service = DuplicatesService(world.service)
    with world.service.sessions() as session:
        numbers = session.scalars(select(DuplicateCaseRow.case_no).order_by(DuplicateCaseRow.id)).all()
    views = [service.case(n) for n in numbers]
    with world.service.sessions() as session:
        cases = scoped(session, views)
    principal = _principal(who)
    return [
        c.view.case_no for c in cases
        if visible(principal, c) and (region is None or region in c.all_regions) and (state is None or c.view.state == state)
    ]


def _all_pages(world: World, who: str, page_size: int, **params: str) -> tuple[list[dict], list[int]]:
    items, totals, page = [], [], 1
    while True:
        r = world.call(who, "GET", f"{V1}/duplicates", params={**params, "page": page, "page_size": page_size})
        assert r.status_code == 200, r.text
        body = r.json()
        totals.append(body["total"])
        if not body["items"]:
            return items, totals
        assert len(body["items"]) <= page_size
        items += body["items"]
        page += 1


def test_pages_give_what_the_python_filter_gave(world: World, seeded) -> None:
    for who, regions in READERS.items():
        for state in STATES:
            for region in (None, *sorted(regions or ())):
                params = {k: v for k, v in (("state", state), ("region", region)) if v}
                items, totals = _all_pages(world, who, 7, **params)
                expected = _old_listing(world, who, state, region)
                assert [c["case_no"] for c in items] == expected, (who, state, region)
                assert set(totals) == {len(expected)}, (who, state, region)
                assert count_cases(DuplicatesService(world.service), _principal(who), state=state, region=region) == len(expected)


def test_paging_totals_by_construction(world: World, seeded) -> None:
    """The totals follow from how the cases were made (not from any listing code)."""
    mine = lambda who, **p: {c["case_no"] for c in _all_pages(world, who, 5, **p)[0]}
    for who, regions in (("clerk510", {"510500"}), ("clerk210", {"210200"}), ("clerk_two", {"210200", "220000"})):
        seen = set().union(*(seeded["region"][g] for g in regions))
        assert mine(who) & _seeded(seeded) == seen
        for state, cases in seeded["state"].items():
            assert mine(who, state=state) & _seeded(seeded) == seen & cases, (who, state)
        for g in regions:
            assert mine(who, region=g) & _seeded(seeded) == seeded["region"][g]
    r = world.call("clerk510", "GET", f"{V1}/duplicates", params={"state": "CONFIRMED", "page_size": 2, "page": 1}).json()
    assert r["total"] == len(seeded["region"]["510500"] & seeded["state"]["CONFIRMED"]) and len(r["items"]) == 2
    far = world.call("clerk510", "GET", f"{V1}/duplicates", params={"page_size": 200, "page": 50}).json()
    assert far["items"] == [] and far["total"] == len(seeded["region"]["510500"])


def _seeded(seeded) -> set[str]:
    return set().union(*seeded["state"].values())


def test_a_page_never_holds_a_case_the_clerk_may_not_see(world: World, seeded) -> None:
    for who in ("clerk510", "clerk210", "auditor510", "clerk_two"):
        served = READERS[who]
        for state in STATES:
            items, _ = _all_pages(world, who, 4, **({"state": state} if state else {}))
            for c in items:
                assert set(c["regions"]) & served, (who, c)
                assert world.call(who, "GET", f"{V1}/duplicates/{c['case_no']}").status_code == 200
    listed = {c["case_no"] for c in _all_pages(world, "clerk510", 50)[0]}
    assert not listed & (seeded["region"]["210200"] | seeded["region"]["220000"]) - seeded["region"]["510500"]


def test_a_confirmed_case_on_a_page_carries_its_actions(world: World, seeded) -> None:
    service = DuplicatesService(world.service)
    views, total = service.page(state="CONFIRMED", offset=1, limit=3)
    assert total >= 4 and len(views) == 3
    assert all(v.state == "CONFIRMED" and [a["detail"] for a in v.actions] == [{"n": 0}, {"n": 1}] for v in views)
    assert [v.case_no for v in views] == [v.case_no for v in service.cases(state="CONFIRMED")[1:4]]


def test_a_case_has_one_state_event(world: World, seeded) -> None:
    """The state is the case's event (the latest by id; the database keeps at most one per case)."""
    service = DuplicatesService(world.service)
    [case] = service.page(state="DISMISSED", limit=1)[0]
    with world.service.sessions() as session, session.begin():
        row = session.scalar(select(DuplicateCaseRow).where(DuplicateCaseRow.case_no == case.case_no))
        session.add(DuplicateCaseEventRow(case_id=row.id, psn_no=row.psn_no, state="SUPERSEDED", reason="x",
                                          recorded_at=world.service.clock(), recorded_by="test"))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
    assert service.case(case.case_no).state == "DISMISSED"


@contextmanager
def _statements(world: World) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE per session
            seen.append(statement)

    event.listen(world.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(world.engine, "before_cursor_execute", count)


def test_a_listing_costs_the_same_statements_for_5_cases_as_for_50(world: World, seeded) -> None:
    world.client.app.state.yibao.access.create_user(username="clerk140", password=PASSWORD, role="clerk", regions=["140200"], by="test-seed")
    token = world.client.post(f"{V1}/auth/token", json={"username": "clerk140", "password": PASSWORD}).json()["access_token"]
    world.tokens["clerk140"] = token
    service, clerk = DuplicatesService(world.service), Principal("clerk140", "user", "clerk", frozenset({"140200"}), 0)
    counted = []
    for size in (5, 50):
        while count_cases(service, clerk, state=None, region=None) < size:
            psn = _person(world, {"R1": "140200", "R2": "140200"}, "140200")
            _case(world, psn, ["R1", "R2"], "CONFIRMED", acting="140200", actions=3)
        with _statements(world) as direct:
            page, total = list_cases(service, clerk, state=None, region=None, offset=0, limit=50)
        assert (len(page), total) == (size, size) and all(len(c.view.actions) == 3 for c in page)
        with _statements(world) as http:
            r = world.call("clerk140", "GET", f"{V1}/duplicates", params={"page_size": 50})
        assert r.status_code == 200 and len(r.json()["items"]) == size
        counted.append((len(direct), len(http)))
    assert counted[0] == counted[1], counted
    assert counted[0][0] == 4, (counted, direct)  # count, page, actions, relation regions


def test_the_console_worklist_pages_in_the_database(world: World, seeded, monkeypatch) -> None:
    monkeypatch.setattr(web_duplicates, "PAGE_SIZE", 4)
    c = client_for(world.client.app, "clerk510")
    expected = _old_listing(world, "clerk510", None, None)
    shown: list[str] = []
    pages = -(-len(expected) // 4)
    for page_no in range(1, pages + 1):
        html = c.get("/duplicates", params={"state": "", "page_no": page_no}).text
        assert f"{page_no} / {pages}" in html and f"共 {len(expected)} 件" in html
        rows = [n for n in expected if f"/duplicates/{n}\"" in html]
        assert 1 <= len(rows) <= 4
        shown += rows
    assert shown == expected
    html = c.get("/duplicates", params={"state": "CONFIRMED"}).text
    confirmed = _old_listing(world, "clerk510", "CONFIRMED", None)
    assert [n for n in expected if f"/duplicates/{n}\"" in html] == confirmed[:4]
    first = DuplicatesService(world.service).case(expected[0]).psn_no  # the page names the person as corrected
    world.service.correct_person(first, by="clerk", reason="姓名错字", name=f"更正后{world.backend}")
    assert f"更正后{world.backend}" in c.get("/duplicates", params={"state": "", "page_no": 1}).text
    c.close()
