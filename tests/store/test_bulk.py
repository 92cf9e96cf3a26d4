"""The bulk loader writes exactly the rows ``add_facts`` writes, on SQLite and PostgreSQL.

Demo people (varied histories: wages, status changes, groups, deaths, lump sums …) are written once
with ``bulk_add_facts`` and once, into a second database, with ``add_facts``; every table then holds
the same rows (ids aside), and every person reads back as the facts it was made of. Conflicts fail
the whole batch with the repository's typed error.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from yibao import demo
from yibao.errors import YibaoError
from yibao.store import repository as repo
from yibao.store.bulk import bulk_add_facts
from yibao.store.db import create_engine_for, migrate, session_factory
from yibao.store.models import Base

AT = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
ID_COLUMNS = {"id", "enrollment_id", "previous_id", "supersedes_id", "superseded_by_id"}


def _people(n: int = 80):
    people = [p.facts for p in demo.population(n, today=date(2026, 11, 23))]
    # one that needs the careful path: a relation that follows another
    last = people[-1]
    if len(last.enrollments) >= 1:
        first = last.enrollments[0]
        follower = replace(first, relation_id=first.relation_id + "-2", previous_relation_id=first.relation_id, start=date(2026, 1, 1), status_changes=(), wages=())
        people[-1] = replace(last, enrollments=last.enrollments + (follower,))
    return people


def _rows(engine) -> dict[str, list[tuple]]:
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in ("coverage_projection",) or table.name.startswith("api_"):
                continue
            cols = [c for c in table.columns if c.name not in ID_COLUMNS]
            out[table.name] = sorted(tuple(str(v) for v in r) for r in conn.execute(select(*cols)))
    return out


def test_bulk_rows_equal_add_facts_rows(db, tmp_path):
    people = _people()
    with db.Session.begin() as session:
        assert bulk_add_facts(session, people, by="loader", at=AT) == len(people)
    reference = create_engine_for(f"sqlite:///{tmp_path / 'reference.db'}")
    migrate(reference)
    with session_factory(reference).begin() as session:
        for facts in people:
            repo.add_facts(session, facts, by="loader", at=AT)
    bulk, ref = _rows(db.engine), _rows(reference)
    assert sum(len(v) for v in bulk.values()) > 10 * len(people)
    for table in ref:
        assert bulk[table] == ref[table], table
    with db.Session() as session, session_factory(reference)() as other:
        for facts in people:
            assert repo.load_facts(session, facts.person_id) == repo.load_facts(other, facts.person_id)
    reference.dispose()


def test_a_second_batch_takes_new_ids(db):
    people = _people(40)
    with db.Session.begin() as session:
        bulk_add_facts(session, people[:20], by="loader", at=AT)
    with db.Session.begin() as session:
        bulk_add_facts(session, people[20:], by="loader", at=AT)
    with db.Session() as session:
        for facts in people:
            loaded = repo.load_facts(session, facts.person_id)
            assert (loaded.documents, loaded.contributions) == (facts.documents, facts.contributions)


def test_a_document_held_already_fails_the_whole_batch(db):
    people = _people(10)
    with db.Session.begin() as session:
        bulk_add_facts(session, people[:1], by="loader", at=AT)
    twin = replace(people[0], person_id="TWIN-1")
    with pytest.raises(YibaoError) as info:
        with db.Session.begin() as session:
            bulk_add_facts(session, [*people[1:5], twin], by="loader", at=AT)
    assert info.value.code == "DUPLICATE_PERSON_KEY"
    with db.Session() as session:
        assert repo.find_person(session, people[1].documents[0].cert_type, people[1].documents[0].number) is None


def test_the_same_document_twice_in_one_batch_is_refused(db):
    people = _people(3)
    twin = replace(people[0], person_id="TWIN-2")
    with pytest.raises(YibaoError) as info:
        with db.Session.begin() as session:
            bulk_add_facts(session, [people[0], twin], by="loader", at=AT)
    assert (info.value.code, info.value.field) == ("DUPLICATE_PERSON_KEY", "documents.0.number")
