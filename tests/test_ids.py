"""Identity documents and employer codes: SPEC R-ID-001…007, R-CODE-004, E-04, E-12."""

from __future__ import annotations

import re
from datetime import date

import pytest

from yibao import ids
from yibao.codes import CertType
from yibao.errors import ERROR_CATALOG, Notice, YibaoError


def _error(call, *args, **kwargs) -> YibaoError:
    with pytest.raises(YibaoError) as info:
        call(*args, **kwargs)
    return info.value


# --- normalisation (E-12) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１１０１０１１９９００３０７００１１", "110101199003070011"),
        ("11010119900307002x", "11010119900307002X"),
        ("110101 19900307 0011", "110101199003070011"),
        ("\u3000110101\u300019900307\t0011\n", "110101199003070011"),
        ("110101-19900307-0011", "110101199003070011"),
        ("１１０１０１－１９９００３０７－００２ｘ", "11010119900307002X"),
        ("e 123-4567", "E1234567"),
        ("", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert ids.normalise(raw) == expected


# --- R-ID-001 resident ID -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number", "birth", "sex"),
    [
        ("11010519491231002X", "11010519491231002X", date(1949, 12, 31), "F"),
        ("110101199003070011", "110101199003070011", date(1990, 3, 7), "M"),
        ("110101202002290017", "110101202002290017", date(2020, 2, 29), "M"),
        ("11010119900307002x", "11010119900307002X", date(1990, 3, 7), "F"),
        ("440524188001010014", "440524188001010014", date(1880, 1, 1), "M"),  # GB 11643 sample
    ],
)
def test_resident_id_valid(raw: str, number: str, birth: date, sex: str) -> None:
    rid = ids.validate_resident_id(raw)
    assert rid == ids.ResidentId(number, birth, sex, number[:6], number[:2])


@pytest.mark.parametrize(
    ("raw", "code", "details"),
    [
        ("110101199003070012", "CHECK_DIGIT", {"expected": "1"}),
        ("110101190002290011", "BIRTH_DATE", {"value": "19000229"}),  # check digit is right, date is not
        ("110101199013070018", "BIRTH_DATE", {"value": "19901307"}),
        ("11010119900307001", "ID_LENGTH", {"length": 17}),
        ("1101011990030700111", "ID_LENGTH", {"length": 19}),
        ("", "ID_LENGTH", {"length": 0}),
        ("11010119900307X011", "ID_CHARSET", {"char": "X", "position": 15}),
        ("11010119900307001Y", "ID_CHARSET", {"char": "Y", "position": 18}),
        ("110101199003070O11", "ID_CHARSET", {"char": "O", "position": 16}),
        ("010101199003070011", "PROVINCE_CODE", {"code": "01"}),
        ("910101199003070011", "PROVINCE_CODE", {"code": "91"}),
        ("160101199003070011", "PROVINCE_CODE", {"code": "16"}),
        ("830000198506150024", "PROVINCE_CODE", {"code": "83"}),  # 83 only on residence permits (type 17)
    ],
)
def test_resident_id_invalid(raw: str, code: str, details: dict[str, object]) -> None:
    err = _error(ids.validate_resident_id, raw)
    assert (err.code, err.field) == (code, "cert_no")
    assert details.items() <= err.details.items()


def test_every_listed_province_is_accepted_and_the_list_is_exact() -> None:
    listed = {
        *range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66), 71, 81, 82,
    }
    for province in range(100):
        body = f"{province:02d}0101199003070" + "01"
        number = body + ids.mod11_2_check_char(body)
        if province in listed:
            assert ids.validate_resident_id(number).province_code == f"{province:02d}"
        else:
            assert _error(ids.validate_resident_id, number).code == "PROVINCE_CODE"


def test_birth_date_after_registration_date_is_rejected() -> None:
    assert ids.validate_resident_id("110101202002290017", registration_date=date(2020, 2, 29)).birth_date == date(
        2020, 2, 29
    )
    err = _error(ids.validate_resident_id, "110101202002290017", registration_date=date(2020, 2, 28))
    assert (err.code, err.field) == ("BIRTH_DATE", "cert_no")


