"""A correction walked in a real browser (Debian's Chromium, headless, Playwright) against the console
on a free port (the fixtures of ``test_console_browser.py``): a birth date contradicting the ID is
refused beside the field with what was typed kept (R-ID-007), the stated grounds let the review show
before → after without writing, and the confirm saves it; then a relation's start is corrected.

Skipped only when ``/usr/bin/chromium`` is absent and ``CI`` is unset; under ``CI`` a missing browser fails.
"""

from __future__ import annotations

from datetime import date, timedelta

from yibao import ids

from .conftest import snapshot
from .test_console_browser import browser, live, login, no_traceback, submit_review  # noqa: F401 - the shared fixtures


def test_a_clerk_corrects_a_person_and_a_relation(live, browser) -> None:  # noqa: F811
    url, service, _persons, numbers = live
    wrong = (ids.validate_document("01", numbers["p510"]).birth_date + timedelta(days=2)).isoformat()
    page = login(browser, url, "clerk510")
    page.goto(url + "/persons/A510")
    page.click("a[href='/persons/A510/actions/correct_person']")
    assert page.input_value("#f-name") == "王伟"

    page.fill("#f-name", "王伟强")
    page.fill("#f-birth_date", wrong)
    page.fill("#f-reason", "户籍信息更正")
    submit_review(page)
    page.wait_for_selector("#f-birth_date-error")
    assert "DERIVED_CONTRADICTION" in page.inner_text("#f-birth_date-error")
    assert page.input_value("#f-name") == "王伟强" and page.input_value("#f-birth_date") == wrong

    page.fill("#f-override_reason", "公安机关出具的户籍更正证明")
    before = snapshot(service)
    submit_review(page)
    page.wait_for_selector("#confirm")
    table = page.inner_text("table.effect-table")
    assert "王伟" in table and "王伟强" in table and wrong in table
    assert snapshot(service) == before  # the review wrote nothing
    page.click("#confirm")
    page.wait_for_selector(".flash.ok")
    assert "已更正人员基本信息" in page.inner_text(".flash.ok")
    facts = service.facts("A510")
    assert (facts.name, facts.birth_date) == ("王伟强", date.fromisoformat(wrong))

    page.click("a[href='/persons/A510/actions/correct_relation']")
    page.fill("#f-start", "2024-03-01")
    page.fill("#f-reason", "参保开始日期录入错误")
    submit_review(page)
    page.wait_for_selector("#confirm")
    assert "2024-01-01" in page.inner_text("table.effect-table") and "2024-03-01" in page.inner_text("table.effect-table")
    page.click("#confirm")
    page.wait_for_selector(".flash.ok")
    assert "已更正参保关系 E1" in page.inner_text(".flash.ok")
    assert service.facts("A510").enrollments[0].start == date(2024, 3, 1)
    no_traceback(page)
    page.context.close()
