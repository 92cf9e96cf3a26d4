"""Screenshots of the clerk's console for docs/console.md and the README.

    python3 docs/screenshots/make_screenshots.py

Builds a throw-away SQLite database with a small demo population (``yibao.demo``) and two users,
serves the console on a free port, and drives Debian's Chromium (``/usr/bin/chromium``) with
Playwright through the main pages: login, search, a person's page with the timeline and a segment's
reasons, a back-payment's confirmation step, the policy browser, the region dashboard, and the duplicate
worklist after a scan. Chinese text needs a CJK font (Debian: ``fonts-wqy-microhei`` or ``fonts-noto-cjk``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402
from web.live import LiveServer, chromium_missing_reason, launch  # noqa: E402

from yibao import demo  # noqa: E402
from yibao.api import create_app  # noqa: E402
from yibao.cli_serve import load_demo  # noqa: E402
from yibao.service.records import RecordsService  # noqa: E402

PASSWORD = "demo-password-1"
SIZE = 160


def main() -> int:
    missing = chromium_missing_reason()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        service = RecordsService.open(f"sqlite:///{tmp}/console.db")
        load_demo(service, SIZE, show_progress=False)
        app = create_app(service)
        for username, role, regions in (("admin", "administrator", []), ("clerk-demo", "clerk", ["220000", "510500"])):
            app.state.yibao.access.create_user(username=username, password=PASSWORD, role=role, regions=regions, by="screenshots")
        people = list(demo.population(SIZE, today=service.today()))
        switch = next(p for p in people if p.story == "switch_resident_to_employee" and p.facts.enrollments[0].region == "220000")
        gap = next(p for p in people if p.story == "flexible_long_gap" and p.facts.enrollments[0].region == "510500")
        with LiveServer(app) as url, sync_playwright() as pw:
            browser = launch(pw, "--lang=zh-CN", env={**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "zh_CN"})  # date pickers in Chinese
            page = browser.new_page(viewport={"width": 1280, "height": 860}, device_scale_factor=1, locale="zh-CN")
            page.goto(url + "/login")
            page.fill("#username", "clerk-demo")
            page.screenshot(path=str(HERE / "login.png"))
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.fill("#name", switch.facts.name[:1])
            page.click("form.search button[type=submit]")
            page.wait_for_selector("#results")
            page.screenshot(path=str(HERE / "search.png"))
            page.goto(f"{url}/persons/{switch.facts.person_id}")
            page.locator("svg.timeline .seg.period").first.click()
            page.screenshot(path=str(HERE / "person.png"), full_page=True)
            page.goto(f"{url}/persons/{gap.facts.person_id}/actions/backpay")
            page.click("button[value=review]")
            page.wait_for_selector("#confirm")
            page.screenshot(path=str(HERE / "confirm.png"), full_page=True)
            page.goto(f"{url}/policy?region=220000")
            page.screenshot(path=str(HERE / "policy.png"))
            page.goto(f"{url}/dashboard?region=220000")
            page.wait_for_selector("#kpi-arrears")
            page.screenshot(path=str(HERE / "dashboard.png"), full_page=True)
            page.goto(f"{url}/duplicates")
            page.click("#dup-scan button[type=submit]")
            page.wait_for_selector(".flash.ok")
            page.screenshot(path=str(HERE / "duplicates.png"), full_page=True)
            page.locator("#dup-cases a[href^='/duplicates/']").first.click()
            page.wait_for_selector("#reasons")
            page.screenshot(path=str(HERE / "duplicate_case.png"), full_page=True)
            browser.close()
        service.engine.dispose()
    for name in ("login", "search", "person", "confirm", "policy", "dashboard", "duplicates", "duplicate_case"):
        print(HERE / f"{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
