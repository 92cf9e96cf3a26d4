"""Region isolation: a clerk of 510500 can neither read nor change a 210200 person, on any route.

Every person-facing route of the OpenAPI document must appear in ``ROUTES`` (a test checks it), so a
new route cannot skip this suite. Each attempt must be refused with 403 ``REGION_FORBIDDEN`` and must
write nothing; the same request by a clerk of 210200 is then *not* refused for its region (the
control that proves the refusal is about the region, not a broken request).
"""

from __future__ import annotations

import pytest

from yibao.service.duplicates import DuplicatesService
from yibao.store import repository as repo

from .conftest import World, _resident, resident_id

V1 = "/api/v1"


@pytest.fixture(scope="module")
def victim(world: World) -> dict[str, str]:
    """A 210200 person with an employee relation and a paid month, created by the 210200 clerk."""
    psn_no, rid, number = world.new_person("210200", who="clerk210", start="2026-09-01")
    r = world.call("clerk210", "POST", f"{V1}/persons/{psn_no}/contributions", json={"lines": [
        {"relation_id": rid, "payer": "INDIVIDUAL", "paid_on": "2026-09-15", "amount": "567.00", "month": "2026-09", "key": f"v-{psn_no}"}
    ]})
    assert r.status_code == 200, r.text
    # a duplicate-worklist case of 210200 only: two paid resident relations there (manual review)
    with world.service.sessions() as session, session.begin():
        repo.add_facts(session, _resident(f"V{psn_no}", resident_id("210200"), ["210200", "210200"]), by="test-seed")
    [case_no] = DuplicatesService(world.service).scan(by="test-seed", psn_nos=[f"V{psn_no}"]).new
    return {"psn": psn_no, "rid": rid, "number": number, "transfer_no": "TNONE", "refund_no": "FNONE", "case": case_no, "place_id": "999999"}


