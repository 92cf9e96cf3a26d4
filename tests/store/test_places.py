"""A person's places (person_place, revision 0007): append-only, superseded or withdrawn with a
reason, read as known on a day, moved by a merge — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import delete, inspect, select, text, update

from yibao.errors import YibaoError
from yibao.store import repository as repo
from yibao.store.errors import integrity_guard
from yibao.store.models import FACT_TABLES, AuditRow
from yibao.store.place_models import PlaceKind, PlaceRow

from .helpers import ID_A, ID_B, at, doc

HOME = PlaceKind.HABITUAL_RESIDENCE


def _setup(db) -> None:
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc(ID_A)], at=at(date(2024, 1, 2)))
        repo.add_person(s, by="clerk", psn_no="P2", documents=[doc(ID_B)], at=at(date(2024, 1, 2)))
        repo.add_place(s, "P1", kind=HOME, region="350121", valid_from=date(2020, 1, 1), by="clerk", at=at(date(2024, 2, 1)))
        repo.add_place(s, "P1", kind=HOME, region="350100", valid_from=date(2024, 6, 1), by="clerk", at=at(date(2024, 7, 1)))
        repo.add_place(s, "P1", kind=PlaceKind.STUDY, region="110108", valid_from=date(2023, 9, 1), student_cause="SCHOOL_ENTRY",
                       note="学籍证明", by="clerk", at=at(date(2024, 2, 1)))


def test_person_place_is_a_fact_table_with_supersede_markers(db):
    assert FACT_TABLES["person_place"] == ("superseded_at", "superseded_by_id", "psn_no")
    columns = {c["name"] for c in inspect(db.engine).get_columns("person_place")}
    assert {"psn_no", "kind", "region", "valid_from", "student_cause", "note", "recorded_at", "recorded_by",
            "supersedes_id", "reason", "superseded_at", "superseded_by_id"} <= columns


def test_the_place_in_force_is_the_latest_valid_from_known_by_then(db):
    _setup(db)
    with db.session() as s:
        now = repo.places_on(s, "P1", date(2025, 1, 1))
        assert {k: r.region for k, r in now.items()} == {"HABITUAL_RESIDENCE": "350100", "STUDY": "110108"}
        assert repo.places_on(s, "P1", date(2024, 5, 31))[HOME].region == "350121"  # before the move
        # as known on 2024-06-30 the move (recorded 2024-07-01) was not known yet
        assert repo.places_on(s, "P1", date(2025, 1, 1), as_known_on=date(2024, 6, 30))[HOME].region == "350121"
        assert repo.places_on(s, "P1", date(2025, 1, 1), as_known_on=date(2024, 1, 31)) == {}
        assert repo.places_on(s, "P1", date(2019, 12, 31)) == {}
        assert repo.places_on(s, "P2", date(2025, 1, 1)) == {}


def test_a_later_recording_for_the_same_day_wins(db):
    _setup(db)
    with db.Session.begin() as s:
        repo.add_place(s, "P1", kind=HOME, region="350102", valid_from=date(2024, 6, 1), by="clerk", at=at(date(2024, 8, 1)))
    with db.session() as s:
        assert repo.places_on(s, "P1", date(2025, 1, 1))[HOME].region == "350102"
        assert repo.places_on(s, "P1", date(2025, 1, 1), as_known_on=date(2024, 7, 31))[HOME].region == "350100"


def test_supersede_and_withdraw_keep_the_old_rows(db):
    _setup(db)
    with db.Session.begin() as s:
        wrong = s.scalars(select(PlaceRow).where(PlaceRow.region == "350100")).one()
        repo.supersede_fact(s, wrong, PlaceRow(kind="HABITUAL_RESIDENCE", region="350103", valid_from=date(2024, 6, 1)),
                            reason="typo 录入错误", by="auditor", at=at(date(2024, 9, 1)))
    with db.session() as s:
        assert repo.places_on(s, "P1", date(2025, 1, 1))[HOME].region == "350103"
        assert repo.places_on(s, "P1", date(2025, 1, 1), as_known_on=date(2024, 8, 31))[HOME].region == "350100"
        old = s.scalars(select(PlaceRow).where(PlaceRow.region == "350100")).one()
        assert old.superseded_at is not None and old.superseded_by_id is not None  # still there, marked
    with db.Session.begin() as s:
        study = s.scalars(select(PlaceRow).where(PlaceRow.kind == "STUDY")).one()
        repo.supersede_fact(s, study, None, reason="not a student 非学生", by="auditor", at=at(date(2024, 10, 1)))
    with db.session() as s:
        assert "STUDY" not in repo.places_on(s, "P1", date(2025, 1, 1))
        assert "STUDY" in repo.places_on(s, "P1", date(2025, 1, 1), as_known_on=date(2024, 9, 30))
        assert len(s.scalars(select(PlaceRow)).all()) == 4
        audits = s.scalars(select(AuditRow).where(AuditRow.table_name == "person_place")).all()
        assert [a.action for a in audits] == ["SUPERSEDE", "SUPERSEDE"]


TAMPERING = [
    ("delete a place", lambda: delete(PlaceRow)),
    ("change a region", lambda: update(PlaceRow).values(region="110100")),
    ("change a start", lambda: update(PlaceRow).values(valid_from=date(2000, 1, 1))),
    ("move without a merge", lambda: update(PlaceRow).where(PlaceRow.psn_no == "P1").values(psn_no="P2")),
]


@pytest.mark.parametrize("name,statement", TAMPERING, ids=[t[0] for t in TAMPERING])
def test_trigger_rejects_update_and_delete(db, name, statement):
    _setup(db)
    with db.session() as s:
        with pytest.raises(YibaoError) as info, integrity_guard():
            s.execute(statement().execution_options(synchronize_session=False))
        assert info.value.code == "APPEND_ONLY_VIOLATION"


def test_trigger_lets_a_marker_be_set_once_only(db):
    _setup(db)
    with db.Session.begin() as s:
        s.execute(update(PlaceRow).where(PlaceRow.kind == "STUDY").values(superseded_at=at(date(2024, 5, 1)))
                  .execution_options(synchronize_session=False))
    with db.session() as s:
        with pytest.raises(YibaoError) as info, integrity_guard():
            s.execute(update(PlaceRow).where(PlaceRow.kind == "STUDY").values(superseded_at=at(date(2024, 6, 1)))
                      .execution_options(synchronize_session=False))
        assert info.value.code == "APPEND_ONLY_VIOLATION"


def test_truncate_is_refused_on_postgresql(db):
    if db.backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _setup(db)
    with db.session() as s:
        with pytest.raises(YibaoError) as info, integrity_guard():
            s.execute(text("TRUNCATE person_place CASCADE"))
        assert info.value.code == "APPEND_ONLY_VIOLATION"


@pytest.mark.parametrize("values", [
    {"kind": "HOME", "region": "350100"},
    {"kind": "EMPLOYMENT", "region": "3501"},
    {"kind": "EMPLOYMENT", "region": "350100", "student_cause": "JOB"},  # a cause only for a place of study
    {"kind": "STUDY", "region": "350100", "student_cause": "HOLIDAY"},
])
def test_check_constraints(db, values):
    _setup(db)
    with db.session() as s:
        s.add(PlaceRow(psn_no="P1", valid_from=date(2024, 1, 1), recorded_at=at(date(2024, 1, 2)), recorded_by="x", **values))
        with pytest.raises(YibaoError), integrity_guard():
            s.flush()


def test_a_merge_moves_the_places(db):
    _setup(db)
    with db.Session.begin() as s:
        repo.add_place(s, "P2", kind=PlaceKind.EMPLOYMENT, region="350100", valid_from=date(2024, 1, 1), by="clerk", at=at(date(2024, 2, 1)))
        audit = repo.merge_persons(s, "P1", "P2", by="auditor", reason="same person", at=at(date(2024, 11, 1)))
        moved = json.loads(audit.detail)["moved"]["person_place"]
    with db.session() as s:
        assert repo.places_on(s, "P1", date(2025, 1, 1))[PlaceKind.EMPLOYMENT].region == "350100"
        assert s.scalars(select(PlaceRow.id).where(PlaceRow.psn_no == "P2")).all() == []
        assert len(moved) == 1


def test_downgrade_to_0006_drops_the_table_and_upgrade_restores_it(db):
    from alembic import command

    from yibao.store.db import alembic_config, migrate

    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    tables = set(inspect(db.engine).get_table_names())
    assert "person_place" not in tables and "person_correction" in tables
    migrate(db.engine)
    assert "person_place" in set(inspect(db.engine).get_table_names())
    _setup(db)  # the triggers are back too
    with db.session() as s:
        with pytest.raises(YibaoError) as info, integrity_guard():
            s.execute(delete(PlaceRow).execution_options(synchronize_session=False))
        assert info.value.code == "APPEND_ONLY_VIOLATION"
