"""Every example case survives the database: same facts, same benefit timeline, as known on any K."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from yibao.casefile import read_case
from yibao.errors import YibaoError
from yibao.policy import default_policy
from yibao.rules.entitlement import build_timeline
from yibao.store import repository as repo

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "cases").glob("*.*"))


def _knowledge_dates(path: Path, facts) -> list[date | None]:
    """None, the --as-known-on dates the example suggests, and every date something was recorded or paid."""
    text = path.read_text(encoding="utf-8")
    suggested = {date.fromisoformat(d) for d in re.findall(r"as-known-on (\d{4}-\d{2}-\d{2})(?: and (\d{4}-\d{2}-\d{2}))?", text)[0] if d} if "as-known-on" in text else set()
    recorded = {c.recorded_on or c.paid_on for c in facts.contributions}
    recorded |= {s.recorded_on for e in facts.enrollments for s in e.status_changes if s.recorded_on}
    return [None, *sorted(suggested | recorded)]


def _policy(overrides):
    policy = default_policy()
    for region, values in overrides.items():
        policy = policy.with_overrides(region, values, label="case")
    return policy


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_round_trips(db, path):
    facts, overrides = read_case(path)
    with db.Session.begin() as session:
        repo.add_facts(session, facts, by="import:test")
    policy = _policy(overrides)
    with db.session() as session:
        assert repo.load_facts(session, facts.person_id) == facts
        for k in _knowledge_dates(path, facts):
            stored = repo.load_facts(session, facts.person_id, as_known_on=k)
            assert stored == facts.known_on(k), k
            assert _periods(stored, policy, k) == _periods(facts, policy, k), k


def _periods(facts, policy, k):
    """The benefit periods, or the error code when the engine refuses these facts (the same both ways)."""
    try:
        return build_timeline(facts, policy, k).periods
    except YibaoError as exc:
        return exc.code


def test_all_examples_in_one_database(db):
    """Relation ids are per person: every example's "R1" lives side by side."""
    originals = [read_case(p)[0] for p in EXAMPLES]
    with db.Session.begin() as session:
        for facts in originals:
            repo.add_facts(session, facts, by="import:test")
    with db.session() as session:
        for facts in originals:
            assert repo.load_facts(session, facts.person_id) == facts


def test_a_case_with_a_correction(db):
    """A correction carried by migrated data: hidden when known, the old line before that — as the model says."""
    from yibao.casefile import parse_case

    facts, _ = parse_case({
        "person": {"id": "P-1", "documents": [{"type": "01", "number": "110101199003070011"}]},
        "enrollments": [{"id": "E1", "insutype": "310", "region": "220000", "psn_type": "1103", "start": "2025-01-01"}],
        "contributions": [
            {"relation": "E1", "month": "2025-01", "paid_on": "2025-01-05", "amount": "400.00", "key": "a"},
            {"relation": "E1", "month": "2025-01", "paid_on": "2025-02-01", "amount": "420.00", "key": "b", "supersedes": "a",
             "recorded_on": "2025-02-01"},
        ],
    })
    with db.Session.begin() as session:
        repo.add_facts(session, facts, by="import:test")
    with db.session() as session:
        assert [c.key for c in repo.load_facts(session, "P-1").contributions] == ["b"]
        for k in (date(2025, 1, 5), date(2025, 1, 31), date(2025, 2, 1), date(2025, 3, 1)):
            assert repo.load_facts(session, "P-1", as_known_on=k) == facts.known_on(k), k
