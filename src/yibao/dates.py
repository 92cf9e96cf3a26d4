"""Calendar helpers: the only place where month and working-day arithmetic happens (SPEC §0.2, §17).

* :class:`YearMonth` — a contribution month (费款所属期); ``YM + n`` and ``YM - YM`` are month counts.
* :func:`add_months` — keeps the day of month and clamps to the month's last day (E-01, E-04).
* :func:`gap_months` — unpaid months between a last paid month and a resumption (E-02).
* :func:`add_working_days` — official PRC calendar with 调休 make-up days (E-09), from
  ``chinese-calendar`` plus ``calendar_overrides.yaml`` for years the library does not know yet.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Iterator

import yaml

from yibao.errors import YibaoError, define

BAD_MONTH = define("BAD_MONTH", "年月格式无效：{value}（应为 YYYY-MM）", "invalid year-month {value!r} (expected YYYY-MM)")
BAD_MONTH_RANGE = define(
    "BAD_MONTH_RANGE", "年月区间无效：{value}（应为 YYYY-MM..YYYY-MM，且起不晚于止）",
    "invalid month range {value!r} (expected YYYY-MM..YYYY-MM with start <= end)",
)
CALENDAR_YEAR_UNKNOWN = define(
    "CALENDAR_YEAR_UNKNOWN",
    "{year} 年的法定节假日安排尚未载入，无法计算工作日",
    "the official holiday calendar for {year} is not loaded; working days cannot be counted",
)


@dataclass(frozen=True, order=True, slots=True)
class YearMonth:
    """A calendar month, e.g. a contribution month (费款所属期)."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise YibaoError(BAD_MONTH, value=f"{self.year}-{self.month}")

    @classmethod
    def of(cls, d: date) -> "YearMonth":
        return cls(d.year, d.month)

    @classmethod
    def parse(cls, text: str, *, field: str | None = None) -> "YearMonth":
        """Accept ``2025-03``, ``202503`` or ``2025/03``."""
        s = str(text).strip().replace("/", "-")
        try:
            if len(s) == 6 and s.isdigit():
                return cls(int(s[:4]), int(s[4:]))
            year, month = s.split("-")
            if len(year) != 4:
                raise ValueError
            return cls(int(year), int(month))
        except (ValueError, YibaoError):
            raise YibaoError(BAD_MONTH, field=field, value=text) from None

    @property
    def index(self) -> int:
        """Months since year 0; consecutive months have consecutive indexes."""
        return self.year * 12 + self.month - 1

    @classmethod
    def from_index(cls, index: int) -> "YearMonth":
        return cls(index // 12, index % 12 + 1)

    def __add__(self, months: int) -> "YearMonth":
        if not isinstance(months, int):
            return NotImplemented
        return YearMonth.from_index(self.index + months)

    def __sub__(self, other: "YearMonth | int"):  # type: ignore[override]
        if isinstance(other, YearMonth):
            return self.index - other.index
        if isinstance(other, int):
            return YearMonth.from_index(self.index - other)
        return NotImplemented

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def contains(self, d: date) -> bool:
        return d.year == self.year and d.month == self.month

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __repr__(self) -> str:
        return f"YearMonth({self})"


def month_range(first: YearMonth, last: YearMonth) -> Iterator[YearMonth]:
    """Every month from ``first`` to ``last`` inclusive."""
    for i in range(first.index, last.index + 1):
        yield YearMonth.from_index(i)


def parse_month_range(text: str, *, field: str | None = None) -> tuple[YearMonth, YearMonth]:
    """``2025-01..2025-12`` (or a single month) → (first, last)."""
    parts = str(text).split("..")
    if len(parts) == 1:
        ym = YearMonth.parse(parts[0], field=field)
        return ym, ym
    if len(parts) != 2:
        raise YibaoError(BAD_MONTH_RANGE, field=field, value=text)
    first, last = YearMonth.parse(parts[0], field=field), YearMonth.parse(parts[1], field=field)
    if last < first:
        raise YibaoError(BAD_MONTH_RANGE, field=field, value=text)
    return first, last


def gap_months(last_paid: YearMonth, resume: YearMonth) -> int:
    """Unpaid months strictly between ``last_paid`` and ``resume`` (SPEC §0.2, E-02).

    2024-03 → 2024-07 is 3 (April, May, June); 2024-12 → 2025-01 is 0.
    """
    return (resume - last_paid) - 1


def add_months(d: date, months: int) -> date:
    """Keep the day of month, clamped to the target month's last day (2023-01-31 + 1 → 2023-02-28)."""
    target = YearMonth.of(d) + months
    return date(target.year, target.month, min(d.day, calendar.monthrange(target.year, target.month)[1]))


def last_day_of_window(start: date, days: int, *, count_start_day: bool = True) -> date:
    """The last valid day of a window of ``days`` days from ``start``.

    Counting the start day as day 1 (SPEC §0.2): ``start + (days - 1)``; otherwise ``start + days``.
    """
    return start + timedelta(days=days - 1 if count_start_day else days)


def days_between(first: date, last: date) -> int:
    """Days after ``first`` up to and including ``last`` (0 when equal or earlier)."""
    return max(0, (last - first).days)


def year_start(year: int) -> date:
    return date(year, 1, 1)


def year_end(year: int) -> date:
    return date(year, 12, 31)


def month_day(year: int, text: str) -> date:
    """A ``MM-DD`` policy value in a given year; ``02-29`` and ``02-end`` clamp to the month's end."""
    month_s, day_s = text.split("-")
    month = int(month_s)
    last = calendar.monthrange(year, month)[1]
    day = last if day_s == "end" else min(int(day_s), last)
    return date(year, month, day)


# --- working days (工作日) -------------------------------------------------------------


@cache
def _calendar_overrides() -> dict[int, dict[str, set[date]]]:
    """Holiday and make-up-day lists for years newer than the installed chinese-calendar."""
    text = resources.files("yibao").joinpath("calendar_overrides.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    out: dict[int, dict[str, set[date]]] = {}
    for year, entry in (data.get("years") or {}).items():
        out[int(year)] = {
            "holidays": {date.fromisoformat(str(d)) for d in entry.get("holidays", [])},
            "workdays": {date.fromisoformat(str(d)) for d in entry.get("workdays", [])},
        }
    return out


def is_working_day(d: date) -> bool:
    """Official working day: Mon–Fri unless a public holiday, plus make-up weekends (调休)."""
    override = _calendar_overrides().get(d.year)
    if override is not None:
        if d in override["holidays"]:
            return False
        if d in override["workdays"]:
            return True
        return d.weekday() < 5
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        raise YibaoError(CALENDAR_YEAR_UNKNOWN, field="date", year=d.year) from None


def add_working_days(start: date, days: int) -> date:
    """The deadline ``days`` working days after ``start`` (the start day itself is not counted).

    Accepted Thu 2024-04-25, 10 working days → Sat 2024-05-11, a make-up working day (E-09).
    """
    current = start
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def working_days_between(first: date, last: date) -> int:
    """Working days after ``first`` up to and including ``last``."""
    count = 0
    current = first
    while current < last:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
