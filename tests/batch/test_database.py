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
