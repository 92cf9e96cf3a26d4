"""Small facts for the store tests."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from yibao.codes import CertType, ContributionKind, InsuType, PsnType
from yibao.dates import YearMonth
from yibao.model import ContributionLine, Enrollment, IdentityDocument, PayerType
from yibao.store.types import SHANGHAI

ID_A = "110101199003070011"  # valid resident IDs (R-ID-001 examples)
ID_B = "510502196003150037"
PASSPORT = "E1234567"
PR_CARD = "911840198807150015"


def doc(number: str, cert_type: CertType = CertType.RESIDENT_ID, nationality: str | None = None) -> IdentityDocument:
    return IdentityDocument(cert_type, number, nationality)


def relation(relation_id: str = "E1", start: date = date(2024, 1, 1), region: str = "510500") -> Enrollment:
    return Enrollment(relation_id, InsuType.EMPLOYEE_BASIC, region, PsnType.FLEXIBLE_IN_SERVICE, start)


def line(month: str, key: str | None = None, amount: str = "480.00", relation_id: str = "E1", paid_on: date | None = None,
         **extra) -> ContributionLine:
    ym = YearMonth.parse(month)
    return ContributionLine(
        relation_id, ContributionKind.REGULAR, PayerType.INDIVIDUAL, paid_on or date(ym.year, ym.month, 15), Decimal(amount),
        month=ym, key=key, **extra,
    )


def at(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock Beijing time on ``day``, as an aware timestamp."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
