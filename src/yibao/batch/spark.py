"""Duplicate detection on Apache Spark (PySpark) — the same job as :mod:`yibao.batch.dedup`.

Stages 1 (person keys) and 2 (candidates and their facts) run as Spark SQL over the Parquet
files; the few document numbers that are not already canonical, and the merged-person
components, go through the same Python as on DuckDB; stage 3 (the decisions) is the shared
:func:`yibao.batch.dedup.proposals_from_facts`. The candidates' facts are small (a few per cent
of the population) and are brought to the driver as Arrow; at national scale, stage 3 can run on
the executors instead with ``mapInArrow`` over persons (see docs/batch.md).

Local mode (tests, one machine): ``spark_session("local[2]")``. On a cluster, submit
``python -m yibao.batch.spark INPUT OUTPUT --on DATE`` with ``spark-submit`` (docs/batch.md).
"""

from __future__ import annotations

import argparse
from datetime import date
from functools import cache
from pathlib import Path

import pyarrow as pa

from yibao.batch.dedup import (
    CANDIDATE_PERSONS_SQL,
    CANDIDATE_RELATIONS_SQL,
    FACTS_SQL,
    REL_SQL,
    Facts,
    Progress,
    dirty_documents_sql,
    fixed_keys,
    person_map,
    proposals_from_facts,
    shared_keys_sql,
)
from yibao.batch.tables import check_folder
from yibao.policy import Policy

CLEAN_SPARK = (
    "cert_no RLIKE '^[0-9A-Z]+$' AND NOT (cert_type = '01' AND length(cert_no) = 15) "
    "AND (cert_type <> '08' OR coalesce(nationality, '') RLIKE '^[A-Z]{3}$')"
)


@cache
def spark_session(master: str | None = "local[2]"):
    """One shared session per process (Spark is slow to start)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("yibao-dedup")
    if master:
        builder = builder.master(master)
    session = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _to_arrow(df) -> pa.Table:
    return df.toArrow()


def spark_facts(spark, folder: Path, *, progress: Progress | None = None) -> Facts:
    step = progress or (lambda *_: None)
    files = check_folder(Path(folder))
    for name in ("documents", "relations", "status_changes", "contributions", "person_context"):
        if name in files:
            spark.read.parquet(str(files[name])).createOrReplaceTempView(name)
        else:
            spark.createDataFrame([], _ddl(name)).createOrReplaceTempView(name)
    dirty = spark.sql(dirty_documents_sql(CLEAN_SPARK)).collect()
    spark.createDataFrame(fixed_keys(dirty).to_pylist(), "psn_no bigint, key string").createOrReplaceTempView("fixed_keys")
    persons = person_map((r.psn_no, r.key) for r in spark.sql(shared_keys_sql(CLEAN_SPARK)).collect())
    spark.createDataFrame(persons.to_pylist(), "psn_no bigint, person_id bigint").createOrReplaceTempView("person_map")
    step("persons", persons.num_rows, persons.num_rows)
    rel = spark.sql(REL_SQL)
    rel.createOrReplaceTempView("rel")
    population = rel.count()
    spark.sql(CANDIDATE_PERSONS_SQL).createOrReplaceTempView("cand_person")
    cand = spark.sql(CANDIDATE_RELATIONS_SQL).cache()
    cand.createOrReplaceTempView("cand_rel")
    step("candidates", population, population)
    tables = {name: _to_arrow(spark.sql(sql)) for name, sql in FACTS_SQL.items()}
    cand.unpersist()
    step("facts", tables["contributions"].num_rows, tables["contributions"].num_rows)
    return Facts(tables["relations"], tables["status_changes"], tables["contributions"], tables["context"], population)


def _ddl(name: str) -> str:
    from yibao.batch.tables import SCHEMAS

    types = {"int64": "bigint", "string": "string", "date32[day]": "date", "bool": "boolean", "int32": "int"}
    return ", ".join(f"{f.name} {types.get(str(f.type), 'decimal(14,2)')}" for f in SCHEMAS[name])


def detect_parquet_spark(
    folder: Path, detected_on: date, policy: Policy | None = None, *, spark=None, progress: Progress | None = None, workers: int = 1,
) -> tuple[pa.Table, Facts]:
    spark = spark or spark_session()
    facts = spark_facts(spark, folder, progress=progress)
    return proposals_from_facts(facts, detected_on, policy, progress=progress, workers=workers), facts


def main(argv: list[str] | None = None) -> None:  # entry point for spark-submit
    import pyarrow.parquet as pq

    parser = argparse.ArgumentParser(description="yibao duplicate detection on Spark")
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path, help="proposals Parquet file")
    parser.add_argument("--on", default=date.today().isoformat())
    args = parser.parse_args(argv)
    spark = spark_session(None)  # master from spark-submit
    proposals, _ = detect_parquet_spark(args.input, date.fromisoformat(args.on), spark=spark)
    pq.write_table(proposals, args.output)
    print(f"{proposals.num_rows} proposals → {args.output}")


if __name__ == "__main__":
    main()
