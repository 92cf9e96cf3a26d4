"""Readers that query ``person`` rows in SQL show and search the attributes as corrected
(``person_correction``, 更正人员基本信息), on SQLite and PostgreSQL: the persons list, the console's
name search, the importer's re-run check, all through ``repository.current_person``, which gives
what ``person_values`` / ``load_facts`` give for "now"."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from web.conftest import client_for, csrf_of

from yibao.codes import CertType
from yibao.ids import validate_document
from yibao.importer import Importer
from yibao.model import IdentityDocument, PersonFacts
from yibao.store import repository as repo
from yibao.store.models import PersonRow
from yibao.store.types import SHANGHAI
from yibao.web import queries

from .conftest import World, resident_id

V1 = "/api/v1"
_n = itertools.count(1)


def _register(world: World, name: str, region: str = "510500") -> tuple[str, str]:
    """A person registered through the API under ``name``: (psn_no, ID number)."""
    number = resident_id(region)
    r = world.call("admin", "POST", f"{V1}/persons", json={"documents": [{"cert_type": "01", "number": number}], "name": name, "region": region})
    assert r.status_code == 201, r.text
    return r.json()["psn_no"], number


def _correct(world: World, psn_no: str, **body) -> None:
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/corrections", json={"reason": "户籍信息更正", **body})
    assert r.status_code == 200, r.text


def _listed(world: World, who: str, psn_no: str) -> dict:
    page = 1
    while True:
        r = world.call(who, "GET", f"{V1}/persons", params={"region": "510500", "page": page, "page_size": 200})
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert items, f"{psn_no} not listed"
        for item in items:
            if item["psn_no"] == psn_no:
                return item
        page += 1


def test_the_persons_list_shows_the_corrected_attributes(world: World) -> None:
    psn, number = _register(world, f"原名{world.backend}")
    born = validate_document("01", number).birth_date
    assert _listed(world, "clerk510", psn)["name"] == f"原名{world.backend}"
    _correct(world, psn, name="刘洋")
    assert _listed(world, "clerk510", psn)["name"] == "刘洋"
    later = (born + timedelta(days=2)).isoformat()
    _correct(world, psn, name="刘阳", birth_date=later, override_reason="公安机关出具的出生日期更正证明")  # a correction of a correction
    shown = _listed(world, "auditor510", psn)
    assert (shown["name"], shown["birth_date"]) == ("刘阳", later)
    assert world.call("clerk510", "GET", f"{V1}/persons/{psn}").json()["name"] == "刘阳"  # the same as the person's own page


def test_the_console_name_search_finds_the_corrected_name(world: World) -> None:
    old, new = f"欧阳旧名{world.backend}", f"欧阳新名{world.backend}"
    psn, _ = _register(world, old)
    _correct(world, psn, name=new)
    with world.service.sessions() as session:
        found, more = queries.persons_by_name(session, new, ["510500"])
        assert [(f.psn_no, f.name) for f in found] == [(psn, new)] and not more
        assert queries.persons_by_name(session, "新名" + world.backend, None)[0][0].psn_no == psn  # part of the name, every region
        assert queries.persons_by_name(session, old, ["510500"])[0] == []  # the name corrected away (docs/decisions.md)
        assert queries.persons_by_name(session, new, ["210200"])[0] == []  # the region rule still holds
    c = client_for(world.client.app, "clerk510")
    try:
        html = c.post("/search", data={"csrf": csrf_of(c.get("/").text), "name": new}).text
        assert f"/persons/{psn}" in html and new in html
        html = c.post("/search", data={"csrf": csrf_of(c.get("/").text), "name": old}).text
        assert f"/persons/{psn}" not in html
    finally:
        c.close()


def test_current_person_is_what_person_values_gives(world: World) -> None:
    """The SQL helper against the Python one, with corrections recorded out of order, at the same
    instant, and a sex and birth date corrected to unknown (a correction carries every value)."""
    t0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    cases = {
        "none": [],
        "one": [({"name": "甲"}, t0)],
        "earlier_later_row": [({"name": "乙一"}, t0 + timedelta(hours=5)), ({"name": "乙二"}, t0)],  # the later row was recorded earlier
        "same_instant": [({"name": "丙一"}, t0), ({"name": "丙二"}, t0)],
        "to_unknown": [({"sex": None, "birth_date": None}, t0)],
    }
    made = {}
    with world.service.sessions() as session, session.begin():
        for label, corrections in cases.items():
            psn = f"CUR{world.backend[:2].upper()}{next(_n)}"
            number = resident_id("510500")
            facts = PersonFacts(psn, "原", date(1990, 1, 2), "F", (IdentityDocument(CertType.RESIDENT_ID, number),))
            repo.add_facts(session, facts, by="test-seed")
            for changes, at in corrections:
                repo.correct_person(session, psn, changes, reason="r", by="test", at=at)
            made[label] = psn
    cur = repo.current_person()
    with world.service.sessions() as session:
        rows = {r.psn_no: r for r in session.execute(
            select(PersonRow.psn_no, cur.name, cur.sex, cur.birth_date).select_from(cur.source).where(PersonRow.psn_no.in_(list(made.values())))
        )}
        assert len(rows) == len(made)  # one row per person, however many corrections
        for label, psn in made.items():
            expected = repo.person_values(session, session.get(PersonRow, psn))
            assert {"name": rows[psn].name, "sex": rows[psn].sex, "birth_date": rows[psn].birth_date} == expected, label
    assert rows[made["earlier_later_row"]].name == "乙一" and rows[made["same_instant"]].name == "丙二"
    assert (rows[made["to_unknown"]].sex, rows[made["to_unknown"]].birth_date) == (None, None)


def _persons_file(path: Path, psn_no: str, number: str, **values: str) -> Path:
    columns = ["psn_no", "cert_type", "number", *values]
    path.write_text(",".join(columns) + "\n" + ",".join([psn_no, "01", number, *values.values()]) + "\n", encoding="utf-8")
    return path


def test_an_import_rerun_compares_with_the_corrected_values(world: World, tmp_path: Path) -> None:
    """A re-run of the file as imported, or a later extract that has the correction: nothing to do;
    a third name is a conflict that names the current (corrected) value."""
    psn = f"IMP{world.backend[:2].upper()}{next(_n)}"
    number = resident_id("510500")
    born = validate_document("01", number).birth_date
    day = world.service.today()
    importer = lambda: Importer(world.service.sessions, clock=lambda: datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI))
    first = _persons_file(tmp_path / "first.csv", psn, number, name="原名", sex="M")
    result = importer().run([first], report=tmp_path / "errors.csv")
    assert (result.imported, result.errors) == (1, [])
    d = world.service.correct_person(psn, by="clerk", reason="姓名错字", name="新名")
    assert d.value.changed == {"name": {"before": "原名", "after": "新名"}}

    again = importer().run([first], report=tmp_path / "errors.csv")  # the file as it was imported
    assert (again.imported, again.skipped, again.errors) == (0, 1, [])
    corrected = _persons_file(tmp_path / "corrected.csv", psn, number, name="新名", sex="M", birth_date=born.isoformat())
    again = importer().run([corrected], report=tmp_path / "errors.csv")  # the source system has the correction too
    assert (again.imported, again.skipped, again.errors) == (0, 1, [])
    third = _persons_file(tmp_path / "third.csv", psn, number, name="第三名")
    again = importer().run([third], report=tmp_path / "errors.csv")
    conflicts = [e for e in again.errors if e.code == "IMPORT_CONFLICT"]
    assert [(e.field, "新名" in e.message_zh, "原名" in e.message_zh) for e in conflicts] == [("name", True, False)], again.errors
    with world.service.sessions() as session:
        assert repo.load_facts(session, psn).name == "新名"  # nothing written by the re-runs
        assert len(session.scalars(select(PersonRow).where(PersonRow.psn_no == psn)).all()) == 1
