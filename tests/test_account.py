"""Personal-account rules (SPEC §7 R-ACCT): E-04, E-10, E-15, bad inputs and property tests.
The worked examples themselves are scenario files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.codes import ContributionKind, InsuType, PsnType
from yibao.dates import YearMonth, month_range
from yibao.errors import YibaoError
from yibao.model import DeclaredWage, Enrollment
from yibao.policy import default_policy
from yibao.rules import account as A

YM = YearMonth
DATONG, DALIAN, LUZHOU = "140200", "210200", "510500"


@pytest.fixture(scope="module")
def policy():
    return default_policy()


def rel(*, region=DALIAN, psn_type=PsnType.EMPLOYEE_IN_SERVICE, wage=None, insutype=InsuType.EMPLOYEE_BASIC) -> Enrollment:
    wages = (DeclaredWage(YM(2000, 1), Decimal(wage)),) if wage else ()
    return Enrollment("R1", insutype, region, psn_type, date(2000, 1, 1), wages=wages)


# --- E-04 / E-15 ages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2020, 2, 29), date(2021, 2, 27), 0),
        (date(2020, 2, 29), date(2021, 2, 28), 1),  # reached on 28 Feb in a non-leap year (R-ID-007)
        (date(2020, 2, 29), date(2024, 2, 28), 3),  # leap year: reached on 29 Feb
        (date(2020, 2, 29), date(2024, 2, 29), 4),
        (date(1979, 6, 15), date(2025, 6, 1), 45),
        (date(1979, 6, 15), date(2025, 6, 15), 46),
        (date(1979, 6, 15), date(2025, 7, 1), 46),
    ],
)
def test_age_on(birth, on, age):
    assert A.age_on(birth, on) == age  # yibao.ids.age_on, as used by the account rules


def test_e15_age_band_by_first_day_of_each_contribution_month(policy):
    """46th birthday 2025-06-15: June at 2.8 % (45 on 2025-06-01), July at 3.3 % — not by 'today'."""
    d = A.account_credits(rel(), list(month_range(YM(2025, 5), YM(2025, 8))), policy, base=Decimal("4800"), birth_date=date(1979, 6, 15))
    assert [(c.age, c.rate, c.account) for c in d.value.credits] == [
        (45, Decimal("0.028"), Decimal("134.40")),
        (45, Decimal("0.028"), Decimal("134.40")),
        (46, Decimal("0.033"), Decimal("158.40")),
        (46, Decimal("0.033"), Decimal("158.40")),
    ]
    assert d.value.total == Decimal("585.60")


def test_exactly_45_is_in_the_lower_band(policy):
    c = A.account_credit(rel(), YM(2025, 6), policy, base=Decimal("4800"), birth_date=date(1980, 6, 1)).value
    assert (c.age, c.band) == (45, "AGE<=45")


def test_legacy_base_is_the_clamped_base_a19(policy):
    """A-19: the Dalian legacy rate applies to the clamped contribution base, not the raw wage."""
    low = A.account_credit(rel(wage="1000"), YM(2012, 3), policy, birth_date=date(1980, 1, 1)).value
    high = A.account_credit(rel(wage="99999"), YM(2012, 3), policy, birth_date=date(1980, 1, 1)).value
    assert (low.basis, low.account) == (Decimal("4800.00"), Decimal("134.40"))
    assert (high.basis, high.account) == (Decimal("24000.00"), Decimal("672.00"))


def test_reform_switch_is_by_contribution_month(policy):
    p = policy.with_overrides(DALIAN, {"account.reform_effective_ym": date(2023, 1, 1)}, label="test")
    months = [YM(2022, 12), YM(2023, 1)]
    d = A.account_credits(rel(), months, p, base=Decimal("4800"), birth_date=date(1980, 1, 1))
    assert [c.method for c in d.value.credits] == ["DALIAN_AGE_BANDS", "REFORM_2021"]
    assert [c.account for c in d.value.credits] == [Decimal("134.40"), Decimal("96.00")]
    assert d.value.credits[1].pool == Decimal("384.00")


def test_backpay_kinds_with_the_dalian_pack(policy):
    kw = dict(base=Decimal("4800"), birth_date=date(1980, 1, 1))
    assert A.account_credit(rel(), YM(2012, 3), policy, kind=ContributionKind.INTERRUPTION_BACKPAY, **kw).value.account == Decimal("134.40")
    assert A.account_credit(rel(), YM(2012, 3), policy, kind=ContributionKind.LUMP_SUM, **kw).value.account == Decimal("0.00")
    assert A.account_credit(rel(), YM(2012, 3), policy, kind=ContributionKind.RETIREMENT_BACKPAY, **kw).value.account == Decimal("0.00")
    with pytest.raises(YibaoError) as info:
        A.account_credit(rel(), YM(2012, 3), policy, kind=ContributionKind.ONE_OFF_BACKPAY, **kw)
    assert info.value.code == "PARAM_MISSING" and "account.credit_on_backpay[32]" in info.value.message_en
    with pytest.raises(YibaoError) as info:
        A.account_credit(rel(), YM(2012, 3), policy, kind=ContributionKind.REFUND, **kw)
    assert info.value.code == "INVALID_INPUT" and info.value.field == "kind"


def test_credit_reasons_cite_parameters(policy):
    d = A.account_credit(rel(), YM(2012, 3), policy, base=Decimal("4800"), birth_date=date(1980, 1, 1))
    used = {p.key: p for r in d.reasons for p in r.parameters}
    assert used["account.legacy.rate_at_or_below_limit"].value == Decimal("0.028")
    assert used["account.legacy.rate_at_or_below_limit"].citation.source_key == "S17"
    assert "R-ACCT-002" in d.rule_ids


# --- bad inputs -------------------------------------------------------------------------------


def test_retiree_without_pension_and_missing_birth_date(policy):
    with pytest.raises(YibaoError) as info:
        A.account_credit(rel(psn_type=PsnType.EMPLOYEE_RETIRED), YM(2012, 3), policy)
    assert (info.value.code, info.value.field) == ("PENSION_REQUIRED", "pension")
    with pytest.raises(YibaoError) as info:
        A.account_credit(rel(), YM(2012, 3), policy, base=Decimal("4800"))
    assert (info.value.code, info.value.field) == ("BIRTH_DATE_REQUIRED", "birth_date")


def test_unknown_region(policy):
    for call in (
        lambda: A.family_aid_draw(policy, "999999", date(2025, 1, 1), authoriser_balance=Decimal(1), beneficiary_balance=Decimal(1), bill=Decimal(1)),
        lambda: A.check_account_use(A.AccountUse.MEDICAL_COPAY, policy, "999999", date(2025, 1, 1)),
        lambda: A.account_credit(rel(region="999999"), YM(2025, 1), policy, base=Decimal(1), birth_date=date(1980, 1, 1)),
    ):
        with pytest.raises(YibaoError) as info:
            call()
        assert info.value.code == "UNKNOWN_REGION"


def test_missing_parameter_names_the_key(policy):
    with pytest.raises(YibaoError) as info:
        A.family_aid_draw(policy, LUZHOU, date(2025, 1, 1), authoriser_balance=Decimal(1800), beneficiary_balance=Decimal(0), bill=Decimal(100))
    assert info.value.code == "PARAM_MISSING" and info.value.field == "account.family_aid_threshold"
    assert info.value.details["key"] == "account.family_aid_threshold"


def test_negative_balance_rejected(policy):
    with pytest.raises(YibaoError) as info:
        A.family_aid_draw(policy, DATONG, date(2025, 1, 1), authoriser_balance=Decimal(-5), beneficiary_balance=Decimal(0), bill=Decimal(100))
    assert (info.value.code, info.value.field) == ("NEGATIVE_AMOUNT", "authoriser_balance")


# --- E-10 at the rule level ---------------------------------------------------------------------


def test_e10_two_draws_in_turn_never_break_the_threshold(policy):
    on = date(2025, 6, 1)
    first = A.family_aid_draw(policy, DATONG, on, authoriser_balance=Decimal("1800"), beneficiary_balance=Decimal("0"), bill=Decimal("700")).value
    second = A.family_aid_draw(policy, DATONG, on, authoriser_balance=first.authoriser_balance_after, beneficiary_balance=Decimal("0"), bill=Decimal("700")).value
    assert (first.pool_paid, second.pool_paid) == (Decimal("700.00"), Decimal("100.00"))
    assert second.authoriser_balance_after == Decimal("1000.00")
    assert second.cash == Decimal("600.00")


balances = st.decimals(min_value=Decimal("0"), max_value=Decimal("20000"), places=2)


@settings(deadline=None)
@given(start=balances, draws=st.lists(st.tuples(balances, balances), min_size=1, max_size=6))
def test_property_family_aid_never_below_threshold_and_conserves_money(start, draws):
    policy = default_policy()
    on = date(2025, 6, 1)
    threshold = Decimal("1000")
    balance = start
    for own_balance, bill in draws:
        v = A.family_aid_draw(policy, DATONG, on, authoriser_balance=balance, beneficiary_balance=own_balance, bill=bill).value
        assert v.own_paid + v.pool_paid + v.cash == bill
        assert min(v.own_paid, v.pool_paid, v.cash) >= 0
        assert v.own_paid <= own_balance and v.pool_paid <= v.shareable_before
        assert v.beneficiary_balance_after == own_balance - v.own_paid >= 0
        if balance >= threshold:
            assert v.authoriser_balance_after >= threshold
        else:
            assert v.authoriser_balance_after == balance
        # own account first: the pool is only used once the own account is exhausted
        assert v.pool_paid == 0 or v.own_paid == own_balance
        balance = v.authoriser_balance_after


# --- R-ACCT-004 / 006 --------------------------------------------------------------------------


def test_near_relatives_only_after_s3_and_where_enabled(policy):
    with pytest.raises(YibaoError) as info:  # before S3 (2024-07-26) Datong allowed direct relatives only
        A.check_account_use(A.AccountUse.MEDICAL_COPAY, policy, DATONG, date(2024, 1, 1), relationship=A.Relationship.SIBLING)
    assert info.value.code == "ACCT_SCOPE"
    assert A.check_account_use(A.AccountUse.MEDICAL_COPAY, policy, DATONG, date(2024, 8, 1), relationship=A.Relationship.SIBLING).value is True
    with pytest.raises(YibaoError):
        A.check_account_use(A.AccountUse.MEDICAL_COPAY, policy, LUZHOU, date(2025, 8, 1), relationship=A.Relationship.SIBLING)
    assert A.check_account_use(A.AccountUse.MEDICAL_COPAY, policy, LUZHOU, date(2025, 8, 1), relationship=A.Relationship.CHILD).value is True


@settings(deadline=None)
@given(death=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)))
def test_property_no_debit_after_death(death):
    debits = [A.ScheduledDebit(m, Decimal("16")) for m in month_range(YM(2024, 1), YM(2026, 12))]
    v = A.account_on_death(Decimal("100"), death, debits, default_policy()).value
    assert len(v.kept) + len(v.cancelled) == len(debits)
    assert all(d.month.first_day() > death for d in v.cancelled)
    assert all(d.month.first_day() <= death for d in v.kept)
    assert YM.of(death) in {d.month for d in v.kept}
