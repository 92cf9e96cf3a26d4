"""Contribution rules (SPEC §6 R-CONT, R-RET-003): edge cases E-03, E-06, E-11, E-13, bad inputs,
the schedule, and property tests. The worked examples themselves are scenario files."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.codes import ContributionKind, FundLine, InsuStatus, InsuType, PsnType
from yibao.dates import YearMonth, month_range
from yibao.errors import YibaoError
from yibao.model import ContributionLine, DeclaredWage, Enrollment, GroupMembership, PayerType, PersonFacts, PersonGroup, StatusChange
from yibao.money import round_fen
from yibao.policy import default_policy
from yibao.rules import contribution as C

YM = YearMonth
LUZHOU, JILIN, DATONG, DALIAN = "510500", "220000", "140200", "210200"


@pytest.fixture(scope="module")
def policy():
    return default_policy()


def luzhou(policy):
    """Luzhou with the illustrative figures of SPEC R-CONT-002, independent of later pack edits."""
    return policy.with_overrides(
        LUZHOU,
        {
            "contribution.employee.ref_wage": 7000,
            "contribution.employee.ref_wage_published_on": None,
            "contribution.employee.base_floor_pct": Decimal("0.90"),
            "contribution.employee.base_ceiling_pct": Decimal("3.00"),
            "contribution.employee.unit_rate": Decimal("0.07"),
            "contribution.employee.indiv_rate": Decimal("0.02"),
        },
        label="test",
    )


def rel(
    rid="R1",
    *,
    insutype=InsuType.EMPLOYEE_BASIC,
    region=LUZHOU,
    psn_type=PsnType.EMPLOYEE_IN_SERVICE,
    start=date(2020, 1, 1),
    end=None,
    wage="5000",
    changes=(),
) -> Enrollment:
    wages = (DeclaredWage(YM(2000, 1), Decimal(wage)),) if wage is not None else ()
    return Enrollment(rid, insutype, region, psn_type, start, end, status_changes=tuple(changes), wages=wages)


def line(rid, month, payer, amount, *, paid_on=None, fund=None, kind=ContributionKind.REGULAR, benefit_year=None):
    return ContributionLine(
        rid,
        kind,
        payer,
        paid_on or (month.first_day() if month else date(benefit_year - 1, 12, 1)),
        Decimal(amount),
        month=month,
        benefit_year=benefit_year,
        fund=fund,
    )


# --- E-03 / E-13: parameters chosen by contribution month -------------------------------------


def test_e03_backpayment_after_switch_uses_old_dae_standard(policy):
    """A back-payment on 2025-08-05 for contribution month 2025-05 is charged the pre-2025-07 standard."""
    facts = PersonFacts(
        "P",
        enrollments=(rel("B", region=DATONG, wage=None), rel("D", insutype=InsuType.MAJOR_MEDICAL, region=DATONG, wage=None)),
        contributions=(line("D", YM(2025, 5), PayerType.PERSONAL_ACCOUNT, "13.00", paid_on=date(2025, 8, 5), fund=FundLine.MAJOR_MEDICAL),),
    )
    d = C.contribution_schedule(facts, policy, YM(2025, 5), YM(2025, 5))
    dae = [r for r in d.value.lines if r.insutype is InsuType.MAJOR_MEDICAL]
    assert [(r.payer, r.due, r.paid, r.outstanding) for r in dae] == [(PayerType.PERSONAL_ACCOUNT, Decimal("13.00"), Decimal("13.00"), Decimal("0.00"))]
    # choosing by payment date would have charged the new 6 + 10
    assert C.dae_month_due(YM(2025, 8), policy, DATONG, psn_type=PsnType.EMPLOYEE_IN_SERVICE).value.total == Decimal("16.00")


def test_e13_dae_switches_by_contribution_month_not_notice_date(policy):
    """The notice is dated 2025-04-27; May and June 2025 still use the old standard, July the new one."""
    totals = {m: C.dae_month_due(m, policy, DATONG, psn_type=PsnType.EMPLOYEE_IN_SERVICE).value for m in month_range(YM(2025, 4), YM(2025, 8))}
    assert [totals[m].total for m in sorted(totals)] == [Decimal("13.00")] * 3 + [Decimal("16.00")] * 2
    assert totals[YM(2025, 6)].amount(C.Share.UNIT) == Decimal("0.00")
    assert totals[YM(2025, 7)].amount(C.Share.UNIT) == Decimal("6.00")
    # the old standard's 12 months add up to the documented 156/year, the new in-service one to 192
    old = sum(C.dae_month_due(m, policy, DATONG, psn_type=PsnType.EMPLOYEE_IN_SERVICE).value.total for m in month_range(YM(2024, 1), YM(2024, 12)))
    new = sum(C.dae_month_due(m, policy, DATONG, psn_type=PsnType.EMPLOYEE_IN_SERVICE).value.total for m in month_range(YM(2026, 1), YM(2026, 12)))
    assert (old, new) == (Decimal("156.00"), Decimal("192.00"))
    assert policy.value(DATONG, "contribution.dae.annual_standard", date(2025, 6, 1)) == 156
    assert policy.value(DATONG, "contribution.dae.annual_standard", date(2025, 7, 1)) == 192


def test_e03_provisional_base_by_contribution_month(policy):
    """Luzhou pack: 2025 months were provisional until 2025-07-15; 2024 months never were."""
    r = rel(wage="5000")
    before = C.employee_month_due(r, YM(2025, 3), policy, as_of=date(2025, 7, 14)).value
    after = C.employee_month_due(r, YM(2025, 3), policy, as_of=date(2025, 7, 15)).value
    old_year = C.employee_month_due(r, YM(2024, 12), policy, as_of=date(2025, 7, 14)).value
    assert (before.base, after.base, old_year.base) == (Decimal("6300.00"), Decimal("6615.00"), Decimal("6300.00"))
    assert before.ref_wage.phase is C.RefWagePhase.PROVISIONAL and after.ref_wage.phase is C.RefWagePhase.FINAL


# --- E-11 rounding drift --------------------------------------------------------------------


def test_e11_schedule_rounds_each_month_before_summing(policy):
    p = luzhou(policy)
    facts = PersonFacts("P", enrollments=(rel(wage="6666.67"),))
    d = C.contribution_schedule(facts, p, YM(2025, 1), YM(2025, 3))
    indiv = [r for r in d.value.lines if r.payer is PayerType.INDIVIDUAL]
    unit = [r for r in d.value.lines if r.payer is PayerType.UNIT]
    assert [r.due for r in indiv] == [Decimal("133.33")] * 3
    by_payer = {t.payer: t for t in d.value.by_payer}
    assert by_payer[PayerType.INDIVIDUAL].due == Decimal("399.99")  # not 400.00
    assert by_payer[PayerType.UNIT].due == Decimal("1400.01")  # 466.67 × 3, not round(1400.0007)
    assert sum(r.due for r in unit) == Decimal("1400.01")
    assert d.value.total_due == Decimal("1800.00")


def test_e11_monthly_lines_total_reports_the_drift(policy):
    d = C.monthly_lines_total(Decimal("6666.67"), Decimal("0.02"), list(month_range(YM(2025, 1), YM(2025, 3))), policy, JILIN)
    assert d.value.total == Decimal("399.99")
    assert round_fen(d.value.unrounded_total) == Decimal("400.00")
    assert d.rule_ids == ("R-CONT-010",)


# --- bad inputs -------------------------------------------------------------------------------


def test_negative_wage_is_rejected(policy):
    with pytest.raises(YibaoError) as info:
        C.employee_month_due(rel(wage="-1"), YM(2024, 3), policy)
    assert info.value.code == "NEGATIVE_AMOUNT" and info.value.field == "wage"
    with pytest.raises(YibaoError) as info:
        C.clamp_base(Decimal("-0.01"), Decimal("7000"), Decimal("0.9"), Decimal("3"))
    assert info.value.code == "NEGATIVE_AMOUNT"


def test_floor_above_ceiling_is_rejected():
    with pytest.raises(YibaoError) as info:
        C.clamp_base(Decimal("5000"), Decimal("7000"), Decimal("3.0"), Decimal("0.6"))
    assert info.value.code == "INVALID_INPUT" and info.value.field == "floor_pct"


@pytest.mark.parametrize(
    "call",
    [
        lambda p: C.employee_month_due(rel(region="999999"), YM(2024, 3), p),
        lambda p: C.resident_year_due(2025, p, "999999"),
        lambda p: C.dae_month_due(YM(2025, 7), p, "999999", psn_type=PsnType.EMPLOYEE_IN_SERVICE),
        lambda p: C.late_fee(Decimal("1"), date(2025, 1, 1), date(2025, 2, 1), p, "999999"),
        lambda p: C.contribution_schedule(PersonFacts("P", enrollments=(rel(region="999999"),)), p, YM(2025, 1), YM(2025, 1)),
    ],
)
def test_unknown_region(policy, call):
    with pytest.raises(YibaoError) as info:
        call(policy)
    assert info.value.code == "UNKNOWN_REGION"
    assert "999999" in info.value.message_en


def test_missing_parameter_names_the_key(policy):
    """Jilin sets no reference wage and there is no national one: PARAM_MISSING names the key."""
    with pytest.raises(YibaoError) as info:
        C.employee_month_due(rel(region=JILIN), YM(2024, 3), policy)
    assert info.value.code == "PARAM_MISSING"
    assert info.value.field == "contribution.employee.ref_wage"
    assert info.value.details["key"] == "contribution.employee.ref_wage"
    assert "contribution.employee.ref_wage" in info.value.message_en and "220000" in info.value.message_en
    with pytest.raises(YibaoError) as info:
        C.dae_month_due(YM(2025, 7), policy, LUZHOU, psn_type=PsnType.EMPLOYEE_IN_SERVICE)
    assert info.value.code == "PARAM_MISSING" and info.value.details["key"].startswith("contribution.dae.")


def test_bad_month_range(policy):
    with pytest.raises(YibaoError) as info:
        C.contribution_schedule(PersonFacts("P"), policy, YM(2025, 3), YM(2025, 1))
    assert info.value.code == "BAD_MONTH_RANGE"


# --- R-RET-003, R-CONT-005, reasons -------------------------------------------------------------


def test_retiree_owes_no_basic_contribution(policy):
    d = C.employee_month_due(rel(psn_type=PsnType.EMPLOYEE_RETIRED), YM(2025, 8), policy)
    assert d.value.lines == () and d.value.total == Decimal("0.00")
    assert d.rule_ids == ("R-RET-003",)


def test_reasons_carry_parameters_and_citations(policy):
    d = C.employee_month_due(rel(), YM(2024, 3), policy)
    used = {p.key: p for r in d.reasons for p in r.parameters}
    assert {"contribution.employee.ref_wage", "contribution.employee.base_floor_pct", "contribution.employee.unit_rate", "contribution.rounding_unit"} <= set(used)
    assert used["contribution.employee.base_floor_pct"].citation.source_key == "S10"
    assert used["contribution.employee.ref_wage"].illustrative is True
    assert used["contribution.employee.ref_wage"].effective_from == date(2021, 11, 9)


def test_dalian_low_income_flexible_floor_group_is_read_from_pack(policy):
    p = policy.with_overrides(DALIAN, {"contribution.employee.ref_wage": 4000}, label="test")
    r = rel(region=DALIAN, psn_type=PsnType.FLEXIBLE_IN_SERVICE, wage="3000")
    plain = C.employee_month_due(r, YM(2012, 3), p).value
    poor = C.employee_month_due(r, YM(2012, 3), p, groups=frozenset({PersonGroup.LOW_INCOME})).value
    assert (plain.total, poor.total) == (Decimal("240.00"), Decimal("180.00"))


# --- the schedule -----------------------------------------------------------------------------


def test_schedule_matches_payments_and_refunds_by_month_and_payer(policy):
    p = luzhou(policy)
    r = rel()
    lines = (
        line("R1", YM(2025, 1), PayerType.UNIT, "441.00"),
        line("R1", YM(2025, 1), PayerType.INDIVIDUAL, "126.00"),
        line("R1", YM(2025, 2), PayerType.UNIT, "441.00"),
        line("R1", YM(2025, 2), PayerType.UNIT, "-441.00", kind=ContributionKind.REFUND),
        line("R1", YM(2025, 3), PayerType.INDIVIDUAL, "200.00"),
    )
    d = C.contribution_schedule(PersonFacts("P", enrollments=(r,), contributions=lines), p, YM(2025, 1), YM(2025, 3))
    got = {(str(x.month), x.payer.value): (x.due, x.paid, x.outstanding) for x in d.value.lines}
    D = Decimal
    assert got == {
        ("2025-01", "INDIVIDUAL"): (D("126.00"), D("126.00"), D("0.00")),
        ("2025-01", "UNIT"): (D("441.00"), D("441.00"), D("0.00")),
        ("2025-02", "INDIVIDUAL"): (D("126.00"), D("0.00"), D("126.00")),
        ("2025-02", "UNIT"): (D("441.00"), D("0.00"), D("441.00")),
        ("2025-03", "INDIVIDUAL"): (D("126.00"), D("200.00"), D("-74.00")),
        ("2025-03", "UNIT"): (D("441.00"), D("0.00"), D("441.00")),
    }
    assert (d.value.total_due, d.value.total_paid, d.value.total_outstanding) == (D("1701.00"), D("767.00"), D("934.00"))
    assert all(x.fund is FundLine.EMPLOYEE_POOL for x in d.value.lines)
    assert all(x.reasons for x in d.value.lines)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.value.lines[0].due = D("0")  # type: ignore[misc]


def test_schedule_without_declared_wage_gives_a_notice_not_a_crash(policy):
    d = C.contribution_schedule(PersonFacts("P", enrollments=(rel(wage=None),)), luzhou(policy), YM(2025, 1), YM(2025, 2))
    assert d.value.lines == () and d.value.total_due == Decimal("0.00")
    assert [n.code for n in d.notices] == ["WAGE_NOT_DECLARED", "WAGE_NOT_DECLARED"]
    assert "R1" in d.notices[0].message_en and "2025-01" in d.notices[0].message_en


def test_schedule_resident_year_once_per_year(policy):
    r = rel("RES", insutype=InsuType.RESIDENT_BASIC, region=JILIN, psn_type=PsnType.ADULT_RESIDENT, start=date(2024, 1, 1), wage=None)
    paid = (line("RES", None, PayerType.INDIVIDUAL, "400.00", benefit_year=2025),)
    d = C.contribution_schedule(PersonFacts("P", enrollments=(r,), contributions=paid), policy, YM(2024, 6), YM(2025, 12))
    rows = [(str(x.month), x.benefit_year, x.due, x.paid, x.outstanding) for x in d.value.lines]
    assert rows == [
        ("2024-06", 2024, Decimal("400.00"), Decimal("0.00"), Decimal("400.00")),
        ("2025-01", 2025, Decimal("400.00"), Decimal("400.00"), Decimal("0.00")),
    ]
    assert {x.fund for x in d.value.lines} == {FundLine.RESIDENT_POOL}


def test_schedule_resident_assistance_lines_per_payer(policy):
    p = policy.with_overrides(JILIN, {"contribution.resident.assistance_share": {"LOW_INCOME": Decimal("0.60")}}, label="test")
    r = rel("RES", insutype=InsuType.RESIDENT_BASIC, region=JILIN, psn_type=PsnType.ADULT_RESIDENT, start=date(2024, 1, 1), wage=None)
    facts = PersonFacts("P", enrollments=(r,), groups=(GroupMembership(PersonGroup.LOW_INCOME, date(2020, 1, 1)),))
    d = C.contribution_schedule(facts, p, YM(2025, 1), YM(2025, 12))
    assert {x.payer: x.due for x in d.value.lines} == {PayerType.INDIVIDUAL: Decimal("160.00"), PayerType.MEDICAL_ASSISTANCE: Decimal("240.00")}


def test_schedule_hire_month_due_in_full_e06(policy):
    r = rel(start=date(2025, 3, 31))
    d = C.contribution_schedule(PersonFacts("P", enrollments=(r,)), luzhou(policy), YM(2025, 2), YM(2025, 4))
    assert sorted({str(x.month) for x in d.value.lines}) == ["2025-03", "2025-04"]
    strict = luzhou(policy).with_overrides(LUZHOU, {"contribution.employee.partial_month_due": False}, label="test")
    d = C.contribution_schedule(PersonFacts("P", enrollments=(r,)), strict, YM(2025, 2), YM(2025, 4))
    assert sorted({str(x.month) for x in d.value.lines}) == ["2025-04"]


def test_schedule_suspended_and_terminated_months_are_not_due(policy):
    changes = (StatusChange(date(2025, 2, 1), InsuStatus.SUSPENDED), StatusChange(date(2025, 4, 1), InsuStatus.NORMAL))
    r = rel(changes=changes, end=date(2025, 5, 20))
    d = C.contribution_schedule(PersonFacts("P", enrollments=(r,)), luzhou(policy), YM(2025, 1), YM(2025, 7))
    assert sorted({str(x.month) for x in d.value.lines}) == ["2025-01", "2025-04", "2025-05"]


def test_schedule_stops_after_death(policy):
    facts = PersonFacts(
        "P",
        enrollments=(rel("B", region=DATONG, psn_type=PsnType.EMPLOYEE_RETIRED, wage=None), rel("D", insutype=InsuType.MAJOR_MEDICAL, region=DATONG, psn_type=PsnType.EMPLOYEE_RETIRED, wage=None)),
        death_date=date(2025, 8, 10),
    )
    d = C.contribution_schedule(facts, policy, YM(2025, 7), YM(2025, 12))
    assert [(str(x.month), x.due) for x in d.value.lines] == [("2025-07", Decimal("16.00")), ("2025-08", Decimal("16.00"))]
    assert "R-ACCT-006" in d.rule_ids and "R-RET-003" in d.rule_ids


def test_schedule_dae_category_comes_from_the_base_relation(policy):
    base = rel("B", region=DATONG, psn_type=PsnType.FLEXIBLE_IN_SERVICE, wage=None)
    rider = rel("D", insutype=InsuType.MAJOR_MEDICAL, region=DATONG, psn_type=PsnType.EMPLOYEE_IN_SERVICE, wage=None)
    d = C.contribution_schedule(PersonFacts("P", enrollments=(base, rider)), policy, YM(2025, 7), YM(2025, 7))
    dae = {x.payer: x.due for x in d.value.lines if x.insutype is InsuType.MAJOR_MEDICAL}
    assert dae == {PayerType.INDIVIDUAL: Decimal("6.00"), PayerType.PERSONAL_ACCOUNT: Decimal("10.00")}


def test_schedule_unit_level_assessment_is_not_shown_as_zero(policy):
    """Dalian: the unit part comes from the wage bill (R-CONT-004); a unit payment is not 'overpaid'."""
    r = rel(region=DALIAN, start=date(2012, 1, 1))
    paid = (line("R1", YM(2012, 3), PayerType.UNIT, "400.00"),)
    d = C.contribution_schedule(PersonFacts("P", enrollments=(r,), contributions=paid), policy, YM(2012, 3), YM(2012, 3))
    unit = [x for x in d.value.lines if x.payer is PayerType.UNIT]
    assert [(x.due, x.paid, x.outstanding) for x in unit] == [(None, Decimal("400.00"), None)]
    assert d.value.total_outstanding == Decimal("100.00")  # the individual 2 % of 5 000 only


def test_true_up_exemption_both_directions(policy):
    """A-10: a downward true-up (published lower than provisional) is also skipped for an early leaver."""
    p = luzhou(policy).with_overrides(
        LUZHOU,
        {
            "contribution.employee.ref_wage_published_on": date(2025, 7, 15),
            "contribution.employee.provisional_ref_wage": 7350,
            "contribution.employee.ref_wage": 7000,
            "contribution.employee.true_up_exempt_terminated": True,
        },
        label="test",
    )
    months = list(month_range(YM(2025, 1), YM(2025, 3)))
    stay = C.base_true_up(rel(), months, p).value
    assert stay.total(C.Share.UNIT) == Decimal("-66.15") and stay.total(C.Share.INDIVIDUAL) == Decimal("-18.90")
    leave = C.base_true_up(rel(end=date(2025, 7, 14)), months, p).value
    assert leave.records == () and leave.exempt


# --- properties ---------------------------------------------------------------------------------

money = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000000"), places=2, allow_nan=False, allow_infinity=False)
pct = st.decimals(min_value=Decimal("0"), max_value=Decimal("5"), places=3, allow_nan=False, allow_infinity=False)


@settings(deadline=None)
@given(declared=money, ref=money, a=pct, b=pct)
def test_property_clamped_base_within_band(declared, ref, a, b):
    floor_pct, ceiling_pct = min(a, b), max(a, b)
    v = C.clamp_base(declared, ref, floor_pct, ceiling_pct).value
    assert v.floor <= v.base <= v.ceiling
    assert v.floor == round_fen(ref * floor_pct) and v.ceiling == round_fen(ref * ceiling_pct)
    if v.floor <= declared <= v.ceiling:
        assert v.base == round_fen(declared)


@settings(max_examples=40, deadline=None)
@given(wage=st.decimals(min_value=Decimal("0"), max_value=Decimal("40000"), places=2), n=st.integers(min_value=1, max_value=24))
def test_property_schedule_total_is_sum_of_rounded_monthly_lines(wage, n):
    p = luzhou(default_policy())
    first = YM(2024, 1)
    last = first + (n - 1)
    d = C.contribution_schedule(PersonFacts("P", enrollments=(rel(wage=str(wage)),)), p, first, last)
    base = min(max(wage, Decimal("6300.00")), Decimal("21000.00"))
    per_month = round_fen(base * Decimal("0.07")) + round_fen(base * Decimal("0.02"))
    assert d.value.total_due == per_month * n
    assert d.value.total_due == sum((C.employee_month_due(rel(wage=str(wage)), m, p).value.total for m in month_range(first, last)), Decimal("0"))
    assert len(d.value.lines) == 2 * n


@settings(deadline=None)
@given(
    base=st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=2),
    rate=st.decimals(min_value=Decimal("0"), max_value=Decimal("0.2"), places=4),
    n=st.integers(min_value=1, max_value=36),
)
def test_property_monthly_lines_total(base, rate, n):
    months = list(month_range(YM(2024, 1), YM(2024, 1) + (n - 1)))
    v = C.monthly_lines_total(base, rate, months, default_policy(), JILIN).value
    assert v.total == round_fen(base * rate) * n
    assert abs(v.total - round_fen(v.unrounded_total)) <= Decimal("0.005") * n


def test_schedule_decision_is_json_ready(policy):
    import json

    facts = PersonFacts(
        "P",
        enrollments=(rel("B", region=DATONG, psn_type=PsnType.EMPLOYEE_RETIRED, wage=None), rel("D", insutype=InsuType.MAJOR_MEDICAL, region=DATONG, psn_type=PsnType.EMPLOYEE_RETIRED, wage=None)),
    )
    data = json.loads(json.dumps(C.contribution_schedule(facts, policy, YM(2025, 7), YM(2025, 8)).to_dict(), ensure_ascii=False))
    assert data["value"]["total_due"] == "32.00"
    row = data["value"]["lines"][0]
    assert (row["month"], row["insutype"], row["fund"], row["payer"], row["due"]) == ("2025-07", "330", "330100", "PERSONAL_ACCOUNT", "16.00")
    assert row["components"][0]["fund"] == "330100"
    assert row["reasons"][0]["rule_id"] == "R-CONT-009"
    assert data["value"]["by_payer"] == [{"payer": "PERSONAL_ACCOUNT", "due": "32.00", "paid": "0.00", "outstanding": "32.00"}]
