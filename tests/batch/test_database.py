"""`yibao dedup` on the store's database (SQLite and a real PostgreSQL): the demo population,
with its planted duplicate residents, seasonal workers and scheme switchers, gives exactly the
groups the reference rules find person by person."""

from __future__ import annotations

from datetime import date

from store.conftest import backend, db  # noqa: F401 (fixtures: SQLite and PostgreSQL)

from yibao import demo
from yibao.batch.database import read_database, with_store_keys
from yibao.batch.dedup import detect_arrow
from yibao.rules.duplicate import find_duplicates
from yibao.store import repository as repo

TODAY = date(2026, 11, 23)


def test_database_dedup_equals_the_reference(db) -> None:  # noqa: F811
    people = list(demo.population(400, today=TODAY))
    with db.session() as session, session.begin():
        for person in people:
            repo.add_facts(session, person.facts, by="test")
    expected = set()
    for person in people:
        f = person.facts
        for group in find_duplicates(f.person_id, f.enrollments, f.contributions):
            expected.add((f.person_id, group.relation_ids))
    assert expected, "the demo population plants duplicate residents"
    source = read_database(db.url)
    proposals, facts = detect_arrow(source.tables, TODAY)
    proposals = with_store_keys(proposals, source)
    found = {(p, tuple(sorted(k.split(",")))) for p, k in zip(proposals.column("psn_no").to_pylist(), proposals.column("relation_keys").to_pylist())}
    assert found == expected
    assert facts.population == sum(len(p.facts.enrollments) for p in people)
    assert set(proposals.column("kind").to_pylist()) == {"RESIDENT_RESIDENT"}


def test_a_corrected_relation_period_is_what_the_batch_reads(db) -> None:  # noqa: F811
    """Moving the start of the second of two overlapping relations past the overlap (a correction,
    revision 0006) removes the duplicate, in the batch read as in the reference rules."""
    from dataclasses import replace
    from datetime import timedelta

    people = list(demo.population(400, today=TODAY))
    with db.session() as session, session.begin():
        for person in people:
            repo.add_facts(session, person.facts, by="test")
    f = next(p.facts for p in people if find_duplicates(p.facts.person_id, p.facts.enrollments, p.facts.contributions))
    group = find_duplicates(f.person_id, f.enrollments, f.contributions)[0]
    overlap = group.overlaps[0]
    start = overlap.end + timedelta(days=1)
    with db.session() as session, session.begin():
        repo.correct_relation(session, f.person_id, overlap.second, {"start": start}, reason="测试 / test", by="test")
    corrected = replace(f, enrollments=tuple(replace(e, start=start) if e.relation_id == overlap.second else e for e in f.enrollments))
    expected = {g.relation_ids for g in find_duplicates(f.person_id, corrected.enrollments, corrected.contributions)}
    assert group.relation_ids not in expected  # the correction removed the overlap
    source = read_database(db.url)
    proposals, _ = detect_arrow(source.tables, TODAY)
    proposals = with_store_keys(proposals, source)
    found = {
        tuple(sorted(k.split(",")))
        for p, k in zip(proposals.column("psn_no").to_pylist(), proposals.column("relation_keys").to_pylist())
        if p == f.person_id
    }
    assert found == expected


def test_a_store_of_an_earlier_revision_is_upgraded_before_it_is_read(tmp_path) -> None:
    """`yibao dedup|timelines --database` on a store written before revision 0007 (person_place):
    upgraded like every other entry point, not an internal error."""
    from yibao.batch.database import read_database
    from yibao.store.db import create_engine_for, current_revision, migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0006")
    source = read_database(url)
    assert source.tables["relations"].num_rows == 0 and source.tables["person_context"].num_rows == 0
    engine = create_engine_for(url)
    try:
        assert current_revision(engine) != "0006"
    finally:
        engine.dispose()