def test_check_digit_message_names_the_expected_character() -> None:
    err = _error(ids.validate_resident_id, "110101199003070012")
    assert err.message_zh == "身份证号码校验码错误，应为 1"
    assert "expected 1" in err.message_en


def test_mod11_2_weights_and_mapping_from_spec() -> None:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    mapping = "10X98765432"
    for body in ("11010519491231002", "44052418800101001", "12345678901234567", "00000000000000000"):
        s = sum(int(d) * w for d, w in zip(body, weights)) % 11
        assert ids.mod11_2_check_char(body) == mapping[s]


# --- R-ID-002 15-digit legacy IDs -----------------------------------------------------------


def test_upgrade_15_to_18_example() -> None:
    assert ids.upgrade_15_to_18("110101900307001") == "110101199003070011"


def test_legacy_id_rejected_outside_migration() -> None:
    err = _error(ids.validate_resident_id, "110101900307001", registration_date=date(2025, 3, 1))
    assert (err.code, err.field) == ("LEGACY_ID_NOT_ALLOWED", "cert_no")
    err = _error(ids.validate_document, CertType.RESIDENT_ID, "110101900307001")
    assert (err.code, err.field) == ("LEGACY_ID_NOT_ALLOWED", "cert_no")


def test_legacy_id_accepted_in_migration_and_upgraded() -> None:
    rid = ids.validate_resident_id("110101900307001", migration=True)
    assert rid == ids.ResidentId("110101199003070011", date(1990, 3, 7), "M", "110101", "11")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("11010190030700", "ID_LENGTH"),
        ("11010190030700A", "ID_CHARSET"),
        ("990101900307001", "PROVINCE_CODE"),
        ("110101900230001", "BIRTH_DATE"),  # 1990-02-30
    ],
)
def test_upgrade_rejects_bad_legacy_numbers(raw: str, code: str) -> None:
    err = _error(ids.upgrade_15_to_18, raw)
    assert (err.code, err.field) == (code, "cert_no")
    err = _error(ids.validate_resident_id, raw, migration=True)
    assert err.code == code


def test_upgrade_does_not_accept_an_18_digit_number() -> None:
    assert _error(ids.upgrade_15_to_18, "110101199003070011").code == "ID_LENGTH"


# --- R-ID-003 residence permits -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "birth", "sex"),
    [
        ("810000199003070015", "HK", date(1990, 3, 7), "M"),
        ("830000198506150024", "TW", date(1985, 6, 15), "F"),
        ("820000200002290048", "MO", date(2000, 2, 29), "F"),
    ],
)
def test_residence_permit_valid(raw: str, region: str, birth: date, sex: str) -> None:
    permit = ids.validate_residence_permit(raw)
    assert permit == ids.ResidencePermit(raw, birth, sex, raw[:6], region)
    doc = ids.validate_document(CertType.HMT_RESIDENCE_PERMIT, raw)
    assert (doc.birth_date, doc.sex, doc.person_key) == (birth, sex, ("17", raw))


def test_residence_permit_address_code_must_be_exact() -> None:
    err = _error(ids.validate_document, CertType.HMT_RESIDENCE_PERMIT, "810100199003070011")
    assert (err.code, err.field) == ("HMT_ADDRESS_CODE", "cert_no")
    assert err.details["code"] == "810100"
    # a resident ID is not a residence permit either
    assert _error(ids.validate_residence_permit, "110101199003070011").code == "HMT_ADDRESS_CODE"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("810000199003070016", "CHECK_DIGIT"),
        ("810000190002290013", "BIRTH_DATE"),
        ("810000900307001", "ID_LENGTH"),  # there is no 15-digit permit
        ("81000019900307001A", "ID_CHARSET"),
    ],
)
def test_residence_permit_invalid(raw: str, code: str) -> None:
    err = _error(ids.validate_residence_permit, raw)
    assert (err.code, err.field) == (code, "cert_no")


# --- R-ID-004 foreign permanent residence ID ------------------------------------------------


