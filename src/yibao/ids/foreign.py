"""Documents of foreigners and of HK, Macau and Taiwan residents other than the residence permit.

* R-ID-004: the 外国人永久居留身份证 (foreign permanent residence ID), 2023 and 2017 cards.
* Passports (types 08 and 16) and travel permits (types 04, 05, 06): format only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from yibao.errors import YibaoError
from yibao.ids.error_codes import (
    DOCUMENT_FORMAT,
    FOREIGN_PR_FORMAT,
    FOREIGN_PR_PREFIX,
    NATIONALITY_FORMAT,
    NATIONALITY_REQUIRED,
)
from yibao.ids.normalise import is_ascii_digits, is_ascii_letters, normalise
from yibao.ids.resident import FIELD, parse_birth_date, require_check_char

MIN_DOCUMENT_LENGTH = 5
MAX_DOCUMENT_LENGTH = 20


@dataclass(frozen=True)
class ForeignPermanentResidence:
    """A validated 外国人永久居留身份证 number (R-ID-004).

    ``card`` is 2023 for the 18-character card (issued from 2023-12-01) and 2017 for the
    15-character one. The inner codes are informative: for the 2023 card ``province_code`` is where
    the application was accepted and ``nationality_code`` the 3-digit numeric country code; for the
    2017 card ``nationality_code`` is the 3-letter prefix and there is no province or birth date.
    """

    number: str
    card: Literal[2017, 2023]
    nationality_code: str
    province_code: str | None
    birth_date: date | None


def validate_foreign_permanent_residence(
    raw: str, *, registration_date: date | None = None
) -> ForeignPermanentResidence:
    """Validate a foreign permanent residence ID (R-ID-004), type 07.

    2023 card: ``9`` + province (2) + nationality (3) + YYYYMMDD + sequence (3) + MOD 11-2 check.
    2017 card: 3 letters + 12 digits, format only.
    """
    number = normalise(raw)
    if len(number) == 18 and is_ascii_digits(number[1:17]) and (is_ascii_digits(number[17]) or number[17] == "X"):
        if number[0] != "9":
            raise YibaoError(FOREIGN_PR_PREFIX, field=FIELD, first=number[0])
        born = parse_birth_date(number[6:14], registration_date=registration_date)
        require_check_char(number)
        return ForeignPermanentResidence(number, 2023, number[3:6], number[1:3], born)
    if len(number) == 15 and is_ascii_letters(number[:3]) and is_ascii_digits(number[3:]):
        return ForeignPermanentResidence(number, 2017, number[:3], None, None)
    raise YibaoError(FOREIGN_PR_FORMAT, field=FIELD, length=len(number))


def validate_document_number(raw: str) -> str:
    """Format check for passports and travel permits: 5 to 20 ASCII letters or digits once normalised."""
    number = normalise(raw)
    if not (MIN_DOCUMENT_LENGTH <= len(number) <= MAX_DOCUMENT_LENGTH):
        raise YibaoError(
            DOCUMENT_FORMAT, field=FIELD, length=len(number),
            reason_zh=f"长度应为 {MIN_DOCUMENT_LENGTH} 至 {MAX_DOCUMENT_LENGTH} 位，实际为 {len(number)} 位",
            reason_en=f"it must have {MIN_DOCUMENT_LENGTH} to {MAX_DOCUMENT_LENGTH} characters, it has {len(number)}",
        )
    for position, char in enumerate(number, start=1):
        if not (is_ascii_digits(char) or is_ascii_letters(char)):
            raise YibaoError(
                DOCUMENT_FORMAT, field=FIELD, char=char, position=position,
                reason_zh=f"第 {position} 位的字符“{char}”无效，只能是字母或数字",
                reason_en=f"character {char!r} at position {position} is not a letter or digit",
            )
    return number


def normalise_nationality(raw: str | None) -> str:
    """A foreign passport's nationality: required, a 3-letter code (ISO 3166-1 alpha-3 form), upper case.

    Only the shape is checked; the code list itself is not.
    """
    value = normalise(raw) if raw is not None else ""
    if not value:
        raise YibaoError(NATIONALITY_REQUIRED, field="nationality")
    if len(value) != 3 or not is_ascii_letters(value):
        raise YibaoError(NATIONALITY_FORMAT, field="nationality", value=raw)
    return value
