"""Recording a person's places over HTTP (SQLite and PostgreSQL): POST /persons/{psn_no}/places, the
refusals (each writes nothing, with its status, code and field), the places in the person's GET, and
the worklist scan resolving a resident pair by the recorded habitual residence (R-DUP-003). Region
isolation of the route is in test_api_regions.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from yibao.service.duplicates import DuplicatesService
from yibao.store import repository as repo
from yibao.store.models import AuditRow
from yibao.store.place_models import PlaceRow

from .conftest import World, _resident, resident_id

V1 = "/api/v1"


def test_record_a_place_and_read_it_with_the_person(world: World):
    psn, _, _ = world.new_person("510500", who="clerk510", start="2026-01-01")
    url = f"{V1}/persons/{psn}/places"
    r = world.call("clerk510", "POST", url, json={"kind": "HABITUAL_RESIDENCE", "region": "510502", "valid_from": "2025-06-01",
                                                  "note": "居住证 510502-001"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["kind"], out["region"], out["valid_from"], out["note"], out["recorded_by"]) == (
        "HABITUAL_RESIDENCE", "510502", "2025-06-01", "居住证 510502-001", "user:clerk510")
    r = world.call("clerk510", "POST", url, json={"kind": "STUDY", "region": "110108", "valid_from": "2024-09-01", "student_cause": "SCHOOL_ENTRY"})
    assert r.status_code == 201, r.text
    person = world.call("auditor", "GET", f"{V1}/persons/{psn}").json()
    assert [(p["kind"], p["region"], p["student_cause"]) for p in person["places"]] == [
        ("HABITUAL_RESIDENCE", "510502", None), ("STUDY", "110108", "SCHOOL_ENTRY")]


def test_refusals_write_nothing(world: World):
    psn, _, _ = world.new_person("510500", who="clerk510", start="2026-01-01")
    url = f"{V1}/persons/{psn}/places"
    ok = {"kind": "EMPLOYMENT", "region": "510500", "valid_from": "2026-01-01"}
    assert world.call("clerk510", "POST", url, json=ok).status_code == 201
    tomorrow = (world.service.today() + timedelta(days=1)).isoformat()
    for body, status, code, field in [
        ({**ok, "kind": "HOME"}, 400, "REQUEST_INVALID", None),
        ({**ok, "region": "5105"}, 400, "PLACE_REGION", "region"),
        ({**ok, "region": "990100"}, 400, "PLACE_REGION", "region"),
        ({**ok, "valid_from": tomorrow}, 400, "PLACE_FUTURE", "valid_from"),
        ({**ok, "student_cause": "JOB"}, 400, "PLACE_CAUSE", "student_cause"),
        ({**ok, "extra": 1}, 400, "REQUEST_INVALID", None),
        (ok, 409, "PLACE_ALREADY_RECORDED", "region"),
    ]:
        with world.unchanged():
            r = world.call("clerk510", "POST", url, json=body)
        assert r.status_code == status and r.json()["error"]["code"] == code, (body, r.text)
        error = r.json()["error"]
        assert error["message_zh"] and error["message_en"]
        if field is not None:
            assert error["field"] == field
    with world.unchanged():  # writes need a clerk or an administrator
        r = world.call("auditor", "POST", url, json={**ok, "region": "510502"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "ROLE_FORBIDDEN"
    with world.unchanged():
        r = world.call("admin", "POST", f"{V1}/persons/NOBODY/places", json=ok)
    assert r.status_code == 404 and r.json()["error"]["code"] == "PERSON_NOT_FOUND"


def test_the_worklist_scan_resolves_by_the_recorded_habitual_residence(world: World):
    psn = f"PLC{world.backend[:2].upper()}"
    with world.service.sessions() as session, session.begin():
        repo.add_facts(session, _resident(psn, resident_id("510500"), ["510500", "210200"]), by="test-seed")
    dup = DuplicatesService(world.service)
    [manual] = dup.scan(by="test", psn_nos=[psn]).new
    assert dup.case(manual).outcome == "MANUAL_REVIEW"
    r = world.call("clerk210", "POST", f"{V1}/persons/{psn}/places",
                   json={"kind": "HABITUAL_RESIDENCE", "region": "210200", "valid_from": (date(2022, 1, 1)).isoformat()})
    assert r.status_code == 201, r.text
    r = world.call("clerk210", "POST", f"{V1}/duplicates/scan", json={"region": "210200"})
    assert r.status_code == 200, r.text
    [case] = [c for c in dup.cases(psn_no=psn) if c.state == "OPEN"]
    assert (case.outcome, case.rule, case.proposal["value"]["kept"]) == ("RESOLVED", "R-DUP-003", "R2")
    assert dup.case(manual).state == "SUPERSEDED"


# ------------------------------------------------------------------ listing and withdrawing (issue 4, console + API)


def test_list_places_and_withdraw_one_with_a_reason(world: World):
    psn, _, _ = world.new_person("510500", who="clerk510", start="2026-01-01")
    url = f"{V1}/persons/{psn}/places"
    at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # recorded on 2026-01-05 (Asia/Shanghai), before today
    with world.service.sessions() as session, session.begin():
        old = repo.add_place(session, psn, kind="EMPLOYMENT", region="510502", valid_from=date(2026, 1, 1), by="test-seed", at=at).id
    r = world.call("clerk510", "POST", url, json={"kind": "STUDY", "region": "110108", "valid_from": "2024-09-01"})
    assert r.status_code == 201, r.text
    study = r.json()["place_id"]
    listed = world.call("auditor", "GET", url)
    assert listed.status_code == 200, listed.text
    assert [(p["place_id"], p["kind"], p["region"]) for p in listed.json()] == [(old, "EMPLOYMENT", "510502"), (study, "STUDY", "110108")]

    r = world.call("clerk510", "POST", f"{url}/{old}/withdraw", json={"reason": "劳动合同登记有误"})
    assert r.status_code == 200, r.text
    assert r.json() == {"psn_no": psn, "table": "person_place", "row_id": old, "replacement_id": None}
    assert [p["place_id"] for p in world.call("clerk510", "GET", url).json()] == [study]
    assert [p["place_id"] for p in world.call("auditor", "GET", f"{V1}/persons/{psn}").json()["places"]] == [study]
    # as known on an earlier day: the withdrawn place was there, the one recorded today was not
    r = world.call("clerk510", "GET", url, params={"as_known_on": (world.service.today() - timedelta(days=1)).isoformat()})
    assert r.status_code == 200 and [p["place_id"] for p in r.json()] == [old], r.text
    with world.engine.connect() as conn:
        row = conn.execute(select(PlaceRow).where(PlaceRow.id == old)).one()  # kept, marked: nothing is deleted
        audit = conn.execute(select(AuditRow).where(AuditRow.table_name == "person_place", AuditRow.row_id == old,
                                                    AuditRow.action == "SUPERSEDE")).one()
    assert row.superseded_at is not None and row.superseded_by_id is None
    assert (audit.psn_no, audit.reason, audit.recorded_by, audit.replacement_id) == (psn, "劳动合同登记有误", "user:clerk510", None)


def test_withdraw_refusals_write_nothing(world: World):
    psn, _, _ = world.new_person("510500", who="clerk510", start="2026-01-01")
    other, _, _ = world.new_person("510500", who="clerk510", start="2026-01-01")
    url = f"{V1}/persons/{psn}/places"
    place = world.call("clerk510", "POST", url, json={"kind": "EMPLOYMENT", "region": "510500", "valid_from": "2026-01-01"}).json()["place_id"]
    for who, path, body, status, code, field in [
        ("clerk510", f"{url}/{place}/withdraw", {}, 400, "REQUEST_INVALID", None),
        ("clerk510", f"{url}/{place}/withdraw", {"reason": ""}, 400, "REQUEST_INVALID", None),
        ("clerk510", f"{url}/{place}/withdraw", {"reason": "r", "extra": 1}, 400, "REQUEST_INVALID", None),
        ("clerk510", f"{url}/0/withdraw", {"reason": "r"}, 400, "REQUEST_INVALID", None),
        ("clerk510", f"{url}/{place + 1000}/withdraw", {"reason": "r"}, 404, "PLACE_NOT_FOUND", "place_id"),
        ("clerk510", f"{V1}/persons/{other}/places/{place}/withdraw", {"reason": "r"}, 404, "PLACE_NOT_FOUND", "place_id"),
        ("auditor", f"{url}/{place}/withdraw", {"reason": "r"}, 403, "ROLE_FORBIDDEN", None),
        ("admin", f"{V1}/persons/NOBODY/places/{place}/withdraw", {"reason": "r"}, 404, "PERSON_NOT_FOUND", None),
    ]:
        with world.unchanged():
            r = world.call(who, "POST", path, json=body)
        assert r.status_code == status and r.json()["error"]["code"] == code, (path, body, r.text)
        error = r.json()["error"]
        assert error["message_zh"] and error["message_en"]
        if field is not None:
            assert error["field"] == field
    assert world.call("clerk510", "POST", f"{url}/{place}/withdraw", json={"reason": "登记有误"}).status_code == 200
    with world.unchanged():  # a place withdrawn is not withdrawn twice
        r = world.call("clerk510", "POST", f"{url}/{place}/withdraw", json={"reason": "再次撤销"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "PLACE_NOT_FOUND"
    for params in ({"as_known_on": "2026-13-01"}, {"as_known_on": "1899-12-31"}):
        r = world.call("clerk510", "GET", url, params=params)
        assert r.status_code == 400 and r.json()["error"]["code"] == "REQUEST_INVALID", r.text
    r = world.call("admin", "GET", f"{V1}/persons/NOBODY/places")
    assert r.status_code == 404 and r.json()["error"]["code"] == "PERSON_NOT_FOUND"