def test_foreign_pr_2023_card() -> None:
    card = ids.validate_foreign_permanent_residence("911840198807150015")
    assert card == ids.ForeignPermanentResidence("911840198807150015", 2023, "840", "11", date(1988, 7, 15))
    doc = ids.validate_document("07", "911840198807150015")
    assert (doc.birth_date, doc.sex, doc.person_key) == (date(1988, 7, 15), None, ("07", "911840198807150015"))


def test_foreign_pr_2017_card_format_only() -> None:
    card = ids.validate_foreign_permanent_residence("usa110088071512")
    assert card == ids.ForeignPermanentResidence("USA110088071512", 2017, "USA", None, None)
    doc = ids.validate_document(CertType.FOREIGN_PERMANENT_RESIDENCE, "USA110088071512")
    assert (doc.number, doc.birth_date, doc.sex) == ("USA110088071512", None, None)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("911840198807150016", "CHECK_DIGIT"),
        ("111840198807150015", "FOREIGN_PR_PREFIX"),
        ("911840198802300012", "BIRTH_DATE"),
        ("91184019880715001", "FOREIGN_PR_FORMAT"),
        ("9118401988071500AB", "FOREIGN_PR_FORMAT"),
        ("US1110088071512", "FOREIGN_PR_FORMAT"),
        ("USA11008807151Z", "FOREIGN_PR_FORMAT"),
        ("", "FOREIGN_PR_FORMAT"),
    ],
)
def test_foreign_pr_invalid(raw: str, code: str) -> None:
    err = _error(ids.validate_document, CertType.FOREIGN_PERMANENT_RESIDENCE, raw)
    assert (err.code, err.field) == (code, "cert_no")


def test_foreign_pr_check_digit_names_expected() -> None:
    assert _error(ids.validate_foreign_permanent_residence, "911840198807150016").details["expected"] == "5"


# --- passports and travel permits -----------------------------------------------------------


@pytest.mark.parametrize("cert_type", ["04", "05", "06", "16"])
def test_travel_documents_format_only(cert_type: str) -> None:
    doc = ids.validate_document(cert_type, " h1234-5678 ")
    assert (doc.number, doc.person_key, doc.birth_date, doc.sex) == ("H12345678", (cert_type, "H12345678"), None, None)


@pytest.mark.parametrize(
    "raw",
    ["H123", "A" * 21, "H1234567/8", "护照12345", "", "H12345678."],
)
@pytest.mark.parametrize("cert_type", ["04", "05", "06", "08", "16"])
def test_travel_documents_bad_format(cert_type: str, raw: str) -> None:
    err = _error(ids.validate_document, cert_type, raw, nationality="USA")
    assert (err.code, err.field) == ("DOCUMENT_FORMAT", "cert_no")


def test_document_length_bounds_are_inclusive() -> None:
    assert ids.validate_document_number("A1234") == "A1234"
    assert ids.validate_document_number("A" * 20) == "A" * 20


def test_foreign_passport_key_includes_nationality() -> None:
    doc = ids.validate_document(CertType.FOREIGN_PASSPORT, "e1234567", nationality=" usa ")
    assert doc.person_key == ("08", "E1234567", "USA")
    assert doc.nationality == "USA"
    other = ids.validate_document(CertType.FOREIGN_PASSPORT, "E1234567", nationality="GBR")
    assert other.person_key != doc.person_key


@pytest.mark.parametrize("nationality", [None, "", "  "])
def test_foreign_passport_nationality_required(nationality: str | None) -> None:
    err = _error(ids.validate_document, "08", "E1234567", nationality=nationality)
    assert (err.code, err.field) == ("NATIONALITY_REQUIRED", "nationality")


@pytest.mark.parametrize("nationality", ["US", "USAA", "840", "U5A"])
def test_foreign_passport_nationality_format(nationality: str) -> None:
    err = _error(ids.validate_document, "08", "E1234567", nationality=nationality)
    assert (err.code, err.field) == ("NATIONALITY_FORMAT", "nationality")


# --- R-CODE-004: other document types, unknown types ----------------------------------------


