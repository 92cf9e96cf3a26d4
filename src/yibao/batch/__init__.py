"""Columnar batch jobs over whole populations (DESIGN §6): Arrow tables, DuckDB embedded, Spark for scale.

* :mod:`yibao.batch.tables` — the data layout (Arrow schemas of the Parquet files) and readers
  from Parquet or from the store's database.
* :mod:`yibao.batch.synth` — a deterministic synthetic population with planted duplicates.
* :mod:`yibao.batch.dedup` — duplicate detection and resolution proposals on DuckDB.
* :mod:`yibao.batch.spark` — the same job on Apache Spark (PySpark).

The batch engines only *find candidates* and *gather facts* in SQL; every decision comes from the
pure rules (:mod:`yibao.rules.duplicate`), so batch and reference cannot disagree (DESIGN §2).
"""