# (method, path template, body or params); {psn} {rid} {number} come from the victim
ROUTES = [
    ("GET", "/persons/{psn}", {}),
    ("GET", "/persons", {"params": {"region": "210200"}}),
    ("POST", "/persons", {"json": {"documents": [{"cert_type": "01", "number": "@new210"}], "region": "210200"}}),
    ("POST", "/persons/search", {"json": {"cert_type": "01", "number": "{number}"}}),
    ("GET", "/coverage", {"params": {"cert_type": "01", "number": "{number}"}}),
    ("POST", "/persons/{psn}/documents", {"json": {"cert_type": "01", "number": "@new210"}}),
    ("POST", "/persons/{psn}/death", {"json": {"death_date": "2026-11-01"}}),
    ("POST", "/persons/{psn}/places", {"json": {"kind": "HABITUAL_RESIDENCE", "region": "210200", "valid_from": "2026-10-01"}}),
    ("GET", "/persons/{psn}/places", {"params": {"as_known_on": "2026-10-01"}}),
    ("POST", "/persons/{psn}/places/{place_id}/withdraw", {"json": {"reason": "试图跨区撤销"}}),
    ("POST", "/persons/{psn}/merge", {"json": {"absorb": "A510", "reason": "试图跨区合并"}}),
    ("POST", "/persons/{psn}/relations", {"json": {"insutype": "390", "region": "210200", "psn_type": "1501", "start": "2026-10-01"}}),
    ("POST", "/persons/{psn}/relations/{rid}/suspend", {"json": {"effective": "2026-10-01", "reason": "OTHER"}}),
    ("POST", "/persons/{psn}/relations/{rid}/restore", {"json": {"effective": "2026-10-15"}}),
    ("POST", "/persons/{psn}/relations/{rid}/terminate", {"json": {"effective": "2026-10-20", "reason": "OTHER"}}),
    ("POST", "/persons/{psn}/contributions", {"json": {"lines": [{"relation_id": "{rid}", "payer": "INDIVIDUAL", "paid_on": "2026-10-15", "amount": "567.00", "month": "2026-10"}]}}),
    ("GET", "/persons/{psn}/contributions", {}),
    ("GET", "/persons/{psn}/quote", {"params": {"pay_on": "2026-11-20"}}),
    ("POST", "/persons/{psn}/backpayments", {"json": {"pay_on": "2026-11-20", "payment_key": "X{psn}"}}),
    ("GET", "/persons/{psn}/timeline", {"params": {"on": "2026-10-01"}}),
    ("GET", "/persons/{psn}/contributions-due", {"params": {"months": "2026-01..2026-12"}}),
    # cases (transfers, refunds, retirement, account, corrections)
    ("POST", "/persons/{psn}/transfers", {"json": {"relation_id": "{rid}", "receiving_relation_id": "{rid}", "accepted_on": "2026-10-10"}}),
    ("POST", "/persons/{psn}/transfers/{transfer_no}/in", {"json": {"form_received_on": "2026-10-20"}}),
    ("GET", "/persons/{psn}/transfers", {}),
    ("POST", "/persons/{psn}/refunds", {"json": {"relation_id": "{rid}", "rule": "R-REF-003", "year": 2026, "first_unit_month": "2026-10"}}),
    ("POST", "/persons/{psn}/refunds/{refund_no}/decision", {"json": {"approve": False, "reason": "试图跨区审核"}}),
    ("GET", "/persons/{psn}/refunds", {}),
    ("GET", "/persons/{psn}/relations/{rid}/retirement", {"params": {"on": "2026-10-01"}}),
    ("POST", "/persons/{psn}/relations/{rid}/retirement-topup", {"json": {"pay_on": "2026-10-01", "payment_key": "R{psn}"}}),
    ("POST", "/persons/{psn}/relations/{rid}/retire", {"json": {"retired_on": "2026-10-01"}}),
    ("GET", "/persons/{psn}/account", {"params": {"on": "2026-10-01"}}),
    ("POST", "/persons/{psn}/relations/{rid}/status-corrections", {"json": {"effective": "2026-10-01", "reason": "r", "withdraw": True}}),
    ("POST", "/persons/{psn}/relations/{rid}/wage-corrections", {"json": {"from_month": "2026-09", "monthly_wage": "1", "reason": "r"}}),
    ("POST", "/persons/{psn}/death/correction", {"json": {"death_date": None, "reason": "r"}}),
    # corrections of a relation's columns and of a person's attributes (the control gets 409 CORRECTION_UNCHANGED)
    ("POST", "/persons/{psn}/relations/{rid}/corrections", {"json": {"psn_type": "1103", "reason": "r"}}),
    ("POST", "/persons/{psn}/corrections", {"json": {"name": "测试", "reason": "r"}}),
    # the duplicate worklist: a case concerns the regions of its relations
    ("GET", "/duplicates", {"params": {"region": "210200"}}),
    ("POST", "/duplicates/scan", {"json": {"region": "210200"}}),
    ("GET", "/duplicates/{case}", {}),
    ("POST", "/duplicates/{case}/confirm", {"json": {"reason": "r"}}),
    ("POST", "/duplicates/{case}/dismiss", {"json": {"reason": "r"}}),
]
ROLE_ONLY = {("POST", "/persons/{psn}/merge")}  # administrators only: a clerk is refused by role first


def _fill(value, victim: dict[str, str]):
    if isinstance(value, str):
        if value == "@new210":
            return resident_id("210200")
        return value.format(**victim)
    if isinstance(value, dict):
        return {k: _fill(v, victim) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, victim) for v in value]
    return value


def test_every_person_route_is_in_the_isolation_suite(world: World):
    doc = world.client.get("/openapi.json").json()
    wanted = {
        (method.upper(), path.removeprefix(V1).replace("{psn_no}", "{psn}").replace("{relation_id}", "{rid}").replace("{case_no}", "{case}"))
        for path, ops in doc["paths"].items()
        for method in ops
        if "{psn_no}" in path or path in (f"{V1}/persons", f"{V1}/persons/search", f"{V1}/coverage") or path.startswith(f"{V1}/duplicates")
    }
    covered = {(m, p) for m, p, _ in ROUTES}
    assert wanted == covered


