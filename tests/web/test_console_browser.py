"""End to end in a real browser: Debian's Chromium (headless) driven by Playwright against the console
served by uvicorn on a free port, over a small SQLite database of hand-made persons.

The walk: log in, find a person by ID number, read the timeline (hovering a segment shows the
decision's reasons; "as known on" redraws it), enroll, record a payment, quote and post a
back-payment, suspend and restore, log out; a clerk of another region refused; and the duplicate
worklist: scan, dismiss one case with a reason, confirm another.

Skipped only when ``/usr/bin/chromium`` is absent and ``CI`` is unset; under ``CI`` a missing browser fails.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from datetime import timedelta

import pytest

from yibao.ids import mask
from yibao.service.records import RecordsService

from . import live as live_module
from .conftest import PASSWORD, make_app, seed
from .live import LiveServer, launch, require_browser


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[str, RecordsService, dict[str, str], dict[str, str]]]:
    require_browser()
    with tempfile.TemporaryDirectory() as tmp:
        service = RecordsService.open(f"sqlite:///{tmp}/console.db")
        persons, numbers = seed(service)
        app = make_app(service)
        with LiveServer(app) as url:
            yield url, service, persons, numbers
        service.engine.dispose()


@pytest.fixture(scope="module")
def browser(live):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch(pw)
        try:
            yield b
        finally:
            b.close()


def login(browser, url: str, username: str):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(url + "/")
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(url + "/")
    return page


def no_traceback(page) -> None:
    assert "Traceback" not in page.content()


def submit_review(page) -> None:
    page.click("button[value=review]")


def test_a_clerk_walks_the_main_flows(live, browser) -> None:
    url, service, _persons, numbers = live
    today = service.today()
    page = login(browser, url, "clerk510")
    assert page.locator("h1").first.inner_text() == "查找参保人"

    # find by ID number (htmx swaps the results in), masked
    page.fill("#number", numbers["back"])
    page.click("form.search button[type=submit]")
    page.wait_for_selector("#results a[href='/persons/ABACK']")
    assert mask(numbers["back"]) in page.inner_text("#results") and numbers["back"] not in page.content()
    page.click("#results a[href='/persons/ABACK'] >> nth=0")
    page.wait_for_url(url + "/persons/ABACK")

    # read the timeline: hovering a benefit period shows its reasons and citation
    page.hover("svg.timeline .seg.period >> nth=0")
    panel = page.locator("#reasons")
    assert re.search(r"R-[A-Z]+-\d+", panel.inner_text()) and "依据" in panel.inner_text()
    page.click("svg.timeline .seg.month >> nth=0")
    assert "费款所属期" in panel.inner_text()
    # "as known on" an earlier day redraws the picture (htmx, no page load)
    page.fill("#tl-on", "2024-01-15")
    page.fill("#tl-known", "2023-12-31")
    page.wait_for_function("document.querySelector('#timeline .answer').innerText.includes('2023-12-31')")
    assert "不享受待遇" in page.inner_text("#timeline .answer")
    assert page.url == url + "/persons/ABACK"

    # back-payment: quote (the review step) then post
    page.click("a[href='/persons/ABACK/actions/backpay']")
    submit_review(page)
    page.wait_for_selector("#confirm")
    quoted = service.quote("ABACK", today).value
    assert page.inner_text("#quote-total") == str(quoted.total) and "其中补缴" in page.content()
    before = len(service.facts("ABACK").contributions)
    page.click("#confirm")
    page.wait_for_selector(".flash.ok")
    assert "已记账" in page.inner_text(".flash.ok")
    assert len(service.facts("ABACK").contributions) == before + sum(len(i.lines) for i in quoted.items)

    # record a payment (next month, individual share)
    page.click("a[href='/persons/ABACK/actions/payment']")
    page.select_option("#f-relation_id", "F1")
    nxt = today.replace(day=1) + timedelta(days=32)
    page.fill("#f-period", f"{nxt:%Y-%m}")
    page.fill("#f-amount", "12.3.4")
    submit_review(page)
    page.wait_for_selector("#f-amount-error")
    assert page.input_value("#f-amount") == "12.3.4" and page.input_value("#f-period") == f"{nxt:%Y-%m}"
    page.fill("#f-amount", "240.00")
    submit_review(page)
    page.click("#confirm")
    page.wait_for_selector(".flash.ok")
    assert "已记录缴费 1 条" in page.inner_text(".flash.ok")

    # enroll a registered person: a bad employer code stays in the field with the message beside it
    page.goto(url + "/persons/ANEW")
    page.click("a[href='/persons/ANEW/actions/enroll']")
    page.select_option("#f-insutype", "390")
    page.select_option("#f-psn_type", "1501")
    page.fill("#f-start", today.isoformat())
    page.fill("#f-employer", "123ABC")
    submit_review(page)
    page.wait_for_selector("#f-employer-error")
    assert page.input_value("#f-employer") == "123ABC" and page.input_value("#f-start") == today.isoformat()
    page.fill("#f-employer", "")
    submit_review(page)
    page.wait_for_selector("#confirm")
    assert "办理后的效果" in page.content()
    page.click("#confirm")
    page.wait_for_selector(".flash.ok")
    assert "已建立参保关系" in page.inner_text(".flash.ok")
    assert [e.insutype.value for e in service.facts("ANEW").enrollments] == ["390"]

    # suspend, then restore
    page.goto(url + "/persons/A510/actions/suspend")
    page.select_option("#f-relation_id", "E1")
    page.fill("#f-effective", today.isoformat())
    page.select_option("#f-reason", "EMPLOYMENT_ENDED")
    submit_review(page)
    page.click("#confirm")
    page.wait_for_selector(".flash.ok")
    assert "暂停" in page.inner_text(".flash.ok") and "暂停参保" in page.inner_text("#rel-E1")
    page.click("a[href='/persons/A510/actions/restore']")
    page.select_option("#f-relation_id", "E1")
    page.fill("#f-effective", (today + timedelta(days=1)).isoformat())
    submit_review(page)
    page.click("#confirm")
    page.wait_for_selector(".flash.ok")
    assert "恢复" in page.inner_text(".flash.ok")
    statuses = [c.status.value for c in service.facts("A510").enrollments[0].status_changes]
    assert statuses[-2:] == ["2", "1"]
    no_traceback(page)

    page.click("header button:has-text('退出')")
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(url + "/persons/A510")
    assert "/login" in page.url
    page.context.close()


def test_a_clerk_of_another_region_is_refused(live, browser) -> None:
    url, _service, _persons, numbers = live
    page = login(browser, url, "clerk210")
    page.fill("#number", numbers["p510"])
    page.click("form.search button[type=submit]")
    page.wait_for_selector(".error-page")
    assert "无权访问" in page.inner_text("h1") and "510500" in page.inner_text(".error-message")
    assert mask(numbers["p510"]) not in page.content()
    response = page.goto(url + "/persons/A510")
    assert response is not None and response.status == 403
    assert "无权访问" in page.inner_text("h1") and page.locator("svg.timeline").count() == 0
    response = page.goto(url + "/persons/A510/actions/suspend")
    assert response is not None and response.status == 403
    no_traceback(page)
    page.context.close()


def test_a_clerk_works_the_duplicate_worklist(live, browser) -> None:
    """Scan, open a case, dismiss it with a reason through the review step; confirm another."""
    from types import SimpleNamespace

    from api.test_api_duplicates import _cross_scheme

    from yibao.codes import InsuStatus
    from yibao.service.duplicates import DuplicatesService

    url, service, _persons, _numbers = live
    where = SimpleNamespace(backend="browser", service=service)
    first, second = _cross_scheme(where, "510500", "510500"), _cross_scheme(where, "510500", "510500")
    page = login(browser, url, "clerk510")
    page.click("header nav a:has-text('重复参保核查')")
    page.wait_for_url(url + "/duplicates")
    page.click("#dup-scan button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert "已核查" in page.inner_text(".flash.ok")
    cases = {c.psn_no: c.case_no for c in DuplicatesService(service).cases(state="OPEN")}
    for psn_no, decision, reason, state in ((first, "dismiss", "已核实：兼职，另行处理", "DISMISSED"), (second, "confirm", "职工医保连续参保满 12 个月", "CONFIRMED")):
        page.goto(url + "/duplicates")
        page.click(f"#dup-cases a:has-text('{cases[psn_no]}')")
        page.wait_for_selector("#reasons .rule")
        assert "R-DUP-005" in page.inner_text("#reasons")
        page.select_option("#f-decision", decision)
        page.fill("#f-reason", reason)
        submit_review(page)
        page.wait_for_selector("#review-decision")
        page.click("#confirm")
        page.wait_for_selector(f"#case-state[data-state={state}]")
        assert cases[psn_no] in page.inner_text(".flash.ok")
        no_traceback(page)
    assert service.facts(first).relation("R1").status_on(service.today()) is InsuStatus.NORMAL
    assert service.facts(second).relation("R1").status_on(service.today()) is InsuStatus.TERMINATED
    assert page.locator("#done tr[data-action=STATUS]").count() == 1
    page.context.close()


def test_the_console_switches_to_english(live, browser) -> None:
    url, *_ = live
    page = login(browser, url, "clerk510")
    page.click("a[hreflang=en]")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("h1").first.inner_text() == "Find a person"
    page.click("a[hreflang=zh]")
    page.wait_for_selector("html[lang=zh-CN]")
    page.context.close()


def test_a_missing_browser_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(live_module, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_browser()
