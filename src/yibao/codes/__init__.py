"""National code tables (R-CODE-001…005) as data files with typed enums.

The CSV files in ``data/`` are the source of truth for names and effective dates; the enums give
code a typed handle. ``tests/test_codes.py`` proves the two agree. Unknown codes are rejected at
input (``UNKNOWN_CODE``); ``migration=True`` accepts legacy and not-yet-effective codes. Keeping
codes that are unknown altogether (R-CODE: "kept if they arrive from a migration") needs a raw-code
column in the store, which the records service provides; the typed engine does not take them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources

from yibao.errors import YibaoError, define

UNKNOWN_CODE = define("UNKNOWN_CODE", "代码表 {table} 中没有代码 {code}", "code {code} is not in table {table}")
LEGACY_INSUTYPE = define(
    "LEGACY_INSUTYPE",
    "险种 {code} 是历史险种，只能通过数据迁移录入",
    "insurance type {code} is a legacy scheme and is accepted only through a migration",
)
RIDER_WITHOUT_BASE = define(
    "RIDER_WITHOUT_BASE",
    "附加险种 {code} 需要同一统筹区、同一期间的基本医保参保关系（{base}）",
    "rider {code} needs a basic relation ({base}) in the same pooling region for the same period",
)

# The basic insurance each rider follows (R-CODE-001, R-ENR-002).
RIDER_BASE = {"320": "310", "330": "310", "350": "310", "370": "310", "392": "390"}
PSN_TYPE_INSUTYPE_MISMATCH = define(
    "PSN_TYPE_INSUTYPE_MISMATCH",
    "人员类别 {psn_type} 与险种 {insutype} 不匹配",
    "person category {psn_type} does not belong to insurance type {insutype}",
)


class InsuType(StrEnum):
    """险种类型 insutype (R-CODE-001)."""

    EMPLOYEE_BASIC = "310"
    CIVIL_SERVANT_SUBSIDY = "320"
    MAJOR_MEDICAL = "330"  # 大额医疗费用补助
    RETIRED_CADRE = "340"
    DISABLED_SERVICEMEN = "350"
    RED_ARMY_VETERAN = "360"
    ENTERPRISE_SUPPLEMENTARY = "370"
    NRCMS_LEGACY = "380"
    RESIDENT_BASIC = "390"
    URBAN_RESIDENT_LEGACY = "391"
    RESIDENT_CRITICAL_ILLNESS = "392"
    OTHER_SPECIAL = "399"
    LONG_TERM_CARE = "410"
    MATERNITY = "510"

    @property
    def kind(self) -> str:
        return _table("insutype")[self.value]["kind"]

    @property
    def is_core(self) -> bool:
        return self.kind == "core"

    @property
    def is_rider(self) -> bool:
        return self.kind == "rider"

    @property
    def is_legacy(self) -> bool:
        return self.kind == "legacy"

    @property
    def name_zh(self) -> str:
        return _table("insutype")[self.value]["name_zh"]


class Scheme(StrEnum):
    """The two core schemes that the waiting-period and switching rules speak of."""

    EMPLOYEE = "310"  # 职工医保
    RESIDENT = "390"  # 居民医保


class PsnType(StrEnum):
    """人员类别 psn_type (R-CODE-002); hierarchical, the first two digits are the group."""

    IN_SERVICE = "11"
    EMPLOYEE_IN_SERVICE = "1101"
    CIVIL_SERVANT_IN_SERVICE = "1102"
    FLEXIBLE_IN_SERVICE = "1103"
    IN_SERVICE_LOCAL = "1160"
    RETIRED = "12"
    EMPLOYEE_RETIRED = "1201"
    CIVIL_SERVANT_RETIRED = "1202"
    FLEXIBLE_RETIRED = "1203"
    RETIRED_LOCAL = "1260"
    RETIRED_CADRE_GROUP = "13"
    RETIRED_CADRE = "1300"
    RETIRED_CADRE_LOCAL = "1360"
    RESIDENT_MINOR = "14"
    NEWBORN = "1401"
    PRESCHOOL_CHILD = "1402"
    PUPIL = "1403"
    COLLEGE_STUDENT = "1404"
    MINOR_NOT_IN_SCHOOL = "1405"
    MINOR_LOCAL = "1460"
    RESIDENT_ADULT = "15"
    ADULT_RESIDENT = "1501"
    ADULT_LOCAL = "1560"
    RESIDENT_ELDERLY = "16"

    @property
    def group(self) -> str:
        return self.value[:2]

    @property
    def is_retired(self) -> bool:
        return _table("psn_type")[self.value]["retired"] == "1"

    @property
    def is_flexible(self) -> bool:
        return self in (PsnType.FLEXIBLE_IN_SERVICE, PsnType.FLEXIBLE_RETIRED)


class InsuStatus(StrEnum):
    """参保状态 psn_insu_stas (R-CODE-003). 3 is 'invalid'; 4 is 'terminated' (A-21)."""

    NOT_ENROLLED = "0"
    NORMAL = "1"
    SUSPENDED = "2"
    INVALID = "3"
    TERMINATED = "4"


class CollectionStatus(StrEnum):
    """缴费状态 psn_clct_stas (R-CODE-003)."""

    PAYING = "1"
    PAUSED = "2"
    ENDED = "3"


class CertType(StrEnum):
    """证件类型 psn_cert_type (R-CODE-004); 16 = Chinese passport, 17 = residence permit (A-21)."""

    RESIDENT_ID = "01"
    PLA_OFFICER = "02"
    ARMED_POLICE_OFFICER = "03"
    HK_TRAVEL_PERMIT = "04"
    MACAO_TRAVEL_PERMIT = "05"
    TAIWAN_TRAVEL_PERMIT = "06"
    FOREIGN_PERMANENT_RESIDENCE = "07"
    FOREIGN_PASSPORT = "08"
    DISABILITY_CERTIFICATE = "09"
    MILITARY_FAMILY_CERTIFICATE = "10"
    FOREIGNER_EMPLOYMENT_PERMIT = "11"
    FOREIGN_EXPERT_CERTIFICATE = "12"
    FOREIGN_JOURNALIST_CARD = "13"
    HMT_EMPLOYMENT_PERMIT = "14"
    SETTLING_EXPERT_CERTIFICATE = "15"
    CHINESE_PASSPORT = "16"
    HMT_RESIDENCE_PERMIT = "17"
    SOCIAL_SECURITY_CARD = "90"
    CLASSIFIED_PERSONNEL = "91"
    OTHER = "99"
    BIRTH_CERTIFICATE = "990201"


class ContributionKind(StrEnum):
    """缴费类型 (R-CODE-005)."""

    REGULAR = "10"
    REFUND = "20"
    INTERRUPTION_BACKPAY = "31"
    ONE_OFF_BACKPAY = "32"
    RETIREMENT_BACKPAY = "33"
    BASE_TRUE_UP = "34"
    RATE_TRUE_UP = "35"
    LUMP_SUM = "40"

    @property
    def is_backpay(self) -> bool:
        return _table("clct_type")[self.value]["backpay"] == "1"


# Fund lines used in contribution lines and amounts due (R-CODE-001 fund sub-codes, plus the payer split).
class FundLine(StrEnum):
    EMPLOYEE_POOL = "310100"  # 职工统筹基金
    EMPLOYEE_ACCOUNT = "310200"  # 职工个人账户
    MAJOR_MEDICAL = "330100"  # 大额医疗费用补助基金
    RESIDENT_POOL = "390100"  # 居民统筹基金
    RESIDENT_CRITICAL = "390200"  # 居民大病保险基金
    MEDICAL_ASSISTANCE = "610100"  # 医疗救助基金


_TABLE_FILES = {
    "insutype": "insutype.csv",
    "psn_type": "psn_type.csv",
    "insu_status": "insu_status.csv",
    "clct_status": "clct_status.csv",
    "cert_type": "cert_type.csv",
    "clct_type": "clct_type.csv",
}

_TABLE_ENUMS: dict[str, type[StrEnum]] = {
    "insutype": InsuType,
    "psn_type": PsnType,
    "insu_status": InsuStatus,
    "clct_status": CollectionStatus,
    "cert_type": CertType,
    "clct_type": ContributionKind,
}


@dataclass(frozen=True)
class CodeRow:
    table: str
    code: str
    name_zh: str
    name_en: str
    effective_from: date


@cache
def _table(name: str) -> dict[str, dict[str, str]]:
    text = resources.files("yibao.codes").joinpath("data", _TABLE_FILES[name]).read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return {row["code"]: row for row in rows}


def table_names() -> list[str]:
    return list(_TABLE_FILES)


def rows(table: str) -> list[CodeRow]:
    return [
        CodeRow(table, code, r["name_zh"], r["name_en"], date.fromisoformat(r["effective_from"]))
        for code, r in _table(table).items()
    ]


def parse_code(table: str, code: str, *, field: str, on: date | None = None, migration: bool = False) -> StrEnum:
    """Turn an input code into its enum member, rejecting unknown or not-yet-effective codes.

    With ``migration=True`` a legacy insutype is accepted (R-CODE-001 example 3).
    """
    enum = _TABLE_ENUMS[table]
    value = str(code).strip()
    row = _table(table).get(value)
    if row is None:
        raise YibaoError(UNKNOWN_CODE, field=field, table=table, code=value)
    if on is not None and date.fromisoformat(row["effective_from"]) > on and not migration:
        raise YibaoError(UNKNOWN_CODE, field=field, table=table, code=value)
    member = enum(value)
    if table == "insutype" and member.is_legacy and not migration:
        raise YibaoError(LEGACY_INSUTYPE, field=field, code=value)
    return member


def check_psn_type_matches(psn_type: PsnType, insutype: InsuType, *, field: str = "psn_type") -> None:
    """R-CODE-002: the first two digits of psn_type agree with the insutype family."""
    families = _table("psn_type")[psn_type.value]["insutype_family"].split("|")
    if insutype.value not in families:
        raise YibaoError(PSN_TYPE_INSUTYPE_MISMATCH, field=field, psn_type=psn_type.value, insutype=insutype.value)
