"""Every route: a happy path, and a bad input that is refused with the right typed error and writes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from .conftest import PASSWORD, World, resident_id

V1 = "/api/v1"


def error(r) -> dict:
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "field", "message_zh", "message_en"}, body
    assert body["error"]["message_zh"] and body["error"]["message_en"]
    return body["error"]


# ------------------------------------------------------------------------------------------------ happy paths


def test_health_and_openapi(world: World):
    r = world.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": world.engine.dialect.name}
    doc = world.client.get("/openapi.json").json()
    assert doc["info"]["title"].startswith("yibao")
    assert "bearer" in doc["components"]["securitySchemes"]
    summaries = [op["summary"] for path in doc["paths"].values() for op in path.values()]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in s.split("/")[0]) for s in summaries), "Chinese first"
    assert not any("422" in op["responses"] for path in doc["paths"].values() for op in path.values())


def test_login_me_logout(world: World):
    r = world.client.post(f"{V1}/auth/token", json={"username": "clerk510", "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()["access_token"]
    assert r.json()["role"] == "clerk" and r.json()["regions"] == ["510500"] and r.json()["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {token}"}
    assert world.client.get(f"{V1}/auth/me", headers=headers).json() == {"name": "clerk510", "kind": "user", "role": "clerk", "regions": ["510500"]}
    assert world.client.post(f"{V1}/auth/logout", headers=headers).status_code == 204
    assert error(world.client.get(f"{V1}/auth/me", headers=headers))["code"] == "TOKEN_INVALID"


def test_regions(world: World):
    r = world.call("clerk510", "GET", f"{V1}/regions")
    assert r.status_code == 200
    served = {x["region"]: x["served"] for x in r.json()}
    assert served["510500"] is True and served["210200"] is False


def test_users_crud(world: World):
    r = world.call("admin", "POST", f"{V1}/users", json={"username": "newclerk", "password": "long-enough-1", "role": "clerk", "regions": ["220000"]})
    assert r.status_code == 201 and r.json()["regions"] == ["220000"] and r.json()["active"] is True
    r = world.call("admin", "GET", f"{V1}/users", params={"page_size": 2, "page": 1})
    assert r.status_code == 200 and len(r.json()["items"]) == 2 and r.json()["total"] >= 6
    assert world.call("admin", "GET", f"{V1}/users/newclerk").json()["role"] == "clerk"
    r = world.call("admin", "PATCH", f"{V1}/users/newclerk", json={"regions": ["220000", "140200"], "active": False})
    assert r.status_code == 200 and r.json()["regions"] == ["140200", "220000"] and r.json()["active"] is False
    r = world.client.post(f"{V1}/auth/token", json={"username": "newclerk", "password": "long-enough-1"})
    assert r.status_code == 401 and error(r)["code"] == "LOGIN_FAILED"  # inactive


def test_system_tokens(world: World):
    r = world.call("admin", "POST", f"{V1}/tokens", json={"name": "his-510", "role": "auditor", "regions": ["510500"], "expires_in_days": 30})
    assert r.status_code == 201
    created = r.json()
    assert created["token"].startswith("ybt_") and created["expires_at"]
    headers = {"Authorization": f"Bearer {created['token']}"}
    cov = world.client.get(f"{V1}/coverage", params={"cert_type": "01", "number": world.numbers["p510"]}, headers=headers)
    assert cov.status_code == 200 and cov.json()["psn_no"] == "A510"
    listed = world.call("admin", "GET", f"{V1}/tokens", params={"kind": "system"}).json()
    mine = [t for t in listed["items"] if t["id"] == created["id"]]
    assert mine and "token" not in mine[0] and mine[0]["revoked_at"] is None
    r = world.call("admin", "DELETE", f"{V1}/tokens/{created['id']}")
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert error(world.client.get(f"{V1}/auth/me", headers=headers))["code"] == "TOKEN_INVALID"


def test_register_get_search_add_document(world: World):
    number = resident_id("510500")
    r = world.call("clerk510", "POST", f"{V1}/persons", json={"documents": [{"cert_type": "01", "number": number}], "name": "张三"})
    assert r.status_code == 201, r.text
    psn_no = r.json()["psn_no"]
    assert r.json()["region"] == "510500"
    person = world.call("clerk510", "GET", f"{V1}/persons/{psn_no}").json()
    assert person["regions"] == ["510500"] and person["relations"] == [] and person["birth_date"]
    assert person["documents"][0]["number"] == number[:3] + "*" * 11 + number[-4:]
    found = world.call("clerk510", "POST", f"{V1}/persons/search", json={"cert_type": "01", "number": number.lower()}).json()
    assert found["psn_no"] == psn_no
    second = resident_id("510500")
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/documents", json={"cert_type": "01", "number": second})
    assert r.status_code == 201
    assert world.call("clerk510", "POST", f"{V1}/persons/search", json={"cert_type": "01", "number": second}).json()["psn_no"] == psn_no


def test_list_persons_of_a_region(world: World):
    r = world.call("clerk510", "GET", f"{V1}/persons", params={"region": "510500", "page_size": 200})
    assert r.status_code == 200
    ids = {p["psn_no"] for p in r.json()["items"]}
    assert {"A510", "ABOTH"} <= ids and "A210" not in ids
    assert r.json()["total"] == len(r.json()["items"])
    everything = world.call("auditor", "GET", f"{V1}/persons", params={"page_size": 1, "page": 2}).json()
    assert everything["page"] == 2 and len(everything["items"]) == 1 and everything["total"] >= 4


def test_enroll_and_status_changes(world: World):
    psn_no, rid, _ = world.new_person("510500", who="clerk510")
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/relations/{rid}/suspend", json={"effective": "2025-03-01", "reason": "OTHER", "note": "测试"})
    assert r.status_code == 200 and r.json()["status"] == "2"
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/relations/{rid}/restore", json={"effective": "2025-04-01"})
    assert r.status_code == 200 and r.json()["status"] == "1"
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/relations/{rid}/terminate", json={"effective": "2025-05-01", "reason": "EMPLOYMENT_ENDED"})
    assert r.status_code == 200 and r.json()["status"] == "4"
    relation = world.call("clerk510", "GET", f"{V1}/persons/{psn_no}").json()["relations"][0]
    assert [c["status"] for c in relation["status_changes"]] == ["2", "1", "4"] and relation["status"] == "4"
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/relations/{rid}/restore", json={"effective": "2025-06-01"})
    assert r.status_code == 409 and error(r)["code"] == "TERMINATED_IS_FINAL"


def test_enroll_reports_a_possible_duplicate(world: World):
    psn_no, _, _ = world.new_person("510500")
    r = world.call("admin", "POST", f"{V1}/persons/{psn_no}/relations", json={"insutype": "390", "region": "510500", "psn_type": "1501", "start": "2025-01-01", "relation_id": "SECOND"})
    assert r.status_code == 201 and r.json()["relation_id"] == "SECOND"
    assert [n["code"] for n in r.json()["notices"]] == ["ALREADY_ENROLLED"]


def test_post_and_list_contributions_idempotently(world: World):
    psn_no, rid, _ = world.new_person("510500")
    lines = [
        {"relation_id": rid, "payer": "INDIVIDUAL", "paid_on": "2024-01-15", "amount": "567.00", "month": "2024-01", "key": f"{psn_no}-2024-01"},
        {"relation_id": rid, "payer": "INDIVIDUAL", "paid_on": "2024-02-15", "amount": 567, "month": "2024-02"},
    ]
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/contributions", json={"lines": lines})
    assert r.status_code == 200 and r.json()["new"] == 2 and len(r.json()["keys"]) == 2
    with world.unchanged():
        again = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/contributions", json={"lines": lines})
    assert again.status_code == 200 and again.json()["new"] == 0 and again.json()["keys"] == r.json()["keys"]
    page = world.call("auditor510", "GET", f"{V1}/persons/{psn_no}/contributions", params={"page_size": 1}).json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["month"] == "2024-01" and page["items"][0]["amount"] == "567.00"
    page2 = world.call("auditor510", "GET", f"{V1}/persons/{psn_no}/contributions", params={"page_size": 1, "page": 2}).json()
    assert page2["items"][0]["month"] == "2024-02"


def test_quote_backpayment_is_idempotent(world: World):
    psn_no, rid, _ = world.new_person("510500", start="2026-09-01")
    q = world.call("clerk510", "GET", f"{V1}/persons/{psn_no}/quote", params={"pay_on": "2026-11-20"})
    assert q.status_code == 200, q.text
    item = q.json()["value"]["items"][0]
    assert item["relation_id"] == rid and item["lines"] and item["reasons"]
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/backpayments", json={"pay_on": "2026-11-20", "payment_key": f"P{psn_no[:8]}"})
    assert r.status_code == 200, r.text
    assert r.json()["new"] == len(item["lines"]) and r.json()["quote"]["total"] == q.json()["value"]["total"]
    with world.unchanged():
        again = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/backpayments", json={"pay_on": "2026-11-20", "payment_key": f"P{psn_no[:8]}"})
    assert again.status_code == 200 and again.json()["new"] == 0 and sorted(again.json()["keys"]) == sorted(r.json()["keys"])


def test_backpayment_key_of_another_person_is_a_conflict(world: World):
    a, _, _ = world.new_person("510500", start="2026-09-01")
    b, _, _ = world.new_person("510500", start="2026-09-01")
    assert world.call("admin", "POST", f"{V1}/persons/{a}/backpayments", json={"pay_on": "2026-11-20", "payment_key": f"K{a[:8]}"}).status_code == 200
    with world.unchanged():
        r = world.call("admin", "POST", f"{V1}/persons/{b}/backpayments", json={"pay_on": "2026-11-20", "payment_key": f"K{a[:8]}"})
    assert r.status_code == 409 and error(r)["code"] == "IDEMPOTENCY_CONFLICT"


def test_timeline_with_reasons_and_citations(world: World):
    r = world.call("clerk510", "GET", f"{V1}/persons/A510/timeline", params={"on": "2025-06-01", "as_known_on": "2026-11-01", "grid": "true"})
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["answer"]["covered"] is True and t["answer"]["relation_id"] == "E1" and t["answer"]["region"] == "510500"
    assert t["periods"] and t["periods"][0]["start_reasons"]
    reasons = [x for p in t["periods"] for x in p["start_reasons"]]
    assert any(x["citations"] for x in reasons) and all(x["rule_id"] for x in reasons)
    assert t["months"] and t["months"][0]["relation_id"] == "E1"
    early = world.call("clerk510", "GET", f"{V1}/persons/A510/timeline", params={"on": "2025-06-01", "as_known_on": "2023-12-01"}).json()
    assert early["answer"]["covered"] is False and early["months"] is None


def test_coverage_lookup(world: World):
    r = world.call("auditor", "GET", f"{V1}/coverage", params={"cert_type": "01", "number": world.numbers["p210"], "on": "2026-11-01"})
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["covered"] is True and c["psn_no"] == "A210" and c["relation_id"] == "E1" and c["insutype"] == "310" and c["region"] == "210200"
    assert c["period_start"] and c["reasons"][0]["rule_id"] == "Y-TIMELINE"
    before = world.call("auditor", "GET", f"{V1}/coverage", params={"cert_type": "01", "number": world.numbers["p210"], "on": "2023-06-01"}).json()
    assert before["covered"] is False and before["relation_id"] is None and before["reasons"]


def test_coverage_checks_the_token_before_the_number_and_answers_from_the_projection(world: World):
    bad_token = {"Authorization": "Bearer ybs_" + "x" * 43}
    for number in (world.numbers["p210"], "510502199003070019", "not-a-number"):
        r = world.client.get(f"{V1}/coverage", params={"cert_type": "01", "number": number}, headers=bad_token)
        assert r.status_code == 401 and r.json()["error"]["code"] == "TOKEN_INVALID", (number, r.text)
    params = {"cert_type": "01", "number": world.numbers["p210"], "on": "2026-11-01"}
    first = world.call("auditor", "GET", f"{V1}/coverage", params=params)
    second = world.call("auditor", "GET", f"{V1}/coverage", params=params)  # the stored index this time
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    expected = world.service.covered_on("A210", date(2026, 11, 1), as_known_on=world.service.today())
    assert second.json()["reasons"][0]["message_zh"] == expected.reasons[0].message_zh


def test_contributions_due(world: World):
    r = world.call("clerk510", "GET", f"{V1}/persons/A510/contributions-due", params={"months": "2025-01..2025-12"})
    assert r.status_code == 200, r.text
    v = r.json()["value"]
    assert v["first"] == "2025-01" and v["last"] == "2025-12" and v["lines"]


def test_record_death(world: World):
    psn_no, _, _ = world.new_person("510500")
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn_no}/death", json={"death_date": "2026-01-05"})
    assert r.status_code == 200
    assert world.call("clerk510", "GET", f"{V1}/persons/{psn_no}").json()["death_date"] == "2026-01-05"


def test_merge(world: World):
    keep, _, _ = world.new_person("510500")
    number = resident_id("510500")
    absorb = world.call("admin", "POST", f"{V1}/persons", json={"documents": [{"cert_type": "01", "number": number}], "region": "510500"}).json()["psn_no"]
    r = world.call("admin", "POST", f"{V1}/persons/{keep}/merge", json={"absorb": absorb, "reason": "同一人两个编号"})
    assert r.status_code == 200, r.text
    assert world.call("admin", "POST", f"{V1}/persons/search", json={"cert_type": "01", "number": number}).json()["psn_no"] == keep
    gone = world.call("admin", "GET", f"{V1}/persons/{absorb}")
    assert gone.status_code == 409 and error(gone)["code"] == "PERSON_MERGED"


# ------------------------------------------------------------------------------------------------ bad inputs

ID = "510502199003070010"  # wrong check digit (4 is right)

# (label, who, method, path, kwargs, status, code, field or None)
BAD = [
    ("login wrong password", None, "POST", "/auth/token", {"json": {"username": "clerk510", "password": "nope"}}, 401, "LOGIN_FAILED", "username"),
    ("login unknown user", None, "POST", "/auth/token", {"json": {"username": "ghost", "password": "nope"}}, 401, "LOGIN_FAILED", "username"),
    ("login malformed", None, "POST", "/auth/token", {"json": {"username": "clerk510"}}, 400, "REQUEST_INVALID", "body.password"),
    ("login not json", None, "POST", "/auth/token", {"content": b"{", "headers": {"Content-Type": "application/json"}}, 400, "REQUEST_INVALID", None),
    ("logout without token", None, "POST", "/auth/logout", {}, 401, "AUTH_REQUIRED", "authorization"),
    ("me with unknown token", None, "GET", "/auth/me", {"headers": {"Authorization": "Bearer ybs_unknown"}}, 401, "TOKEN_INVALID", "authorization"),
    ("regions without token", None, "GET", "/regions", {}, 401, "AUTH_REQUIRED", "authorization"),
    ("user clerk without region", "admin", "POST", "/users", {"json": {"username": "clerk2", "password": "long-enough-1", "role": "clerk"}}, 400, "REGIONS_INVALID", "regions"),
    ("user clerk with *", "admin", "POST", "/users", {"json": {"username": "clerk2", "password": "long-enough-1", "role": "clerk", "regions": ["*"]}}, 400, "REGIONS_INVALID", "regions"),
    ("user taken", "admin", "POST", "/users", {"json": {"username": "clerk510", "password": "long-enough-1", "role": "clerk", "regions": ["510500"]}}, 409, "USERNAME_TAKEN", "username"),
    ("user short password", "admin", "POST", "/users", {"json": {"username": "clerk3", "password": "short", "role": "auditor", "regions": ["*"]}}, 400, "REQUEST_INVALID", "body.password"),
    ("users page 0", "admin", "GET", "/users", {"params": {"page": 0}}, 400, "REQUEST_INVALID", "query.page"),
    ("user unknown", "admin", "GET", "/users/ghost", {}, 404, "USER_NOT_FOUND", "username"),
    ("user patch unknown region", "admin", "PATCH", "/users/clerk510", {"json": {"regions": ["999999"]}}, 400, "REGIONS_INVALID", "regions"),
    ("user patch unknown field", "admin", "PATCH", "/users/clerk510", {"json": {"is_admin": True}}, 400, "REQUEST_INVALID", "body.is_admin"),
    ("admin deactivates itself", "admin", "PATCH", "/users/admin", {"json": {"active": False}}, 409, "SELF_LOCKOUT", "active"),
    ("admin demotes itself", "admin", "PATCH", "/users/admin", {"json": {"role": "clerk", "regions": ["510500"]}}, 409, "SELF_LOCKOUT", "role"),
    ("token for clerk with *", "admin", "POST", "/tokens", {"json": {"name": "x", "role": "clerk", "regions": ["*"]}}, 400, "REGIONS_INVALID", "regions"),
    ("tokens bad kind", "admin", "GET", "/tokens", {"params": {"kind": "other"}}, 400, "REQUEST_INVALID", "query.kind"),
    ("revoke unknown token", "admin", "DELETE", "/tokens/999999", {}, 404, "TOKEN_NOT_FOUND", "token_id"),
    ("register bad check digit", "clerk510", "POST", "/persons", {"json": {"documents": [{"cert_type": "01", "number": ID}]}}, 400, "CHECK_DIGIT", "documents.0.number"),
    ("register no document", "clerk510", "POST", "/persons", {"json": {"documents": []}}, 400, "REQUEST_INVALID", "body.documents"),
    ("register unknown cert type", "clerk510", "POST", "/persons", {"json": {"documents": [{"cert_type": "77", "number": "X1234567"}]}}, 400, "UNKNOWN_CODE", "documents.0.cert_type"),
    ("register unknown region", "admin", "POST", "/persons", {"json": {"documents": [{"cert_type": "01", "number": "510502199003070014"}], "region": "999999"}}, 400, "UNKNOWN_REGION", "region"),
    ("register nul in name", "clerk510", "POST", "/persons", {"json": {"documents": [{"cert_type": "01", "number": "510502199003070014"}], "name": "a\u0000b"}}, 400, "REQUEST_INVALID", "body.name"),
    ("list bad region", "clerk510", "GET", "/persons", {"params": {"region": "51"}}, 400, "REQUEST_INVALID", "query.region"),
    ("search invalid number", "clerk510", "POST", "/persons/search", {"json": {"cert_type": "01", "number": "123"}}, 400, "ID_LENGTH", "number"),
    ("search unknown number", "clerk510", "POST", "/persons/search", {"json": {"cert_type": "01", "number": "510502199003070014"}}, 404, "DOCUMENT_NOT_FOUND", "number"),
    ("get unknown person", "clerk510", "GET", "/persons/NOBODY", {}, 404, "PERSON_NOT_FOUND", "psn_no"),
    ("add invalid document", "clerk510", "POST", "/persons/A510/documents", {"json": {"cert_type": "01", "number": ID}}, 400, "CHECK_DIGIT", "number"),
    ("add document of another person", "admin", "POST", "/persons/A510/documents", {"json": {"cert_type": "01", "number": "@p210"}}, 409, "DUPLICATE_PERSON_KEY", None),
    ("merge with itself", "admin", "POST", "/persons/A510/merge", {"json": {"absorb": "A510", "reason": "x"}}, 409, "MERGE_CONFLICT", "absorb"),
    ("merge without reason", "admin", "POST", "/persons/A510/merge", {"json": {"absorb": "A210"}}, 400, "REQUEST_INVALID", "body.reason"),
    ("merge unknown", "admin", "POST", "/persons/A510/merge", {"json": {"absorb": "NOBODY", "reason": "x"}}, 404, "PERSON_NOT_FOUND", "psn_no"),
    ("death in the future", "clerk510", "POST", "/persons/A510/death", {"json": {"death_date": "2099-01-01"}}, 400, "AFTER_DEATH_FUTURE", "death_date"),
    ("death bad date", "clerk510", "POST", "/persons/A510/death", {"json": {"death_date": "2025-02-30"}}, 400, "REQUEST_INVALID", "body.death_date"),
    ("enroll unknown insutype", "clerk510", "POST", "/persons/A510/relations", {"json": {"insutype": "999", "region": "510500", "psn_type": "1101", "start": "2025-01-01"}}, 400, "UNKNOWN_CODE", "insutype"),
    ("enroll legacy insutype", "clerk510", "POST", "/persons/A510/relations", {"json": {"insutype": "380", "region": "510500", "psn_type": "1501", "start": "2025-01-01"}}, 400, "LEGACY_INSUTYPE", "insutype"),
    ("enroll psn_type mismatch", "clerk510", "POST", "/persons/A510/relations", {"json": {"insutype": "310", "region": "510500", "psn_type": "1501", "start": "2025-01-01"}}, 400, "PSN_TYPE_INSUTYPE_MISMATCH", "psn_type"),
    ("enroll duplicate relation id", "clerk510", "POST", "/persons/A510/relations", {"json": {"insutype": "390", "region": "510500", "psn_type": "1501", "start": "2025-01-01", "relation_id": "E1"}}, 409, "DUPLICATE_RELATION", "relation_id"),
    ("suspend before start", "clerk510", "POST", "/persons/A510/relations/E1/suspend", {"json": {"effective": "2020-01-01", "reason": "OTHER"}}, 400, "BEFORE_RELATION_START", "effective"),
    ("suspend bad reason", "clerk510", "POST", "/persons/A510/relations/E1/suspend", {"json": {"effective": "2025-01-01", "reason": "BORED"}}, 400, "REQUEST_INVALID", "body.reason"),
    ("restore a normal relation", "clerk510", "POST", "/persons/A510/relations/E1/restore", {"json": {"effective": "2025-01-01"}}, 409, "BAD_TRANSITION", "status"),
    ("terminate unknown relation", "clerk510", "POST", "/persons/A510/relations/NOPE/terminate", {"json": {"effective": "2025-01-01", "reason": "OTHER"}}, 404, "RELATION_NOT_FOUND", "relation_id"),
    ("lines zero amount", "clerk510", "POST", "/persons/A510/contributions", {"json": {"lines": [{"relation_id": "E1", "payer": "INDIVIDUAL", "paid_on": "2026-11-01", "amount": "0", "month": "2026-11"}]}}, 400, "ZERO_AMOUNT", "lines.0.amount"),
    ("lines unknown relation", "clerk510", "POST", "/persons/A510/contributions", {"json": {"lines": [{"relation_id": "NOPE", "payer": "INDIVIDUAL", "paid_on": "2026-11-01", "amount": "1", "month": "2026-11"}]}}, 404, "RELATION_NOT_FOUND", "lines.0.relation_id"),
    ("lines month and year", "clerk510", "POST", "/persons/A510/contributions", {"json": {"lines": [{"relation_id": "E1", "payer": "INDIVIDUAL", "paid_on": "2026-11-01", "amount": "1", "month": "2026-11", "benefit_year": 2026}]}}, 400, "REQUEST_INVALID", "body.lines.0"),
    ("lines three decimals", "clerk510", "POST", "/persons/A510/contributions", {"json": {"lines": [{"relation_id": "E1", "payer": "INDIVIDUAL", "paid_on": "2026-11-01", "amount": "1.005", "month": "2026-11"}]}}, 400, "REQUEST_INVALID", "body.lines.0.amount"),
    ("lines NaN", "clerk510", "POST", "/persons/A510/contributions", {"json": {"lines": [{"relation_id": "E1", "payer": "INDIVIDUAL", "paid_on": "2026-11-01", "amount": "NaN", "month": "2026-11"}]}}, 400, "REQUEST_INVALID", "body.lines.0.amount"),
    ("lines idempotency conflict", "clerk510", "POST", "/persons/A510/contributions", {"json": {"lines": [{"relation_id": "E1", "payer": "INDIVIDUAL", "paid_on": "2026-11-01", "amount": "1.00", "month": "2026-11", "key": "@existing"}]}}, 409, "IDEMPOTENCY_CONFLICT", None),
    ("lines page too big", "clerk510", "GET", "/persons/A510/contributions", {"params": {"page_size": 500}}, 400, "REQUEST_INVALID", "query.page_size"),
    ("quote bad date", "clerk510", "GET", "/persons/A510/quote", {"params": {"pay_on": "tomorrow"}}, 400, "REQUEST_INVALID", "query.pay_on"),
    ("quote out of range", "clerk510", "GET", "/persons/A510/quote", {"params": {"pay_on": "2150-01-01"}}, 400, "REQUEST_INVALID", "query.pay_on"),
    ("backpay key with colon", "clerk510", "POST", "/persons/A510/backpayments", {"json": {"pay_on": "2026-11-20", "payment_key": "a:b"}}, 400, "REQUEST_INVALID", "body.payment_key"),
    ("timeline bad as_known_on", "clerk510", "GET", "/persons/A510/timeline", {"params": {"as_known_on": "2026-02-30"}}, 400, "REQUEST_INVALID", "query.as_known_on"),
    ("due bad month", "clerk510", "GET", "/persons/A510/contributions-due", {"params": {"months": "2025-13..2025-14"}}, 400, "BAD_MONTH", "months"),
    ("due reversed range", "clerk510", "GET", "/persons/A510/contributions-due", {"params": {"months": "2025-12..2025-01"}}, 400, "BAD_MONTH_RANGE", "months"),
    ("due too long", "clerk510", "GET", "/persons/A510/contributions-due", {"params": {"months": "1990-01..2025-12"}}, 400, "MONTH_RANGE_TOO_LONG", "months"),
    ("coverage invalid number", "clerk510", "GET", "/coverage", {"params": {"cert_type": "01", "number": ID}}, 400, "CHECK_DIGIT", "number"),
    ("coverage unknown number", "clerk510", "GET", "/coverage", {"params": {"cert_type": "01", "number": "510502199003070014"}}, 404, "DOCUMENT_NOT_FOUND", "number"),
    ("coverage missing number", "clerk510", "GET", "/coverage", {"params": {"cert_type": "01"}}, 400, "REQUEST_INVALID", "query.number"),
    ("unknown route", "clerk510", "GET", "/nothing-here", {}, 404, "ROUTE_NOT_FOUND", None),
    ("wrong method", "clerk510", "DELETE", "/persons/A510", {}, 405, "METHOD_NOT_ALLOWED", None),
]


@pytest.mark.parametrize(("label", "who", "method", "path", "kwargs", "status", "code", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_and_writes_nothing(world: World, label, who, method, path, kwargs, status, code, field):
    kwargs = _resolve(world, kwargs)
    with world.unchanged():
        r = world.call(who, method, V1 + path, **kwargs)
    assert r.status_code == status, r.text
    e = error(r)
    assert e["code"] == code, e
    if field is not None:
        assert e["field"] == field, e
    assert "Traceback" not in r.text


def _resolve(world: World, kwargs: dict) -> dict:
    """Placeholders: ``@p210`` is that person's ID number, ``@existing`` the key of a stored line."""
    import copy

    out = copy.deepcopy(kwargs)
    body = out.get("json")
    if isinstance(body, dict):
        if body.get("number") == "@p210":
            body["number"] = world.numbers["p210"]
        for line in body.get("lines", []):
            if line.get("key") == "@existing":
                posted = world.call("admin", "POST", f"{V1}/persons/A510/contributions", json={"lines": [{**line, "key": "existing-line"}]})
                assert posted.status_code == 200, posted.text
                line["key"] = "existing-line"
                line["amount"] = "2.00"
    return out
