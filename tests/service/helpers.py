"""Small inputs and assertions for the service tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Callable

import pytest

from yibao.codes import ContributionKind
from yibao.dates import YearMonth, month_range
from yibao.errors import YibaoError
from yibao.ids import mod11_2_check_char
from yibao.model import ContributionLine, PayerType


def resident_id(body17: str) -> str:
    """A valid 18-digit resident ID from its first 17 digits."""
    return body17 + mod11_2_check_char(body17)


ID_A = "110101199003070011"  # R-ID-001 examples
ID_B = "510502196003150037"
ID_C = resident_id("51050219880808001")  # born 1988-08-08, male
ID_D = resident_id("22010219950505002")  # born 1995-05-05, female
ID_X = "11010519491231002X"  # check character X
PR_CARD = "911840198807150015"  # foreign permanent residence ID (R-ID-005 example 2)
PASSPORT = "E1234567"
USCC = "91350100M000100Y43"


def rejected(unchanged, code: str, field: str | None, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> YibaoError:
    """``fn`` raises ``code`` naming ``field`` — and leaves every table exactly as it was."""
    with unchanged():
        with pytest.raises(YibaoError) as info:
            fn(*args, **kwargs)
    assert (info.value.code, info.value.field) == (code, field), info.value.one_line()
    assert info.value.message_zh and info.value.message_en
    return info.value


def month_line(relation_id: str, month: str, amount: str = "567.00", *, paid_on: date | None = None, key: str | None = None,
               kind: ContributionKind = ContributionKind.REGULAR, payer: PayerType = PayerType.INDIVIDUAL) -> ContributionLine:
    m = YearMonth.parse(month)
    return ContributionLine(relation_id, kind, payer, paid_on or date(m.year, m.month, 10), Decimal(amount), month=m, key=key)


def year_line(relation_id: str, year: int, paid_on: date, amount: str = "400.00", *, key: str | None = None,
              payer: PayerType = PayerType.INDIVIDUAL) -> ContributionLine:
    return ContributionLine(relation_id, ContributionKind.REGULAR, payer, paid_on, Decimal(amount), benefit_year=year, key=key)


def months(relation_id: str, first: str, last: str, amount: str = "567.00", day: int = 10) -> list[ContributionLine]:
    return [
        ContributionLine(relation_id, ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(m.year, m.month, day), Decimal(amount), month=m)
        for m in month_range(YearMonth.parse(first), YearMonth.parse(last))
    ]
