"""Helpers of the import tests: the demo population as import files, and a content dump of the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from yibao.demo import population
from yibao.importer import rows_from_facts, write_files
from yibao.model import PersonFacts
from yibao.store.models import Base

# Surrogate keys and the moment of writing differ between two imports of the same file; everything
# else (the content) must be equal. Foreign keys to surrogate keys are replaced by what they point at.
_VOLATILE = {"id", "recorded_at", "supersedes_id", "superseded_by_id", "row_id", "replacement_id"}


@lru_cache(maxsize=4)
def demo_people(size: int, today: date | None = None) -> tuple[PersonFacts, ...]:
    """The demo population (as of ``today``, default the generator's own)."""
    return tuple(p.facts for p in (population(size, today=today) if today else population(size)))


def export(people, directory: Path, fmt: str) -> list[Path]:
    return write_files(rows_from_facts(people), directory, fmt)


def normalised(facts: PersonFacts) -> PersonFacts:
    """What an import keeps of generated facts: lines get an idempotency key, status changes name who wrote them."""
    return replace(
        facts,
        contributions=tuple(replace(c, key=None) for c in facts.contributions),
        enrollments=tuple(replace(e, status_changes=tuple(replace(s, recorded_by="") for s in e.status_changes)) for e in facts.enrollments),
    )


def dump(engine: Engine) -> dict[str, list[tuple]]:
    """Every fact table by content: sorted rows without surrogate ids or writing times."""
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        enrollments = {r.id: (r.psn_no, r.relation_id) for r in conn.execute(select(Base.metadata.tables["enrollment"]))}
        for table in Base.metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = []
            for r in conn.execute(select(table)):
                m: dict[str, Any] = dict(r._mapping)
                if "enrollment_id" in m:
                    m["enrollment_id"] = enrollments[m["enrollment_id"]]
                if "previous_id" in m:
                    m["previous_id"] = enrollments.get(m["previous_id"])
                if m.get("superseded_at") is not None:
                    m["superseded_at"] = "set"
                rows.append(tuple((k, v) for k, v in sorted(m.items()) if k not in _VOLATILE))
            out[table.name] = sorted(rows, key=repr)
    return out
