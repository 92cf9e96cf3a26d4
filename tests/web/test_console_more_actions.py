"""The console's further forms over TestClient, on SQLite and PostgreSQL (``web/actions_more.py``):
转入 transfer in, 退费审核 refund decision, 退休 retirement (top-up and conversion) and 更正 corrections
(person and relation). For each: the review writes nothing (every row of every fact table compared),
the confirm writes exactly its rows (row counts by table) with the logged-in clerk as ``by``, another
region's clerk is refused, and a bad value is shown beside its field with what was typed kept."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from api.conftest import resident_id
from sqlalchemy import func, select

from yibao import ids
from yibao.codes import ContributionKind
from yibao.dates import YearMonth
from yibao.model import ContributionLine, EventKind, PayerType
from yibao.store.models import Base

from .conftest import WebWorld, fresh_person, snapshot
from .test_console_pages import field_error, input_value, no_traceback, post_action


def counts(w: WebWorld) -> dict[str, int]:
    with w.service.engine.connect() as conn:
        return {name: conn.scalar(select(func.count()).select_from(t)) for name, t in Base.metadata.tables.items()
                if name not in ("api_token", "api_user")}


def written(w: WebWorld, before: dict[str, int]) -> dict[str, int]:
    """Rows added since ``before``, by table (tables that did not change left out)."""
    after = counts(w)
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def error_code(html: str, name: str) -> str:
    m = re.search(rf'id="f-{name}-error" data-code="([A-Z_]+)"', html)
    assert m, f"no error beside field {name}"
    return m.group(1)


def form_error_code(html: str) -> str:
    m = re.search(r'class="error form-error" role="alert" data-code="([A-Z_]+)"', html)
    assert m, "no error about the whole form"
    return m.group(1)


def selected(html: str, name: str, value: str) -> bool:
    block = re.search(rf'<select id="f-{name}" name="{name}".*?</select>', html, re.DOTALL)
    return block is not None and f'value="{value}" selected' in block.group(0)


def audit_by(w: WebWorld, psn_no: str) -> list[str]:
    from yibao.store.models import AuditRow

    with w.service.sessions() as s:
        return list(s.scalars(select(AuditRow.recorded_by).where(AuditRow.psn_no == psn_no).order_by(AuditRow.id)))


# ------------------------------------------------------------------------------------------ transfer in


@pytest.fixture
def transferred(world: WebWorld) -> dict[str, str]:
    """A Luzhou (510500) employee transferred out today to a Dalian (210200) relation opened this month."""
    psn_no, _ = fresh_person(world, "employee")
    today = world.service.today()
    svc = world.service
    receiving = svc.enroll(psn_no, by="test", insutype="310", region="210200", psn_type="1101", start=YearMonth.of(today).first_day(),
                           monthly_wage=Decimal(6000)).value
    out = svc.transfer_out(psn_no, "E1", by="test", receiving_relation_id=receiving, accepted_on=today, terminate_on=today,
                           account_balance=Decimal("100.00")).value
    return {"psn": psn_no, "to": receiving, "no": out.transfer_no}


def test_transfer_in_review_writes_nothing_then_confirm_records_the_step_once(world: WebWorld, transferred) -> None:
    psn, no = transferred["psn"], transferred["no"]
    today = world.service.today().isoformat()
    form = world.client("clerk210").get(f"/persons/{psn}/actions/transfer_in")
    assert form.status_code == 200 and selected(form.text, "transfer_no", no)  # the only open transfer is chosen
    values = {"transfer_no": no, "form_received_on": today, "remitted_amount": "100.00", "money_received_on": today}
    before, rows = snapshot(world.service), counts(world)
    r = post_action(world, "clerk210", psn, "transfer_in", "review", **values)
    assert r.status_code == 200 and 'id="confirm"' in r.text, r.text
    assert "已对账并记入个人账户" in r.text and "转入后累计缴费月数" in r.text and "R-XFER-002" in r.text and "R-XFER-004" in r.text
    assert snapshot(world.service) == before
    r = post_action(world, "clerk210", psn, "transfer_in", "confirm", **values)
    assert r.status_code == 303
    assert written(world, rows) == {"transfer_step": 1}
    step = next(s for s in world.service.transfers(psn) if s.step == "IN")
    assert (step.transfer_no, step.relation_id, step.account_state, step.account_credited, step.recorded_by) == (
        no, transferred["to"], "CREDITED", Decimal("100.00"), "user:clerk210")
    assert f"已办理转入 {no}" in world.client("clerk210").get(f"/persons/{psn}").text
    rows = counts(world)
    r = post_action(world, "clerk210", psn, "transfer_in", "confirm", **values)  # a second click
    assert r.status_code == 409 and error_code(r.text, "transfer_no") == "TRANSFER_ALREADY_IN"
    assert written(world, rows) == {}


def test_transfer_in_needs_the_receiving_region_and_keeps_bad_values(world: WebWorld, transferred) -> None:
    psn, no = transferred["psn"], transferred["no"]
    today = world.service.today().isoformat()
    before = snapshot(world.service)
    # the sending region's clerk sees the person but may not receive the transfer
    r = post_action(world, "clerk510", psn, "transfer_in", "confirm", transfer_no=no, form_received_on=today)
    assert r.status_code == 403 and error_code(r.text, "transfer_no") == "REGION_FORBIDDEN"
    assert no not in world.client("clerk510").get(f"/persons/{psn}/actions/transfer_in").text.split('id="f-transfer_no"')[1].split("</select>")[0]
    r = post_action(world, "clerk210", psn, "transfer_in", "review", transfer_no=no, form_received_on=today, remitted_amount="12.345",
                    money_received_on=today)
    assert r.status_code == 400 and field_error(r.text, "remitted_amount") and input_value(r.text, "remitted_amount") == "12.345"
    r = post_action(world, "clerk210", psn, "transfer_in", "review", transfer_no=no, form_received_on=today, remitted_amount="100.00")
    assert r.status_code == 400 and "同时填写" in field_error(r.text, "money_received_on")
    assert input_value(r.text, "remitted_amount") == "100.00"
    early = (world.service.today() - timedelta(days=3)).isoformat()  # before the transfer was accepted (R-XFER-002)
    r = post_action(world, "clerk210", psn, "transfer_in", "review", transfer_no=no, form_received_on=early)
    assert r.status_code == 400 and error_code(r.text, "form_received_on") == "XFER_DATE_ORDER" and input_value(r.text, "form_received_on") == early
    assert snapshot(world.service) == before
    no_traceback(r.text)


# ------------------------------------------------------------------------------------------ refund decision


def refund_after_death(w: WebWorld) -> tuple[str, str]:
    """A Luzhou resident who prepaid 2027 and died today, with an open R-REF-005 application (400.00)."""
    psn_no, _ = fresh_person(w, "resident")
    svc = w.service
    svc.record_contributions(psn_no, [ContributionLine("R1", ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(2026, 11, 10), Decimal("400.00"),
                                                       benefit_year=2027)], by="test")
    svc.record_death(psn_no, svc.today(), by="test")
    case = svc.apply_refund(psn_no, "R1", by="test", rule="R-REF-005").value
    assert case.total == Decimal("400.00")
    return psn_no, case.refund_no


def test_refund_approval_review_shows_the_lines_then_confirm_posts_them(world: WebWorld) -> None:
    psn, no = refund_after_death(world)
    values = {"refund_no": no, "decision": "APPROVE", "reason": "继承人申请，材料齐全"}
    r = post_action(world, "clerk510", psn, "refund_decision", "review", **{**values, "reason": "  "})
    assert r.status_code == 400 and error_code(r.text, "reason") == "REASON_REQUIRED"
    assert selected(r.text, "decision", "APPROVE") and selected(r.text, "refund_no", no)
    before, rows = snapshot(world.service), counts(world)
    r = post_action(world, "clerk510", psn, "refund_decision", "review", **values)
    assert r.status_code == 200 and 'id="confirm"' in r.text
    table = r.text[r.text.index("批准后记录的退费明细") :]
    assert "<td>2027</td>" in table and "<td>-400.00</td>" in table and "退给法定继承人" in table
    assert snapshot(world.service) == before
    r = post_action(world, "clerk510", psn, "refund_decision", "confirm", **values)
    assert r.status_code == 303
    assert written(world, rows) == {"contribution_line": 1, "refund_decision": 1}
    (case,) = world.service.refunds(psn)
    assert (case.outcome, case.decided_by, case.refund_keys) == ("APPROVED", "user:clerk510", (f"{no}:1",))
    assert sum(c.amount for c in world.service.facts(psn).contributions if c.benefit_year == 2027) == 0
    assert f"已批准退费申请 {no}，记录退费明细 1 条" in world.client("clerk510").get(f"/persons/{psn}").text
    rows = counts(world)
    r = post_action(world, "clerk510", psn, "refund_decision", "confirm", **values)  # decided once
    assert r.status_code == 409 and error_code(r.text, "refund_no") == "REFUND_ALREADY_DECIDED"
    assert written(world, rows) == {}


def test_a_stale_refund_is_a_form_error_and_can_be_rejected(world: WebWorld) -> None:
    psn, no = refund_after_death(world)
    svc = world.service
    svc.record_contributions(psn, [ContributionLine("R1", ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(2026, 11, 12), Decimal("30.00"),
                                                    benefit_year=2027)], by="test")  # the contributions changed since the application
    before = snapshot(svc)
    r = post_action(world, "clerk510", psn, "refund_decision", "confirm", refund_no=no, decision="APPROVE", reason="核实")
    assert r.status_code == 409 and error_code(r.text, "refund_no") == "REFUND_STALE" and "REFUND_STALE" in field_error(r.text, "refund_no") + r.text
    assert "请驳回后重新申请" in field_error(r.text, "refund_no")
    assert snapshot(svc) == before
    rows = counts(world)
    r = post_action(world, "clerk510", psn, "refund_decision", "review", refund_no=no, decision="REJECT", reason="缴费已变化")
    assert r.status_code == 200 and "驳回不记录退费明细" in r.text and written(world, rows) == {}
    r = post_action(world, "clerk510", psn, "refund_decision", "confirm", refund_no=no, decision="REJECT", reason="缴费已变化")
    assert r.status_code == 303 and written(world, rows) == {"refund_decision": 1}
    assert svc.refunds(psn)[0].outcome == "REJECTED"


def test_refund_decision_needs_the_refunded_relations_region(world: WebWorld) -> None:
    psn, no = refund_after_death(world)
    before = snapshot(world.service)
    r = post_action(world, "clerk210", psn, "refund_decision", "confirm", refund_no=no, decision="APPROVE", reason="x")
    assert r.status_code == 403 and "无权访问" in r.text  # a Luzhou-only person: not even visible to Dalian
    # with a Dalian relation too, Dalian's clerk sees the person but may not decide the Luzhou relation's refund
    world.service.enroll(psn, by="test", insutype="390", region="210200", psn_type="1501", start=date(2026, 1, 1))
    before = snapshot(world.service)
    form = world.client("clerk210").get(f"/persons/{psn}/actions/refund_decision")
    assert form.status_code == 200 and no not in form.text
    r = post_action(world, "clerk210", psn, "refund_decision", "review", refund_no=no, decision="REJECT", reason="x")
    assert r.status_code == 403 and error_code(r.text, "refund_no") == "REGION_FORBIDDEN"
    assert snapshot(world.service) == before


# ------------------------------------------------------------------------------------------ retirement


def dalian_worker(w: WebWorld) -> str:
    """A Dalian (210200) employee enrolled this year with nothing paid: short of the minimum years."""
    svc = w.service
    psn_no = svc.register_person(by="test", documents=[("01", resident_id("210200"), None)], name="退休测试", home_region="210200").psn_no
    svc.enroll(psn_no, by="test", insutype="310", region="210200", psn_type="1101", start=date(2026, 1, 1), monthly_wage=Decimal(6000),
               relation_id="E1")
    return psn_no


def test_retirement_is_refused_while_short_then_topped_up_once_then_converted(world: WebWorld) -> None:
    psn = dalian_worker(world)
    svc = world.service
    today = svc.today()
    review = svc.retirement_review(psn, "E1", today).value
    assert review.check.shortfall_months > 0 and review.topup is not None
    before = snapshot(svc)
    r = post_action(world, "clerk210", psn, "retire", "review", relation_id="E1", retired_on=today.isoformat())
    assert r.status_code == 200 and "RET_YEARS_SHORT" in r.text and "R-RET-001" in r.text
    assert "今天是否享受待遇" not in r.text  # no "after" for a conversion the service will refuse
    assert f"<td>{review.check.shortfall_months}</td>" in r.text and f"<td>{review.check.required_months}</td>" in r.text
    assert snapshot(svc) == before
    r = post_action(world, "clerk210", psn, "retire", "confirm", relation_id="E1", retired_on=today.isoformat())
    assert r.status_code == 409 and error_code(r.text, "retired_on") == "RET_YEARS_SHORT"
    assert f"差 {review.check.shortfall_months} 个月" in field_error(r.text, "retired_on")
    assert snapshot(svc) == before

    r = post_action(world, "clerk210", psn, "retirement_topup", "review", relation_id="E1", pay_on=today.isoformat())
    assert r.status_code == 200 and f"<td>{review.topup.amount}</td>" in r.text
    key = re.search(r'name="payment_key" value="(web-[0-9a-f]+)"', r.text).group(1)
    assert snapshot(svc) == before
    rows = counts(world)
    for _ in range(2):  # a double click posts once
        r = post_action(world, "clerk210", psn, "retirement_topup", "confirm", relation_id="E1", pay_on=today.isoformat(), payment_key=key)
        assert r.status_code == 303
    assert written(world, rows) == {"contribution_line": 1}
    (lump,) = svc.facts(psn).contributions
    assert (lump.kind, lump.amount, lump.months_credited, lump.key) == (ContributionKind.RETIREMENT_BACKPAY, review.topup.amount,
                                                                        review.check.shortfall_months, f"{key}:E1:RET")
    assert "该笔补缴此前已记账" in world.client("clerk210").get(f"/persons/{psn}").text
    r = post_action(world, "clerk210", psn, "retirement_topup", "review", relation_id="E1", pay_on=today.isoformat())
    assert r.status_code == 409 and error_code(r.text, "relation_id") == "RET_NO_SHORTFALL"

    rows = counts(world)
    r = post_action(world, "clerk210", psn, "retire", "review", relation_id="E1", retired_on=today.isoformat())
    assert r.status_code == 200 and "RET_YEARS_SHORT" not in r.text and "办理后" in r.text and written(world, rows) == {}
    r = post_action(world, "clerk210", psn, "retire", "confirm", relation_id="E1", retired_on=today.isoformat())
    assert r.status_code == 303 and written(world, rows) == {"life_event": 1}
    assert [(e.kind, e.on, e.region) for e in svc.facts(psn).events] == [(EventKind.RETIRED, today, "210200")]
    assert "转为退休人员关系（人员类别 1201）" in world.client("clerk210").get(f"/persons/{psn}").text


def test_retirement_forms_keep_bad_values_and_follow_the_region_rule(world: WebWorld) -> None:
    psn = dalian_worker(world)
    before = snapshot(world.service)
    r = post_action(world, "clerk210", psn, "retire", "review", relation_id="E1", retired_on="2026-02-30")
    assert r.status_code == 400 and error_code(r.text, "retired_on") == "BAD_DATE" and input_value(r.text, "retired_on") == "2026-02-30"
    r = post_action(world, "clerk210", psn, "retirement_topup", "review", relation_id="E9", pay_on="2026-11-02")
    assert r.status_code == 404 and error_code(r.text, "relation_id") == "RELATION_NOT_FOUND"
    assert input_value(r.text, "pay_on") == "2026-11-02" and 'value="E9" selected' in r.text
    assert world.client("clerk510").get(f"/persons/{psn}/actions/retire").status_code == 403
    r = post_action(world, "clerk510", psn, "retire", "confirm", relation_id="E1", retired_on="2026-11-02")
    assert r.status_code == 403 and "无权访问" in r.text
    assert snapshot(world.service) == before


# ------------------------------------------------------------------------------------------ corrections


def test_person_correction_needs_a_reason_to_contradict_the_id(world: WebWorld) -> None:
    psn, number = fresh_person(world, "employee")
    encoded = ids.validate_document("01", number).birth_date
    wrong = (encoded + timedelta(days=1)).isoformat()
    form = world.client("clerk510").get(f"/persons/{psn}/actions/correct_person")
    assert form.status_code == 200 and input_value(form.text, "name") == "王伟"  # the current values are the defaults
    values = {"name": "王伟伟", "sex": "", "birth_date": wrong, "reason": "户籍信息更正"}
    before = snapshot(world.service)
    r = post_action(world, "clerk510", psn, "correct_person", "review", **values)
    assert r.status_code == 409 and error_code(r.text, "birth_date") == "DERIVED_CONTRADICTION", r.text
    assert "R-ID-007" in field_error(r.text, "birth_date")
    assert input_value(r.text, "birth_date") == wrong and input_value(r.text, "name") == "王伟伟"
    r = post_action(world, "clerk510", psn, "correct_person", "review", **{**values, "reason": ""})
    assert error_code(r.text, "reason") == "REASON_REQUIRED"
    r = post_action(world, "clerk510", psn, "correct_person", "review", name="王伟", sex="", birth_date="", reason="x")
    assert form_error_code(r.text) == "CORRECTION_EMPTY"
    # the override is kept in the audit row: the review shows before → after and the warning
    values["override_reason"] = "公安机关出具的户籍更正证明"
    r = post_action(world, "clerk510", psn, "correct_person", "review", **values)
    assert r.status_code == 200 and 'id="confirm"' in r.text
    table = r.text[r.text.index("更正前后") :]
    assert re.search(r"<td>姓名</td><td>王伟</td><td>王伟伟</td>", table) and re.search(rf"<td>出生日期</td><td>—</td><td>{wrong}</td>", table)
    assert "DERIVED_MISMATCH" in r.text
    assert snapshot(world.service) == before
    rows = counts(world)
    r = post_action(world, "clerk510", psn, "correct_person", "confirm", **values)
    assert r.status_code == 303
    assert written(world, rows) == {"person_correction": 1, "audit_log": 1}
    facts = world.service.facts(psn)
    assert (facts.name, facts.birth_date) == ("王伟伟", date.fromisoformat(wrong))
    assert audit_by(world, psn) == ["user:clerk510"]
    page = world.client("clerk510").get(f"/persons/{psn}").text
    assert "已更正人员基本信息" in page and "不一致" in page  # the DERIVED_MISMATCH notice is shown with the message


def test_relation_correction_review_shows_before_and_after_then_confirm(world: WebWorld) -> None:
    psn, _ = fresh_person(world, "employee")
    r = post_action(world, "clerk510", psn, "correct_relation", "review", relation_id="E1", end="2020-01-01", reason="录入错误")
    assert r.status_code == 400 and error_code(r.text, "end") == "CORRECTION_PERIOD" and input_value(r.text, "end") == "2020-01-01"
    r = post_action(world, "clerk510", psn, "correct_relation", "review", relation_id="E1", start="2024-02-30", employer="123", reason="x")
    assert field_error(r.text, "start") and field_error(r.text, "employer") and input_value(r.text, "employer") == "123"
    values = {"relation_id": "E1", "start": "2024-02-01", "reason": "参保开始日期录入错误"}
    before = snapshot(world.service)
    r = post_action(world, "clerk510", psn, "correct_relation", "review", **values)
    assert r.status_code == 200 and 'id="confirm"' in r.text
    assert re.search(r"<td>参保开始日期</td><td>2024-01-01</td><td>2024-02-01</td>", r.text)
    assert "待遇享受期" in r.text and "办理前" in r.text  # the benefit periods before and after
    assert snapshot(world.service) == before
    rows = counts(world)
    r = post_action(world, "clerk510", psn, "correct_relation", "confirm", **values)
    assert r.status_code == 303
    assert written(world, rows) == {"enrollment_correction": 1, "audit_log": 1}
    assert world.service.facts(psn).enrollments[0].start == date(2024, 2, 1)
    assert audit_by(world, psn) == ["user:clerk510"]
    # the service's own refusal comes back beside its field, nothing written
    rows = counts(world)
    r = post_action(world, "clerk510", psn, "correct_relation", "confirm", relation_id="E1", psn_type="1201", reason="x")
    assert r.status_code in (400, 409) and error_code(r.text, "psn_type") == "RETIRE_BY_EVENT" and selected(r.text, "psn_type", "1201")
    assert written(world, rows) == {}


def test_relation_correction_needs_the_relations_region(world: WebWorld) -> None:
    before = snapshot(world.service)
    r = post_action(world, "clerk210", "ABOTH", "correct_relation", "confirm", relation_id="R1", start="2023-02-01", reason="x")
    assert r.status_code == 403 and error_code(r.text, "relation_id") == "REGION_FORBIDDEN"
    assert snapshot(world.service) == before


def test_the_person_page_links_the_new_forms_for_writers_only(world: WebWorld) -> None:
    html = world.client("clerk510").get("/persons/A510").text
    for name in ("transfer_in", "refund_decision", "retirement_topup", "retire", "correct_person", "correct_relation"):
        assert f'href="/persons/A510/actions/{name}"' in html
    assert "/actions/correct_person" not in world.client("auditor").get("/persons/A510").text
    en = world.client("admin")
    en.get("/lang/en")
    try:
        r = en.get("/persons/A510/actions/correct_relation")
        assert r.status_code == 200 and "Correct a relation" in r.text and "Reason for the correction" in r.text
    finally:
        en.get("/lang/zh")

