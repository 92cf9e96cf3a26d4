"""Property tests for yibao.ids (R-ID-001/002/003/006, E-12)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from yibao import ids
from yibao.codes import CertType
from yibao.errors import YibaoError

PROVINCES = sorted(ids.CITIZEN_PROVINCE_CODES)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def spec_check(body: str) -> str:
    """MOD 11-2 written out from SPEC R-ID-001, independent of the implementation."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


@st.composite
def resident_ids(draw: st.DrawFn) -> tuple[str, date, int]:
    province = draw(st.sampled_from(PROVINCES))
    rest = draw(st.integers(0, 9999))
    born = draw(st.dates(min_value=date(1850, 1, 1), max_value=date(2099, 12, 31)))
    seq = draw(st.integers(0, 999))
    body = f"{province}{rest:04d}{born:%Y%m%d}{seq:03d}"
    return body + spec_check(body), born, seq


@st.composite
def legacy_ids(draw: st.DrawFn) -> tuple[str, date]:
    province = draw(st.sampled_from(PROVINCES))
    rest = draw(st.integers(0, 9999))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)))
    seq = draw(st.integers(0, 999))
    return f"{province}{rest:04d}{born:%y%m%d}{seq:03d}", born


@given(resident_ids())
def test_generated_id_validates_and_round_trips(case: tuple[str, date, int]) -> None:
    number, born, seq = case
    rid = ids.validate_resident_id(number)
    assert rid.number == number
    assert rid.birth_date == born
    assert rid.sex == ("M" if seq % 2 else "F")
    assert rid.province_code == number[:2] and rid.address_code == number[:6]
    doc = ids.validate_document(CertType.RESIDENT_ID, number.lower())
    assert (doc.birth_date, doc.sex, doc.person_key) == (born, rid.sex, ("01", number))


@given(resident_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_single_character_change_is_rejected(case: tuple[str, date, int], position: int, char: str) -> None:
    number = case[0]
    assume(number[position] != char)
    changed = number[:position] + char + number[position + 1 :]
    with pytest.raises(YibaoError) as info:
        ids.validate_resident_id(changed)
    assert info.value.field == "cert_no"
    assert info.value.code in {"CHECK_DIGIT", "ID_CHARSET", "PROVINCE_CODE", "BIRTH_DATE"}


@given(resident_ids(), st.integers(0, 16))
def test_digit_change_with_real_date_and_province_is_a_check_digit_error(
    case: tuple[str, date, int], position: int
) -> None:
    number = case[0]
    digit = str((int(number[position]) + 1) % 10)
    changed = number[:position] + digit + number[position + 1 :]
    assume(changed[:2] in ids.CITIZEN_PROVINCE_CODES)
    try:
        date(int(changed[6:10]), int(changed[10:12]), int(changed[12:14]))
    except ValueError:
        assume(False)
    with pytest.raises(YibaoError) as info:
        ids.validate_resident_id(changed)
    assert info.value.code == "CHECK_DIGIT"
    assert info.value.details["expected"] == spec_check(changed[:17])


@given(legacy_ids())
def test_upgrade_yields_valid_18_digit_with_same_birth_date(case: tuple[str, date]) -> None:
    legacy, born = case
    upgraded = ids.upgrade_15_to_18(legacy)
    assert len(upgraded) == 18
    assert upgraded[:6] == legacy[:6] and upgraded[6:8] == "19" and upgraded[8:17] == legacy[6:]
    rid = ids.validate_resident_id(upgraded)
    assert rid.birth_date == born
    assert ids.validate_resident_id(legacy, migration=True) == rid
    assert ids.validate_document("01", legacy, migration=True).person_key == ("01", upgraded)


@given(st.sampled_from(sorted(ids.HMT_REGIONS)), st.dates(min_value=date(1900, 1, 1)), st.integers(0, 999))
def test_generated_residence_permit_validates(address: str, born: date, seq: int) -> None:
    body = f"{address}{born:%Y%m%d}{seq:03d}"
    number = body + spec_check(body)
    permit = ids.validate_residence_permit(number)
    assert (permit.birth_date, permit.region) == (born, ids.HMT_REGIONS[address])


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = ids.normalise(text)
    assert ids.normalise(once) == once


@given(st.text(alphabet=st.sampled_from("0123456789xX \u3000-\t１２３ｘ")))
def test_normalise_leaves_no_separators_or_lower_case(text: str) -> None:
    result = ids.normalise(text)
    assert not any(c.isspace() or c == "-" for c in result)
    assert result == result.upper() and result.isascii()


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@st.composite
def usccs(draw: st.DrawFn) -> str:
    head = draw(st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8))
    org = draw(st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8))
    body = head + org + ids.org_code_check_char(org)
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    check = USCC_ALPHABET[(31 - sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, weights)) % 31) % 31]
    return body + check


@given(usccs())
def test_generated_uscc_validates(code: str) -> None:
    assert ids.validate_uscc(code) == code


@given(usccs(), st.sampled_from([*range(8), 17]), st.sampled_from(USCC_ALPHABET))
def test_uscc_single_change_outside_org_code_is_a_check_error(code: str, position: int, char: str) -> None:
    assume(code[position] != char)
    changed = code[:position] + char + code[position + 1 :]
    with pytest.raises(YibaoError) as info:
        ids.validate_uscc(changed)
    assert info.value.code == "USCC_CHECK"


CERT_TYPES = [t.value for t in CertType]


@given(st.sampled_from(CERT_TYPES), st.text(max_size=25), st.none() | st.text(max_size=4), st.booleans())
def test_any_input_gives_a_complete_document_or_a_yibao_error(
    cert_type: str, raw: str, nationality: str | None, migration: bool
) -> None:
    try:
        doc = ids.validate_document(cert_type, raw, nationality=nationality, migration=migration)
    except YibaoError as err:
        assert err.field in {"cert_no", "nationality"}
        return
    assert doc.cert_type == cert_type
    assert doc.number and doc.person_key[:2] == (cert_type, doc.number)
    if cert_type != "01" or len(ids.normalise(raw)) != 15:
        assert doc.number == ids.normalise(raw)
    if cert_type in {"01", "17"}:
        assert doc.birth_date is not None and doc.sex in {"M", "F"}
