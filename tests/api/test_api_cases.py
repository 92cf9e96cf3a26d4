"""The case routes over HTTP on SQLite and PostgreSQL: transfers, refunds, retirement, the account and
corrections — a happy path and a refused request that writes nothing, for every route (region
isolation of every route is in test_api_regions.py)."""

from __future__ import annotations

import pytest

from .conftest import World

V1 = "/api/v1"


def _lines(world: World, who: str, psn: str, rid: str, months: list[str], amount: str = "120.00"):
    r = world.call(who, "POST", f"{V1}/persons/{psn}/contributions", json={"lines": [
        {"relation_id": rid, "payer": "INDIVIDUAL", "paid_on": f"{m}-15", "amount": amount, "month": m} for m in months]})
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def mover(world: World) -> dict[str, str]:
    """A Dalian (210200) flexible worker paid 2025-01..06, enrolled in Luzhou (510500) from 2025-07."""
    psn, rid, _ = world.new_person("210200", who="clerk210", start="2025-01-01")
    _lines(world, "clerk210", psn, rid, [f"2025-{m:02d}" for m in range(1, 7)])
    r = world.call("admin", "POST", f"{V1}/persons/{psn}/relations",
                   json={"insutype": "310", "region": "510500", "psn_type": "1103", "start": "2025-07-01", "monthly_wage": "6300"})
    assert r.status_code == 201, r.text
    return {"psn": psn, "from": rid, "to": r.json()["relation_id"]}


def test_transfer_out_and_in(world: World, mover):
    psn = mover["psn"]
    body = {"relation_id": mover["from"], "receiving_relation_id": mover["to"], "accepted_on": "2025-07-10", "terminate_on": "2025-07-01"}
    for bad, code in (({**body, "accepted_on": "2025-13-01"}, "REQUEST_INVALID"),
                      ({k: v for k, v in body.items() if k != "terminate_on"}, "TRANSFER_NOT_POSSIBLE"),
                      ({**body, "accepted_on": "2026-12-24", "terminate_on": "2026-12-01"}, "CALENDAR_YEAR_UNKNOWN")):
        with world.unchanged():
            r = world.call("clerk210", "POST", f"{V1}/persons/{psn}/transfers", json=bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text
    r = world.call("clerk210", "POST", f"{V1}/persons/{psn}/transfers", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["value"]["due_on"] == "2025-07-24" and out["value"]["step"] == "OUT"
    assert {"R-XFER-001", "R-XFER-002", "R-ACCT-006"} <= {x["rule_id"] for x in out["reasons"]}
    balance = out["value"]["account_balance"]
    no = out["value"]["transfer_no"]
    # the transfer-in is the receiving region's: the sending region's clerk is refused
    with world.unchanged():
        r = world.call("clerk210", "POST", f"{V1}/persons/{psn}/transfers/{no}/in", json={"form_received_on": "2025-07-20"})
    assert r.status_code == 403 and r.json()["error"]["field"] == "transfer_no"
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/transfers/{no}/in", json={"form_received_on": "2025-07-09"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "XFER_DATE_ORDER"
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/transfers/{no}/in",
                   json={"form_received_on": "2025-07-21", "remitted_amount": balance, "money_received_on": "2025-07-22"})
    assert r.status_code == 201, r.text
    assert (r.json()["value"]["account_state"], r.json()["value"]["account_credited"]) == ("CREDITED", balance)
    steps = world.call("auditor", "GET", f"{V1}/persons/{psn}/transfers").json()
    assert [(s["step"], s["transfer_no"]) for s in steps] == [("OUT", no), ("IN", no)]


def test_account_balance_and_movements(world: World, mover):
    psn, who = mover["psn"], "clerk210"
    r = world.call(who, "GET", f"{V1}/persons/{psn}/account", params={"on": "2025-06-30"})
    assert r.status_code == 200, r.text
    value = r.json()["value"]
    assert len([m for m in value["movements"] if m["kind"] == "CREDIT"]) == 6 and float(value["balance"]) > 0
    r = world.call(who, "GET", f"{V1}/persons/{psn}/account", params={"on": "2025-02-30"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "REQUEST_INVALID"


@pytest.fixture(scope="module")
def resident(world: World) -> dict[str, str]:
    """A Luzhou resident paid for 2025, 2026 and 2027 (the last on 2026-11-10)."""
    psn, rid, _ = world.new_person("510500", who="clerk510", employee=False, start="2025-01-01")
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/contributions", json={"lines": [
        {"relation_id": rid, "payer": "INDIVIDUAL", "paid_on": f"{y - 1}-11-10", "amount": "400.00", "benefit_year": y} for y in (2025, 2026, 2027)]})
    assert r.status_code == 200, r.text
    return {"psn": psn, "rid": rid}


