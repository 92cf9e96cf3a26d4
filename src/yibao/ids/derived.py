"""R-ID-007: attributes derived from a document number, and age in full years (E-04)."""

from __future__ import annotations

import calendar
from datetime import date

from yibao.errors import Notice, YibaoError
from yibao.ids.document import Document
from yibao.ids.error_codes import DATE_BEFORE_BIRTH, DERIVED_MISMATCH

_SEX_ALIASES = {"M": "M", "MALE": "M", "男": "M", "1": "M", "F": "F", "FEMALE": "F", "女": "F", "2": "F"}


def age_on(birth: date, on: date) -> int:
    """Age in full years on ``on``.

    A 29 February birthday is reached on 28 February in a non-leap year (the recommended convention
    of R-ID-007 / E-04): born 2020-02-29 gives 1 on 2021-02-28 and 0 on 2021-02-27.
    """
    if on < birth:
        raise YibaoError(DATE_BEFORE_BIRTH, field="on", on=on.isoformat(), birth=birth.isoformat())
    day = birth.day
    if birth.month == 2 and day == 29 and not calendar.isleap(on.year):
        day = 28
    birthday_this_year = date(on.year, birth.month, day)
    return on.year - birth.year - (1 if on < birthday_this_year else 0)


def _canonical_sex(value: str) -> str:
    text = str(value).strip().upper()
    return _SEX_ALIASES.get(text, text)


def check_declared_attributes(
    doc: Document, *, declared_birth_date: date | None = None, declared_sex: str | None = None
) -> list[Notice]:
    """Compare what a user entered with what the document number says (R-ID-007).

    Returns one ``DERIVED_MISMATCH`` warning per attribute that disagrees. It never raises and never
    changes either value: the caller keeps the declared value and shows the warning. Sex may be
    declared as M/F, 男/女 or the GB/T 2261.1 codes 1/2. Attributes the document does not carry,
    and attributes not declared, are not compared.
    """
    notices: list[Notice] = []
    if declared_birth_date is not None and doc.birth_date is not None and declared_birth_date != doc.birth_date:
        notices.append(
            Notice.of(
                DERIVED_MISMATCH, field="birth_date", attribute="birth date", attribute_zh="出生日期",
                declared=str(declared_birth_date), derived=doc.birth_date.isoformat(),
            )
        )
    if declared_sex is not None and doc.sex is not None and _canonical_sex(declared_sex) != doc.sex:
        notices.append(
            Notice.of(
                DERIVED_MISMATCH, field="sex", attribute="sex", attribute_zh="性别",
                declared=str(declared_sex), derived=doc.sex,
            )
        )
    return notices
