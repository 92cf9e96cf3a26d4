"""Duplicate detection and proposals on DuckDB (R-DUP-001…009, R-ID-005, E-05, E-12)."""

from __future__ import annotations

import json
from datetime import date

import pyarrow.parquet as pq
import pytest

from batch.helpers import months, tables
from yibao.batch.dedup import PROPOSAL_SCHEMA, detect_arrow, detect_parquet
from yibao.policy import default_policy

ON = date(2026, 1, 15)


def _pairs(proposals) -> set[tuple[str, ...]]:
    return {tuple(sorted(r.split(","), key=int)) for r in proposals.column("relations").to_pylist()}


def test_planted_duplicates_are_all_found_with_no_false_positives(population) -> None:
    proposals, facts = detect_parquet(population.folder, ON)
    truth = pq.read_table(population.folder / "truth.parquet").to_pylist()
    planted = {(str(t["first"]), str(t["second"])) for t in truth}
    assert _pairs(proposals) == planted
    assert facts.population == population.relations
    # decoys (suspended, terminated, never paid, riders) were candidates and were rejected by the rules
    assert facts.relations.num_rows > 2 * len(planted)
    by_kind = {t["kind"] for t in truth}
    assert set(proposals.column("kind").to_pylist()) == by_kind
    assert proposals.schema.equals(PROPOSAL_SCHEMA)


@pytest.mark.parametrize("seed", [21, 22])
def test_planted_duplicates_other_seeds(tmp_path, seed) -> None:
    from yibao.batch.synth import synthesize

    summary = synthesize(tmp_path, relations=8000, seed=seed, dup_rate=0.02, decoy_rate=0.02)
    proposals, _ = detect_parquet(summary.folder, ON)
    truth = pq.read_table(summary.folder / "truth.parquet").to_pylist()
    assert _pairs(proposals) == {(str(t["first"]), str(t["second"])) for t in truth}


def test_every_proposal_explains_itself(population) -> None:
    proposals, _ = detect_parquet(population.folder, ON)
    for row in proposals.to_pylist():
        reasons = json.loads(row["reasons"])
        assert reasons[0]["rule_id"] == "R-DUP-001"
        assert row["rule_id"] in {r["rule_id"] for r in reasons}
        assert all(r["citations"] for r in reasons if r["rule_id"].startswith("R-DUP"))
        if row["outcome"] == "RESOLVED":
            assert row["kept"] and row["change_relation"] and row["action"] in ("TERMINATED", "SUSPENDED")
            assert row["effective"] == row["overlap_start"]
        else:
            assert row["review_code"] == "DUP_MANUAL_REVIEW"
        if row["kind"] == "RESIDENT_RESIDENT" and row["outcome"] == "RESOLVED":
            assert row["subsidy_total"] > 0 and row["subsidy_region"] == row["change_region"]


def test_e12_spellings_are_merged_before_detection() -> None:
    docs = [
        (1, "01", "110101199003070011"),
        (2, "01", "１１０１０１１９９００３０７００１１"),  # full-width digits
        (3, "01", "110101900307001"),  # the 15-digit legacy number of the same person
        (4, "01", "11010119900307002x"),  # another person, lower-case x
        (5, "01", "11010119900307002X"),  # … the same as person 4
    ]
    rels = [
        {"id": 10, "psn": 1, "region": "350100", "start": date(2025, 1, 1), "end": date(2025, 12, 31), "years": [2025]},
        {"id": 20, "psn": 2, "region": "510500", "start": date(2025, 1, 1), "end": date(2025, 12, 31), "years": [2025]},
        {"id": 40, "psn": 4, "insutype": "310", "start": date(2024, 1, 1), "months": months((2024, 1), (2024, 12))},
        {"id": 50, "psn": 5, "insutype": "310", "region": "210200", "start": date(2024, 6, 1), "end": date(2024, 8, 31),
         "months": months((2024, 6), (2024, 8))},
        {"id": 30, "psn": 3, "insutype": "310", "region": "140200", "start": date(2023, 1, 1), "end": date(2023, 12, 31),
         "months": months((2023, 1), (2023, 12))},
    ]
    proposals, facts = detect_arrow(tables(docs, rels), ON)
    assert _pairs(proposals) == {("10", "20"), ("40", "50")}
    assert dict(zip(proposals.column("relations").to_pylist(), proposals.column("person_id").to_pylist())) == {"10,20": 1, "40,50": 4}
    assert set(facts.relations.column("person_id").to_pylist()) == {1, 4}  # person 3 (merged into 1) has no candidate pair