UNCHECKED_TYPES = ["02", "03", "09", "10", "11", "12", "13", "14", "15", "90", "91", "99", "990201"]


@pytest.mark.parametrize("cert_type", UNCHECKED_TYPES)
def test_types_without_format_rule(cert_type: str) -> None:
    doc = ids.validate_document(cert_type, " 军字 第0012-3号 ")
    assert doc.cert_type == CertType(cert_type)
    assert (doc.number, doc.person_key) == ("军字第00123号", (cert_type, "军字第00123号"))
    assert (doc.birth_date, doc.sex) == (None, None)
    err = _error(ids.validate_document, cert_type, " \u3000- ")
    assert (err.code, err.field) == ("DOCUMENT_FORMAT", "cert_no")


def test_cert_type_accepts_enum_or_string() -> None:
    by_enum = ids.validate_document(CertType.RESIDENT_ID, "110101199003070011")
    by_text = ids.validate_document("01", "110101199003070011")
    assert by_enum == by_text
    assert by_text.cert_type is CertType.RESIDENT_ID


def test_unknown_cert_type() -> None:
    err = _error(ids.validate_document, "18", "110101199003070011")
    assert (err.code, err.field) == ("UNKNOWN_CODE", "cert_type")


def test_16_is_passport_and_17_is_residence_permit() -> None:
    """R-CODE-004 conflict note: 16 = Chinese passport (format only), 17 = residence permit (checked)."""
    assert ids.validate_document("16", "E12345678").number == "E12345678"
    assert _error(ids.validate_document, "17", "E12345678").code == "ID_LENGTH"


def test_document_type_routes_to_its_rule() -> None:
    # a resident ID number is not a valid permanent residence card, and vice versa
    assert _error(ids.validate_document, "07", "110101199003070011").code == "FOREIGN_PR_PREFIX"
    assert _error(ids.validate_document, "01", "911840198807150015").code == "PROVINCE_CODE"


# --- R-ID-005 person key, E-12 --------------------------------------------------------------


def test_e12_all_spellings_give_one_person_key() -> None:
    spellings = [
        "110101199003070011",
        "１１０１０１１９９００３０７００１１",
        " 110101 1990 0307 0011 ",
        "110101\u300019900307\u30000011",
        "110101900307001",
    ]
    keys = {ids.validate_document("01", s, migration=True).person_key for s in spellings}
    assert keys == {("01", "110101199003070011")}


def test_e12_lower_case_x_same_key() -> None:
    upper = ids.validate_document("01", "11010119900307002X").person_key
    lower = ids.validate_document("01", "11010119900307002x").person_key
    full_width = ids.validate_document("01", "１１０１０１１９９００３０７００２ｘ").person_key
    assert upper == lower == full_width == ("01", "11010119900307002X")


def test_r_id_005_examples_documents_are_distinct_keys() -> None:
    """Example 1 and 2: the documents validate; linking them to one psn_no is the registry's job."""
    travel = ids.validate_document(CertType.HK_TRAVEL_PERMIT, "H12345678")
    permit = ids.validate_document(CertType.HMT_RESIDENCE_PERMIT, "810000199003070015")
    assert travel.person_key == ("04", "H12345678")
    assert permit.person_key == ("17", "810000199003070015")
    passport = ids.validate_document(CertType.FOREIGN_PASSPORT, "E1234567", nationality="USA")
    card = ids.validate_document(CertType.FOREIGN_PERMANENT_RESIDENCE, "911840198807150015")
    assert passport.person_key == ("08", "E1234567", "USA")
    assert card.person_key == ("07", "911840198807150015")


def test_document_is_frozen() -> None:
    doc = ids.validate_document("01", "110101199003070011")
    with pytest.raises(AttributeError):
        doc.number = "x"  # type: ignore[misc]


# --- R-ID-006 USCC --------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "91440300708461136T"])
def test_uscc_valid(code: str) -> None:
    assert ids.validate_uscc(code) == code
    assert ids.validate_uscc(code.lower()) == code


def test_uscc_embedded_org_check_of_spec_example() -> None:
    assert ids.org_code_check_char("M000100Y") == "4"


