"""Spark with the decisions and the timelines on the executors gives the DuckDB answers (issue 4)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yibao.batch.dedup import _connect, detect_parquet, register_parquet
from yibao.batch.timeline import coverage_grid
from yibao.dates import YearMonth
from yibao.errors import YibaoError
from yibao.policy import default_policy

ON = date(2026, 1, 15)


def test_a_policy_given_in_code_is_shipped_to_the_executors(population, spark) -> None:
    from yibao.batch.spark import detect_parquet_spark
    from yibao.policy import load_policy

    stages: dict[str, tuple[int, int]] = {}
    proposals, facts = detect_parquet_spark(
        population.folder, ON, load_policy(), spark=spark, progress=lambda stage, done, total: stages.__setitem__(stage, (done, total)),
    )
    expected, duck_facts = detect_parquet(population.folder, ON)
    assert proposals.num_rows > 0 and proposals.equals(expected)
    assert facts.population == duck_facts.population == stages["candidates"][0]
    assert stages["facts"][0] == duck_facts.relations.num_rows  # candidate relations, counted on the cluster
    assert facts.relations.num_rows == 0  # only the proposals came back to the driver


def test_cluster_entry_point_writes_the_same_proposals_from_the_executors(population, spark, tmp_path) -> None:
    from yibao.batch.spark import main, sorted_proposals

    out = tmp_path / "proposals"
    main([str(population.folder), str(out), "--on", ON.isoformat(), "--write-on", "executors"])
    written = pq.read_table(out)  # a folder of part files, in (person, relations) order
    assert written.num_rows > 0
    assert sorted_proposals(written).equals(detect_parquet(population.folder, ON)[0])
    assert written.column("person_id").to_pylist() == sorted(written.column("person_id").to_pylist())


def test_unknown_decide_on_is_refused(population, spark) -> None:
    from yibao.batch.spark import detect_parquet_spark

    with pytest.raises(YibaoError) as raised:
        detect_parquet_spark(population.folder, ON, spark=spark, decide_on="everywhere")
    assert (raised.value.code, raised.value.field) == ("BAD_DECIDE_ON", "decide_on")


def test_the_timeline_job_needs_its_three_files(tmp_path, spark) -> None:
    from yibao.batch.spark import spark_coverage_grid
    from yibao.batch.tables import empty

    pq.write_table(empty("relations"), tmp_path / "relations.parquet")
    pq.write_table(empty("contributions"), tmp_path / "contributions.parquet")
    with pytest.raises(YibaoError) as raised:
        spark_coverage_grid(spark, tmp_path, YearMonth(2025, 1), YearMonth(2025, 12), date(2025, 12, 20))
    assert raised.value.code == "BATCH_INPUT_MISSING" and raised.value.details["name"] == "status_changes.parquet"


def test_spark_coverage_grid_equals_duckdb(tmp_path, spark) -> None:
    from yibao.batch.spark import collect_grid, main, spark_coverage_grid
    from yibao.batch.synth import synthesize

    folder = synthesize(tmp_path / "pop", relations=3000, seed=5).folder
    _regions_with_packs(folder)
    first, last, known = YearMonth(2024, 1), YearMonth(2026, 3), date(2025, 11, 20)
    con = _connect(1)
    try:
        register_parquet(con, folder)
        expected = coverage_grid(con, first, last, known)
    finally:
        con.close()
    assert len(expected.persons) > 1000
    assert expected.fast.any() and not expected.fast.all()  # both paths of coverage_grid are exercised
    assert expected.covered.any() and not expected.covered.all()
    assert expected.errors  # the people of the region without a pack

    in_memory = collect_grid(spark_coverage_grid(spark, folder, first, last, known, buckets=3), first, last)
    main([str(folder), str(tmp_path / "grid"), "--job", "timeline", "--first", "2024-01", "--last", "2026-03",
          "--on", known.isoformat(), "--buckets", "2"])
    from_parquet = collect_grid(spark.read.parquet(str(tmp_path / "grid")), first, last)
    for got in (in_memory, from_parquet):
        assert got.first == expected.first
        np.testing.assert_array_equal(got.persons, expected.persons)
        np.testing.assert_array_equal(got.covered, expected.covered)
        np.testing.assert_array_equal(got.fast, expected.fast)
        assert {p: str(e) for p, e in got.errors.items()} == {p: str(e) for p, e in expected.errors.items()}


def _regions_with_packs(folder) -> None:
    """The synthetic regions mapped onto those the shipped policy packs know (the timeline rules
    need each region's parameters; the dedup job does not), but for one unknown region."""
    relations = pq.read_table(folder / "relations.parquet")
    known = default_policy().regions()
    codes = relations.column("region").to_pylist()
    mapping = {code: known[i % len(known)] for i, code in enumerate(sorted(set(codes)))}
    mapping[min(codes)] = "999999"  # one region without a pack: its people are reported, not guessed
    column = pa.array([mapping[c] for c in codes], relations.schema.field("region").type)
    pq.write_table(relations.set_column(relations.schema.get_field_index("region"), "region", column), folder / "relations.parquet")
