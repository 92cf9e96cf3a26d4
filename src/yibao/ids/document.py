"""One entry point for every 证件类型 (document type, R-CODE-004) and the person key (R-ID-005)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

from yibao.codes import CertType, parse_code
from yibao.errors import YibaoError
from yibao.ids.error_codes import DOCUMENT_FORMAT
from yibao.ids.foreign import normalise_nationality, validate_document_number, validate_foreign_permanent_residence
from yibao.ids.normalise import normalise
from yibao.ids.resident import FIELD, Sex, validate_residence_permit, validate_resident_id

# Types checked as passports or travel permits (letters and digits, 5-20 characters).
_FORMAT_CHECKED = frozenset(
    {
        CertType.HK_TRAVEL_PERMIT,
        CertType.MACAO_TRAVEL_PERMIT,
        CertType.TAIWAN_TRAVEL_PERMIT,
        CertType.FOREIGN_PASSPORT,
        CertType.CHINESE_PASSPORT,
    }
)


@dataclass(frozen=True)
class Document:
    """A validated identity document.

    ``person_key`` is the business key of R-ID-005: ``(cert_type, number)``, and for a foreign
    passport ``(cert_type, number, nationality)`` because passport numbers are unique only per
    issuing country. ``birth_date`` and ``sex`` are what the number itself says (R-ID-007): both for
    types 01 and 17, the birth date only for the 2023 permanent residence card, nothing otherwise.
    """

    cert_type: CertType
    number: str
    person_key: tuple[str, ...]
    birth_date: date | None = None
    sex: Sex | None = None
    nationality: str | None = None


def validate_document(
    cert_type: CertType | str,
    cert_no: str,
    *,
    nationality: str | None = None,
    registration_date: date | None = None,
    migration: bool = False,
) -> Document:
    """Validate ``cert_no`` as a document of ``cert_type`` and return it normalised with its person key.

    * 01 resident ID (R-ID-001/002), 17 residence permit (R-ID-003), 07 permanent residence ID
      (R-ID-004): structure and check character.
    * 04/05/06 travel permits, 08 foreign passport, 16 Chinese passport: format only; 08 also needs
      ``nationality``.
    * Every other type: accepted once normalised if not empty.

    ``migration`` admits 15-digit resident IDs (returned upgraded); ``registration_date`` bounds the
    birth date. Raises :class:`~yibao.errors.YibaoError` on the first fault; never returns a partial result.
    """
    kind = cast(CertType, parse_code("cert_type", str(cert_type), field="cert_type"))
    if kind is CertType.RESIDENT_ID:
        resident = validate_resident_id(cert_no, registration_date=registration_date, migration=migration)
        return Document(kind, resident.number, (kind.value, resident.number), resident.birth_date, resident.sex)
    if kind is CertType.HMT_RESIDENCE_PERMIT:
        permit = validate_residence_permit(cert_no, registration_date=registration_date)
        return Document(kind, permit.number, (kind.value, permit.number), permit.birth_date, permit.sex)
    if kind is CertType.FOREIGN_PERMANENT_RESIDENCE:
        card = validate_foreign_permanent_residence(cert_no, registration_date=registration_date)
        return Document(kind, card.number, (kind.value, card.number), card.birth_date)
    if kind is CertType.FOREIGN_PASSPORT:
        number = validate_document_number(cert_no)
        country = normalise_nationality(nationality)
        return Document(kind, number, (kind.value, number, country), nationality=country)
    if kind in _FORMAT_CHECKED:
        number = validate_document_number(cert_no)
        return Document(kind, number, (kind.value, number))
    number = normalise(cert_no)
    if not number:
        raise YibaoError(
            DOCUMENT_FORMAT, field=FIELD,
            reason_zh="证件号码为空", reason_en="it is empty",
        )
    return Document(kind, number, (kind.value, number))