@pytest.mark.parametrize(("method", "path", "kwargs"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_clerk_of_another_region_is_refused(world: World, victim, method, path, kwargs):
    url = V1 + _fill(path, victim)
    with world.unchanged():
        r = world.call("clerk510", method, url, **_fill(kwargs, victim))
    assert r.status_code == 403, r.text
    expected = "ROLE_FORBIDDEN" if (method, path) in ROLE_ONLY else "REGION_FORBIDDEN"
    assert r.json()["error"]["code"] == expected
    assert victim["number"] not in r.text  # never the whole number in a refusal
    # control: the clerk of 210200 is not refused for its region (merge stays administrator-only)
    control = world.call("clerk210", method, url, **_fill(kwargs, victim))
    if (method, path) in ROLE_ONLY:
        assert control.json()["error"]["code"] == "ROLE_FORBIDDEN"
    else:
        assert control.status_code not in (401, 403), control.text


def test_auditor_of_another_region_is_refused_and_all_region_auditor_reads(world: World, victim):
    r = world.call("auditor510", "GET", f"{V1}/persons/{victim['psn']}/timeline")
    assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_FORBIDDEN"
    assert world.call("auditor", "GET", f"{V1}/persons/{victim['psn']}/timeline").status_code == 200
    with world.unchanged():
        w = world.call("auditor", "POST", f"{V1}/persons/{victim['psn']}/death", json={"death_date": "2026-11-01"})
    assert w.status_code == 403 and w.json()["error"]["code"] == "ROLE_FORBIDDEN"


def test_shared_person_is_readable_but_the_other_regions_relation_is_not_writable(world: World):
    """ABOTH has a 510500 relation R1 and a 210200 relation R2: the 510500 clerk reads the person,
    changes R1, and is refused on R2."""
    assert world.call("clerk510", "GET", f"{V1}/persons/ABOTH").status_code == 200
    for action, body in (("suspend", {"effective": "2026-10-01", "reason": "OTHER"}), ("terminate", {"effective": "2026-10-01", "reason": "OTHER"})):
        with world.unchanged():
            r = world.call("clerk510", "POST", f"{V1}/persons/ABOTH/relations/R2/{action}", json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_FORBIDDEN" and r.json()["error"]["field"] == "relation_id"
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons/ABOTH/contributions", json={"lines": [
            {"relation_id": "R1", "payer": "INDIVIDUAL", "paid_on": "2026-10-15", "amount": "400.00", "benefit_year": 2027},
            {"relation_id": "R2", "payer": "INDIVIDUAL", "paid_on": "2026-10-15", "amount": "400.00", "benefit_year": 2027},
        ]})
    assert r.status_code == 403 and r.json()["error"]["field"] == "lines.1.relation_id"
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons/ABOTH/relations", json={"insutype": "310", "region": "210200", "psn_type": "1101", "start": "2026-10-01"})
    assert r.status_code == 403 and r.json()["error"]["field"] == "region"


def test_unregistered_person_belongs_to_the_registering_clerks_region(world: World):
    number = resident_id("510500")
    psn_no = world.call("clerk510", "POST", f"{V1}/persons", json={"documents": [{"cert_type": "01", "number": number}]}).json()["psn_no"]
    assert world.call("clerk510", "GET", f"{V1}/persons/{psn_no}").json()["regions"] == ["510500"]
    assert world.call("clerk210", "GET", f"{V1}/persons/{psn_no}").status_code == 403
    listed = world.call("clerk510", "GET", f"{V1}/persons", params={"page_size": 200}).json()
    assert psn_no in {p["psn_no"] for p in listed["items"]}
    # once enrolled elsewhere (by an administrator), the person belongs to that region only
    world.call("admin", "POST", f"{V1}/persons/{psn_no}/relations", json={"insutype": "390", "region": "210200", "psn_type": "1501", "start": "2026-01-01"})
    assert world.call("clerk510", "GET", f"{V1}/persons/{psn_no}").status_code == 403
    assert world.call("clerk210", "GET", f"{V1}/persons/{psn_no}").json()["regions"] == ["210200"]


def test_duplicate_document_does_not_name_another_regions_person(world: World):
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons", json={"documents": [{"cert_type": "01", "number": world.numbers["p210"]}]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "DUPLICATE_PERSON_KEY"
    assert "A210" not in r.text and world.numbers["p210"] not in r.text
    r = world.call("admin", "POST", f"{V1}/persons", json={"documents": [{"cert_type": "01", "number": world.numbers["p210"]}], "region": "210200"})
    assert r.status_code == 409 and "A210" in r.text  # an administrator may see who holds it


def test_clerk_with_one_region_cannot_register_elsewhere_and_multi_region_must_choose(world: World):
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/persons", json={"documents": [{"cert_type": "01", "number": resident_id("210200")}], "region": "210200"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_FORBIDDEN"
    with world.unchanged():
        r = world.call("admin", "POST", f"{V1}/persons", json={"documents": [{"cert_type": "01", "number": resident_id("210200")}]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "REGION_REQUIRED"
