"""The console's place forms over TestClient, on SQLite and PostgreSQL (``web/actions_places.py``):
登记就业地/常住地/学籍地 (record a place) and 撤销地点登记 (withdraw one, with a reason). For each: the
review writes nothing (every row of every fact table compared), the confirm writes exactly its rows
with the logged-in clerk as ``by``, another region's clerk is refused, and a bad value is shown
beside its field with what was typed kept."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from yibao.store.models import AuditRow
from yibao.store.place_models import PlaceRow

from .conftest import WebWorld, fresh_person, snapshot
from .test_console_more_actions import counts, error_code, selected, written
from .test_console_pages import input_value, no_traceback, post_action


def _audit(w: WebWorld, psn_no: str) -> list[tuple[str, str, str]]:
    with w.service.sessions() as s:
        return [(a.action, a.recorded_by, a.reason) for a in s.scalars(select(AuditRow).where(AuditRow.psn_no == psn_no).order_by(AuditRow.id))]


# ------------------------------------------------------------------------------------------ record a place


def test_record_place_review_writes_nothing_then_confirm_writes_the_place_and_its_audit(world: WebWorld) -> None:
    psn, _ = fresh_person(world, "resident")
    values = {"kind": "HABITUAL_RESIDENCE", "region": "510502", "valid_from": "2025-06-01", "note": "居住证 510502-001"}
    form = world.client("clerk510").get(f"/persons/{psn}/actions/record_place")
    assert form.status_code == 200 and "登记就业地/常住地/学籍地" in form.text
    before, rows = snapshot(world.service), counts(world)
    r = post_action(world, "clerk510", psn, "record_place", "review", **values)
    assert r.status_code == 200 and 'id="confirm"' in r.text, r.text
    table = r.text.split("今天适用的地点</h3>")[1].split("</table>")[0]
    assert table.index("未登记") < table.index("510502（自 2025-06-01 起）")  # before → after
    assert "R-DUP-003" in r.text and "居住证 510502-001" in r.text
    assert snapshot(world.service) == before
    r = post_action(world, "clerk510", psn, "record_place", "confirm", **values)
    assert r.status_code == 303, r.text
    assert written(world, rows) == {"person_place": 1, "audit_log": 1}
    [place] = world.service.places(psn)
    assert (place.kind, place.region, place.valid_from, place.note, place.recorded_by) == (
        "HABITUAL_RESIDENCE", "510502", date(2025, 6, 1), "居住证 510502-001", "user:clerk510")
    assert _audit(world, psn)[-1][:2] == ("RECORD_PLACE", "user:clerk510")
    page = world.client("clerk510").get(f"/persons/{psn}").text
    section = page.split('id="places"')[1].split("</section>")[0]
    assert "已登记常住地 510502，自 2025-06-01 起" in page
    assert "常住地" in section and "510502" in section and "2025-06-01" in section and "user:clerk510" in section
    rows = counts(world)  # a second click: already recorded, beside the region, nothing written
    r = post_action(world, "clerk510", psn, "record_place", "confirm", **values)
    assert r.status_code == 409 and error_code(r.text, "region") == "PLACE_ALREADY_RECORDED"
    assert written(world, rows) == {}


def test_a_later_place_of_the_kind_keeps_todays_place_and_the_review_says_so(world: WebWorld) -> None:
    psn, _ = fresh_person(world, "employee")
    world.service.record_place(psn, "EMPLOYMENT", "510502", date(2025, 1, 1), by="test")
    r = post_action(world, "clerk510", psn, "record_place", "review", kind="EMPLOYMENT", region="210202", valid_from="2024-01-01")
    assert r.status_code == 200 and 'id="confirm"' in r.text
    table = r.text.split("今天适用的地点</h3>")[1].split("</table>")[0]
    assert "210202" not in table and table.count("510502（自 2025-01-01 起）") == 2  # unchanged
    assert "今天适用的地点不变" in r.text and "R-DUP-002" in r.text


def test_record_place_bad_values_are_shown_beside_their_field_and_kept(world: WebWorld) -> None:
    psn, _ = fresh_person(world)
    before = snapshot(world.service)
    tomorrow = (world.service.today() + timedelta(days=1)).isoformat()
    r = post_action(world, "clerk510", psn, "record_place", "review", kind="STUDY", region="99010x", valid_from="2024-09-01",
                    student_cause="SCHOOL_ENTRY", note="学籍证明")
    assert r.status_code == 400 and error_code(r.text, "region") == "PLACE_REGION"
    assert input_value(r.text, "region") == "99010x" and input_value(r.text, "valid_from") == "2024-09-01"
    assert selected(r.text, "kind", "STUDY") and selected(r.text, "student_cause", "SCHOOL_ENTRY") and "学籍证明" in r.text
    r = post_action(world, "clerk510", psn, "record_place", "confirm", kind="EMPLOYMENT", region="510502", valid_from=tomorrow, student_cause="JOB")
    assert r.status_code == 400 and error_code(r.text, "valid_from") == "PLACE_FUTURE"
    assert input_value(r.text, "valid_from") == tomorrow
    r = post_action(world, "clerk510", psn, "record_place", "confirm", kind="EMPLOYMENT", region="510502", valid_from="2025-01-01", student_cause="JOB")
    assert r.status_code == 400 and error_code(r.text, "student_cause") == "PLACE_CAUSE" and input_value(r.text, "region") == "510502"
    r = post_action(world, "clerk510", psn, "record_place", "confirm", kind="HOME", region="510502", valid_from="2025-01-01")
    assert r.status_code == 400 and error_code(r.text, "kind") == "PLACE_KIND"
    r = post_action(world, "clerk510", psn, "record_place", "confirm", kind="", region="", valid_from="")
    assert r.status_code == 400 and {error_code(r.text, n) for n in ("kind", "region", "valid_from")} == {"FIELD_REQUIRED"}
    assert snapshot(world.service) == before
    no_traceback(r.text)


def test_another_regions_clerk_may_not_record_or_withdraw_a_place(world: WebWorld) -> None:
    psn, _ = fresh_person(world)  # a 510500 person
    place = world.service.record_place(psn, "EMPLOYMENT", "510502", date(2025, 1, 1), by="test")
    before = snapshot(world.service)
    r = post_action(world, "clerk210", psn, "record_place", "confirm", kind="EMPLOYMENT", region="210202", valid_from="2025-01-01")
    assert r.status_code == 403 and "510502" not in r.text
    r = post_action(world, "clerk210", psn, "withdraw_place", "confirm", place_id=str(place.place_id), reason="跨区撤销")
    assert r.status_code == 403 and "510502" not in r.text
    assert world.client("clerk210").get(f"/persons/{psn}/actions/record_place").status_code == 403
    r = post_action(world, "auditor", psn, "record_place", "confirm", kind="EMPLOYMENT", region="510502", valid_from="2024-01-01")
    assert r.status_code == 403
    assert snapshot(world.service) == before


# ------------------------------------------------------------------------------------------ withdraw a place


def test_withdraw_review_writes_nothing_then_confirm_marks_the_row_and_audits(world: WebWorld) -> None:
    psn, _ = fresh_person(world, "resident")
    kept = world.service.record_place(psn, "STUDY", "110108", date(2024, 9, 1), by="test", student_cause="SCHOOL_ENTRY")
    wrong = world.service.record_place(psn, "HABITUAL_RESIDENCE", "510502", date(2025, 6, 1), by="test")
    page = world.client("clerk510").get(f"/persons/{psn}").text
    assert f'id="withdraw-place-{wrong.place_id}"' in page and 'href="/persons/' + psn + '/actions/record_place"' in page
    # the row's button opens the form with its place chosen
    r = post_action(world, "clerk510", psn, "withdraw_place", "edit", place_id=str(wrong.place_id))
    assert r.status_code == 200 and selected(r.text, "place_id", str(wrong.place_id))
    before, rows = snapshot(world.service), counts(world)
    r = post_action(world, "clerk510", psn, "withdraw_place", "review", place_id=str(wrong.place_id), reason="居住证登记有误")
    assert r.status_code == 200 and 'id="confirm"' in r.text, r.text
    table = r.text.split("今天适用的地点</h3>")[1].split("</table>")[0]
    assert table.index("510502（自 2025-06-01 起）") < table.index("未登记")  # before → after
    assert snapshot(world.service) == before
    r = post_action(world, "clerk510", psn, "withdraw_place", "confirm", place_id=str(wrong.place_id), reason="居住证登记有误")
    assert r.status_code == 303, r.text
    assert written(world, rows) == {"audit_log": 1}  # the place row stays, marked
    assert [p.place_id for p in world.service.places(psn)] == [kept.place_id]
    with world.service.sessions() as s:
        row = s.get(PlaceRow, wrong.place_id)
        assert row is not None and row.superseded_at is not None and row.superseded_by_id is None
    assert _audit(world, psn)[-1] == ("SUPERSEDE", "user:clerk510", "居住证登记有误")
    page = world.client("clerk510").get(f"/persons/{psn}").text
    assert f"已撤销常住地 510502（记录 {wrong.place_id}）" in page and f'id="withdraw-place-{wrong.place_id}"' not in page
    rows = counts(world)  # a second click: the place is no longer current
    r = post_action(world, "clerk510", psn, "withdraw_place", "confirm", place_id=str(wrong.place_id), reason="居住证登记有误")
    assert r.status_code == 404 and error_code(r.text, "place_id") == "PLACE_NOT_FOUND"
    assert written(world, rows) == {}


def test_withdraw_needs_a_reason_and_a_current_place_of_the_person(world: WebWorld) -> None:
    psn, _ = fresh_person(world)
    other, _ = fresh_person(world)
    place = world.service.record_place(psn, "EMPLOYMENT", "510502", date(2025, 1, 1), by="test")
    foreign = world.service.record_place(other, "EMPLOYMENT", "510502", date(2025, 1, 1), by="test")
    before = snapshot(world.service)
    r = post_action(world, "clerk510", psn, "withdraw_place", "confirm", place_id=str(place.place_id), reason="  ")
    assert r.status_code >= 400 and error_code(r.text, "reason") == "REASON_REQUIRED" and selected(r.text, "place_id", str(place.place_id))
    r = post_action(world, "clerk510", psn, "withdraw_place", "review", place_id=str(foreign.place_id), reason="不是本人的记录")
    assert r.status_code == 404 and error_code(r.text, "place_id") == "PLACE_NOT_FOUND" and "不是本人的记录" in r.text
    r = post_action(world, "clerk510", psn, "withdraw_place", "review", place_id="abc", reason="x")
    assert r.status_code == 404 and error_code(r.text, "place_id") == "PLACE_NOT_FOUND"
    assert snapshot(world.service) == before
    no_traceback(r.text)


def test_auditors_see_the_places_but_not_the_forms_and_english_is_translated(world: WebWorld) -> None:
    psn, _ = fresh_person(world)
    place = world.service.record_place(psn, "STUDY", "110108", date(2024, 9, 1), by="test", student_cause="JOB")
    html = world.client("auditor").get(f"/persons/{psn}").text
    section = html.split('id="places"')[1].split("</section>")[0]
    assert "<td>学籍地 <span class=\"muted\">（就业）</span></td><td>110108</td><td>2024-09-01</td><td>test</td>" in section
    assert "/actions/record_place" not in html and f"withdraw-place-{place.place_id}" not in html
    en = world.client("admin")
    en.get("/lang/en")
    try:
        r = en.get(f"/persons/{psn}/actions/record_place")
        assert r.status_code == 200 and "Record a place of employment, residence or study" in r.text and "Kind of place" in r.text
        assert "Places of employment, habitual residence and study" in en.get(f"/persons/{psn}").text
    finally:
        en.get("/lang/zh")
