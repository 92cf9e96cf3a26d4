"""The duplicate worklist over HTTP (重复参保核查, issues 4/5), on SQLite and PostgreSQL: scan, list,
one case with its reasons, confirm and dismiss with a reason; bad input and stale cases write
nothing; a case is seen by the clerks of its relations' regions and decided only by the region of the
relation it gives up; auditors read but neither scan nor decide."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from yibao.codes import CertType, ContributionKind, InsuStatus, InsuType, PsnType
from yibao.dates import YearMonth, month_range
from yibao.model import (
    ContributionLine,
    DeclaredWage,
    Enrollment,
    IdentityDocument,
    PayerType,
    PersonFacts,
)
from yibao.store import repository as repo
from yibao.store.models import AuditRow

from .conftest import World, resident_id

V1 = "/api/v1"
_n = itertools.count(1)


def _cross_scheme(world: World, employee_region: str, resident_region: str) -> str:
    """A person paying an employee relation (2024-01…2026-10) and a resident one (2025, 2026) at once:
    a cross-scheme duplicate that R-DUP-005 resolves by terminating the resident relation."""
    psn_no = f"DUPAPI{world.backend[:2].upper()}{next(_n)}"
    start = YearMonth(2024, 1)
    lines = [
        ContributionLine("E1", ContributionKind.REGULAR, payer, m.first_day() + timedelta(days=14), amount, month=m)
        for m in month_range(start, YearMonth(2026, 10))
        for payer, amount in ((PayerType.UNIT, Decimal("441.00")), (PayerType.INDIVIDUAL, Decimal("126.00")))
    ]
    for year in (2025, 2026):
        lines.append(ContributionLine("R1", ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(year - 1, 11, 10), Decimal("400.00"), benefit_year=year))
        lines.append(ContributionLine("R1", ContributionKind.REGULAR, PayerType.FISCAL_SUBSIDY, date(year - 1, 11, 10), Decimal("700.00"), benefit_year=year))
    facts = PersonFacts(
        psn_no, "赵敏", date(1985, 5, 5), "F", (IdentityDocument(CertType.RESIDENT_ID, resident_id(employee_region)),),
        enrollments=(
            Enrollment("E1", InsuType.EMPLOYEE_BASIC, employee_region, PsnType.EMPLOYEE_IN_SERVICE, start.first_day(),
                       wages=(DeclaredWage(start, Decimal(6300)),)),
            Enrollment("R1", InsuType.RESIDENT_BASIC, resident_region, PsnType.ADULT_RESIDENT, date(2025, 1, 1)),
        ),
        contributions=tuple(lines),
    )
    with world.service.sessions() as session, session.begin():
        repo.add_facts(session, facts, by="test-seed")
    return psn_no


def _scan(world: World, who: str, region: str | None = None) -> dict:
    r = world.call(who, "POST", f"{V1}/duplicates/scan", json={"region": region} if region else {})
    assert r.status_code == 200, r.text
    return r.json()


def _case_of(world: World, who: str, psn_no: str) -> dict:
    r = world.call(who, "GET", f"{V1}/duplicates", params={"state": "OPEN", "page_size": 200})
    assert r.status_code == 200, r.text
    [case] = [c for c in r.json()["items"] if c["psn_no"] == psn_no]
    return case


def test_scan_list_show_and_confirm(world: World) -> None:
    psn = _cross_scheme(world, "210200", "510500")
    result = _scan(world, "clerk510", "510500")
    assert result["scanned"] >= 1 and len(result["new"]) >= 1
    again = _scan(world, "clerk510", "510500")
    assert again["new"] == [] and again["known"] >= 1  # the same facts are not recorded twice
    case = _case_of(world, "clerk510", psn)
    assert (case["kind"], case["outcome"], case["rule"]) == ("CROSS_SCHEME", "RESOLVED", "R-DUP-005")
    assert case["regions"] == ["210200", "510500"] and case["acting_regions"] == ["510500"]

    one = world.call("clerk210", "GET", f"{V1}/duplicates/{case['case_no']}")  # the other region sees it too
    assert one.status_code == 200, one.text
    body = one.json()
    assert [r["rule_id"] for r in body["reasons"]][:2] == ["R-DUP-001", "R-DUP-005"]
    assert all(r["citations"] for r in body["reasons"][:2])
    assert body["proposal"]["kept"] == "E1" and body["proposal"]["changes"][0]["relation_id"] == "R1"
    assert body["actions"] == []

    done = world.call("clerk510", "POST", f"{V1}/duplicates/{case['case_no']}/confirm", json={"reason": "职工医保连续参保满 12 个月，终止居民医保"})
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["state"] == "CONFIRMED"
    kinds = {a["action"] for a in out["actions"]}
    assert {"STATUS", "REGION_NOTICE"} <= kinds
    status = next(a for a in out["actions"] if a["action"] == "STATUS")
    assert (status["relation_id"], status["region"], status["detail"]["status"]) == ("R1", "510500", "4")
    facts = world.service.facts(psn)
    assert facts.relation("R1").status_on(date(2026, 6, 1)) is InsuStatus.TERMINATED
    with world.service.sessions() as session:
        audit = session.scalars(select(AuditRow.action).where(AuditRow.psn_no == psn)).all()
    assert "DUPLICATE_CONFIRM" in audit
    with world.unchanged():  # decided once
        twice = world.call("clerk510", "POST", f"{V1}/duplicates/{case['case_no']}/confirm", json={"reason": "再次"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "DUP_CASE_NOT_OPEN"
    confirmed = world.call("clerk510", "GET", f"{V1}/duplicates", params={"state": "CONFIRMED", "page_size": 200}).json()
    assert case["case_no"] in [c["case_no"] for c in confirmed["items"]]


def test_dismiss_with_a_reason_and_bad_input_writes_nothing(world: World) -> None:
    psn = _cross_scheme(world, "510500", "510500")
    _scan(world, "clerk510")
    case = _case_of(world, "clerk510", psn)
    url = f"{V1}/duplicates/{case['case_no']}"
    for body in ({}, {"reason": ""}, {"reason": "x" * 501}, {"reason": "ok", "extra": 1}, {"reason": "坏\x00字符"}):
        with world.unchanged():
            r = world.call("clerk510", "POST", url + "/dismiss", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] == "REQUEST_INVALID"
    with world.unchanged():
        r = world.call("clerk510", "POST", url + "/dismiss", json={"reason": "   "})
    assert r.status_code == 400 and r.json()["error"]["code"] == "DUP_REASON_REQUIRED"
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/duplicates/DUPNOSUCHCASE/dismiss", json={"reason": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "DUP_CASE_NOT_FOUND"
    with world.unchanged():
        r = world.call("clerk510", "GET", f"{V1}/duplicates", params={"state": "OPENED"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "REQUEST_INVALID"
    r = world.call("clerk510", "POST", url + "/dismiss", json={"reason": "已核实：兼职，单位参保另行处理"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "DISMISSED" and r.json()["actions"] == []
    assert world.service.facts(psn).relation("R1").status_on(date(2026, 6, 1)) is InsuStatus.NORMAL  # nothing changed
    assert _scan(world, "clerk510")["new"] == []  # a dismissed pair is not proposed again on the same facts


def test_a_stale_case_is_refused_and_writes_nothing(world: World) -> None:
    psn = _cross_scheme(world, "510500", "510500")
    _scan(world, "clerk510")
    case = _case_of(world, "clerk510", psn)
    r = world.call("clerk510", "POST", f"{V1}/persons/{psn}/contributions", json={"lines": [
        {"relation_id": "E1", "payer": "INDIVIDUAL", "paid_on": "2026-11-15", "amount": "126.00", "month": "2026-11", "key": f"stale-{psn}"}
    ]})
    assert r.status_code == 200, r.text
    with world.unchanged():
        r = world.call("clerk510", "POST", f"{V1}/duplicates/{case['case_no']}/confirm", json={"reason": "终止居民医保"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "DUP_CASE_STALE"
    rescan = _scan(world, "clerk510")
    assert case["case_no"] in rescan["superseded"]
    states = world.call("clerk510", "GET", f"{V1}/duplicates/{case['case_no']}").json()["state"]
    assert states == "SUPERSEDED"


def test_manual_review_cases_cannot_be_confirmed(world: World) -> None:
    _scan(world, "admin")
    r = world.call("admin", "GET", f"{V1}/duplicates", params={"state": "OPEN", "page_size": 200})
    manual = [c for c in r.json()["items"] if c["psn_no"] == "ABOTH"]  # two resident relations, no habitual residence known
    assert manual and manual[0]["outcome"] == "MANUAL_REVIEW" and manual[0]["acting_regions"] == []
    with world.unchanged():
        r = world.call("admin", "POST", f"{V1}/duplicates/{manual[0]['case_no']}/confirm", json={"reason": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "DUP_CASE_NEEDS_DECISION"


def test_region_isolation(world: World) -> None:
    psn = _cross_scheme(world, "220000", "220000")
    _scan(world, "admin")
    r = world.call("admin", "GET", f"{V1}/duplicates", params={"region": "220000", "page_size": 200})
    [case] = [c for c in r.json()["items"] if c["psn_no"] == psn]
    url = f"{V1}/duplicates/{case['case_no']}"
    for who in ("clerk510", "auditor510"):
        listed = world.call(who, "GET", f"{V1}/duplicates", params={"page_size": 200}).json()["items"]
        assert psn not in {c["psn_no"] for c in listed}
        assert all(set(c["regions"]) & {"510500"} for c in listed)
        r = world.call(who, "GET", url)
        assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_FORBIDDEN"
    with world.unchanged():
        for path in ("/confirm", "/dismiss"):
            r = world.call("clerk510", "POST", url + path, json={"reason": "越区处理"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_FORBIDDEN"
        r = world.call("clerk510", "POST", f"{V1}/duplicates/scan", json={"region": "220000"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_FORBIDDEN"
        r = world.call("clerk510", "GET", f"{V1}/duplicates", params={"region": "220000"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_FORBIDDEN"
    assert world.call("auditor", "GET", url).status_code == 200  # an all-region auditor reads it


def test_the_region_that_keeps_its_relation_sees_but_does_not_decide(world: World) -> None:
    psn = _cross_scheme(world, "210200", "510500")  # R-DUP-005 terminates the 510500 resident relation
    _scan(world, "clerk210")
    case = _case_of(world, "clerk210", psn)
    with world.unchanged():
        for path in ("/confirm", "/dismiss"):
            r = world.call("clerk210", "POST", f"{V1}/duplicates/{case['case_no']}{path}", json={"reason": "不属本区办理"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_FORBIDDEN"


def test_roles(world: World) -> None:
    psn = _cross_scheme(world, "510500", "510500")
    with world.unchanged():
        r = world.call("auditor", "POST", f"{V1}/duplicates/scan", json={})
        assert r.status_code == 403 and r.json()["error"]["code"] == "ROLE_FORBIDDEN"
        r = world.call(None, "GET", f"{V1}/duplicates")
        assert r.status_code == 401
    _scan(world, "clerk510")
    case = _case_of(world, "auditor", psn)
    with world.unchanged():
        for path in ("/confirm", "/dismiss"):
            r = world.call("auditor", "POST", f"{V1}/duplicates/{case['case_no']}{path}", json={"reason": "审计员不能处理"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "ROLE_FORBIDDEN"
    page = world.call("auditor", "GET", f"{V1}/duplicates", params={"page_size": 1, "page": 1}).json()
    assert len(page["items"]) == 1 and page["total"] >= 1


@pytest.mark.parametrize("page_size", [1, 2])
def test_pages_cover_the_list_once(world: World, page_size: int) -> None:
    _cross_scheme(world, "510500", "510500")
    _scan(world, "admin")
    whole = world.call("admin", "GET", f"{V1}/duplicates", params={"page_size": 200}).json()
    seen, page = [], 1
    while True:
        r = world.call("admin", "GET", f"{V1}/duplicates", params={"page_size": page_size, "page": page}).json()
        if not r["items"]:
            break
        seen += [c["case_no"] for c in r["items"]]
        page += 1
    assert seen == [c["case_no"] for c in whole["items"]] and len(seen) == whole["total"]