def test_e12_without_normalisation_the_duplicate_would_be_missed() -> None:
    """The same two relations on two unrelated numbers are not a duplicate: merging is what finds it."""
    docs = [(1, "01", "110101199003070011"), (2, "01", "11010119900307002X")]
    rels = [
        {"id": 10, "psn": 1, "start": date(2025, 1, 1), "end": date(2025, 12, 31), "years": [2025]},
        {"id": 20, "psn": 2, "region": "510500", "start": date(2025, 1, 1), "end": date(2025, 12, 31), "years": [2025]},
    ]
    proposals, _ = detect_arrow(tables(docs, rels), ON)
    assert proposals.num_rows == 0


def test_e05_open_ends_touching_years_and_suspended_relations() -> None:
    docs = [(1, "01", "110101199003070011"), (2, "01", "11010119900307002X"), (3, "01", "110101198001010010")]
    rels = [
        # person 1: two open-ended 310 relations, both paid → duplicate, open overlap
        {"id": 1, "psn": 1, "insutype": "310", "region": "510500", "start": date(2024, 1, 1), "months": months((2024, 1), (2025, 12))},
        {"id": 2, "psn": 1, "insutype": "310", "region": "210200", "start": date(2025, 1, 1), "months": months((2025, 1), (2025, 12))},
        # person 2: 390 ending 2025-12-31 and 390 starting 2026-01-01 → touching, no overlap
        {"id": 3, "psn": 2, "start": date(2025, 1, 1), "end": date(2025, 12, 31), "years": [2025]},
        {"id": 4, "psn": 2, "region": "220000", "start": date(2026, 1, 1), "years": [2026]},
        # person 3: seasonal 310 while the 390 is suspended → not a duplicate
        {"id": 5, "psn": 3, "insutype": "310", "start": date(2025, 5, 1), "end": date(2025, 8, 31), "months": months((2025, 5), (2025, 8))},
        {"id": 6, "psn": 3, "start": date(2025, 1, 1), "end": date(2025, 12, 31), "years": [2025],
         "status": [(date(2025, 5, 1), "2"), (date(2025, 9, 1), "1")]},
    ]
    proposals, _ = detect_arrow(tables(docs, rels), ON)
    assert _pairs(proposals) == {("1", "2")}
    row = proposals.to_pylist()[0]
    assert row["overlap_start"] == date(2025, 1, 1) and row["overlap_end"] == date(2025, 12, 31)


def test_context_decides_the_kept_relation() -> None:
    docs = [(1, "01", "110101199003070011")]
    rels = [
        {"id": 1, "psn": 1, "region": "350121", "start": date(2025, 1, 1), "end": date(2025, 12, 31), "years": [2025]},
        {"id": 2, "psn": 1, "region": "350100", "start": date(2025, 1, 1), "end": date(2025, 12, 31), "years": [2025]},
    ]
    unknown, _ = detect_arrow(tables(docs, rels), ON)
    known, _ = detect_arrow(tables(docs, rels, [{"psn_no": 1, "habitual_region": "350100"}]), ON)
    assert unknown.column("outcome").to_pylist() == ["MANUAL_REVIEW"]
    row = known.to_pylist()[0]
    assert (row["outcome"], row["rule_id"], row["kept"], row["change_relation"], row["action"]) == ("RESOLVED", "R-DUP-003", "2", "1", "TERMINATED")
    assert str(row["subsidy_total"]) == "700.00" and row["notice_to"] == "350121" and row["notice_from"] == "350100"


def test_fingerprint_changes_only_with_the_facts() -> None:
    docs = [(1, "01", "110101199003070011")]
    rels = [
        {"id": 1, "psn": 1, "region": "350121", "start": date(2025, 1, 1), "end": date(2025, 12, 31), "years": [2025]},
        {"id": 2, "psn": 1, "region": "350100", "start": date(2025, 1, 1), "end": date(2025, 12, 31), "years": [2025]},
    ]
    a, _ = detect_arrow(tables(docs, rels), ON)
    b, _ = detect_arrow(tables(docs, rels), date(2026, 2, 1))
    rels[1]["years"] = [2024, 2025]
    c, _ = detect_arrow(tables(docs, rels), ON)
    assert a.column("fingerprint").to_pylist() == b.column("fingerprint").to_pylist() != c.column("fingerprint").to_pylist()


def test_two_workers_give_the_same_proposals(population) -> None:
    one, _ = detect_parquet(population.folder, ON)
    from yibao.batch.dedup import (
        _connect,
        duckdb_facts,
        proposals_from_facts,
        register_parquet,
    )

    con = _connect()
    register_parquet(con, population.folder)
    facts = duckdb_facts(con)
    two = proposals_from_facts(facts, ON, default_policy(), workers=2, min_parallel=1)
    assert one.equals(two)