@pytest.mark.parametrize(
    ("raw", "code", "details"),
    [
        ("911100001000013428", "USCC_CHECK", {"expected": "C"}),
        ("91350100M000100Y4O", "USCC_CHARSET", {"char": "O", "position": 18}),
        ("91350100M0001I0Y43", "USCC_CHARSET", {"char": "I", "position": 14}),
        ("91350100M000100Y53", "USCC_ORG_CHECK", {"expected": "4"}),
        ("91350100M000100Y4", "USCC_LENGTH", {"length": 17}),
        ("91350100M000100Y433", "USCC_LENGTH", {"length": 19}),
    ],
)
def test_uscc_invalid(raw: str, code: str, details: dict[str, object]) -> None:
    err = _error(ids.validate_uscc, raw)
    assert (err.code, err.field) == (code, "uscc")
    assert details.items() <= err.details.items()


def test_uscc_allows_letter_registration_authority() -> None:
    """Position 1 may be Y (other authority); stdnum's validate would reject a non-digit there."""
    body = "Y1110000M000100Y4"
    from stdnum.cn.uscc import calc_check_digit

    code = body + calc_check_digit(body)
    assert ids.validate_uscc(code) == code


def test_org_code_check_maps_10_to_x_and_11_to_0() -> None:
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    seen = set()
    for n in range(0, 200000, 7):
        body = f"{n:08d}"
        r = 11 - sum(int(d) * w for d, w in zip(body, weights)) % 11
        expected = {10: "X", 11: "0"}.get(r, str(r))
        assert ids.org_code_check_char(body) == expected
        seen.add(expected)
    assert {"X", "0"} <= seen


# --- R-ID-007 derived attributes and age (E-04) ---------------------------------------------


def test_derivation_by_type() -> None:
    assert ids.validate_document("01", "110101199003070011").sex == "M"
    assert ids.validate_document("17", "830000198506150024").sex == "F"
    card = ids.validate_document("07", "911840198807150015")
    assert (card.birth_date, card.sex) == (date(1988, 7, 15), None)
    passport = ids.validate_document("08", "E1234567", nationality="USA")
    assert (passport.birth_date, passport.sex) == (None, None)


def test_declared_attributes_agreeing() -> None:
    doc = ids.validate_document("01", "11010519491231002X")
    assert ids.check_declared_attributes(doc, declared_birth_date=date(1949, 12, 31), declared_sex="F") == []
    assert ids.check_declared_attributes(doc, declared_sex="女") == []
    assert ids.check_declared_attributes(doc, declared_sex="2") == []
    assert ids.check_declared_attributes(doc) == []


def test_declared_attributes_mismatch_warns_without_overwriting() -> None:
    doc = ids.validate_document("01", "11010519491231002X")
    notices = ids.check_declared_attributes(doc, declared_birth_date=date(1949, 12, 30), declared_sex="M")
    assert [(n.code, n.field) for n in notices] == [("DERIVED_MISMATCH", "birth_date"), ("DERIVED_MISMATCH", "sex")]
    assert all(isinstance(n, Notice) for n in notices)
    assert notices[0].details["derived"] == "1949-12-31"
    assert notices[1].details == {**notices[1].details, "declared": "M", "derived": "F"}
    assert "1949-12-30" in notices[0].message_zh and "1949-12-31" in notices[0].message_zh
    assert doc.birth_date == date(1949, 12, 31) and doc.sex == "F"


def test_declared_attributes_never_raise() -> None:
    doc = ids.validate_document("01", "110101199003070011")
    notices = ids.check_declared_attributes(doc, declared_sex="unknown")
    assert [n.code for n in notices] == ["DERIVED_MISMATCH"]


def test_pr_card_compares_birth_date_only() -> None:
    card = ids.validate_document("07", "911840198807150015")
    assert ids.check_declared_attributes(card, declared_sex="F") == []
    notices = ids.check_declared_attributes(card, declared_birth_date=date(1988, 7, 16))
    assert [(n.code, n.field) for n in notices] == [("DERIVED_MISMATCH", "birth_date")]


