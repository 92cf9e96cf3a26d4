"""Business keys are unique in the database: the person key (R-ID-005) and payment idempotency keys."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from yibao.codes import CertType
from yibao.errors import YibaoError
from yibao.store import repository as repo
from yibao.store.models import DocumentRow, LineRow, PersonRow

from .helpers import ID_A, ID_B, PASSPORT, doc, line, relation


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises(YibaoError) as info:
        fn(*args, **kwargs)
    return info.value.code


@pytest.mark.parametrize(
    "variant",
    [ID_A, "１１０１０１１９９００３０７００１１", "110101 19900307 0011", "１１０１０１-１９９００３０７-００１１"],
    ids=["same", "full-width", "spaced", "dashed"],
)
def test_second_person_with_the_same_document_is_refused(db, variant):
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc(ID_A)])
    with db.session() as s:  # the service rolls back on error: nothing of P2 is written
        with pytest.raises(YibaoError) as info:
            repo.add_person(s, by="clerk", psn_no="P2", documents=[doc(variant)])
        assert info.value.code == "DUPLICATE_PERSON_KEY"
        assert info.value.details["existing"] == "P1"
        assert ID_A not in str(info.value)  # the number is masked in the message
    with db.session() as s:
        assert s.get(PersonRow, "P2") is None
        assert repo.find_person(s, CertType.RESIDENT_ID, variant).psn_no == "P1"


def test_lower_case_check_character_meets_the_same_key(db):
    number = "11010519491231002X"
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc(number)])
    with db.session() as s:
        assert _code(repo.add_person, s, by="clerk", psn_no="P2", documents=[doc(number.lower())]) == "DUPLICATE_PERSON_KEY"
    with db.session() as s:
        assert repo.find_person(s, CertType.RESIDENT_ID, "１１０１０５１９４９１２３１００２ｘ").psn_no == "P1"


def test_passport_key_includes_the_nationality(db):
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc(PASSPORT, CertType.FOREIGN_PASSPORT, "USA")])
        repo.add_person(s, by="clerk", psn_no="P2", documents=[doc(PASSPORT, CertType.FOREIGN_PASSPORT, "GBR")])
    with db.session() as s:
        assert _code(repo.add_person, s, by="clerk", psn_no="P3", documents=[doc(PASSPORT.lower(), CertType.FOREIGN_PASSPORT, "usa")]) == "DUPLICATE_PERSON_KEY"
    with db.session() as s:
        assert repo.find_person(s, CertType.FOREIGN_PASSPORT, PASSPORT, "GBR").psn_no == "P2"
        assert repo.find_person(s, "08", PASSPORT, "FRA") is None


def test_the_database_itself_refuses_a_second_current_key(db):
    """Bypassing the repository: the partial unique index still holds, and the error is typed."""
    from datetime import datetime, timezone

    from yibao.store.errors import integrity_guard

    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc(ID_A)])
        repo.add_person(s, by="clerk", psn_no="P2", documents=[doc(ID_B)])
    with db.session() as s:
        s.add(DocumentRow(psn_no="P2", cert_type=CertType.RESIDENT_ID, number=ID_A, key_nationality="",
                          recorded_at=datetime.now(timezone.utc), recorded_by="raw"))
        with pytest.raises(YibaoError) as info, integrity_guard():
            s.flush()
        assert info.value.code == "DUPLICATE_PERSON_KEY"


def test_a_person_may_hold_several_documents_over_time(db):
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc("H12345678", CertType.HK_TRAVEL_PERMIT)])
        repo.add_document(s, "P1", doc("810000199003070015", CertType.HMT_RESIDENCE_PERMIT), by="clerk")
        again = repo.add_document(s, "P1", doc("h12345678", CertType.HK_TRAVEL_PERMIT), by="clerk")  # held already: no-op
        assert again.number == "H12345678"
    with db.session() as s:
        assert [d.cert_type for d in repo.load_facts(s, "P1").documents] == [CertType.HK_TRAVEL_PERMIT, CertType.HMT_RESIDENCE_PERMIT]
        assert repo.find_person(s, "04", "h1234 5678").psn_no == "P1"
        assert repo.find_person(s, "17", "810000199003070015").psn_no == "P1"


def test_invalid_document_is_refused_with_its_own_code(db):
    with db.session() as s:
        with pytest.raises(YibaoError) as info:
            repo.add_person(s, by="clerk", psn_no="P1", documents=[doc("110101199003070012")])
        assert info.value.code == "CHECK_DIGIT"
        assert info.value.field == "documents.0.number"


def _person_with_relation(db, psn_no="P1", number=ID_A):
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no=psn_no, documents=[doc(number)])
        repo.add_enrollment(s, psn_no, relation(), by="clerk")


def _line_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(LineRow))


def test_same_idempotency_key_twice_is_recorded_once(db):
    _person_with_relation(db)
    with db.Session.begin() as s:
        first = repo.append_lines(s, "P1", [line("2024-01", key="PAY-1")], by="clerk")
    with db.Session.begin() as s:
        again = repo.append_lines(s, "P1", [line("2024-01", key="PAY-1", amount="480")], by="cashier")  # same content
        assert again[0].id == first[0].id
        within = repo.append_lines(s, "P1", [line("2024-02", key="PAY-2"), line("2024-02", key="PAY-2")], by="clerk")
        assert within[0] is within[1]
    assert _line_count(db) == 2
    with db.session() as s:
        assert [c.key for c in repo.load_facts(s, "P1").contributions] == ["PAY-1", "PAY-2"]


def test_same_key_with_other_content_is_a_conflict(db):
    _person_with_relation(db)
    with db.Session.begin() as s:
        repo.append_lines(s, "P1", [line("2024-01", key="PAY-1")], by="clerk")
    with db.session() as s:
        with pytest.raises(YibaoError) as info:
            repo.append_lines(s, "P1", [line("2024-03", key="PAY-2"), line("2024-01", key="PAY-1", amount="481.00")], by="clerk")
        assert info.value.code == "IDEMPOTENCY_CONFLICT"
        assert info.value.details["differences"] == "amount"
        assert info.value.field == "contributions.1.key"
    assert _line_count(db) == 1  # nothing of the refused batch was written


def test_idempotency_key_is_global_across_persons(db):
    _person_with_relation(db, "P1", ID_A)
    _person_with_relation(db, "P2", ID_B)
    with db.Session.begin() as s:
        repo.append_lines(s, "P1", [line("2024-01", key="PAY-1")], by="clerk")
    with db.session() as s:
        with pytest.raises(YibaoError) as info:
            repo.append_lines(s, "P2", [line("2024-01", key="PAY-1")], by="clerk")
        assert info.value.code == "IDEMPOTENCY_CONFLICT"
        assert info.value.details["differences"] == "relation"


def test_raw_duplicate_key_is_typed_too(db):
    _person_with_relation(db)
    with db.Session.begin() as s:
        repo.append_lines(s, "P1", [line("2024-01", key="PAY-1")], by="clerk")
    with db.session() as s:
        row = LineRow(**{c: getattr(s.scalars(select(LineRow)).one(), c) for c in ("enrollment_id", "kind", "payer", "paid_on", "amount", "month",
                                                                                    "idempotency_key", "recorded_at", "recorded_by")})
        s.add(row)
        from yibao.store.errors import integrity_guard

        with pytest.raises(YibaoError) as info, integrity_guard():
            s.flush()
        assert info.value.code == "IDEMPOTENCY_CONFLICT"


def test_unknown_relation_and_person(db):
    _person_with_relation(db)
    with db.session() as s:
        assert _code(repo.append_lines, s, "P1", [line("2024-01", relation_id="NOPE")], by="clerk") == "RELATION_NOT_FOUND"
        assert _code(repo.append_lines, s, "P9", [line("2024-01")], by="clerk") == "PERSON_NOT_FOUND"
        assert _code(repo.load_facts, s, "P9") == "PERSON_NOT_FOUND"
        assert _code(repo.add_enrollment, s, "P1", relation(), by="clerk") == "DUPLICATE_RELATION"
        assert _code(repo.add_person, s, by="clerk", psn_no="P1") == "DUPLICATE_PERSON"
        assert _code(repo.append_lines, s, "P1", [line("2024-01")], by=" ") == "INVALID_INPUT"


def test_money_is_exact_and_never_rounded(db):
    _person_with_relation(db)
    big = "999999999999.99"
    with db.Session.begin() as s:
        repo.append_lines(s, "P1", [line("2024-01", amount=big), line("2024-02", amount="-0.01")], by="clerk")
    with db.session() as s:
        assert _code(repo.append_lines, s, "P1", [line("2024-03", amount="0.005")], by="clerk") == "MONEY_PRECISION"
        assert _code(repo.append_lines, s, "P1", [line("2024-03", amount="1000000000000.00")], by="clerk") == "MONEY_PRECISION"
    with db.session() as s:
        amounts = [c.amount for c in repo.load_facts(s, "P1").contributions]
    assert amounts == [Decimal(big), Decimal("-0.01")]
    assert all(isinstance(a, Decimal) for a in amounts)
    assert str(amounts[0]) == big


def test_generated_person_number(db):
    with db.Session.begin() as s:
        person = repo.add_person(s, by="clerk", name="王五", birth_date=date(1990, 3, 7), sex="M", documents=[doc(ID_A)])
    with db.session() as s:
        facts = repo.load_facts(s, person.psn_no)
    assert (facts.name, facts.birth_date, facts.sex) == ("王五", date(1990, 3, 7), "M")


def test_first_generation_15_digit_number_is_the_same_key(db):
    """R-ID-002: 110101900307001 is 110101199003070011 upgraded; both map to the same person key."""
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc("110101900307001")])
    with db.session() as s:
        assert repo.load_facts(s, "P1").documents[0].number == ID_A
        assert repo.find_person(s, "01", ID_A).psn_no == "P1"
        assert _code(repo.add_person, s, by="clerk", psn_no="P2", documents=[doc(ID_A)]) == "DUPLICATE_PERSON_KEY"
