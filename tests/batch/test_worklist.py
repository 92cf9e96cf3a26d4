"""The duplicate worklist in the store (SQLite and PostgreSQL): OPEN / CONFIRMED / DISMISSED, a
dismissed pair not proposed again unless its facts change, confirming applies the resolution
(status change, subsidy deduction, refund due, notice) all or nothing, audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from service.conftest import clock, svc, unchanged  # noqa: F401 (fixtures)
from sqlalchemy import select
from store.conftest import backend, db  # noqa: F401 (fixtures)

from yibao.codes import CertType, ContributionKind, InsuStatus, InsuType, PsnType
from yibao.errors import YibaoError
from yibao.model import (
    ContributionLine,
    Enrollment,
    IdentityDocument,
    PayerType,
    PersonFacts,
    StatusReason,
)
from yibao.rules.duplicate import DuplicateContext
from yibao.service.duplicates import DuplicatesService
from yibao.store import repository as repo
from yibao.store.models import AuditRow

ON = date(2025, 3, 1)


def _line(rel: str, payer: PayerType, amount: str, year: int = 2025) -> ContributionLine:
    return ContributionLine(rel, ContributionKind.REGULAR, payer, date(year - 1, 10, 10), Decimal(amount), benefit_year=year)


def _person(svc) -> str:  # noqa: F811
    facts = PersonFacts(
        "P1", "测试", date(1990, 3, 7), "M", (IdentityDocument(CertType.RESIDENT_ID, "110101199003070011"),),
        enrollments=(
            Enrollment("VILLAGE", InsuType.RESIDENT_BASIC, "350121", PsnType.ADULT_RESIDENT, date(2025, 1, 1), date(2025, 12, 31)),
            Enrollment("CITY", InsuType.RESIDENT_BASIC, "350100", PsnType.ADULT_RESIDENT, date(2025, 1, 1), date(2025, 12, 31)),
        ),
        contributions=(
            _line("VILLAGE", PayerType.INDIVIDUAL, "400.00"), _line("VILLAGE", PayerType.FISCAL_SUBSIDY, "700.00"),
            _line("CITY", PayerType.INDIVIDUAL, "400.00"), _line("CITY", PayerType.FISCAL_SUBSIDY, "700.00"),
        ),
    )
    with svc.sessions() as session, session.begin():
        repo.add_facts(session, facts, by="test")
    return "P1"


HOME = {"P1": DuplicateContext(detected_on=ON, habitual_residence_region="350100")}


def test_scan_records_an_open_case_once(svc) -> None:  # noqa: F811
    _person(svc)
    dup = DuplicatesService(svc)
    first = dup.scan(by="clerk", on=ON, contexts=HOME)
    assert len(first.new) == 1 and first.known == 0
    again = dup.scan(by="clerk", on=date(2025, 3, 2), contexts=HOME)
    assert again.new == () and again.known == 1
    [case] = dup.cases(state="OPEN")
    assert (case.psn_no, case.relation_ids, case.rule, case.outcome) == ("P1", ("CITY", "VILLAGE"), "R-DUP-003", "RESOLVED")
    assert case.proposal["reasons"][0]["rule_id"] == "R-DUP-001"


def test_a_dismissed_pair_comes_back_only_when_its_facts_change(svc) -> None:  # noqa: F811
    _person(svc)
    dup = DuplicatesService(svc)
    [case_no] = dup.scan(by="clerk", on=ON, contexts=HOME).new
    dup.dismiss(case_no, by="clerk", reason="已核实为同一统筹区内迁移")
    assert dup.case(case_no).state == "DISMISSED"
    assert dup.scan(by="clerk", on=ON, contexts=HOME).new == ()
    svc.record_contributions("P1", [_line("CITY", PayerType.INDIVIDUAL, "400.00", 2026)], by="clerk")
    rescan = dup.scan(by="clerk", on=ON, contexts=HOME)
    assert len(rescan.new) == 1 and rescan.superseded == ()  # the dismissed case is not superseded, a new one is open
    assert [c.state for c in dup.cases()] == ["DISMISSED", "OPEN"]


def test_an_open_case_whose_duplicate_is_gone_is_superseded_at_the_next_scan(svc, clock) -> None:  # noqa: F811
    clock.on(ON)
    _person(svc)
    dup = DuplicatesService(svc)
    [case_no] = dup.scan(by="clerk", on=ON, contexts=HOME).new
    svc.suspend("P1", "VILLAGE", by="clerk", effective=date(2025, 1, 1), reason=StatusReason.OTHER)
    rescan = dup.scan(by="clerk", on=ON, contexts=HOME)
    assert rescan.new == () and rescan.superseded == (case_no,)
    assert dup.case(case_no).state == "SUPERSEDED"
    assert dup.scan(by="clerk", on=ON, contexts=HOME).superseded == ()  # once


def test_confirm_applies_the_resolution_and_is_audited(svc, clock) -> None:  # noqa: F811
    clock.on(ON)
    _person(svc)
    dup = DuplicatesService(svc)
    [case_no] = dup.scan(by="clerk", on=ON, contexts=HOME).new
    view = dup.confirm(case_no, by="auditor", reason="常住地福州市区，终止村级参保")
    assert view.state == "CONFIRMED"
    kinds = {a["action"]: a for a in view.actions}
    assert set(kinds) == {"STATUS", "SUBSIDY_DEDUCTION", "REGION_NOTICE"}
    assert kinds["STATUS"]["relation_id"] == "VILLAGE" and kinds["STATUS"]["effective"] == date(2025, 1, 1)
    assert kinds["SUBSIDY_DEDUCTION"]["amount"] == Decimal("700.00") and kinds["SUBSIDY_DEDUCTION"]["region"] == "350121"
    assert (kinds["REGION_NOTICE"]["region"], kinds["REGION_NOTICE"]["other_region"]) == ("350121", "350100")
    facts = svc.facts("P1")
    village = facts.relation("VILLAGE")
    assert village.status_on(date(2025, 6, 1)) is InsuStatus.TERMINATED
    with svc.sessions() as session:
        audit = session.scalars(select(AuditRow.action).where(AuditRow.psn_no == "P1")).all()
    assert "DUPLICATE_CONFIRM" in audit
    with pytest.raises(YibaoError) as info:
        dup.confirm(case_no, by="auditor", reason="again")
    assert info.value.code == "DUP_CASE_NOT_OPEN"
    assert dup.scan(by="clerk", on=ON, contexts=HOME).new == ()  # resolved: no duplicate any more


def test_refund_due_before_the_benefit_period(svc, clock) -> None:  # noqa: F811
    clock.on(date(2024, 12, 15))
    _person(svc)
    dup = DuplicatesService(svc)
    ctx = {"P1": DuplicateContext(detected_on=date(2024, 12, 15), habitual_residence_region="350100")}
    [case_no] = dup.scan(by="clerk", on=date(2024, 12, 15), contexts=ctx).new
    view = dup.confirm(case_no, by="auditor", reason="ok")
    refunds = [a for a in view.actions if a["action"] == "REFUND_DUE"]
    assert [(a["amount"], a["detail"]["channel"], a["region"]) for a in refunds] == [(Decimal("400.00"), "PERSON", "350121")]


def test_stale_or_undecided_cases_write_nothing(svc, unchanged, clock) -> None:  # noqa: F811
    clock.on(ON)
    _person(svc)
    dup = DuplicatesService(svc)
    [manual] = dup.scan(by="clerk", on=ON).new  # no habitual residence known: manual review
    with unchanged():
        with pytest.raises(YibaoError) as info:
            dup.confirm(manual, by="auditor", reason="x")
    assert info.value.code == "DUP_CASE_NEEDS_DECISION"
    [case_no] = dup.scan(by="clerk", on=ON, contexts=HOME).new
    svc.record_contributions("P1", [_line("VILLAGE", PayerType.INDIVIDUAL, "400.00", 2026)], by="clerk")
    with unchanged():
        with pytest.raises(YibaoError) as info:
            dup.confirm(case_no, by="auditor", reason="x")
    assert info.value.code == "DUP_CASE_STALE"
    with unchanged():
        with pytest.raises(YibaoError) as info:
            dup.dismiss(case_no, by="clerk", reason=" ")
    assert info.value.code == "DUP_REASON_REQUIRED"
    with pytest.raises(YibaoError) as info:
        dup.case("DUPNOPE")
    assert info.value.code == "DUP_CASE_NOT_FOUND"