def test_no_derived_attributes_nothing_to_compare() -> None:
    passport = ids.validate_document("08", "E1234567", nationality="USA")
    assert ids.check_declared_attributes(passport, declared_birth_date=date(1990, 1, 1), declared_sex="M") == []


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2020, 2, 29), date(2021, 2, 28), 1),  # R-ID-007 example 1 / E-04
        (date(2020, 2, 29), date(2021, 2, 27), 0),
        (date(2020, 2, 29), date(2021, 3, 1), 1),
        (date(2020, 2, 29), date(2024, 2, 28), 3),  # leap year: the birthday is 29 Feb itself
        (date(2020, 2, 29), date(2024, 2, 29), 4),
        (date(2000, 2, 29), date(2000, 2, 29), 0),
        (date(1979, 6, 15), date(2025, 6, 1), 45),  # E-15: still 45 on the first of the month
        (date(1979, 6, 15), date(2025, 7, 1), 46),
        (date(1979, 6, 15), date(2025, 6, 14), 45),
        (date(1979, 6, 15), date(2025, 6, 15), 46),
        (date(1990, 12, 31), date(1991, 12, 30), 0),
        (date(1990, 12, 31), date(1991, 12, 31), 1),
    ],
)
def test_age_on(birth: date, on: date, age: int) -> None:
    assert ids.age_on(birth, on) == age


def test_age_from_document() -> None:
    doc = ids.validate_document("01", "110101202002290017")
    assert doc.birth_date is not None
    assert ids.age_on(doc.birth_date, date(2021, 2, 28)) == 1
    assert ids.age_on(doc.birth_date, date(2021, 2, 27)) == 0


def test_age_before_birth_is_an_error() -> None:
    err = _error(ids.age_on, date(2020, 2, 29), date(2020, 2, 28))
    assert (err.code, err.field) == ("DATE_BEFORE_BIRTH", "on")


# --- messages and no partial results --------------------------------------------------------

IDS_CODES = [
    "ID_LENGTH", "ID_CHARSET", "CHECK_DIGIT", "BIRTH_DATE", "PROVINCE_CODE", "LEGACY_ID_NOT_ALLOWED",
    "HMT_ADDRESS_CODE", "FOREIGN_PR_PREFIX", "FOREIGN_PR_FORMAT", "DOCUMENT_FORMAT", "NATIONALITY_REQUIRED",
    "NATIONALITY_FORMAT", "USCC_LENGTH", "USCC_CHARSET", "USCC_ORG_CHECK", "USCC_CHECK", "DERIVED_MISMATCH",
    "DATE_BEFORE_BIRTH",
]


@pytest.mark.parametrize("code", IDS_CODES)
def test_every_code_has_chinese_and_english_messages(code: str) -> None:
    template = ERROR_CATALOG[code]
    assert re.search(r"[\u4e00-\u9fff]", template.zh)
    assert template.en and re.search(r"[a-z]", template.en) and not re.search(r"[\u4e00-\u9fff]", template.en)
    assert getattr(ids, code) == code


@pytest.mark.parametrize(
    ("cert_type", "raw"),
    [
        ("01", "110101199003070012"),
        ("01", "110101190002290011"),
        ("17", "810100199003070011"),
        ("07", "911840198807150016"),
        ("01", "11010119900307001"),
    ],
)
def test_error_messages_are_filled(cert_type: str, raw: str) -> None:
    err = _error(ids.validate_document, cert_type, raw)
    for message in (err.message_zh, err.message_en):
        assert "{" not in message and "}" not in message
    assert err.to_dict()["field"] == "cert_no"


def test_bad_input_never_returns_a_partial_result() -> None:
    bad = [
        ("01", "110101199003070012"),
        ("01", "110101190002290011"),
        ("01", "110101900307001"),
        ("17", "810100199003070011"),
        ("07", "111840198807150015"),
        ("08", "E1234567"),
        ("99", "   "),
    ]
    for cert_type, raw in bad:
        result = None
        with pytest.raises(YibaoError):
            result = ids.validate_document(cert_type, raw)
        assert result is None
