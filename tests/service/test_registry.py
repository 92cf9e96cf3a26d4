"""Registry use cases: register_person, add_document, find_person, merge_persons (R-ID-005).

Every rejection names its code and field and leaves every table as it was.
"""

from __future__ import annotations

from datetime import date

import pytest

from yibao.codes import CertType

from .helpers import ID_A, ID_B, ID_C, ID_X, PASSPORT, PR_CARD, months, rejected


def test_register_derives_birth_date_and_sex_and_finds_any_spelling(svc, clock):
    reg = svc.register_person(by="clerk-1", name="张三", documents=[("01", ID_A, None)])
    assert reg.notices == ()
    facts = svc.facts(reg.psn_no)
    assert (facts.name, facts.birth_date, facts.sex) == ("张三", date(1990, 3, 7), "M")
    assert [(d.cert_type, d.number, d.recorded_on) for d in facts.documents] == [(CertType.RESIDENT_ID, ID_A, clock.today)]
    for spelling in (ID_A, "１１０１０１１９９００３０７００１１", "110101 19900307 0011"):
        assert svc.find_person("01", spelling) == reg.psn_no
    assert svc.find_person("01", ID_B) is None


def test_declared_attributes_that_disagree_are_kept_with_a_notice(svc):
    reg = svc.register_person(by="clerk-1", documents=[("01", ID_A, None)], birth_date=date(1990, 3, 8), sex="F")
    assert sorted(n.field for n in reg.notices) == ["birth_date", "sex"]
    assert {n.code for n in reg.notices} == {"DERIVED_MISMATCH"}
    facts = svc.facts(reg.psn_no)
    assert (facts.birth_date, facts.sex) == (date(1990, 3, 8), "F")


@pytest.mark.parametrize(
    "variant",
    [ID_A, "１１０１０１１９９００３０７００１１", "110101-19900307-0011", " 110101199003070011 "],
    ids=["same", "full-width", "dashed", "padded"],
)
def test_duplicate_person_key_is_refused(svc, unchanged, variant):
    first = svc.register_person(by="clerk-1", documents=[("01", ID_A, None)])
    err = rejected(unchanged, "DUPLICATE_PERSON_KEY", "documents.0.number", svc.register_person, by="clerk-2", documents=[("01", variant, None)])
    assert err.details["existing"] == first.psn_no
    assert ID_A not in err.message_en  # masked


def test_lower_case_check_character_is_the_same_key(svc, unchanged):
    svc.register_person(by="clerk-1", documents=[("01", ID_X, None)])
    rejected(unchanged, "DUPLICATE_PERSON_KEY", "documents.0.number", svc.register_person, by="clerk-1", documents=[("01", ID_X.lower(), None)])


def test_a_duplicate_second_document_writes_nothing_of_the_first(svc, unchanged):
    """The person row is flushed before the second document is refused: the transaction takes it back."""
    svc.register_person(by="clerk-1", documents=[("01", ID_B, None)])
    rejected(unchanged, "DUPLICATE_PERSON_KEY", "documents.1.number", svc.register_person, by="clerk-1",
             documents=[("01", ID_C, None), ("01", ID_B, None)])
    assert svc.find_person("01", ID_C) is None


@pytest.mark.parametrize(
    "documents, code, field",
    [
        ([], "NO_DOCUMENT", "documents"),
        ([("01", "110101199003070012", None)], "CHECK_DIGIT", "documents.0.number"),
        ([("01", "110101900307001", None)], "LEGACY_ID_NOT_ALLOWED", "documents.0.number"),  # 15 digits: migration only
        ([("01", "11010120300307001" + "5", None)], "BIRTH_DATE", "documents.0.number"),  # born after today
        ([("02", "", None)], "DOCUMENT_FORMAT", "documents.0.number"),
        ([("98", ID_A, None)], "UNKNOWN_CODE", "documents.0.cert_type"),
        ([("08", PASSPORT, None)], "NATIONALITY_REQUIRED", "documents.0.nationality"),
        ([("01", ID_C, None), ("08", PASSPORT, "U1")], "NATIONALITY_FORMAT", "documents.1.nationality"),
    ],
    ids=["none", "check-digit", "15-digit", "future-birth", "empty", "unknown-type", "no-nationality", "bad-nationality"],
)
def test_invalid_documents_are_refused(svc, unchanged, documents, code, field):
    rejected(unchanged, code, field, svc.register_person, by="clerk-1", documents=documents)


def test_who_and_how_long(svc, unchanged):
    rejected(unchanged, "INVALID_INPUT", "by", svc.register_person, by=" ", documents=[("01", ID_A, None)])
    rejected(unchanged, "INVALID_INPUT", "by", svc.register_person, by="c" * 101, documents=[("01", ID_A, None)])
    rejected(unchanged, "INVALID_INPUT", "name", svc.register_person, by="clerk-1", name="名" * 201, documents=[("01", ID_A, None)])
    rejected(unchanged, "INVALID_INPUT", "sex", svc.register_person, by="clerk-1", sex="X", documents=[("07", PR_CARD, None)])


