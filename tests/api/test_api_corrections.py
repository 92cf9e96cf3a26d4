"""Corrections of a relation's columns and of a person's attributes over HTTP (SQLite and PostgreSQL):
the happy paths, the refusals (each writes nothing, with its status code), the region rule of a
relation correction, and the person as known before the correction. Region isolation of both routes
is also in test_api_regions.py."""

from __future__ import annotations

from datetime import date, timedelta

from yibao.ids import validate_document

from .conftest import World

V1 = "/api/v1"


def test_a_relation_correction_over_http(world: World):
    psn, rid, _ = world.new_person("510500", who="clerk510", start="2026-01-01")
    url = f"{V1}/persons/{psn}/relations/{rid}/corrections"
    for body, status, code, field in [
        ({"reason": "r"}, 400, "REQUEST_INVALID", None),  # nothing to correct
        ({"start": None, "reason": "r"}, 400, "REQUEST_INVALID", None),
        ({"end": "2026-06-30"}, 400, "REQUEST_INVALID", None),  # no reason
        ({"region": "210200", "reason": "r"}, 400, "RELATION_KEY_FIXED", "region"),
        ({"insutype": "390", "reason": "r"}, 400, "RELATION_KEY_FIXED", "insutype"),
        ({"psn_type": "1501", "reason": "r"}, 400, "PSN_TYPE_INSUTYPE_MISMATCH", "psn_type"),
        ({"psn_type": "1201", "reason": "r"}, 400, "RETIRE_BY_EVENT", "psn_type"),
        ({"end": "2025-12-31", "reason": "r"}, 400, "CORRECTION_PERIOD", "end"),
        ({"psn_type": "1103", "reason": "r"}, 409, "CORRECTION_UNCHANGED", "psn_type"),
    ]:
        with world.unchanged():
            r = world.call("clerk510", "POST", url, json=body)
        assert r.status_code == status and r.json()["error"]["code"] == code, (body, r.text)
        if field is not None:
            assert r.json()["error"]["field"] == field
    with world.unchanged():  # writes need a clerk or an administrator
        r = world.call("auditor", "POST", url, json={"end": "2026-06-30", "reason": "r"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "ROLE_FORBIDDEN"
    r = world.call("clerk510", "POST", url, json={"end": "2026-06-30", "psn_type": "1101", "reason": "离职日期 left in June"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["value"]["table"] == "enrollment" and out["value"]["relation_id"] == rid
    assert out["value"]["changed"] == {"end": {"before": None, "after": "2026-06-30"}, "psn_type": {"before": "1103", "after": "1101"}}
    assert [x["rule_id"] for x in out["reasons"]] == ["R-CODE-002"]
    assert out["value"]["recorded_by"] == "user:clerk510"
    detail = world.call("auditor", "GET", f"{V1}/persons/{psn}").json()
    assert any(rel.get("end") == "2026-06-30" for rel in detail["relations"]), detail
    r = world.call("clerk510", "POST", url, json={"end": None, "reason": "停保有误 no end after all"})
    assert r.status_code == 200 and r.json()["value"]["changed"] == {"end": {"before": "2026-06-30", "after": None}}
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/relations/NOPE/corrections", json={"end": None, "reason": "r"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "RELATION_NOT_FOUND"


def test_a_relation_correction_needs_the_relations_region(world: World):
    """ABOTH has a 510500 relation R1 and a 210200 relation R2: the 510500 clerk may correct R1 only."""
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons/ABOTH/relations/R2/corrections", json={"psn_type": "1501", "reason": "r"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_FORBIDDEN" and r.json()["error"]["field"] == "relation_id"
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons/ABOTH/relations/R1/corrections", json={"psn_type": "1501", "reason": "r"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "CORRECTION_UNCHANGED"


def test_a_person_correction_over_http(world: World):
    psn, _, number = world.new_person("210200", who="clerk210")
    born = validate_document("01", number).birth_date
    url = f"{V1}/persons/{psn}/corrections"
    r = world.call("clerk210", "POST", url, json={"name": "测试改", "reason": "姓名错字 typo"})
    assert r.status_code == 200, r.text
    assert r.json()["value"] == {"psn_no": psn, "table": "person", "correction_id": r.json()["value"]["correction_id"], "relation_id": None,
                                 "changed": {"name": {"before": "测试", "after": "测试改"}}, "recorded_by": "user:clerk210"}
    assert world.call("clerk210", "GET", f"{V1}/persons/{psn}").json()["name"] == "测试改"
    other_day = (born + timedelta(days=1)).isoformat()
    with world.unchanged():
        r = world.call("clerk210", "POST", url, json={"birth_date": other_day, "reason": "r"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "DERIVED_CONTRADICTION" and r.json()["error"]["field"] == "birth_date"
    assert number not in r.text  # the ID number stays masked
    for body, status, code in [
        ({"sex": "X", "reason": "r"}, 400, "REQUEST_INVALID"),
        ({"name": None, "reason": "r"}, 400, "REQUEST_INVALID"),
        ({"birth_date": (date.today() + timedelta(days=400)).isoformat(), "reason": "r"}, 400, "BIRTH_IN_FUTURE"),
        ({"name": "测试改", "reason": "r"}, 409, "CORRECTION_UNCHANGED"),
    ]:
        with world.unchanged():
            r = world.call("clerk210", "POST", url, json=body)
        assert r.status_code == status and r.json()["error"]["code"] == code, (body, r.text)
    with world.unchanged():  # another region's clerk
        r = world.call("clerk510", "POST", url, json={"name": "x", "reason": "r"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_FORBIDDEN"
    r = world.call("clerk210", "POST", url, json={"birth_date": other_day, "reason": "户籍更正", "override_reason": "公安机关证明 police certificate"})
    assert r.status_code == 200, r.text
    assert [n["code"] for n in r.json()["notices"]] == ["DERIVED_MISMATCH"]
    assert world.call("clerk210", "GET", f"{V1}/persons/{psn}").json()["birth_date"] == other_day
