"""Recording a person's places (就业地, 常住地, 学籍地) and the duplicate scan deciding on them
(R-DUP-003 by the recorded habitual residence instead of manual review) — SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

import pytest
from batch.test_worklist import (
    _person,  # P1: paid resident relations in 350121 (VILLAGE) and 350100 (CITY), 2025
)
from sqlalchemy import select

from yibao.codes import InsuStatus
from yibao.errors import YibaoError
from yibao.rules.duplicate import DuplicateContext
from yibao.service.duplicates import DuplicatesService
from yibao.store.models import AuditRow
from yibao.store.place_models import PlaceRow

ON = date(2025, 3, 1)


# ------------------------------------------------------------------------------------- recording


def test_record_place_writes_the_row_and_an_audit_row(svc, clock) -> None:
    _person(svc)
    place = svc.record_place("P1", "habitual_residence", " 350100 ", date(2024, 6, 1), by="clerk-1", note="居住证 350100-123")
    assert (place.kind, place.region, place.valid_from, place.note, place.recorded_by, place.current) == (
        "HABITUAL_RESIDENCE", "350100", date(2024, 6, 1), "居住证 350100-123", "clerk-1", True)
    with svc.sessions() as session:
        audit = session.scalars(select(AuditRow).where(AuditRow.action == "RECORD_PLACE")).one()
        assert (audit.psn_no, audit.table_name, audit.row_id, audit.recorded_by) == ("P1", "person_place", place.place_id, "clerk-1")
        assert json.loads(audit.detail)["region"] == "350100"
    assert [p.region for p in svc.places("P1")] == ["350100"]


def test_any_well_formed_region_is_a_place(svc) -> None:
    """A place need not be a region with a policy pack (110108 has none): the format only is checked."""
    _person(svc)
    assert svc.record_place("P1", "STUDY", "110108", date(2023, 9, 1), by="clerk", student_cause="school_entry").student_cause == "SCHOOL_ENTRY"


def test_places_as_known_on_a_day(svc, clock) -> None:
    _person(svc)
    clock.on(date(2024, 2, 1))
    svc.record_place("P1", "HABITUAL_RESIDENCE", "350121", date(2020, 1, 1), by="clerk")
    clock.on(date(2024, 7, 1))
    svc.record_place("P1", "HABITUAL_RESIDENCE", "350100", date(2024, 6, 1), by="clerk")
    assert svc.places_on("P1", date(2025, 1, 1))["HABITUAL_RESIDENCE"].region == "350100"
    assert svc.places_on("P1", date(2024, 5, 1))["HABITUAL_RESIDENCE"].region == "350121"
    assert svc.places_on("P1", date(2025, 1, 1), as_known_on=date(2024, 6, 30))["HABITUAL_RESIDENCE"].region == "350121"
    assert [p.region for p in svc.places("P1", as_known_on=date(2024, 6, 30))] == ["350121"]


@pytest.mark.parametrize("args,kwargs,code,field", [
    (("P1", "HOME", "350100", date(2024, 1, 1)), {}, "PLACE_KIND", "kind"),
    (("P1", "EMPLOYMENT", "3501", date(2024, 1, 1)), {}, "PLACE_REGION", "region"),
    (("P1", "EMPLOYMENT", "990100", date(2024, 1, 1)), {}, "PLACE_REGION", "region"),  # no province 99
    (("P1", "EMPLOYMENT", "３５０１００", date(2024, 1, 1)), {}, "PLACE_REGION", "region"),  # full-width digits
    (("P1", "EMPLOYMENT", "350100", date(2025, 8, 16)), {}, "PLACE_FUTURE", "valid_from"),  # today is 2025-08-15
    (("P1", "EMPLOYMENT", "350100", date(2024, 1, 1)), {"student_cause": "JOB"}, "PLACE_CAUSE", "student_cause"),
    (("P1", "STUDY", "350100", date(2024, 1, 1)), {"student_cause": "HOLIDAY"}, "PLACE_CAUSE", "student_cause"),
    (("P1", "STUDY", "350100", date(2024, 1, 1)), {"note": "x" * 501}, "INVALID_INPUT", "note"),
    (("NOBODY", "STUDY", "350100", date(2024, 1, 1)), {}, "PERSON_NOT_FOUND", None),
])
def test_refusals_write_nothing(svc, unchanged, args, kwargs, code, field) -> None:
    _person(svc)
    with unchanged(), pytest.raises(YibaoError) as info:
        svc.record_place(*args, by="clerk", **kwargs)
    assert info.value.code == code
    if field is not None:
        assert info.value.field == field


def test_the_same_place_twice_is_refused(svc, unchanged) -> None:
    _person(svc)
    svc.record_place("P1", "EMPLOYMENT", "350100", date(2024, 1, 1), by="clerk")
    with unchanged(), pytest.raises(YibaoError) as info:
        svc.record_place("P1", "employment", "350100", date(2024, 1, 1), by="clerk")
    assert info.value.code == "PLACE_ALREADY_RECORDED"


def test_withdraw_a_place(svc, unchanged) -> None:
    _person(svc)
    place = svc.record_place("P1", "EMPLOYMENT", "350100", date(2024, 1, 1), by="clerk")
    with unchanged(), pytest.raises(YibaoError) as info:
        svc.withdraw_place("P1", place.place_id, by="clerk", reason=" ")
    assert info.value.code == "REASON_REQUIRED"
    svc.withdraw_place("P1", place.place_id, by="clerk", reason="录入错误 entered in error")
    assert svc.places_on("P1", date(2025, 1, 1)) == {}
    assert [p.current for p in svc.places("P1")] == []  # withdrawn: not a place as known now
    with pytest.raises(YibaoError) as again:
        svc.withdraw_place("P1", place.place_id, by="clerk", reason="twice")
    assert again.value.code == "PLACE_NOT_FOUND"
    with svc.sessions() as session:
        assert len(session.scalars(select(PlaceRow)).all()) == 1  # the row stays


# ------------------------------------------------------------------------------------- the scan


def test_scan_resolves_r_dup_003_by_the_recorded_habitual_residence(svc, clock) -> None:
    clock.on(ON)
    _person(svc)
    dup = DuplicatesService(svc)
    [manual] = dup.scan(by="clerk", on=ON).new  # nothing recorded: manual review (Y-DUP-002)
    assert (dup.case(manual).outcome, dup.case(manual).rule) == ("MANUAL_REVIEW", "R-DUP-003")
    svc.record_place("P1", "HABITUAL_RESIDENCE", "350100", date(2024, 6, 1), by="clerk")
    rescan = dup.scan(by="clerk", on=ON)
    [case_no] = rescan.new
    assert rescan.superseded == (manual,)  # the open manual case is replaced
    case = dup.case(case_no)
    assert (case.outcome, case.rule, case.proposal["value"]["kept"]) == ("RESOLVED", "R-DUP-003", "CITY")
    assert case.proposal["context"]["habitual_residence_region"] == "350100" and case.proposal["context_source"] == "stored"
    view = dup.confirm(case_no, by="auditor", reason="常住地福州市区")
    assert {a["action"] for a in view.actions} == {"STATUS", "SUBSIDY_DEDUCTION", "REGION_NOTICE"}
    assert svc.facts("P1").relation("VILLAGE").status_on(date(2025, 6, 1)) is InsuStatus.TERMINATED


def test_scan_uses_the_place_in_force_on_the_detection_day(svc, clock) -> None:
    _person(svc)
    svc.record_place("P1", "HABITUAL_RESIDENCE", "350100", date(2025, 5, 1), by="clerk")  # moved after ON
    dup = DuplicatesService(svc)
    [case_no] = dup.scan(by="clerk", on=ON).new
    assert dup.case(case_no).outcome == "MANUAL_REVIEW"
    assert dup.case(case_no).proposal["context"]["habitual_residence_region"] is None


def test_explicit_contexts_win_over_the_stored_places(svc) -> None:
    _person(svc)
    svc.record_place("P1", "HABITUAL_RESIDENCE", "350121", date(2020, 1, 1), by="clerk")
    dup = DuplicatesService(svc)
    given = {"P1": DuplicateContext(detected_on=ON, habitual_residence_region="350100")}
    [case_no] = dup.scan(by="clerk", on=ON, contexts=given).new
    case = dup.case(case_no)
    assert case.proposal["value"]["kept"] == "CITY" and case.proposal["context_source"] == "given"


def test_a_dismissed_case_comes_back_only_for_a_place_it_is_decided_on(svc) -> None:
    _person(svc)
    dup = DuplicatesService(svc)
    [manual] = dup.scan(by="clerk", on=ON).new
    dup.dismiss(manual, by="clerk", reason="待本人提供居住证明")
    svc.record_place("P1", "EMPLOYMENT", "350100", date(2024, 1, 1), by="clerk")  # R-DUP-003 does not read it
    assert dup.scan(by="clerk", on=ON).new == ()
    svc.record_place("P1", "HABITUAL_RESIDENCE", "110108", date(2024, 1, 1), by="clerk")  # neither relation's region
    assert dup.scan(by="clerk", on=ON).new == ()
    svc.record_place("P1", "HABITUAL_RESIDENCE", "350121", date(2024, 6, 1), by="clerk")
    [back] = dup.scan(by="clerk", on=ON).new
    assert (dup.case(back).outcome, dup.case(back).proposal["value"]["kept"]) == ("RESOLVED", "VILLAGE")
    assert dup.case(manual).state == "DISMISSED"


def test_confirm_after_the_place_changed_is_stale_and_writes_nothing(svc, unchanged, clock) -> None:
    clock.on(ON)
    _person(svc)
    svc.record_place("P1", "HABITUAL_RESIDENCE", "350100", date(2024, 6, 1), by="clerk")
    dup = DuplicatesService(svc)
    [case_no] = dup.scan(by="clerk", on=ON).new
    svc.record_place("P1", "HABITUAL_RESIDENCE", "350121", date(2024, 9, 1), by="clerk")  # a later move, in force on ON
    with unchanged(), pytest.raises(YibaoError) as info:
        dup.confirm(case_no, by="auditor", reason="x")
    assert info.value.code == "DUP_CASE_STALE"
    [new] = dup.scan(by="clerk", on=ON).new
    assert dup.case(new).proposal["value"]["kept"] == "VILLAGE" and dup.case(case_no).state == "SUPERSEDED"


def test_a_merge_keeps_the_places_for_the_scan(svc) -> None:
    _person(svc)
    svc.register_person(by="clerk", documents=[("01", "510502196003150037", None)], name="另一号")
    other = svc.find_person("01", "510502196003150037")
    svc.record_place(other, "HABITUAL_RESIDENCE", "350100", date(2024, 6, 1), by="clerk")
    svc.merge_persons("P1", other, by="auditor", reason="同一人 same person")
    [case_no] = DuplicatesService(svc).scan(by="clerk", on=ON, psn_nos=["P1"]).new
    assert DuplicatesService(svc).case(case_no).rule == "R-DUP-003"
    assert DuplicatesService(svc).case(case_no).outcome == "RESOLVED"
