"""A killed import leaves no partial batch, and running it again ends with the database of a clean import.

The import runs in a subprocess (``python -m yibao.cli_import``) that is killed with SIGKILL at random
points — while it starts, while it writes persons and relations, in the middle of the lines — several
times; after each kill every batch is in the database whole or not at all; then a last run completes
and every fact table equals, row by row (by content), a database filled by one uninterrupted import.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from yibao.importer import import_files
from yibao.service.records import _line_key
from yibao.store.db import create_engine_for

from .importing import demo_people, dump, export

BATCH = 50
PEOPLE = 40  # about 4 300 rows: a run takes a second or two, long enough to be killed anywhere
KILLS = {"sqlite": 5, "postgresql": 4}


def _count(url: str, backend: str, table: str) -> int:
    try:
        if backend == "sqlite":  # a plain reader: no BEGIN IMMEDIATE, so the importer is never held up
            con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=1)
            try:
                return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            finally:
                con.close()
        engine = create_engine(url.replace("postgresql+psycopg", "postgresql+psycopg"), pool_size=1)
        try:
            with engine.connect() as conn:
                return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        finally:
            engine.dispose()
    except Exception:  # the table does not exist yet (the run is still migrating)
        return 0


def _stored_keys(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT idempotency_key FROM contribution_line")).scalars())
    finally:
        engine.dispose()


def _command(files, url: str, report: Path) -> list[str]:
    return [sys.executable, "-m", "yibao.cli_import", *map(str, files), "--database", url, "--batch-size", str(BATCH),
            "--report", str(report), "--migration"]


@pytest.fixture
def reference_url(db, request, tmp_path) -> str:
    if db.backend == "sqlite":
        return f"sqlite:///{tmp_path / 'reference.db'}"
    return request.getfixturevalue("postgres").create_database(migrated=True)


def test_killed_imports_resume_to_a_clean_import(db, reference_url, tmp_path):
    people = demo_people(PEOPLE, date(2025, 6, 30))
    files = export(people, tmp_path / "in", "csv")
    total_lines = sum(len(p.contributions) for p in people)
    key_batches = [[_line_key(p.person_id, c) for p in people for c in p.contributions][i:i + BATCH] for i in range(0, total_lines, BATCH)]

    clean = import_files(files, reference_url, batch_size=BATCH, migration=True)
    assert clean.ok and clean.imported == clean.read

    rng = random.Random(20251123)
    kills = 0
    for attempt in range(KILLS[db.backend]):
        proc = subprocess.Popen(_command(files, db.url, tmp_path / "report.csv"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            if attempt == 0:  # while it starts, migrates or writes the people
                time.sleep(rng.uniform(0.2, 0.9))
            elif attempt == 1:  # as soon as relations are there: writing relations, statuses or the first lines
                while proc.poll() is None and _count(db.url, db.backend, "enrollment") == 0 and time.monotonic() < deadline:
                    time.sleep(0.005)
            else:  # somewhere in the lines still to come
                done = _count(db.url, db.backend, "contribution_line")
                target = done + rng.randint(1, max(1, total_lines - done))
                while proc.poll() is None and _count(db.url, db.backend, "contribution_line") < target and time.monotonic() < deadline:
                    time.sleep(0.01)
        finally:
            if proc.poll() is None:
                proc.kill()
                kills += 1
            proc.wait(30)
        stored = _stored_keys(db.url)
        for i, batch in enumerate(key_batches):  # every batch whole or absent
            present = sum(1 for k in batch if k in stored)
            assert present in (0, len(batch)), f"attempt {attempt}: batch {i} of the lines is partial ({present}/{len(batch)})"
    assert kills >= KILLS[db.backend] - 1, "the import finished before it could be killed: make it longer"

    final = subprocess.run(_command(files, db.url, tmp_path / "report.csv"), capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stdout + final.stderr
    reference = create_engine_for(reference_url)
    try:
        assert dump(db.engine) == dump(reference)
    finally:
        reference.dispose()
