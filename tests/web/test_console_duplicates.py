"""The console's duplicate worklist (重复参保核查) over TestClient, on SQLite and PostgreSQL: the scan
button, the list of the clerk's regions with its state filter, a case page with the proposal's reasons
and citations, dismiss and confirm through the review step with CSRF (errors beside the field, typed
values kept, review writes nothing), stale cases refused, the region rule and the roles."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from api.test_api_duplicates import _cross_scheme

from yibao.codes import ContributionKind, InsuStatus
from yibao.dates import YearMonth
from yibao.model import ContributionLine, PayerType
from yibao.service.duplicates import DuplicatesService

from .conftest import WebWorld, csrf_of, snapshot
from .test_console_pages import no_traceback


def _scan(w: WebWorld, who: str, region: str = "") -> str:
    c = w.client(who)
    r = c.post("/duplicates/scan", data={"csrf": csrf_of(c.get("/duplicates").text), "region": region})
    assert r.status_code == 303, r.text
    return c.get(r.headers["location"]).text


def _case_no(w: WebWorld, psn_no: str) -> str:
    [case] = [c for c in DuplicatesService(w.service).cases(psn_no=psn_no) if c.state == "OPEN"]
    return case.case_no


def _post(w: WebWorld, who: str, case_no: str, **values: str):
    c = w.client(who)
    csrf = csrf_of(c.get(f"/duplicates/{case_no}").text)
    return c.post(f"/duplicates/{case_no}", data={"csrf": csrf, **values})


def _same(before: dict, after: dict) -> None:
    assert [n for n in before if before[n] != after[n]] == []


def test_the_worklist_is_in_the_navigation_and_scanning_fills_it(world: WebWorld) -> None:
    psn = _cross_scheme(world, "510500", "510500")
    c = world.client("clerk510")
    home = c.get("/").text
    assert 'href="/duplicates"' in home and "重复参保核查" in home
    page = _scan(world, "clerk510")
    assert re.search(r"已核查 \d+ 人：新增 \d+ 件", page)
    assert psn in page and 'data-state="OPEN"' in page
    assert 'data-state="CONFIRMED"' not in page  # the default filter: open cases
    assert "跨制度重复参保" in page and "R-DUP-005" in page
    again = _scan(world, "clerk510")
    assert "新增 0 件" in again
    no_traceback(page)


def test_a_scan_without_csrf_or_by_an_auditor_is_refused_and_writes_nothing(world: WebWorld) -> None:
    _cross_scheme(world, "510500", "510500")
    before = snapshot(world.service)
    r = world.client("clerk510").post("/duplicates/scan", data={"region": ""})
    assert r.status_code == 400 and "CSRF_INVALID" in r.text
    auditor = world.client("auditor")
    page = auditor.get("/duplicates").text
    assert 'id="dup-scan"' not in page
    r = auditor.post("/duplicates/scan", data={"csrf": csrf_of(page), "region": ""})
    assert r.status_code == 403 and "ROLE_FORBIDDEN" in r.text
    _same(before, snapshot(world.service))


def test_the_case_page_shows_the_proposal_with_reasons_and_citations(world: WebWorld) -> None:
    psn = _cross_scheme(world, "510500", "510500")
    _scan(world, "clerk510")
    case_no = _case_no(world, psn)
    r = world.client("clerk510").get(f"/duplicates/{case_no}")
    assert r.status_code == 200
    html = r.text
    assert 'data-state="OPEN"' in html and "保留参保关系" in html and "<strong>E1</strong>" in html
    reasons = html[html.index('id="reasons"'):]
    assert '<span class="rule">R-DUP-001</span>' in reasons and '<span class="rule">R-DUP-005</span>' in reasons
    assert 'class="citation"' in reasons
    assert 'id="decide"' in html and 'name="csrf"' in html


def test_dismiss_through_the_review_step_with_errors_beside_the_field(world: WebWorld) -> None:
    psn = _cross_scheme(world, "510500", "510500")
    _scan(world, "clerk510")
    case_no = _case_no(world, psn)
    before = snapshot(world.service)
    r = _post(world, "clerk510", case_no, step="review", decision="dismiss", reason="  ")
    assert r.status_code == 400 and 'id="f-reason-error"' in r.text and "请填写处理理由" in r.text
    assert '<option value="dismiss" selected>' in r.text  # the decision typed is kept
    long = "长" * 501
    r = _post(world, "clerk510", case_no, step="review", decision="dismiss", reason=long)
    assert r.status_code == 400 and long in r.text and 'data-code="DUP_REASON_INVALID"' in r.text
    r = _post(world, "clerk510", case_no, step="review", decision="delete", reason="x")
    assert r.status_code == 400 and 'id="f-decision-error"' in r.text
    r = _post(world, "clerk510", case_no, step="review", decision="dismiss", reason="已核实：兼职，另行处理")
    assert r.status_code == 200 and 'id="review-decision"' in r.text and 'value="已核实：兼职，另行处理"' in r.text
    back = _post(world, "clerk510", case_no, step="edit", decision="dismiss", reason="已核实：兼职，另行处理")
    assert ">已核实：兼职，另行处理</textarea>" in back.text
    r = world.client("clerk510").post(f"/duplicates/{case_no}", data={"step": "confirm", "decision": "dismiss", "reason": "无 CSRF"})
    assert r.status_code == 400 and "CSRF_INVALID" in r.text
    _same(before, snapshot(world.service))  # edit, review and a forged post wrote nothing
    r = _post(world, "clerk510", case_no, step="confirm", decision="dismiss", reason="已核实：兼职，另行处理")
    assert r.status_code == 303 and r.headers["location"] == f"/duplicates/{case_no}"
    page = world.client("clerk510").get(r.headers["location"]).text
    assert f"案件 {case_no} 已驳回" in page and 'data-state="DISMISSED"' in page and 'id="decide"' not in page
    assert world.service.facts(psn).relation("R1").status_on(date(2026, 6, 1)) is InsuStatus.NORMAL
    r = _post(world, "clerk510", case_no, step="confirm", decision="dismiss", reason="again")
    assert r.status_code == 409 and 'data-code="DUP_CASE_NOT_OPEN"' in r.text  # a replayed post is refused
    listed = world.client("clerk510").get("/duplicates?state=DISMISSED").text
    assert case_no in listed


def test_confirm_applies_the_resolution(world: WebWorld) -> None:
    psn = _cross_scheme(world, "210200", "510500")
    _scan(world, "clerk510")
    case_no = _case_no(world, psn)
    r = _post(world, "clerk510", case_no, step="review", decision="confirm", reason="职工医保连续参保满 12 个月")
    assert r.status_code == 200 and 'id="confirm"' in r.text
    r = _post(world, "clerk510", case_no, step="confirm", decision="confirm", reason="职工医保连续参保满 12 个月")
    assert r.status_code == 303, r.text
    page = world.client("clerk510").get(f"/duplicates/{case_no}").text
    assert 'data-state="CONFIRMED"' in page and 'data-action="STATUS"' in page and 'data-action="REGION_NOTICE"' in page
    assert world.service.facts(psn).relation("R1").status_on(date(2026, 6, 1)) is InsuStatus.TERMINATED


def test_a_stale_case_is_refused_on_the_page_and_writes_nothing(world: WebWorld) -> None:
    psn = _cross_scheme(world, "510500", "510500")
    _scan(world, "clerk510")
    case_no = _case_no(world, psn)
    world.service.record_contributions(psn, [ContributionLine("E1", ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(2026, 11, 15),
                                                              Decimal("126.00"), month=YearMonth(2026, 11))], by="test")
    before = snapshot(world.service)
    r = _post(world, "clerk510", case_no, step="confirm", decision="confirm", reason="终止居民医保")
    assert r.status_code == 409 and 'data-code="DUP_CASE_STALE"' in r.text and "终止居民医保</textarea>" in r.text
    _same(before, snapshot(world.service))
    no_traceback(r.text)


def test_the_region_rule(world: WebWorld) -> None:
    own = _cross_scheme(world, "510500", "510500")
    shared = _cross_scheme(world, "210200", "510500")  # 510500's resident relation is given up
    _scan(world, "admin")
    own_no, shared_no = _case_no(world, own), _case_no(world, shared)
    c210 = world.client("clerk210")
    listed = c210.get("/duplicates").text
    assert shared_no in listed and own_no not in listed
    r = c210.get(f"/duplicates/{own_no}")
    assert r.status_code == 403 and "REGION_FORBIDDEN" in r.text and "无权访问" in r.text
    page = c210.get(f"/duplicates/{shared_no}").text
    assert 'id="decide"' not in page and 'id="not-yours"' in page
    before = snapshot(world.service)
    r = c210.post(f"/duplicates/{shared_no}", data={"csrf": csrf_of(page), "step": "confirm", "decision": "confirm", "reason": "越区"})
    assert r.status_code == 403 and "REGION_FORBIDDEN" in r.text
    r = c210.get("/duplicates?region=510500")
    assert r.status_code == 403
    _same(before, snapshot(world.service))
    assert world.client("auditor").get(f"/duplicates/{own_no}").status_code == 200
    assert 'id="decide"' not in world.client("auditor").get(f"/duplicates/{own_no}").text


def test_unknown_case_and_english(world: WebWorld) -> None:
    c = world.client("clerk510")
    r = c.get("/duplicates/DUPNOSUCH")
    assert r.status_code == 404 and "DUP_CASE_NOT_FOUND" in r.text
    c.get("/lang/en?next=/duplicates")
    try:
        page = c.get("/duplicates").text
        assert "Duplicate worklist" in page and "Scan" in page
    finally:
        c.get("/lang/zh?next=/")


def test_the_dashboard_links_to_the_worklist(world: WebWorld) -> None:
    _cross_scheme(world, "510500", "510500")
    _scan(world, "clerk510")
    page = world.client("clerk510").get("/dashboard?region=510500").text
    m = re.search(r'href="/duplicates\?state=OPEN&(?:amp;)?region=510500" id="kpi-dup-cases"><span class="n">(\d+)</span>', page)
    assert m and int(m.group(1)) >= 1
    opened = [c for c in DuplicatesService(world.service).cases(state="OPEN")]
    assert int(m.group(1)) <= len(opened)
