"""Error and warning codes raised by :mod:`yibao.ids`, each declared once with its bilingual message.

Every error raised for a document number names the field ``cert_no``; nationality errors name
``nationality``; USCC errors name ``uscc`` unless the caller passes another field.
"""

from __future__ import annotations

from yibao.errors import define

ID_LENGTH = define(
    "ID_LENGTH",
    "证件号码应为 {expected} 位，实际为 {length} 位",
    "the document number must have {expected} characters, it has {length}",
)
ID_CHARSET = define(
    "ID_CHARSET",
    "证件号码第 {position} 位的字符“{char}”无效：号码只能是数字，18 位号码的末位可以是 X",
    "character {char!r} at position {position} is not allowed: only digits, and X as the 18th character",
)
CHECK_DIGIT = define(
    "CHECK_DIGIT",
    "身份证号码校验码错误，应为 {expected}",
    "the check character is wrong, expected {expected}",
)
BIRTH_DATE = define(
    "BIRTH_DATE",
    "证件号码中的出生日期 {value} 无效：{reason_zh}",
    "the birth date {value} in the document number is invalid: {reason_en}",
)
PROVINCE_CODE = define(
    "PROVINCE_CODE",
    "证件号码前两位 {code} 不是有效的省级行政区划代码",
    "the first two digits {code} are not a valid provincial code",
)
LEGACY_ID_NOT_ALLOWED = define(
    "LEGACY_ID_NOT_ALLOWED",
    "15 位旧身份证号码只能在数据迁移中使用，新参保登记请使用 18 位号码",
    "a 15-digit legacy ID is accepted only in a data migration; a new enrollment needs the 18-digit number",
)
HMT_ADDRESS_CODE = define(
    "HMT_ADDRESS_CODE",
    "港澳台居民居住证号码的地址码应为 810000、820000 或 830000，实际为 {code}",
    "a HK/Macau/Taiwan residence permit number must start with 810000, 820000 or 830000, not {code}",
)
FOREIGN_PR_PREFIX = define(
    "FOREIGN_PR_PREFIX",
    "外国人永久居留身份证号码应以 9 开头，实际以 {first} 开头",
    "a foreign permanent residence ID must start with 9, not {first}",
)
FOREIGN_PR_FORMAT = define(
    "FOREIGN_PR_FORMAT",
    "外国人永久居留身份证号码格式错误：应为 18 位（17 位数字加校验码）或 15 位（3 个字母加 12 位数字）",
    "a foreign permanent residence ID must be 18 characters (17 digits and a check) or 15 (3 letters and 12 digits)",
)
DOCUMENT_FORMAT = define(
    "DOCUMENT_FORMAT",
    "证件号码格式错误：{reason_zh}",
    "the document number is malformed: {reason_en}",
)
NATIONALITY_REQUIRED = define(
    "NATIONALITY_REQUIRED",
    "外国人护照须同时填写国籍",
    "a foreign passport needs the holder's nationality",
)
NATIONALITY_FORMAT = define(
    "NATIONALITY_FORMAT",
    "国籍代码 {value} 无效，应为 3 位字母代码（如 USA）",
    "nationality {value!r} is not a 3-letter code such as USA",
)
USCC_LENGTH = define(
    "USCC_LENGTH",
    "统一社会信用代码应为 18 位，实际为 {length} 位",
    "a unified social credit code has 18 characters, this one has {length}",
)
USCC_CHARSET = define(
    "USCC_CHARSET",
    "统一社会信用代码第 {position} 位出现了不允许的字符“{char}”（代码中不使用 I、O、Z、S、V）",
    "character {char!r} at position {position} is not allowed in a unified social credit code "
    "(I, O, Z, S, V are unused)",
)
USCC_ORG_CHECK = define(
    "USCC_ORG_CHECK",
    "统一社会信用代码中的组织机构代码校验码错误，第 17 位应为 {expected}",
    "the embedded organisation code has a wrong check character, position 17 should be {expected}",
)
USCC_CHECK = define(
    "USCC_CHECK",
    "统一社会信用代码校验码错误，应为 {expected}",
    "the unified social credit code check character is wrong, expected {expected}",
)
DERIVED_MISMATCH = define(
    "DERIVED_MISMATCH",
    "填写的{attribute_zh} {declared} 与证件号码推导出的 {derived} 不一致，未自动修改，请核实",
    "the declared {attribute} {declared} differs from {derived} derived from the document number; "
    "it was not overwritten, please check",
)
DATE_BEFORE_BIRTH = define(
    "DATE_BEFORE_BIRTH",
    "计算年龄的日期 {on} 早于出生日期 {birth}",
    "the date {on} for the age is before the birth date {birth}",
)
