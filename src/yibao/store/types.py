"""Column types shared by the models and the migrations: exact money, aware timestamps, months, codes.

* :class:`Money` — ``NUMERIC(14,2)`` on PostgreSQL; on SQLite, whose NUMERIC affinity would turn
  values into binary floats, an ``INTEGER`` count of fen. Python always sees ``Decimal`` with two
  places; an amount with more than two decimals is refused (``MONEY_PRECISION``), never rounded.
* :class:`UTCDateTime` — ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL; on SQLite an ISO text in UTC.
  Python always gets an aware UTC ``datetime``; a naive one is refused.
* :class:`YearMonthType` — a contribution month as ``CHAR(7)`` ``YYYY-MM`` (sorts as text).
* :class:`CodeType` — a code of a national table (``StrEnum``) stored as its code text, no native
  database enum (code tables change by data, a native enum would need a migration each time).

Also the knowledge-date conversion: a fact's ``recorded_on`` is the date of ``recorded_at`` in
Asia/Shanghai (:func:`shanghai_date`), and a declared ``recorded_on`` is stored as that day's
midnight in Asia/Shanghai (:func:`start_of_shanghai_day`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from yibao.dates import YearMonth
from yibao.errors import YibaoError, define

MONEY_PRECISION = define(
    "MONEY_PRECISION",
    "金额 {value} 超出存储精度（最多 12 位整数、2 位小数）",
    "amount {value} does not fit the stored precision (at most 12 integer digits and 2 decimals)",
)
NAIVE_TIMESTAMP = define(
    "NAIVE_TIMESTAMP",
    "时间 {value} 缺少时区",
    "timestamp {value} has no time zone",
)

try:  # the IANA database is normally present; China has kept UTC+8 without DST since 1991
    from zoneinfo import ZoneInfo

    SHANGHAI: Any = ZoneInfo("Asia/Shanghai")
except Exception:  # pragma: no cover - a system without tzdata
    SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

_CENT = Decimal("0.01")
_MAX_MONEY = Decimal("999999999999.99")


def shanghai_date(moment: datetime) -> date:
    """The calendar date of an aware timestamp in Asia/Shanghai."""
    return moment.astimezone(SHANGHAI).date()


def start_of_shanghai_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in Asia/Shanghai, as an aware UTC timestamp."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def check_money(value: Decimal, *, field: str | None = None) -> Decimal:
    """``value`` as a two-place Decimal, or ``MONEY_PRECISION`` if that would lose anything."""
    if isinstance(value, (float, bool)) or not isinstance(value, (Decimal, int)):
        raise YibaoError(MONEY_PRECISION, field=field, value=value)
    try:
        exact = Decimal(value).quantize(_CENT)
    except InvalidOperation:
        raise YibaoError(MONEY_PRECISION, field=field, value=value) from None
    if exact != value or abs(exact) > _MAX_MONEY:
        raise YibaoError(MONEY_PRECISION, field=field, value=value)
    return exact


class Money(TypeDecorator[Decimal]):
    """Exact yuan with two decimals: NUMERIC(14,2), or integer fen on SQLite."""

    impl = Numeric(14, 2, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = check_money(value)
        if dialect.name == "sqlite":
            return int(exact * 100)
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(_CENT)
        return Decimal(value).quantize(_CENT)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware timestamp, stored in UTC (timestamptz on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise YibaoError(NAIVE_TIMESTAMP, field="recorded_at", value=value.isoformat())
        utc = value.astimezone(timezone.utc)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class YearMonthType(TypeDecorator[YearMonth]):
    """A month as ``YYYY-MM`` text."""

    impl = String(7)
    cache_ok = True

    def process_bind_param(self, value: YearMonth | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> YearMonth | None:
        return None if value is None else YearMonth.parse(value)


class CodeType(TypeDecorator[StrEnum]):
    """A ``StrEnum`` member stored as its code text (``"310"``, ``"1101"``, ``"SUSPENDED"`` …)."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: StrEnum | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)

    def __repr__(self) -> str:  # what autogenerate would write into a migration
        return f"CodeType({self.enum.__name__}, {self.impl.length})"  # type: ignore[attr-defined]
