"""Batch jobs on Apache Spark (PySpark): duplicate detection (the job of :mod:`yibao.batch.dedup`)
and coverage timelines (:func:`yibao.batch.timeline.coverage_grid`), scaling beyond the driver.

Duplicate detection: stages 1 (person keys) and 2 (candidates) run as Spark SQL over the Parquet
files; the few document numbers that are not already canonical, and the merged-person
components, go through the same Python as on DuckDB. Stage 3 (the decisions) is the shared
:func:`yibao.batch.dedup.decide_person`, either

* on the **executors** (``decide_on="executors"``, the default): one row per candidate person with
  the person's relations, status changes and contribution lines as arrays of structs
  (``PERSON_FACTS_SQL``), decided in ``mapInArrow`` tasks; only the proposals reach the driver; or
* on the **driver** (``decide_on="driver"``): the candidates' facts are brought over as Arrow and
  decided by :func:`yibao.batch.dedup.proposals_from_facts` (``workers`` processes).

Coverage timelines (:func:`spark_coverage_grid`): persons are shared into buckets (``psn_no`` mod
``buckets``); each bucket's relations, status changes and contribution lines go to one
``applyInArrow`` task, which registers them on its own DuckDB connection and calls
``coverage_grid`` — the same code, so the same answer, as on one machine.

Local mode (tests, one machine): ``spark_session("local[2]")``. On a cluster, submit
``python -m yibao.batch.spark INPUT OUTPUT --on DATE [--job timeline --first M --last M]`` with
``spark-submit`` (docs/batch.md).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from yibao.batch.dedup import (
    CANDIDATE_PERSONS_SQL,
    CANDIDATE_RELATIONS_SQL,
    FACTS_SQL,
    PROPOSAL_SCHEMA,
    REL_SQL,
    Facts,
    Progress,
    _connect,
    decide_person,
    dirty_documents_sql,
    fixed_keys,
    person_map,
    proposals_from_facts,
    register_arrow,
    shared_keys_sql,
)
from yibao.batch.tables import BATCH_INPUT_MISSING, REQUIRED, SCHEMAS, empty
from yibao.dates import YearMonth
from yibao.errors import YibaoError, define
from yibao.explain import jsonable
from yibao.policy import Policy, default_policy

INPUTS = ("documents", "relations", "status_changes", "contributions", "person_context")

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


def _register_inputs(spark, folder: str | Path, names: tuple[str, ...] = INPUTS) -> None:
    """The input files of ``names`` as temporary views (an absent optional file is an empty view;
    the dedup job needs all required files, the timeline job only its own three)."""
    files = _check_folder(spark, folder, names)
    for name in names:
        if name in files:
            spark.read.parquet(files[name]).createOrReplaceTempView(name)
        else:
            spark.createDataFrame([], _ddl(name)).createOrReplaceTempView(name)


def _check_folder(spark, folder: str | Path, names: tuple[str, ...]) -> dict[str, str]:
    """The files of ``names`` in the input folder — a local path or any URI Spark reads (hdfs://,
    s3a://…), looked up through Spark's Hadoop file system; a missing required one is an error."""
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    hadoop_path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path
    files = {}
    for name in names:
        location = f"{str(folder).rstrip('/')}/{name}.parquet"  # the layout of yibao.batch.tables
        path = hadoop_path(location)
        if path.getFileSystem(conf).exists(path):
            files[name] = location
        elif name in REQUIRED:
            raise YibaoError(BATCH_INPUT_MISSING, field="input", name=f"{name}.parquet", where=str(folder))
    return files


def _candidates(spark, folder: str | Path, step: Progress):
    """Stages 1–2 up to the view ``cand_rel`` (cached): returns (that DataFrame, relations scanned)."""
    _register_inputs(spark, folder)
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
    return cand, population


def spark_facts(spark, folder: str | Path, *, progress: Progress | None = None) -> Facts:
    """Stages 1–2, the candidates' facts brought to the driver as Arrow (the driver path)."""
    step = progress or (lambda *_: None)
    cand, population = _candidates(spark, folder, step)
    tables = {name: _to_arrow(spark.sql(sql)) for name, sql in FACTS_SQL.items()}
    cand.unpersist()
    step("facts", tables["contributions"].num_rows, tables["contributions"].num_rows)
    return Facts(tables["relations"], tables["status_changes"], tables["contributions"], tables["context"], population)


# --- stage 3 on the executors -------------------------------------------------------------------

# One row per candidate person: the person's relations (by relation_id, as on the driver), status
# changes and contribution lines as sorted arrays of structs, and the merged context (null if none).
# (No WITH: a common table expression hides the cached ``cand_rel`` from Spark, which recomputes it.)
PERSON_FACTS_SQL = f"""
    SELECT r.person_id, r.relations, s.changes, l.lines, IF(x.person_id IS NULL, NULL, struct(x.*)) AS context
    FROM (
        SELECT person_id, sort_array(collect_list(struct(relation_id, psn_no, insutype, region, psn_type,
                                                         start_date, end_date, person_id))) AS relations
        FROM cand_rel GROUP BY person_id
    ) r LEFT JOIN (
        SELECT c.person_id, sort_array(collect_list(struct(s.relation_id, s.effective, s.status, s.reason))) AS changes
        FROM status_changes s JOIN cand_rel c ON s.relation_id = c.relation_id GROUP BY c.person_id
    ) s ON r.person_id = s.person_id LEFT JOIN (
        SELECT c.person_id, sort_array(collect_list(struct(l.relation_id, l.kind, l.payer, l.paid_on, l.amount,
                                                           l.month, l.benefit_year))) AS lines
        FROM contributions l JOIN cand_rel c ON l.relation_id = c.relation_id GROUP BY c.person_id
    ) l ON r.person_id = l.person_id LEFT JOIN ({FACTS_SQL["context"]}) x ON r.person_id = x.person_id
"""


def decide_batches(detected_on: date, policy: Policy | None = None) -> Callable[[Iterable[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function of stage 3: batches of PERSON_FACTS_SQL rows → proposal rows,
    through the shared :func:`yibao.batch.dedup.decide_person` (runs on the executors; the policy
    is the shipped packs, loaded there from the package data, unless one is given)."""

    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rules = policy if policy is not None else default_policy()
        for batch in batches:
            cols = batch.to_pydict()
            rows: list[dict] = []
            for person, relations, changes, lines, context in zip(
                cols["person_id"], cols["relations"], cols["changes"], cols["lines"], cols["context"]
            ):
                rows.extend(decide_person(person, relations, changes or [], lines or [], context, detected_on, rules))
            yield pa.RecordBatch.from_pylist(rows, schema=PROPOSAL_SCHEMA)

    return run


def proposals_on_executors(spark, detected_on: date, policy: Policy | None = None):
    """Stage 3 as a DataFrame (PROPOSAL_SCHEMA, unsorted) over the view ``cand_rel``."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return spark.sql(PERSON_FACTS_SQL).mapInArrow(decide_batches(detected_on, policy), from_arrow_schema(PROPOSAL_SCHEMA))


def sorted_proposals(table: pa.Table) -> pa.Table:
    """Proposals in the engines' common order, (person, relations)."""
    return table.cast(PROPOSAL_SCHEMA).sort_by([("person_id", "ascending"), ("relations", "ascending")]).combine_chunks()


def _spark_type(arrow_type: pa.DataType) -> str:
    from pyspark.sql.pandas.types import from_arrow_type

    return from_arrow_type(arrow_type).simpleString()


def _ddl(name: str) -> str:
    return ", ".join(f"{f.name} {_spark_type(f.type)}" for f in SCHEMAS[name])


@contextmanager
def _decided_on_executors(spark, folder: str | Path, detected_on: date, policy: Policy | None, step: Progress):
    """Stages 1–2, then (proposals DataFrame, relations scanned) while the candidates are cached."""
    cand, population = _candidates(spark, folder, step)
    try:
        n_relations = cand.count()  # fills the cache the four sides of PERSON_FACTS_SQL read
        step("facts", n_relations, n_relations)
        yield proposals_on_executors(spark, detected_on, policy), population
    finally:
        cand.unpersist()


def write_proposals_spark(
    folder: str | Path, detected_on: date, output: str, policy: Policy | None = None, *, spark=None, progress: Progress | None = None,
) -> int:
    """The job with the decisions on the executors and the proposals written by them as a Parquet
    folder, ordered by (person, relations) — nothing but counts on the driver. Returns the number
    of relations scanned."""
    spark = spark or spark_session()
    with _decided_on_executors(spark, folder, detected_on, policy, progress or (lambda *_: None)) as (decided, population):
        decided.orderBy("person_id", "relations").write.mode("overwrite").parquet(output)
    return population


DECIDE_ON = ("executors", "driver")
BAD_DECIDE_ON = define(
    "BAD_DECIDE_ON", "规则判定位置无效：{value}（应为 executors 或 driver）", "invalid decide_on {value!r} (expected executors or driver)"
)


def detect_parquet_spark(
    folder: str | Path, detected_on: date, policy: Policy | None = None, *, spark=None, progress: Progress | None = None, workers: int = 1,
    decide_on: str = "executors",
) -> tuple[pa.Table, Facts]:
    """The whole job on Spark: (proposals sorted by person and relations, candidate facts).

    ``decide_on="executors"``: stage 3 runs in ``mapInArrow`` tasks over the candidate persons and
    only the proposals reach the driver — the returned :class:`Facts` then carries the population
    count and empty tables. ``decide_on="driver"``: the candidates' facts are brought to the driver
    and decided there by :func:`proposals_from_facts` (``workers`` processes).
    """
    if decide_on not in DECIDE_ON:
        raise YibaoError(BAD_DECIDE_ON, field="decide_on", value=decide_on)
    spark = spark or spark_session()
    if decide_on == "driver":
        facts = spark_facts(spark, folder, progress=progress)
        return proposals_from_facts(facts, detected_on, policy, progress=progress, workers=workers), facts
    step = progress or (lambda *_: None)
    with _decided_on_executors(spark, folder, detected_on, policy, step) as (decided, population):
        proposals = sorted_proposals(_to_arrow(decided))
    step("decide", proposals.num_rows, proposals.num_rows)
    context = pa.schema([(f.name, f.type) for f in SCHEMAS["person_context"] if f.name != "psn_no"])
    facts = Facts(
        empty("relations").append_column("person_id", pa.array([], pa.int64())), empty("status_changes"), empty("contributions"),
        pa.schema([("person_id", pa.int64())] + list(context)).empty_table(), population,
    )
    return proposals, facts


# --- batch timelines on the executors -----------------------------------------------------------

GRID_TABLES = ("relations", "status_changes", "contributions")
GRID_SCHEMA = pa.schema([
    ("psn_no", pa.int64()),
    ("fast", pa.bool_()),
    ("covered", pa.list_(pa.bool_())),
    ("error", pa.string()),  # JSON {code, field, details} when the rules could not decide (row uncovered)
])


def _bucket_sql(buckets: int) -> tuple[str, str]:
    """The two sides of the timeline job's cogroup, both keyed by ``bucket`` (the person's
    ``psn_no`` mod ``buckets``): the contribution lines as they are (the bulk), and the relations
    and status changes as one long table tagged ``tag`` (0 relation, 1 status change) with the
    union of their columns."""
    def bucket(psn_no: str) -> str:
        return f"pmod({psn_no}, {buckets}) AS bucket"

    lines = f"SELECT {bucket('r.psn_no')}, t.* FROM contributions t JOIN relations r ON t.relation_id = r.relation_id"
    columns: dict[str, str] = {}
    for name in GRID_TABLES[:2]:
        for field in SCHEMAS[name]:
            columns.setdefault(field.name, _spark_type(field.type))
    parts = []
    for tag, name in enumerate(GRID_TABLES[:2]):
        own = set(SCHEMAS[name].names)
        cols = ", ".join(f"t.{c}" if c in own else f"CAST(NULL AS {t}) AS {c}" for c, t in columns.items())
        if name == "relations":
            parts.append(f"SELECT {bucket('t.psn_no')}, {tag} AS tag, {cols} FROM relations t")
        else:
            parts.append(f"SELECT {bucket('r.psn_no')}, {tag} AS tag, {cols} FROM {name} t JOIN relations r ON t.relation_id = r.relation_id")
    return lines, "\nUNION ALL\n".join(parts)


def grid_of_bucket(
    first: YearMonth, last: YearMonth, as_known_on: date, policy: Policy | None = None,
) -> Callable[[pa.Table, pa.Table], pa.Table]:
    """The cogroup ``applyInArrow`` function of the timeline job: one bucket's lines and tagged
    relations/status changes → its grid rows, by :func:`yibao.batch.timeline.coverage_grid` on a
    fresh one-thread DuckDB connection."""
    import pyarrow.compute as pc

    def table_of(rows: pa.Table, name: str) -> pa.Table:
        schema = SCHEMAS[name]
        return rows.select(schema.names).cast(schema) if rows.num_columns else schema.empty_table()

    def run(lines: pa.Table, people: pa.Table) -> pa.Table:
        from yibao.batch.timeline import coverage_grid

        tag = people.column("tag") if people.num_columns else pa.array([], pa.int32())
        tables = {
            "contributions": table_of(lines, "contributions"),
            **{name: table_of(people.filter(pc.equal(tag, i)), name) for i, name in enumerate(GRID_TABLES[:2])},
        }
        con = _connect(1)
        try:
            register_arrow(con, tables)
            grid = coverage_grid(con, first, last, as_known_on, policy if policy is not None else default_policy())
        finally:
            con.close()
        return grid_table(grid)

    return run


def grid_table(grid) -> pa.Table:
    """A :class:`~yibao.batch.timeline.CoverageGrid` as rows (GRID_SCHEMA): ``covered[i]`` is the
    1st of month ``first + i``; ``error`` says why the rules could not decide a person."""
    n_persons, n_months = grid.covered.shape
    offsets = pa.array(np.arange(n_persons + 1, dtype=np.int32) * n_months, pa.int32())
    errors = grid.errors
    return pa.table(
        [pa.array(grid.persons, pa.int64()), pa.array(grid.fast, pa.bool_()),
         pa.ListArray.from_arrays(offsets, pa.array(grid.covered.ravel(), pa.bool_())),
         pa.array([_error_json(errors[p]) if p in errors else None for p in grid.persons.tolist()], pa.string())],
        schema=GRID_SCHEMA,
    )


def _error_json(error: YibaoError) -> str:
    return json.dumps({"code": error.code, "field": error.field, "details": jsonable(error.details)}, ensure_ascii=False)


def _error_of(text: str) -> YibaoError:
    data = json.loads(text)
    return YibaoError(data["code"], field=data["field"], **data["details"])


def spark_coverage_grid(
    spark, folder: str | Path, first: YearMonth, last: YearMonth, as_known_on: date, policy: Policy | None = None, *,
    buckets: int | None = None,
):
    """The person × month coverage grid of :func:`yibao.batch.timeline.coverage_grid` for every
    person of the Parquet folder, computed on the executors: persons are shared into ``buckets``
    groups (``psn_no`` mod ``buckets``; default ``spark.sql.shuffle.partitions``), each decided by
    ``coverage_grid`` on its own DuckDB connection. Returns a DataFrame of GRID_SCHEMA (unsorted);
    :func:`collect_grid` for small results, ``.write.parquet(...)`` for large ones."""
    from pyspark.sql.pandas.types import from_arrow_schema

    buckets = buckets or int(spark.conf.get("spark.sql.shuffle.partitions"))
    _register_inputs(spark, folder, GRID_TABLES)
    lines, people = _bucket_sql(buckets)
    return (
        spark.sql(lines).groupBy("bucket")
        .cogroup(spark.sql(people).groupBy("bucket"))
        .applyInArrow(grid_of_bucket(first, last, as_known_on, policy), from_arrow_schema(GRID_SCHEMA))
    )


def collect_grid(df, first: YearMonth, last: YearMonth):
    """The grid rows of :func:`spark_coverage_grid` brought to the driver as a ``CoverageGrid``."""
    from yibao.batch.timeline import CoverageGrid

    table = df.toArrow().sort_by("psn_no")
    n_months = last - first + 1
    covered = table.column("covered").combine_chunks()
    flat = covered.flatten() if len(covered) else pa.array([], pa.bool_())
    persons = np.asarray(table.column("psn_no").to_numpy(), dtype=np.int64)
    errors = {int(p): _error_of(e) for p, e in zip(persons.tolist(), table.column("error").to_pylist()) if e is not None}
    return CoverageGrid(
        persons,
        first,
        np.asarray(flat.to_numpy(zero_copy_only=False), dtype=bool).reshape(table.num_rows, n_months),
        np.asarray(table.column("fast").to_numpy(zero_copy_only=False), dtype=bool),
        errors,
    )


def main(argv: list[str] | None = None) -> None:  # entry point for spark-submit
    import pyarrow.parquet as pq

    parser = argparse.ArgumentParser(description="yibao batch jobs on Spark: duplicate detection, coverage timelines")
    parser.add_argument("input", help="folder of Parquet files: a local path or a URI (hdfs://, s3a://…)")
    parser.add_argument("output", help="dedup: proposals Parquet file (a folder with --write-on executors); timeline: Parquet folder")
    parser.add_argument("--on", default=date.today().isoformat(), help="detection date (dedup) / as known on (timeline)")
    parser.add_argument("--job", choices=("dedup", "timeline"), default="dedup")
    parser.add_argument("--decide-on", choices=DECIDE_ON, default="executors", help="dedup: where the rule decisions run")
    parser.add_argument("--write-on", choices=("driver", "executors"), default="driver",
                        help="dedup: who writes the proposals — the driver (one file) or the executors (a folder)")
    parser.add_argument("--first", help="timeline: first month, e.g. 2025-01")
    parser.add_argument("--last", help="timeline: last month, e.g. 2026-12")
    parser.add_argument("--buckets", type=int, default=None, help="timeline: person buckets (default shuffle partitions)")
    args = parser.parse_args(argv)
    on = date.fromisoformat(args.on)
    spark = spark_session(None)  # master from spark-submit
    if args.job == "timeline":
        if not (args.first and args.last):
            parser.error("--job timeline needs --first and --last")
        first, last = YearMonth.parse(args.first, field="first"), YearMonth.parse(args.last, field="last")
        grid = spark_coverage_grid(spark, args.input, first, last, on, buckets=args.buckets)
        grid.write.mode("overwrite").parquet(args.output)
        print(f"coverage {first}..{last} as known on {on} → {args.output} (covered[i] = 1st of month {first} + i)")
        return
    if args.write_on == "executors":
        if args.decide_on != "executors":
            parser.error("--write-on executors needs --decide-on executors")
        population = write_proposals_spark(args.input, on, args.output, spark=spark)
        print(f"{population} relations scanned, proposals → {args.output} (Parquet folder)")
        return
    proposals, _ = detect_parquet_spark(args.input, on, spark=spark, decide_on=args.decide_on)
    pq.write_table(proposals, args.output)
    print(f"{proposals.num_rows} proposals → {args.output}")


if __name__ == "__main__":
    main()
