"""Transfer and continuation (R-XFER-001, -002, -004): E-09 working days on the official calendar."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.codes import Scheme
from yibao.dates import is_working_day, working_days_between
from yibao.errors import YibaoError
from yibao.policy import default_policy
from yibao.rules.transfer import AccountTransferState, TransferCase, account_on_transfer, classify_transfer, transfer_deadlines

POLICY = default_policy()


def naive_weekdays(start: date, n: int) -> date:
    d, counted = start, 0
    while counted < n:
        d += timedelta(days=1)
        if d.weekday() < 5:
            counted += 1
    return d


def test_e09_may_day_holiday_and_make_up_saturday() -> None:
    value = transfer_deadlines(POLICY, sending_region="210200", receiving_region="140200", accepted_on=date(2024, 4, 25)).value
    assert value.transfer_out_due == date(2024, 5, 11)  # a Saturday make-up working day
    assert value.transfer_out_due.weekday() == 5
    assert naive_weekdays(date(2024, 4, 25), 10) == date(2024, 5, 9)  # the wrong, Mon–Fri answer


def test_receiving_limit_is_the_receiving_regions() -> None:
    shorter = POLICY.with_overrides("140200", {"transfer.receiving_working_days": 3})
    value = transfer_deadlines(shorter, sending_region="210200", receiving_region="140200",
                               accepted_on=date(2024, 3, 1), form_received_on=date(2024, 3, 15)).value
    assert (value.transfer_out_due, value.transfer_in_due) == (date(2024, 3, 15), date(2024, 3, 20))
    assert (value.sending_working_days, value.receiving_working_days) == (10, 3)


def test_acceptance_on_a_holiday_counts_from_the_next_working_day() -> None:
    # 2024-10-01 is National Day; 10-01..07 off, 10-12 (Sat) is a make-up working day.
    value = transfer_deadlines(POLICY, sending_region="210200", receiving_region="210200", accepted_on=date(2024, 10, 1)).value
    assert value.transfer_out_due == date(2024, 10, 18)


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(2022, 1, 1), max_value=date(2025, 12, 1)))
def test_due_dates_are_working_days_exactly_n_working_days_later(accepted) -> None:
    value = transfer_deadlines(POLICY, sending_region="210200", receiving_region="140200",
                               accepted_on=accepted, form_received_on=accepted).value
    for due, n in ((value.transfer_out_due, 10), (value.transfer_in_due, 5)):
        assert is_working_day(due)
        assert working_days_between(accepted, due) == n
        assert working_days_between(accepted, due - timedelta(days=1)) == n - 1


def test_classify_gap_is_never_negative_and_schemes_are_validated() -> None:
    from yibao.dates import YearMonth

    d = classify_transfer(POLICY, from_scheme=Scheme.EMPLOYEE, from_region="210200", to_scheme="310", to_region="140200",
                          sending_stopped=True, receiving_enrolled=True,
                          sending_last_month=YearMonth(2025, 6), receiving_first_month=YearMonth(2025, 5))
    assert (d.value.case, d.value.gap_months) == (TransferCase.WITHIN_EMPLOYEE, 0)
    with pytest.raises(YibaoError) as info:
        classify_transfer(POLICY, from_scheme="310", from_region="210200", to_scheme="999", to_region="140200",
                          sending_stopped=True, receiving_enrolled=True)
    assert (info.value.code, info.value.field) == ("XFER_BAD_SCHEME", "to_scheme")


def test_account_money_before_form_then_credited_when_the_form_matches() -> None:
    money = dict(remitted_amount=Decimal("3210.55"), money_received_on=date(2024, 3, 12))
    first = account_on_transfer(POLICY, scheme="310", **money).value
    assert (first.state, first.suspense_amount, first.credit_amount) == (AccountTransferState.SUSPENSE, Decimal("3210.55"), Decimal("0.00"))
    later = account_on_transfer(POLICY, scheme="310", form_balance=Decimal("3210.55"), form_received_on=date(2024, 3, 15), **money).value
    assert (later.state, later.credit_amount, later.credited_on) == (AccountTransferState.CREDITED, Decimal("3210.55"), date(2024, 3, 15))


def test_account_amount_must_be_decimal() -> None:
    with pytest.raises(YibaoError) as info:
        account_on_transfer(POLICY, scheme="310", form_balance=3210.55, form_received_on=date(2024, 3, 15))  # type: ignore[arg-type]
    assert (info.value.code, info.value.field) == ("XFER_BAD_BALANCE", "form_balance")
