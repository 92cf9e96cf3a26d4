"""Enrollment use cases: enroll, suspend / restore / terminate (R-CODE-003), record_death (E-07)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from yibao.codes import InsuStatus, InsuType, PsnType
from yibao.dates import YearMonth
from yibao.model import StatusReason

from .helpers import ID_A, ID_B, USCC, rejected


@pytest.fixture
def psn(svc) -> str:
    return svc.register_person(by="clerk-1", name="张三", documents=[("01", ID_A, None)]).psn_no


def test_enroll_records_the_relation_its_employer_and_wage(svc, psn, clock):
    decision = svc.enroll(psn, by="clerk-1", insutype="310", region="510500", psn_type="1101", start=date(2024, 3, 1),
                          employer=USCC.lower(), monthly_wage=Decimal("6300.00"), relation_id="E1")
    assert decision.value == "E1" and decision.notices == ()
    (rel,) = svc.facts(psn).enrollments
    assert (rel.insutype, rel.region, rel.psn_type, rel.start, rel.end) == (InsuType.EMPLOYEE_BASIC, "510500", PsnType.EMPLOYEE_IN_SERVICE, date(2024, 3, 1), None)
    assert rel.employer == USCC  # normalised
    assert [(w.from_month, w.monthly_wage) for w in rel.wages] == [(YearMonth(2024, 3), Decimal("6300.00"))]
    assert rel.recorded_on == clock.today
    generated = svc.enroll(psn, by="clerk-1", insutype="330", region="510500", psn_type="1101", start=date(2024, 3, 1)).value
    assert generated.startswith("R") and len(generated) == 11


def test_a_second_core_relation_is_accepted_with_a_duplicate_notice(svc, psn):
    svc.enroll(psn, by="clerk-1", insutype="390", region="220000", psn_type="1501", start=date(2024, 1, 1), relation_id="R1")
    decision = svc.enroll(psn, by="clerk-1", insutype="310", region="510500", psn_type="1103", start=date(2024, 6, 1), relation_id="E1")
    assert [(n.code, n.field, n.details["relation"]) for n in decision.notices] == [("ALREADY_ENROLLED", "insutype", "R1")]


def test_rider_needs_its_base_in_the_same_region_in_normal_status(svc, psn, unchanged):
    rejected(unchanged, "RIDER_WITHOUT_BASE", "insutype", svc.enroll, psn, by="clerk-1", insutype="330", region="510500", psn_type="1101", start=date(2024, 1, 1))
    svc.enroll(psn, by="clerk-1", insutype="310", region="210200", psn_type="1101", start=date(2024, 1, 1), relation_id="E1")
    rejected(unchanged, "RIDER_WITHOUT_BASE", "insutype", svc.enroll, psn, by="clerk-1", insutype="330", region="510500", psn_type="1101", start=date(2024, 1, 1))
    rejected(unchanged, "RIDER_WITHOUT_BASE", "insutype", svc.enroll, psn, by="clerk-1", insutype="392", region="210200", psn_type="1501", start=date(2024, 1, 1))
    svc.suspend(psn, "E1", by="clerk-1", effective=date(2024, 5, 1), reason=StatusReason.OTHER)
    rejected(unchanged, "RIDER_WITHOUT_BASE", "insutype", svc.enroll, psn, by="clerk-1", insutype="330", region="210200", psn_type="1101", start=date(2024, 6, 1))
    svc.enroll(psn, by="clerk-1", insutype="330", region="210200", psn_type="1101", start=date(2024, 2, 1), relation_id="MM")
    assert [e.relation_id for e in svc.facts(psn).enrollments] == ["E1", "MM"]


@pytest.mark.parametrize(
    "changes, code, field",
    [
        ({"insutype": "380", "psn_type": "1501"}, "LEGACY_INSUTYPE", "insutype"),
        ({"insutype": "391", "psn_type": "1501"}, "LEGACY_INSUTYPE", "insutype"),
        ({"insutype": "999"}, "UNKNOWN_CODE", "insutype"),
        ({"psn_type": "9999"}, "UNKNOWN_CODE", "psn_type"),
        ({"insutype": "390", "psn_type": "1101"}, "PSN_TYPE_INSUTYPE_MISMATCH", "psn_type"),
        ({"insutype": "310", "psn_type": "1501"}, "PSN_TYPE_INSUTYPE_MISMATCH", "psn_type"),
        ({"insutype": "390", "psn_type": "1501", "start": date(2015, 6, 1)}, "UNKNOWN_CODE", "insutype"),  # 390 exists from 2016-01-12
        ({"region": "999999"}, "UNKNOWN_REGION", "region"),
        ({"region": "510501"}, "UNKNOWN_REGION", "region"),
        ({"region": "000000"}, "UNKNOWN_REGION", "region"),  # the national pack is no pooling region
        ({"employer": "91350100M000100Y44"}, "USCC_CHECK", "employer"),
        ({"employer": "123"}, "USCC_LENGTH", "employer"),
        ({"monthly_wage": Decimal("-1")}, "NEGATIVE_AMOUNT", "monthly_wage"),
        ({"monthly_wage": Decimal("6300.001")}, "MONEY_PRECISION", "monthly_wage"),
        ({"relation_id": "R" * 65}, "INVALID_INPUT", "relation_id"),
        ({"by": ""}, "INVALID_INPUT", "by"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_enroll_refusals(svc, psn, unchanged, changes, code, field):
    args = {"by": "clerk-1", "insutype": "310", "region": "510500", "psn_type": "1101", "start": date(2024, 1, 1), **changes}
    rejected(unchanged, code, field, svc.enroll, psn, **args)


def test_enroll_refuses_unknown_people_duplicates_and_relations_after_death(svc, psn, unchanged, clock):
    args = {"by": "clerk-1", "insutype": "310", "region": "510500", "psn_type": "1101", "start": date(2024, 1, 1)}
    rejected(unchanged, "PERSON_NOT_FOUND", "psn_no", svc.enroll, "nobody", **args)
    svc.enroll(psn, relation_id="E1", **args)
    rejected(unchanged, "DUPLICATE_RELATION", "relation_id", svc.enroll, psn, relation_id="E1", **args)
    svc.record_death(psn, date(2025, 2, 1), by="clerk-1")
    rejected(unchanged, "AFTER_DEATH", "start", svc.enroll, psn, **{**args, "start": date(2025, 3, 1)})


# ------------------------------------------------------------------------------- status machine


@pytest.fixture
def rel(svc, psn) -> str:
    return svc.enroll(psn, by="clerk-1", insutype="390", region="510500", psn_type="1501", start=date(2024, 1, 1), relation_id="R1").value


def _statuses(svc, psn):
    return [(c.effective, c.status, c.reason) for c in svc.facts(psn).relation("R1").status_changes]


def test_suspend_restore_terminate(svc, psn, rel, clock):
    svc.suspend(psn, rel, by="clerk-1", effective=date(2024, 4, 1), reason=StatusReason.SEASONAL_EMPLOYMENT, note="季节性务工")
    svc.restore(psn, rel, by="clerk-1", effective=date(2024, 10, 1))
    svc.suspend(psn, rel, by="clerk-1", effective=date(2025, 1, 1), reason=StatusReason.OTHER)
    svc.terminate(psn, rel, by="clerk-1", effective=date(2025, 3, 1), reason=StatusReason.TRANSFER_OUT)
    assert _statuses(svc, psn) == [
        (date(2024, 4, 1), InsuStatus.SUSPENDED, StatusReason.SEASONAL_EMPLOYMENT),
        (date(2024, 10, 1), InsuStatus.NORMAL, StatusReason.RESTORE),
        (date(2025, 1, 1), InsuStatus.SUSPENDED, StatusReason.OTHER),
        (date(2025, 3, 1), InsuStatus.TERMINATED, StatusReason.TRANSFER_OUT),
    ]
    rel_facts = svc.facts(psn).relation("R1")
    assert [rel_facts.status_on(d) for d in (date(2024, 5, 1), date(2024, 11, 1), date(2025, 2, 1), date(2025, 3, 1))] == [
        InsuStatus.SUSPENDED, InsuStatus.NORMAL, InsuStatus.SUSPENDED, InsuStatus.TERMINATED
    ]


def test_status_changes_out_of_order_or_impossible(svc, psn, rel, unchanged):
    rejected(unchanged, "BAD_TRANSITION", "status", svc.restore, psn, rel, by="clerk-1", effective=date(2024, 3, 1))  # normal → normal
    rejected(unchanged, "BEFORE_RELATION_START", "effective", svc.suspend, psn, rel, by="clerk-1", effective=date(2023, 12, 31), reason=StatusReason.OTHER)
    rejected(unchanged, "RELATION_NOT_FOUND", "relation_id", svc.suspend, psn, "R9", by="clerk-1", effective=date(2024, 3, 1), reason=StatusReason.OTHER)
    rejected(unchanged, "PERSON_NOT_FOUND", "psn_no", svc.suspend, "nobody", rel, by="clerk-1", effective=date(2024, 3, 1), reason=StatusReason.OTHER)
    svc.suspend(psn, rel, by="clerk-1", effective=date(2024, 6, 1), reason=StatusReason.OTHER)
    rejected(unchanged, "BAD_TRANSITION", "status", svc.suspend, psn, rel, by="clerk-1", effective=date(2024, 7, 1), reason=StatusReason.OTHER)
    rejected(unchanged, "STATUS_DATE_ORDER", "effective", svc.restore, psn, rel, by="clerk-1", effective=date(2024, 5, 31))
    rejected(unchanged, "STATUS_DATE_ORDER", "effective", svc.terminate, psn, rel, by="clerk-1", effective=date(2024, 2, 1), reason=StatusReason.OTHER)


def test_terminated_is_final(svc, psn, rel, unchanged):
    svc.terminate(psn, rel, by="clerk-1", effective=date(2024, 9, 1), reason=StatusReason.EMIGRATION)
    err = rejected(unchanged, "TERMINATED_IS_FINAL", "status", svc.restore, psn, rel, by="clerk-1", effective=date(2024, 10, 1))
    assert "2024-09-01" in err.message_en
    rejected(unchanged, "TERMINATED_IS_FINAL", "status", svc.suspend, psn, rel, by="clerk-1", effective=date(2024, 9, 1), reason=StatusReason.OTHER)
    rejected(unchanged, "TERMINATED_IS_FINAL", "status", svc.terminate, psn, rel, by="clerk-1", effective=date(2025, 1, 1), reason=StatusReason.OTHER)
    rejected(unchanged, "STATUS_DATE_ORDER", "effective", svc.restore, psn, rel, by="clerk-1", effective=date(2024, 8, 1))


def test_a_status_change_after_the_relation_ended(svc, psn, unchanged):
    svc.enroll(psn, by="clerk-1", insutype="310", region="510500", psn_type="1101", start=date(2024, 1, 1), relation_id="E1")
    from yibao.store import repository as repo

    # an ended relation (a case file or a migration carries end dates; the service never sets one)
    from yibao.model import Enrollment

    with svc.sessions.begin() as s:
        repo.add_enrollment(s, psn, Enrollment("E2", InsuType.EMPLOYEE_BASIC, "210200", PsnType.EMPLOYEE_IN_SERVICE, date(2023, 1, 1), date(2023, 12, 31)), by="clerk-1")
    rejected(unchanged, "BAD_TRANSITION", "status", svc.suspend, psn, "E2", by="clerk-1", effective=date(2024, 2, 1), reason=StatusReason.OTHER)


# ------------------------------------------------------------------------------- death


def test_record_death_once(svc, psn, unchanged, clock):
    svc.record_death(psn, date(2025, 7, 1), by="clerk-1")
    assert svc.facts(psn).death_date == date(2025, 7, 1)
    with unchanged():  # the same report again: nothing new
        svc.record_death(psn, date(2025, 7, 1), by="clerk-2")
    rejected(unchanged, "DEATH_ALREADY_RECORDED", "death_date", svc.record_death, psn, date(2025, 6, 30), by="clerk-1")


def test_record_death_refusals(svc, psn, unchanged, clock):
    rejected(unchanged, "AFTER_DEATH_FUTURE", "death_date", svc.record_death, psn, date(2025, 8, 16), by="clerk-1")
    rejected(unchanged, "DEATH_BEFORE_BIRTH", "death_date", svc.record_death, psn, date(1990, 3, 6), by="clerk-1")
    rejected(unchanged, "PERSON_NOT_FOUND", "psn_no", svc.record_death, "nobody", date(2025, 1, 1), by="clerk-1")
    rejected(unchanged, "INVALID_INPUT", "by", svc.record_death, psn, date(2025, 1, 1), by="")
    svc.record_death(psn, date(1990, 3, 7), by="clerk-1")  # the day of birth is possible


def test_death_ends_coverage(svc, clock):
    psn = svc.register_person(by="clerk-1", documents=[("01", ID_B, None)]).psn_no
    from .helpers import months

    svc.enroll(psn, by="clerk-1", insutype="310", region="510500", psn_type="1103", start=date(2024, 1, 1), relation_id="E1", monthly_wage=Decimal("6300"))
    svc.record_contributions(psn, months("E1", "2024-01", "2025-07"), by="clerk-1")
    assert svc.covered_on(psn, date(2025, 7, 20)).value.covered
    svc.record_death(psn, date(2025, 7, 10), by="clerk-1")
    assert svc.covered_on(psn, date(2025, 7, 10)).value.covered
    assert not svc.covered_on(psn, date(2025, 7, 20)).value.covered
