"""Recording a person's places over HTTP (SQLite and PostgreSQL): POST /persons/{psn_no}/places, the
refusals (each writes nothing, with its status, code and field), the places in the person's GET, and
the worklist scan resolving a resident pair by the recorded habitual residence (R-DUP-003). Region
isolation of the route is in test_api_regions.py."""

from __future__ import annotations

from datetime import date, timedelta

from yibao.service.duplicates import DuplicatesService
from yibao.store import repository as repo

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