def test_refund_application_and_decision(world: World, resident):
    psn, rid = resident["psn"], resident["rid"]
    body = {"relation_id": rid, "rule": "R-REF-001", "year": 2027, "event_date": "2026-11-20"}
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/refunds", json=body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "REFUND_RELATION_ACTIVE"
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/relations/{rid}/terminate", json={"effective": "2026-11-20", "reason": "DUPLICATE_CLEANUP"})
    assert r.status_code == 200, r.text
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/refunds", json=body)
    assert r.status_code == 201, r.text
    case = r.json()["value"]
    assert case["total"] == "400.00" and case["lines"][0]["channel"] == "PERSON"
    no = case["refund_no"]
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/refunds/{no}/decision", json={"approve": True, "reason": ""})
    assert r.status_code == 400 and r.json()["error"]["code"] == "REQUEST_INVALID"
    with world.unchanged():
        r = world.call("auditor", "POST", f"{V1}/persons/{psn}/refunds/{no}/decision", json={"approve": True, "reason": "ok"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "ROLE_FORBIDDEN"
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/refunds/{no}/decision", json={"approve": True, "reason": "核实 verified"})
    assert r.status_code == 200, r.text
    assert r.json()["value"]["refund_keys"] == [f"{no}:1"]
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/refunds/{no}/decision", json={"approve": False, "reason": "again"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "REFUND_ALREADY_DECIDED"
    listed = world.call("auditor510", "GET", f"{V1}/persons/{psn}/refunds").json()
    assert [(x["refund_no"], x["outcome"], x["decided_by"]) for x in listed] == [(no, "APPROVED", "user:clerk510")]
    lines = world.call("clerk510", "GET", f"{V1}/persons/{psn}/contributions").json()["items"]
    assert sum(float(l["amount"]) for l in lines if l["benefit_year"] == 2027) == 0


def test_retirement_review_topup_and_conversion(world: World):
    psn, rid, _ = world.new_person("210200", who="clerk210", start="2026-01-01")
    review = world.call("clerk210", "GET", f"{V1}/persons/{psn}/relations/{rid}/retirement", params={"on": "2026-11-02"})
    assert review.status_code == 200, review.text
    short = review.json()["value"]["check"]["shortfall_months"]
    assert short > 0 and review.json()["value"]["topup"]["shortfall_months"] == short
    with world.unchanged():
        r = world.call("clerk210", "POST", f"{V1}/persons/{psn}/relations/{rid}/retire", json={"retired_on": "2026-11-02"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "RET_YEARS_SHORT"
    with world.unchanged():
        r = world.call("clerk210", "POST", f"{V1}/persons/{psn}/relations/{rid}/retirement-topup", json={"pay_on": "2026-11-02", "payment_key": "a:b"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "REQUEST_INVALID"
    for _ in range(2):
        r = world.call("clerk210", "POST", f"{V1}/persons/{psn}/relations/{rid}/retirement-topup", json={"pay_on": "2026-11-02", "payment_key": f"RET-{psn}"})
        assert r.status_code == 200, r.text
    lines = world.call("clerk210", "GET", f"{V1}/persons/{psn}/contributions").json()["items"]
    assert [(l["kind"], l["months_credited"]) for l in lines] == [("33", short)]
    r = world.call("clerk210", "POST", f"{V1}/persons/{psn}/relations/{rid}/retire", json={"retired_on": "2026-11-02"})
    assert r.status_code == 201, r.text
    assert r.json()["value"]["check"]["meets"] is True


def test_corrections(world: World):
    psn, rid, _ = world.new_person("510500", who="clerk510", start="2026-01-01")
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/relations/{rid}/suspend", json={"effective": "2026-03-01", "reason": "OTHER"})
    assert r.status_code == 200, r.text
    url = f"{V1}/persons/{psn}/relations/{rid}/status-corrections"
    for bad in ({"effective": "2026-03-01", "reason": "r", "withdraw": True, "new_status": "4"}, {"effective": "2026-03-01", "reason": "r"}):
        with world.unchanged():
            r = world.call("clerk510", "POST", url, json=bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "REQUEST_INVALID", r.text
    with world.unchanged():
        r = world.call("clerk510", "POST", url, json={"effective": "2026-03-02", "reason": "r", "withdraw": True})
    assert r.status_code == 400 and r.json()["error"]["code"] == "NOT_STORED"
    r = world.call("clerk510", "POST", url, json={"effective": "2026-03-01", "reason": "日期有误", "new_effective": "2026-04-01"})
    assert r.status_code == 200 and r.json()["table"] == "status_change" and r.json()["replacement_id"] is not None
    person = world.call("clerk510", "GET", f"{V1}/persons/{psn}").json()
    assert "2026-04-01" in str(person) and "2026-03-01" not in str(person)

    wage = f"{V1}/persons/{psn}/relations/{rid}/wage-corrections"
    with world.unchanged():
        r = world.call("clerk510", "POST", wage, json={"from_month": "2026-02", "monthly_wage": "7000", "reason": "r"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "NOT_STORED"
    r = world.call("clerk510", "POST", wage, json={"from_month": "2026-01", "monthly_wage": "7000", "reason": "申报有误"})
    assert r.status_code == 200 and r.json()["table"] == "declared_wage"

    death = f"{V1}/persons/{psn}/death/correction"
    with world.unchanged():
        r = world.call("clerk510", "POST", death, json={"death_date": "2026-05-01", "reason": "r"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "NOT_STORED"
    assert world.call("clerk510", "POST", f"{V1}/persons/{psn}/death", json={"death_date": "2026-05-02"}).status_code == 200
    r = world.call("clerk510", "POST", death, json={"death_date": None, "reason": "误报 reported in error"})
    assert r.status_code == 200 and r.json()["replacement_id"] is None
