"""Identity documents and employer codes (SPEC R-ID-001…007, R-CODE-004, E-04, E-12).

Pure functions, no I/O. Every number is normalised first (:func:`normalise`); a fault raises
:class:`~yibao.errors.YibaoError` with a stable code and ``field="cert_no"``, so nothing partial is
ever returned. Derived-attribute disagreements are warnings (:class:`~yibao.errors.Notice`).
"""

from __future__ import annotations

from yibao.ids.derived import age_on, check_declared_attributes
from yibao.ids.document import Document, validate_document
from yibao.ids.error_codes import (
    BIRTH_DATE,
    CHECK_DIGIT,
    DATE_BEFORE_BIRTH,
    DERIVED_MISMATCH,
    DOCUMENT_FORMAT,
    FOREIGN_PR_FORMAT,
    FOREIGN_PR_PREFIX,
    HMT_ADDRESS_CODE,
    ID_CHARSET,
    ID_LENGTH,
    LEGACY_ID_NOT_ALLOWED,
    NATIONALITY_FORMAT,
    NATIONALITY_REQUIRED,
    PROVINCE_CODE,
    USCC_CHARSET,
    USCC_CHECK,
    USCC_LENGTH,
    USCC_ORG_CHECK,
)
from yibao.ids.foreign import (
    ForeignPermanentResidence,
    normalise_nationality,
    validate_document_number,
    validate_foreign_permanent_residence,
)
from yibao.ids.normalise import mask, normalise
from yibao.ids.resident import (
    CITIZEN_PROVINCE_CODES,
    HMT_REGIONS,
    ResidencePermit,
    ResidentId,
    mod11_2_check_char,
    upgrade_15_to_18,
    validate_residence_permit,
    validate_resident_id,
)
from yibao.ids.uscc import org_code_check_char, validate_uscc

__all__ = [
    "BIRTH_DATE",
    "CHECK_DIGIT",
    "CITIZEN_PROVINCE_CODES",
    "DATE_BEFORE_BIRTH",
    "DERIVED_MISMATCH",
    "DOCUMENT_FORMAT",
    "Document",
    "FOREIGN_PR_FORMAT",
    "FOREIGN_PR_PREFIX",
    "ForeignPermanentResidence",
    "HMT_ADDRESS_CODE",
    "HMT_REGIONS",
    "ID_CHARSET",
    "ID_LENGTH",
    "LEGACY_ID_NOT_ALLOWED",
    "NATIONALITY_FORMAT",
    "NATIONALITY_REQUIRED",
    "PROVINCE_CODE",
    "ResidencePermit",
    "ResidentId",
    "USCC_CHARSET",
    "USCC_CHECK",
    "USCC_LENGTH",
    "USCC_ORG_CHECK",
    "age_on",
    "check_declared_attributes",
    "mod11_2_check_char",
    "mask",
    "normalise",
    "normalise_nationality",
    "org_code_check_char",
    "upgrade_15_to_18",
    "validate_document",
    "validate_document_number",
    "validate_foreign_permanent_residence",
    "validate_residence_permit",
    "validate_resident_id",
    "validate_uscc",
]
