"""The same job on Spark (local mode) gives identical proposals to DuckDB (issue 4, "Done means")."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq

from yibao.batch.dedup import detect_parquet

ON = date(2026, 1, 15)


def test_spark_and_duckdb_give_identical_proposals(population, spark) -> None:
    from yibao.batch.spark import detect_parquet_spark

    on_spark, spark_facts = detect_parquet_spark(population.folder, ON, spark=spark, decide_on="driver")
    on_duckdb, duck_facts = detect_parquet(population.folder, ON)
    assert on_spark.num_rows == pq.read_table(population.folder / "truth.parquet").num_rows > 0
    assert on_spark.equals(on_duckdb)
    assert spark_facts.population == duck_facts.population
    assert spark_facts.relations.equals(duck_facts.relations)