def test_add_document_links_a_new_card_to_the_same_person(svc, unchanged):
    psn = svc.register_person(by="clerk-1", documents=[("08", PASSPORT, "USA")]).psn_no
    svc.add_document(psn, by="clerk-2", cert_type="07", number=PR_CARD)
    assert svc.find_person("07", PR_CARD) == svc.find_person("08", PASSPORT.lower(), "usa") == psn
    assert svc.find_person("08", PASSPORT, "GBR") is None  # a passport key includes the nationality
    with unchanged():  # a document the person holds already: nothing new
        svc.add_document(psn, by="clerk-2", cert_type="07", number=PR_CARD.lower())
    assert [d.cert_type for d in svc.facts(psn).documents] == [CertType.FOREIGN_PASSPORT, CertType.FOREIGN_PERMANENT_RESIDENCE]


def test_add_document_refusals(svc, unchanged):
    p1 = svc.register_person(by="clerk-1", documents=[("01", ID_A, None)]).psn_no
    p2 = svc.register_person(by="clerk-1", documents=[("01", ID_B, None)]).psn_no
    rejected(unchanged, "DUPLICATE_PERSON_KEY", "number", svc.add_document, p2, by="clerk-1", cert_type="01", number=ID_A)
    rejected(unchanged, "CHECK_DIGIT", "number", svc.add_document, p1, by="clerk-1", cert_type="01", number="110101199003070012")
    rejected(unchanged, "UNKNOWN_CODE", "cert_type", svc.add_document, p1, by="clerk-1", cert_type="00", number=ID_C)
    rejected(unchanged, "PERSON_NOT_FOUND", "psn_no", svc.add_document, "nobody", by="clerk-1", cert_type="01", number=ID_C)
    rejected(unchanged, "INVALID_INPUT", "by", svc.add_document, p1, by="", cert_type="01", number=ID_C)


def test_find_person_refuses_an_invalid_number(svc, unchanged):
    rejected(unchanged, "CHECK_DIGIT", "number", svc.find_person, "01", "110101199003070012")
    rejected(unchanged, "NATIONALITY_REQUIRED", "nationality", svc.find_person, "08", PASSPORT)


def _two_people_with_relations(svc):
    keep = svc.register_person(by="clerk-1", documents=[("08", PASSPORT, "USA")]).psn_no
    absorb = svc.register_person(by="clerk-1", documents=[("07", PR_CARD, None)]).psn_no
    svc.enroll(keep, by="clerk-1", insutype="310", region="510500", psn_type="1103", start=date(2024, 1, 1), relation_id="SZ")
    svc.enroll(absorb, by="clerk-1", insutype="310", region="210200", psn_type="1103", start=date(2024, 6, 1), relation_id="BJ")
    svc.record_contributions(keep, months("SZ", "2024-01", "2024-06"), by="clerk-1")
    svc.record_contributions(absorb, months("BJ", "2024-06", "2024-07"), by="clerk-1")
    return keep, absorb


def test_merge_moves_documents_relations_and_lines(svc):
    keep, absorb = _two_people_with_relations(svc)
    svc.merge_persons(keep, absorb, by="auditor-1", reason="同一外国人的护照与永久居留证")
    facts = svc.facts(keep)
    assert sorted(e.relation_id for e in facts.enrollments) == ["BJ", "SZ"]
    assert len(facts.contributions) == 8
    assert {d.cert_type for d in facts.documents} == {CertType.FOREIGN_PASSPORT, CertType.FOREIGN_PERMANENT_RESIDENCE}
    assert svc.find_person("07", PR_CARD) == keep
    from yibao.errors import YibaoError

    with pytest.raises(YibaoError) as info:
        svc.facts(absorb)
    assert (info.value.code, info.value.field) == ("PERSON_MERGED", "psn_no")


def test_merge_refusals(svc, unchanged):
    keep, absorb = _two_people_with_relations(svc)
    rejected(unchanged, "MERGE_CONFLICT", "absorb", svc.merge_persons, keep, keep, by="auditor-1", reason="x")
    rejected(unchanged, "PERSON_NOT_FOUND", "psn_no", svc.merge_persons, keep, "nobody", by="auditor-1", reason="x")
    rejected(unchanged, "REASON_REQUIRED", "reason", svc.merge_persons, keep, absorb, by="auditor-1", reason=" ")
    other = svc.register_person(by="clerk-1", documents=[("01", ID_C, None)]).psn_no
    svc.enroll(other, by="clerk-1", insutype="310", region="510500", psn_type="1101", start=date(2024, 1, 1), relation_id="SZ")
    rejected(unchanged, "MERGE_CONFLICT", "absorb", svc.merge_persons, keep, other, by="auditor-1", reason="same relation id")
    svc.merge_persons(keep, absorb, by="auditor-1", reason="ok")
    rejected(unchanged, "PERSON_MERGED", "psn_no", svc.merge_persons, other, absorb, by="auditor-1", reason="again")


def test_the_home_region_is_written_with_the_person(svc, unchanged):
    from sqlalchemy import select

    from yibao.store.auth_models import PersonHomeRow

    psn = svc.register_person(by="clerk-1", documents=[("01", ID_A, None)], home_region="510500").psn_no
    with svc.sessions() as session:
        assert session.scalar(select(PersonHomeRow.region).where(PersonHomeRow.psn_no == psn)) == "510500"
    # an unknown region is refused before anything is written: no person without its home
    rejected(unchanged, "UNKNOWN_REGION", "region", svc.register_person, by="clerk-1", documents=[("01", ID_B, None)], home_region="999999")
