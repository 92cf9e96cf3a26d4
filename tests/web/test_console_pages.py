"""The console's pages and forms over TestClient, on SQLite and PostgreSQL: login and CSRF, search
with masking, the person's page and timeline, every action's edit → review → confirm steps (bad
input keeps what was typed and shows the message beside the field; review writes nothing), the
region rule (another region's clerk gets a Chinese 403 page), the policy browser and the dashboard,
and no traceback anywhere."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from yibao.codes import InsuStatus
from yibao.ids import mask

from .conftest import (
    PASSWORD,
    USERS,
    WebWorld,
    client_for,
    csrf_of,
    fresh_person,
    snapshot,
)

TRACEBACK = re.compile(r"Traceback|File \"|\.py\", line")


def no_traceback(html: str) -> None:
    assert not TRACEBACK.search(html)


def field_error(html: str, name: str) -> str:
    m = re.search(rf'id="f-{name}-error"[^>]*>([^<]+)<', html)
    assert m, f"no error beside field {name}"
    return m.group(1)


def input_value(html: str, name: str) -> str | None:
    m = re.search(rf'<input id="f-{name}" name="{name}" value="([^"]*)"', html)
    return m.group(1) if m else None


def post_action(w: WebWorld, who: str, psn_no: str, action: str, step: str, **values: str):
    c = w.client(who)
    return c.post(f"/persons/{psn_no}/actions/{action}", data={"csrf": w.csrf(who), "step": step, **values})


# ------------------------------------------------------------------------------------------ login


def test_login_page_is_chinese_and_sets_a_login_csrf_cookie(world: WebWorld) -> None:
    c = client_for(world.app, None)
    r = c.get("/login")
    assert r.status_code == 200 and "登录" in r.text and 'lang="zh-CN"' in r.text
    assert "yibao_login_csrf" in r.headers["set-cookie"]


def test_wrong_password_keeps_the_username_and_gives_no_session(world: WebWorld) -> None:
    c = client_for(world.app, None)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "clerk510", "password": "wrong", "csrf": token})
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text and 'value="clerk510"' in r.text
    assert "yibao_session" not in r.headers.get("set-cookie", "")
    no_traceback(r.text)


def test_login_sets_an_httponly_strict_session_cookie_and_logout_revokes_it(world: WebWorld) -> None:
    c = client_for(world.app, None)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "clerk510", "password": PASSWORD, "csrf": token, "next": "/persons/A510"})
    assert r.status_code == 303 and r.headers["location"] == "/persons/A510"
    cookie = r.headers["set-cookie"]
    assert "yibao_session=ybs_" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    session_token = c.cookies.get("yibao_session")
    assert c.get("/persons/A510").status_code == 200
    r = c.post("/logout", data={"csrf": csrf_of(c.get("/").text)})
    assert r.status_code == 303
    # the token itself is revoked, not only the cookie dropped
    c.cookies.set("yibao_session", session_token)
    r = c.get("/persons/A510")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_over_https_the_session_cookie_is_secure(world: WebWorld) -> None:
    from fastapi.testclient import TestClient

    c = TestClient(world.app, base_url="https://testserver", follow_redirects=False)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "clerk510", "password": PASSWORD, "csrf": token})
    assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_login_without_the_csrf_cookie_is_refused(world: WebWorld) -> None:
    c = client_for(world.app, None)
    r = c.post("/login", data={"username": "clerk510", "password": PASSWORD, "csrf": "forged"})
    assert r.status_code == 400 and "CSRF_INVALID" in r.text
    assert "yibao_session" not in r.headers.get("set-cookie", "")


def test_open_redirects_are_refused(world: WebWorld) -> None:
    c = client_for(world.app, None)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "clerk510", "password": PASSWORD, "csrf": token, "next": "//evil.example/x"})
    assert r.headers["location"] == "/"


def test_anonymous_pages_redirect_to_login(world: WebWorld) -> None:
    c = client_for(world.app, None)
    for path in ("/", "/persons/A510", "/policy", "/dashboard", "/persons/A510/actions/enroll"):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    r = c.get("/persons/A510/timeline", headers={"HX-Request": "true"})
    assert r.headers.get("HX-Redirect", "").startswith("/login")


def test_a_post_without_the_csrf_field_is_refused_and_writes_nothing(world: WebWorld) -> None:
    psn_no, _ = fresh_person(world, "bare")
    before = snapshot(world.service)
    c = world.client("clerk510")
    r = c.post(f"/persons/{psn_no}/actions/death", data={"step": "confirm", "death_date": "2026-01-01"})
    assert r.status_code == 400 and "CSRF_INVALID" in r.text
    r = c.post(f"/persons/{psn_no}/actions/death", data={"step": "confirm", "death_date": "2026-01-01", "csrf": "0" * 64})
    assert r.status_code == 400
    assert snapshot(world.service) == before


# ------------------------------------------------------------------------------------------ search


def search(w: WebWorld, who: str, **values: str):
    return w.client(who).post("/search", data={"csrf": w.csrf(who), "cert_type": "01", **values})


def test_search_by_document_shows_the_person_masked(world: WebWorld) -> None:
    number = world.numbers["p510"]
    r = search(world, "clerk510", number=number)
    assert r.status_code == 200
    assert "/persons/A510" in r.text and mask(number) in r.text and number not in r.text


def test_search_by_name_lists_only_the_clerks_regions(world: WebWorld) -> None:
    r = search(world, "clerk510", name="王伟")  # A510 and A210 share the name
    assert "/persons/A510" in r.text and "/persons/A210" not in r.text
    assert world.numbers["p510"] not in r.text and mask(world.numbers["p510"]) in r.text
    r = search(world, "admin", name="王伟")
    assert "/persons/A510" in r.text and "/persons/A210" in r.text
    assert world.numbers["p210"] not in r.text  # lists are masked for administrators too


def test_search_for_another_regions_person_is_a_chinese_403(world: WebWorld) -> None:
    r = search(world, "clerk510", number=world.numbers["p210"])
    assert r.status_code == 403
    assert "无权访问" in r.text and "REGION_FORBIDDEN" in r.text and "210200" in r.text
    assert "/persons/A210" not in r.text and mask(world.numbers["p210"]) not in r.text
    no_traceback(r.text)


def test_a_bad_number_is_shown_beside_the_field_and_kept(world: WebWorld) -> None:
    r = search(world, "clerk510", number="51050219700101001X")
    assert r.status_code == 400
    assert 'id="number-error"' in r.text and 'value="51050219700101001X"' in r.text
    r = search(world, "clerk510")
    assert r.status_code == 400 and "请输入证件号码或姓名" in r.text


def test_an_unknown_number_finds_nobody(world: WebWorld) -> None:
    from api.conftest import resident_id

    r = search(world, "clerk510", number=resident_id("510500"))
    assert r.status_code == 200 and "没有找到参保人" in r.text


# ------------------------------------------------------------------------------------------ person


def test_person_page_shows_documents_relations_lines_and_the_timeline(world: WebWorld) -> None:
    r = world.client("clerk510").get("/persons/A510")
    assert r.status_code == 200
    html = r.text
    assert mask(world.numbers["p510"]) in html and world.numbers["p510"] not in html
    assert "参保关系与状态变更" in html and "E1" in html and "缴费明细" in html
    assert "<svg" in html and 'data-explain="ex' in html
    # every segment's explanation is on the page, with a rule and a citation for benefit periods
    period = re.search(r'class="seg period"[^>]*data-explain="(ex\d+)"', html)
    assert period
    block = html[html.index(f'id="{period.group(1)}"') :][:4000]
    assert re.search(r'class="rule">R-[A-Z]+-\d+', block) and "依据" in block


def test_administrators_see_whole_numbers_on_the_person_page(world: WebWorld) -> None:
    assert world.numbers["p510"] in world.client("admin").get("/persons/A510").text


def test_another_regions_person_page_is_a_chinese_403_without_data(world: WebWorld) -> None:
    r = world.client("clerk510").get("/persons/A210")
    assert r.status_code == 403 and "无权访问" in r.text
    assert "王伟" not in r.text and mask(world.numbers["p210"]) not in r.text and "<svg" not in r.text
    assert world.client("clerk210").get("/persons/A510/timeline", headers={"HX-Request": "true"}).status_code == 403


def test_a_person_of_two_regions_is_seen_by_both_clerks_but_changed_only_in_ones_own(world: WebWorld) -> None:
    assert world.client("clerk510").get("/persons/ABOTH").status_code == 200
    assert world.client("clerk210").get("/persons/ABOTH").status_code == 200
    r = post_action(world, "clerk210", "ABOTH", "suspend", "review", relation_id="R1", effective="2026-02-01", reason="OTHER")
    assert r.status_code == 403 and "R1" in field_error(r.text, "relation_id")


def test_unknown_person_is_a_404_page(world: WebWorld) -> None:
    r = world.client("clerk510").get("/persons/NOBODY")
    assert r.status_code == 404 and "未找到" in r.text


def test_the_timeline_redraws_as_known_on_an_earlier_day(world: WebWorld) -> None:
    c = world.client("clerk510")
    today = world.service.today()
    now = c.get("/persons/A510/timeline", params={"on": today.isoformat()}, headers={"HX-Request": "true"})
    assert now.status_code == 200 and now.text.lstrip().startswith('<div id="timeline"') and "<html" not in now.text
    assert "享受待遇" in now.text
    early = c.get("/persons/A510/timeline", params={"on": "2024-01-10", "known": "2023-12-31"}, headers={"HX-Request": "true"})
    assert 'value="2023-12-31"' in early.text and "不享受待遇" in early.text
    bad = c.get("/persons/A510/timeline", params={"on": "2024-13-01"}, headers={"HX-Request": "true"})
    assert bad.status_code == 200 and "日期格式无效" in bad.text
    no_traceback(bad.text)
    # without htmx the same address is the whole page with those days
    r = c.get("/persons/A510/timeline", params={"on": "2024-01-10"})
    assert r.status_code == 303 and r.headers["location"] == "/persons/A510?on=2024-01-10"


# ------------------------------------------------------------------------------------------ actions


def test_enroll_bad_input_is_shown_beside_each_field_with_what_was_typed(world: WebWorld) -> None:
    psn_no, _ = fresh_person(world, "bare")
    before = snapshot(world.service)
    r = post_action(world, "clerk510", psn_no, "enroll", "review", insutype="310", region="510500", psn_type="1101", start="2026-13-01",
                    employer="91350100M000100Y4X", monthly_wage="abc")
    assert r.status_code == 400
    assert "日期格式无效" in field_error(r.text, "start")
    assert input_value(r.text, "start") == "2026-13-01" and input_value(r.text, "employer") == "91350100M000100Y4X"
    assert input_value(r.text, "monthly_wage") == "abc"
    r = post_action(world, "clerk510", psn_no, "enroll", "review", insutype="310", region="510500", psn_type="1101", start="2026-01-01",
                    employer="91350100M000100Y4X", monthly_wage="abc")
    assert field_error(r.text, "employer") and field_error(r.text, "monthly_wage")
    r = post_action(world, "clerk510", psn_no, "enroll", "review", insutype="310", region="510500", psn_type="1501", start="2026-01-01")
    assert "不匹配" in field_error(r.text, "psn_type")
    r = post_action(world, "clerk510", psn_no, "enroll", "review", insutype="310", region="210200", psn_type="1103", start="2026-01-01")
    assert r.status_code == 403 and "210200" in field_error(r.text, "region")
    assert 'value="210200" selected' in r.text
    assert snapshot(world.service) == before
    no_traceback(r.text)


def test_enroll_review_shows_the_effect_and_writes_nothing_then_confirm_saves(world: WebWorld) -> None:
    psn_no, _ = fresh_person(world, "bare")
    values = {"insutype": "390", "region": "510500", "psn_type": "1501", "start": "2026-01-01"}
    before = snapshot(world.service)
    r = post_action(world, "clerk510", psn_no, "enroll", "review", **values)
    assert r.status_code == 200 and 'id="confirm"' in r.text and "办理后的效果" in r.text
    assert "办理前" in r.text and "办理后" in r.text
    assert snapshot(world.service) == before
    r = post_action(world, "clerk510", psn_no, "enroll", "edit", **values)  # back to the form, values kept
    assert 'value="2026-01-01"' in r.text and 'value="390" selected' in r.text
    r = post_action(world, "clerk510", psn_no, "enroll", "confirm", **values)
    assert r.status_code == 303 and r.headers["location"] == f"/persons/{psn_no}"
    rels = world.service.facts(psn_no).enrollments
    assert len(rels) == 1 and rels[0].insutype.value == "390" and rels[0].region == "510500"
    page = world.client("clerk510").get(f"/persons/{psn_no}")
    assert f"已建立参保关系 {rels[0].relation_id}" in page.text
    assert "已建立参保关系" not in world.client("clerk510").get(f"/persons/{psn_no}").text  # the message is shown once


def test_record_payment_review_and_confirm(world: WebWorld) -> None:
    psn_no, _ = fresh_person(world, "gap")
    today = world.service.today()
    month = str(today.year) + "-" + f"{today.month:02d}"
    r = post_action(world, "clerk510", psn_no, "payment", "review", relation_id="F1", period="2026-99", payer="INDIVIDUAL", amount="0", paid_on=today.isoformat())
    assert r.status_code == 400 and field_error(r.text, "amount") and input_value(r.text, "period") == "2026-99"
    values = {"relation_id": "F1", "period": month, "payer": "INDIVIDUAL", "amount": "500.00", "paid_on": today.isoformat()}
    r = post_action(world, "clerk510", psn_no, "payment", "review", **values)
    assert r.status_code == 200 and 'id="confirm"' in r.text
    n = len(world.service.facts(psn_no).contributions)
    r = post_action(world, "clerk510", psn_no, "payment", "confirm", **values)
    assert r.status_code == 303
    assert len(world.service.facts(psn_no).contributions) == n + 1
    r = post_action(world, "clerk510", psn_no, "payment", "confirm", **values)  # the same payment twice is one line
    assert len(world.service.facts(psn_no).contributions) == n + 1


def test_backpay_quote_then_post_once(world: WebWorld) -> None:
    psn_no, _ = fresh_person(world, "gap")
    today = world.service.today()
    quoted = world.service.quote(psn_no, today).value
    before = snapshot(world.service)
    r = post_action(world, "clerk510", psn_no, "backpay", "review", pay_on=today.isoformat())
    assert r.status_code == 200, r.text
    assert f'id="quote-total">{quoted.total}<' in r.text
    key = re.search(r'name="payment_key" value="(web-[0-9a-f]+)"', r.text).group(1)
    assert snapshot(world.service) == before
    n = len(world.service.facts(psn_no).contributions)
    r = post_action(world, "clerk510", psn_no, "backpay", "confirm", pay_on=today.isoformat(), payment_key=key)
    assert r.status_code == 303
    lines = world.service.facts(psn_no).contributions
    assert len(lines) == n + sum(len(i.lines) for i in quoted.items)
    r = post_action(world, "clerk510", psn_no, "backpay", "confirm", pay_on=today.isoformat(), payment_key=key)  # a double click
    assert len(world.service.facts(psn_no).contributions) == len(lines)
    r = post_action(world, "clerk510", psn_no, "backpay", "review", pay_on="someday")
    assert r.status_code == 400 and field_error(r.text, "pay_on") and input_value(r.text, "pay_on") == "someday"


def test_suspend_and_restore(world: WebWorld) -> None:
    psn_no, _ = fresh_person(world, "employee")
    today = world.service.today()
    r = post_action(world, "clerk510", psn_no, "restore", "review", relation_id="E1", effective=today.isoformat())
    assert r.status_code in (400, 409) and field_error(r.text, "effective")  # a normal relation cannot be restored
    values = {"relation_id": "E1", "effective": today.isoformat(), "reason": "EMPLOYMENT_ENDED", "note": "离职"}
    r = post_action(world, "clerk510", psn_no, "suspend", "review", **values)
    assert r.status_code == 200 and "离职" in r.text and "今天是否享受待遇" in r.text
    r = post_action(world, "clerk510", psn_no, "suspend", "confirm", **values)
    assert r.status_code == 303
    rel = world.service.facts(psn_no).enrollments[0]
    assert rel.status_on(today) is InsuStatus.SUSPENDED
    later = today + timedelta(days=1)
    r = post_action(world, "clerk510", psn_no, "restore", "confirm", relation_id="E1", effective=later.isoformat())
    assert r.status_code == 303
    assert world.service.facts(psn_no).enrollments[0].status_on(later) is InsuStatus.NORMAL
    # a change before the latest one is refused by the service: the message is shown beside the date, nothing written
    before = snapshot(world.service)
    r = post_action(world, "clerk510", psn_no, "suspend", "confirm", relation_id="E1", effective=(today - timedelta(days=30)).isoformat(), reason="OTHER")
    assert r.status_code == 409 and "早于" in field_error(r.text, "effective")
    assert snapshot(world.service) == before


def test_terminate_and_death(world: WebWorld) -> None:
    psn_no, _ = fresh_person(world, "employee")
    today = world.service.today()
    r = post_action(world, "clerk510", psn_no, "terminate", "confirm", relation_id="E1", effective=today.isoformat(), reason="EMIGRATION")
    assert r.status_code == 303
    assert world.service.facts(psn_no).enrollments[0].status_on(today) is InsuStatus.TERMINATED
    r = post_action(world, "clerk510", psn_no, "death", "review", death_date=(today + timedelta(days=3)).isoformat())
    assert r.status_code == 200  # the effect is shown; the service refuses a future death at confirm
    r = post_action(world, "clerk510", psn_no, "death", "confirm", death_date=(today + timedelta(days=3)).isoformat())
    assert r.status_code == 400 and "晚于今天" in field_error(r.text, "death_date")
    r = post_action(world, "clerk510", psn_no, "death", "confirm", death_date=today.isoformat())
    assert r.status_code == 303 and world.service.facts(psn_no).death_date == today


def test_an_auditor_reads_but_cannot_act(world: WebWorld) -> None:
    c = world.client("auditor")
    assert c.get("/persons/A510").status_code == 200
    assert "参保登记" not in c.get("/persons/A510").text.split("参保时间线")[0]
    r = c.get("/persons/A510/actions/enroll")
    assert r.status_code == 403 and "ROLE_FORBIDDEN" in r.text


def test_another_regions_clerk_cannot_open_or_post_an_action(world: WebWorld) -> None:
    before = snapshot(world.service)
    assert world.client("clerk210").get("/persons/A510/actions/suspend").status_code == 403
    r = post_action(world, "clerk210", "A510", "suspend", "confirm", relation_id="E1", effective="2026-02-01", reason="OTHER")
    assert r.status_code == 403 and "无权访问" in r.text
    assert snapshot(world.service) == before


def test_unknown_action_is_a_404_page(world: WebWorld) -> None:
    assert world.client("clerk510").get("/persons/A510/actions/explode").status_code == 404


# ------------------------------------------------------------------------------------------ policy, dashboard, language


def test_policy_browser_shows_values_sources_and_changes(world: WebWorld) -> None:
    c = world.client("clerk510")
    r = c.get("/policy", params={"region": "510500", "on": "2025-06-01"})
    assert r.status_code == 200
    assert "contribution.employee.ref_wage" in r.text and "泸州" in r.text
    policy = world.service.policy
    rv = policy.resolve("510500", "contribution.employee.ref_wage", date(2025, 6, 1))
    assert rv.effective_from.isoformat() in r.text and rv.citation.document in r.text
    for h in policy.history("510500", "contribution.employee.ref_wage"):
        assert h.effective_from.isoformat() in r.text
    r = c.get("/policy", params={"on": "not-a-day"})
    assert r.status_code == 400 and "日期格式无效" in r.text
    no_traceback(r.text)


def test_dashboard_counts_the_clerks_region_and_refuses_others(world: WebWorld) -> None:
    c = world.client("clerk510")
    r = c.get("/dashboard")
    assert r.status_code == 200 and "<svg" in r.text and 'hx-get="/dashboard/attention?region=510500"' in r.text
    people = int(re.search(r'id="kpi-people">(\d+)<', r.text).group(1))
    assert people >= 4  # A510, ABOTH, AGAP, ABACK and those the tests enrolled
    part = c.get("/dashboard/attention", params={"region": "510500"}, headers={"HX-Request": "true"})
    assert part.status_code == 200 and part.text.lstrip().startswith('<div id="attention">')
    arrears = part.text[part.text.index('id="kpi-arrears"') :]
    assert "/persons/AGAP" in arrears  # the flexible worker who stopped paying is in arrears
    assert "/persons/A510" not in part.text.split("重复享受待遇</h2>")[0].split("欠费（可补缴）</h2>")[1]  # a steady payer is not
    assert c.get("/dashboard/attention", params={"region": "510500"}).status_code == 303  # without htmx: the page
    for path in ("/dashboard", "/dashboard/attention"):
        r = c.get(path, params={"region": "210200"}, headers={"HX-Request": "true"})
        assert r.status_code == 403 and "REGION_FORBIDDEN" in r.text


def test_dashboard_figures_follow_the_data(world: WebWorld) -> None:
    from yibao.web import queries

    before = queries.attention(world.service, "510500")
    assert queries.attention(world.service, "510500") is before  # cached while nothing changes
    psn_no, _ = fresh_person(world, "gap")
    after = queries.attention(world.service, "510500")
    assert after is not before and psn_no in {p for p, _n, _m in after.arrears}
    assert queries.region_counts(world.service, "510500").people == len(queries.region_counts(world.service, "510500").names)


def test_english_switch(world: WebWorld) -> None:
    c = client_for(world.app, "clerk510")
    r = c.get("/lang/en", params={"next": "/persons/A510"})
    assert r.status_code == 303 and r.headers["location"] == "/persons/A510"
    html = c.get("/persons/A510").text
    assert 'lang="en"' in html and "Timeline" in html and "Find a person" in html
    r = c.get("/persons/A210")
    assert "Access denied" in r.text and "which this account does not serve" in r.text
    c.get("/lang/zh")
    assert "查找参保人" in c.get("/").text


def test_an_unexpected_error_is_a_page_with_a_reference_not_a_traceback(world: WebWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("database exploded at /srv/secret.py")

    monkeypatch.setattr(world.service, "timeline", broken)
    r = world.client("clerk510").get("/persons/A510")
    assert r.status_code == 500 and "参考编号" in r.text
    assert "secret" not in r.text and "RuntimeError" not in r.text
    no_traceback(r.text)


def test_static_assets_are_vendored(world: WebWorld) -> None:
    c = world.client("clerk510")
    assert c.get("/static/htmx.min.js").status_code == 200
    assert c.get("/static/console.css").status_code == 200
    html = c.get("/persons/A510").text
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no CDN or other external links


def test_every_user_of_the_fixture_can_log_in(world: WebWorld) -> None:
    for who in USERS:
        assert world.client(who).get("/").status_code == 200


# ------------------------------------------------------------------------------------------ transfer and refund (service/cases.py)


def test_transfer_out_to_another_regions_relation(world: WebWorld) -> None:
    from decimal import Decimal

    from yibao.dates import YearMonth

    psn_no, _ = fresh_person(world, "employee")
    today = world.service.today()
    receiving = world.service.enroll(psn_no, by="test", insutype="310", region="210200", psn_type="1101",
                                     start=YearMonth.of(today).first_day(), monthly_wage=Decimal(6000)).value
    values = {"relation_id": "E1", "receiving_relation_id": receiving, "accepted_on": today.isoformat(), "terminate_on": today.isoformat()}
    r = post_action(world, "clerk510", psn_no, "transfer", "review", **{**values, "account_balance": "-5"})
    assert r.status_code == 400 and field_error(r.text, "account_balance") and input_value(r.text, "account_balance") == "-5"
    before = snapshot(world.service)
    r = post_action(world, "clerk510", psn_no, "transfer", "review", **values, account_balance="100.00")
    assert r.status_code == 200 and 'id="confirm"' in r.text and receiving in r.text
    assert snapshot(world.service) == before
    # the receiving region's clerk may not transfer the sending relation out
    r = post_action(world, "clerk210", psn_no, "transfer", "confirm", **values, account_balance="100.00")
    assert r.status_code == 403
    r = post_action(world, "clerk510", psn_no, "transfer", "confirm", **values, account_balance="100.00")
    assert r.status_code == 303
    (step,) = world.service.transfers(psn_no)
    assert step.relation_id == "E1" and step.other_region == "210200"
    page = world.client("clerk510").get(f"/persons/{psn_no}").text
    assert f"已受理转出 {step.transfer_no}" in page and step.due_on.isoformat() in page
    r = post_action(world, "clerk510", psn_no, "transfer", "confirm", **values, account_balance="100.00")  # only once
    assert r.status_code in (400, 409) and 'class="error' in r.text


def test_refund_application_after_death(world: WebWorld) -> None:
    from decimal import Decimal

    from yibao.codes import ContributionKind
    from yibao.model import ContributionLine, PayerType

    psn_no, _ = fresh_person(world, "resident")
    today = world.service.today()
    rid = "R1"
    world.service.record_contributions(psn_no, [ContributionLine(rid, ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(2026, 11, 10), Decimal("400.00"), benefit_year=2027)], by="test")
    r = post_action(world, "clerk510", psn_no, "refund", "review", relation_id=rid, rule="R-REF-005", year="27")
    assert r.status_code == 400 and field_error(r.text, "year") and input_value(r.text, "year") == "27"
    r = post_action(world, "clerk510", psn_no, "refund", "confirm", relation_id=rid, rule="R-REF-005", event_date=today.isoformat())
    assert r.status_code in (400, 409) and 'class="error' in r.text  # nothing refundable before the death is recorded
    world.service.record_death(psn_no, today, by="test")
    r = post_action(world, "clerk510", psn_no, "refund", "confirm", relation_id=rid, rule="R-REF-005", event_date=today.isoformat())
    assert r.status_code == 303, re.findall(r'class="error[^>]*>([^<]*)', r.text)
    (case,) = world.service.refunds(psn_no)
    assert case.total == Decimal("400.00") and case.outcome is None
    assert f"已受理退费申请 {case.refund_no}，可退 400.00 元" in world.client("clerk510").get(f"/persons/{psn_no}").text
