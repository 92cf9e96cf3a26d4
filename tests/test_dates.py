"""SPEC §0.2 and §17 acceptance for the calendar helpers (E-01, E-02, E-04, E-09) and round-trips."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.dates import (
    YearMonth,
    add_months,
    add_working_days,
    gap_months,
    is_working_day,
    last_day_of_window,
    month_day,
    parse_month_range,
    working_days_between,
)
from yibao.errors import YibaoError


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 11, 30), 3, date(2024, 2, 29)),  # E-01: Luzhou deadline, leap year
        (date(2024, 11, 30), 3, date(2025, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # E-04
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_e01_ninety_days_is_not_three_months() -> None:
    assert date(2023, 11, 30) + timedelta(days=90) != add_months(date(2023, 11, 30), 3)


@pytest.mark.parametrize(
    ("last", "resume", "gap"),
    [((2024, 3), (2024, 7), 3), ((2024, 11), (2025, 3), 3), ((2024, 12), (2025, 1), 0), ((2024, 3), (2024, 8), 4)],
)
def test_e02_gap_counting(last: tuple[int, int], resume: tuple[int, int], gap: int) -> None:
    assert gap_months(YearMonth(*last), YearMonth(*resume)) == gap


def test_window_counting_start_day() -> None:
    assert last_day_of_window(date(2025, 1, 1), 90) == date(2025, 3, 31)
    assert last_day_of_window(date(2024, 2, 29), 90) == date(2024, 5, 28)  # E-04 newborn
    assert last_day_of_window(date(2025, 1, 1), 90, count_start_day=False) == date(2025, 4, 1)


@pytest.mark.parametrize(
    ("accepted", "days", "due"),
    [
        (date(2024, 3, 1), 10, date(2024, 3, 15)),
        (date(2024, 4, 25), 10, date(2024, 5, 11)),  # E-09: May Day holiday and two make-up days
        (date(2024, 3, 15), 5, date(2024, 3, 22)),
    ],
)
def test_e09_working_days_use_the_official_calendar(accepted: date, days: int, due: date) -> None:
    assert add_working_days(accepted, days) == due


def test_e09_make_up_weekend_is_a_working_day_and_holiday_is_not() -> None:
    assert is_working_day(date(2024, 4, 28))  # Sunday, 调休
    assert is_working_day(date(2024, 5, 11))  # Saturday, 调休
    assert not is_working_day(date(2024, 5, 1))
    assert working_days_between(date(2024, 4, 25), date(2024, 5, 11)) == 10


def test_unknown_calendar_year_is_an_error_not_a_guess() -> None:
    with pytest.raises(YibaoError) as info:
        is_working_day(date(2099, 5, 1))
    assert info.value.code == "CALENDAR_YEAR_UNKNOWN"


def test_month_parsing_and_ranges() -> None:
    assert YearMonth.parse("202503") == YearMonth(2025, 3)
    assert YearMonth.parse("2025-03") == YearMonth(2025, 3)
    assert parse_month_range("2025-01..2025-12") == (YearMonth(2025, 1), YearMonth(2025, 12))
    for bad in ("2025-13", "25-03", "abc", ""):
        with pytest.raises(YibaoError) as info:
            YearMonth.parse(bad, field="month")
        assert info.value.code == "BAD_MONTH" and info.value.field == "month"
    with pytest.raises(YibaoError) as info:
        parse_month_range("2025-12..2025-01")
    assert info.value.code == "BAD_MONTH_RANGE"


def test_month_day_clamps() -> None:
    assert month_day(2026, "02-end") == date(2026, 2, 28)
    assert month_day(2028, "02-end") == date(2028, 2, 29)
    assert month_day(2025, "02-29") == date(2025, 2, 28)


months = st.builds(YearMonth, st.integers(1900, 2200), st.integers(1, 12))


@given(months, st.integers(-1200, 1200))
def test_month_arithmetic_round_trips(ym: YearMonth, n: int) -> None:
    assert (ym + n) - n == ym
    assert (ym + n) - ym == n
    assert YearMonth.from_index(ym.index) == ym
    assert YearMonth.parse(str(ym)) == ym
    assert ((ym + n) > ym) == (n > 0)


@given(st.dates(date(1950, 1, 1), date(2150, 12, 31)), st.integers(-600, 600))
def test_add_months_properties(d: date, n: int) -> None:
    result = add_months(d, n)
    assert YearMonth.of(result) - YearMonth.of(d) == n
    assert result.day <= d.day
    assert result.day == d.day or result == YearMonth.of(result).last_day()
    # going back lands on the original day or on an earlier day of the same month (clamped)
    back = add_months(result, -n)
    assert YearMonth.of(back) == YearMonth.of(d) and back.day <= d.day
