"""The code tables (R-CODE-001…005): enums and CSV data agree; input is checked against them."""

from __future__ import annotations

import pytest

from yibao import codes
from yibao.codes import CertType, InsuType, PsnType, check_psn_type_matches, parse_code
from yibao.errors import YibaoError


@pytest.mark.parametrize("table", codes.table_names())
def test_enum_and_data_file_agree(table: str) -> None:
    enum = codes._TABLE_ENUMS[table]
    assert {m.value for m in enum} == {r.code for r in codes.rows(table)}
    assert all(r.name_zh and r.name_en for r in codes.rows(table))


def test_parse_rejects_unknown_and_legacy_codes() -> None:
    assert parse_code("insutype", " 310 ", field="insutype") is InsuType.EMPLOYEE_BASIC
    with pytest.raises(YibaoError) as info:
        parse_code("insutype", "311", field="insutype")
    assert (info.value.code, info.value.field) == ("UNKNOWN_CODE", "insutype")
    with pytest.raises(YibaoError) as info:
        parse_code("insutype", "380", field="insutype")
    assert info.value.code == "LEGACY_INSUTYPE"
    assert parse_code("insutype", "380", field="insutype", migration=True) is InsuType.NRCMS_LEGACY


def test_cert_type_16_is_passport_17_is_residence_permit() -> None:
    assert CertType("16") is CertType.CHINESE_PASSPORT and CertType("17") is CertType.HMT_RESIDENCE_PERMIT


def test_psn_type_family() -> None:
    check_psn_type_matches(PsnType("1201"), InsuType("310"))
    check_psn_type_matches(PsnType("1300"), InsuType("340"))
    with pytest.raises(YibaoError) as info:
        check_psn_type_matches(PsnType("1101"), InsuType("390"))
    assert info.value.code == "PSN_TYPE_INSUTYPE_MISMATCH"
