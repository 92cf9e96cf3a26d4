"""The 18-digit 公民身份号码 (citizen identity number, GB 11643-1999) and the numbers sharing its form.

* R-ID-001: the 居民身份证 (resident ID card) number, :func:`validate_resident_id`.
* R-ID-002: the first-generation 15-digit number and its upgrade, :func:`upgrade_15_to_18`.
* R-ID-003: the 港澳台居民居住证 (residence permit for HK, Macau and Taiwan residents),
  :func:`validate_residence_permit`.

Checks run from structure to checksum: length, characters, address code, birth date, then the
ISO 7064 MOD 11-2 check character. A number that is malformed in several ways therefore reports
the structural fault (SPEC R-ID-003 expects ``HMT_ADDRESS_CODE`` for ``810100199003070011``,
whose check character is also wrong).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from stdnum.cn import ric

from yibao.errors import YibaoError
from yibao.ids.error_codes import (
    BIRTH_DATE,
    CHECK_DIGIT,
    HMT_ADDRESS_CODE,
    ID_CHARSET,
    ID_LENGTH,
    LEGACY_ID_NOT_ALLOWED,
    PROVINCE_CODE,
)
from yibao.ids.normalise import is_ascii_digits, normalise

FIELD = "cert_no"

# R-ID-001: provincial codes valid in a citizen number. 83 (Taiwan) occurs only on residence permits.
CITIZEN_PROVINCE_CODES: frozenset[str] = frozenset(
    [str(c) for c in range(11, 16)]
    + [str(c) for c in range(21, 24)]
    + [str(c) for c in range(31, 38)]
    + [str(c) for c in range(41, 47)]
    + [str(c) for c in range(50, 55)]
    + [str(c) for c in range(61, 66)]
    + ["71", "81", "82"]
)

# R-ID-003: the fixed address codes of residence permits and the region each one stands for.
HMT_REGIONS: dict[str, Literal["HK", "MO", "TW"]] = {"810000": "HK", "820000": "MO", "830000": "TW"}

Sex = Literal["M", "F"]


@dataclass(frozen=True)
class ResidentId:
    """A validated 居民身份证 number (R-ID-001)."""

    number: str
    birth_date: date
    sex: Sex
    address_code: str
    province_code: str


@dataclass(frozen=True)
class ResidencePermit:
    """A validated 港澳台居民居住证 number (R-ID-003)."""

    number: str
    birth_date: date
    sex: Sex
    address_code: str
    region: Literal["HK", "MO", "TW"]


def mod11_2_check_char(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for 17 ASCII digits.

    ``stdnum.cn.ric.calc_check_digit`` expects the number *with* its check character and ignores
    the last one, so a placeholder is appended here.
    """
    if len(body) != 17 or not is_ascii_digits(body):
        raise ValueError(f"expected 17 ASCII digits, got {body!r}")
    return ric.calc_check_digit(body + "0")


def parse_birth_date(yyyymmdd: str, *, registration_date: date | None = None) -> date:
    """Read an 8-digit YYYYMMDD birth date, which must be a real date not after ``registration_date``."""
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise YibaoError(
            BIRTH_DATE, field=FIELD, value=yyyymmdd,
            reason_zh="不是真实存在的日期", reason_en="it is not a real calendar date",
        ) from None
    if registration_date is not None and born > registration_date:
        raise YibaoError(
            BIRTH_DATE, field=FIELD, value=born.isoformat(),
            reason_zh=f"晚于登记日期 {registration_date.isoformat()}",
            reason_en=f"it is after the registration date {registration_date.isoformat()}",
            registration_date=registration_date,
        )
    return born


def require_length(number: str, expected: int) -> None:
    if len(number) != expected:
        raise YibaoError(ID_LENGTH, field=FIELD, expected=expected, length=len(number))


def require_digits(number: str, *, allow_final_x: bool) -> None:
    """All characters are ASCII digits, except that the last one may be X when ``allow_final_x``."""
    for position, char in enumerate(number, start=1):
        if is_ascii_digits(char) or (allow_final_x and char == "X" and position == len(number)):
            continue
        raise YibaoError(ID_CHARSET, field=FIELD, char=char, position=position)


def require_check_char(number: str) -> None:
    """The 18th character matches the MOD 11-2 check of the first 17."""
    expected = mod11_2_check_char(number[:17])
    if number[17] != expected:
        raise YibaoError(CHECK_DIGIT, field=FIELD, expected=expected, actual=number[17])


def _require_citizen_province(number: str) -> None:
    if number[:2] not in CITIZEN_PROVINCE_CODES:
        raise YibaoError(PROVINCE_CODE, field=FIELD, code=number[:2])


def sex_of(number: str) -> Sex:
    """R-ID-001: an odd 17th digit is male, an even one female."""
    return "M" if int(number[16]) % 2 == 1 else "F"


def upgrade_15_to_18(raw: str) -> str:
    """R-ID-002: turn a first-generation 15-digit number ``AAAAAA YYMMDD SSS`` into its 18-digit form.

    ``19`` is inserted before ``YYMMDD`` and the MOD 11-2 check is appended. The input is normalised
    and must have a valid provincial code and a real birth date.
    """
    number = normalise(raw)
    require_length(number, 15)
    require_digits(number, allow_final_x=False)
    _require_citizen_province(number)
    body = number[:6] + "19" + number[6:]
    parse_birth_date(body[6:14])
    return body + mod11_2_check_char(body)


def validate_resident_id(
    raw: str, *, registration_date: date | None = None, migration: bool = False
) -> ResidentId:
    """Validate a 居民身份证 number (R-ID-001), type 01.

    A 15-digit legacy number is accepted only when ``migration`` is true, and is returned upgraded
    (R-ID-002). ``registration_date``, when given, bounds the birth date from above.
    """
    number = normalise(raw)
    if len(number) == 15:
        require_digits(number, allow_final_x=False)
        if not migration:
            raise YibaoError(LEGACY_ID_NOT_ALLOWED, field=FIELD)
        number = upgrade_15_to_18(number)
    require_length(number, 18)
    require_digits(number, allow_final_x=True)
    _require_citizen_province(number)
    born = parse_birth_date(number[6:14], registration_date=registration_date)
    require_check_char(number)
    return ResidentId(number, born, sex_of(number), number[:6], number[:2])


def validate_residence_permit(raw: str, *, registration_date: date | None = None) -> ResidencePermit:
    """Validate a 港澳台居民居住证 number (R-ID-003), type 17.

    Same structure and check as R-ID-001, but the address code is exactly 810000 (Hong Kong),
    820000 (Macau) or 830000 (Taiwan). There is no 15-digit form.
    """
    number = normalise(raw)
    require_length(number, 18)
    require_digits(number, allow_final_x=True)
    address_code = number[:6]
    region = HMT_REGIONS.get(address_code)
    if region is None:
        raise YibaoError(HMT_ADDRESS_CODE, field=FIELD, code=address_code)
    born = parse_birth_date(number[6:14], registration_date=registration_date)
    require_check_char(number)
    return ResidencePermit(number, born, sex_of(number), address_code, region)
