"""The employer 统一社会信用代码 (unified social credit code, USCC, GB 32100-2015), R-ID-006."""

from __future__ import annotations

from stdnum.cn import uscc as stdnum_uscc

from yibao.errors import YibaoError
from yibao.ids.error_codes import USCC_CHARSET, USCC_CHECK, USCC_LENGTH, USCC_ORG_CHECK
from yibao.ids.normalise import normalise

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 symbols: no I, O, Z, S, V
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CODE_VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def org_code_check_char(body: str) -> str:
    """The GB 11714 组织机构代码 (organisation code) check character for its first 8 characters.

    ``11 - (Σ value × weight mod 11)``, with 10 written ``X`` and 11 written ``0``; a letter's value
    is 10 for A up to 35 for Z.
    """
    total = sum(_ORG_CODE_VALUES[c] * w for c, w in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def validate_uscc(raw: str, *, field: str = "uscc") -> str:
    """Validate a USCC and return it normalised (R-ID-006).

    Checks in order: 18 characters (``USCC_LENGTH``), every character from the 31-symbol alphabet
    (``USCC_CHARSET``), the organisation code in positions 9-17 with its own GB 11714 check
    (``USCC_ORG_CHECK``), and the MOD 31 check in position 18 (``USCC_CHECK``).
    """
    code = normalise(raw)
    if len(code) != 18:
        raise YibaoError(USCC_LENGTH, field=field, length=len(code))
    for position, char in enumerate(code, start=1):
        if char not in USCC_ALPHABET:
            raise YibaoError(USCC_CHARSET, field=field, char=char, position=position)
    expected_org = org_code_check_char(code[8:16])
    if code[16] != expected_org:
        raise YibaoError(USCC_ORG_CHECK, field=field, expected=expected_org, actual=code[16])
    expected = stdnum_uscc.calc_check_digit(code[:17])
    if code[17] != expected:
        raise YibaoError(USCC_CHECK, field=field, expected=expected, actual=code[17])
    return code
