"""Bulk loading of whole new persons (a migration, a benchmark population): the rows of
:func:`yibao.store.repository.add_facts`, written table by table instead of row by row.

The rows are plain dictionaries built with the repository's own rules (documents normalised and
checked, money checked, ``recorded_at``/``recorded_on_unknown`` stamped by ``_stamp``), with primary
keys taken in blocks from the tables' sequences (PostgreSQL) or after the highest id (SQLite, whose
single writer the transaction holds). PostgreSQL receives them by ``COPY`` (through the columns'
own type conversions), SQLite by one ``executemany`` per table. A test checks that every table then
holds exactly the rows ``add_facts`` writes, on both backends.

A person whose facts need the careful path — a relation that follows another, a line that corrects
another, a line key used twice — is written by ``add_facts`` itself, in the same transaction.
Conflicts with what the database already holds (a document another person holds, an existing
person number or payment key) fail the whole batch with the repository's typed error; the caller
rolls back (the transaction is all or nothing) and may retry person by person. The persons'
coverage projections are invalidated when the transaction commits, as for any write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao import ids as id_numbers
from yibao.errors import INVALID_INPUT, YibaoError
from yibao.model import PersonFacts
from yibao.store import projection
from yibao.store import repository as repo
from yibao.store.errors import DUPLICATE_PERSON_KEY, integrity_guard, translate
from yibao.store.models import (
    DeathRow,
    DocumentRow,
    EnrollmentRow,
    EventRow,
    GroupRow,
    LineRow,
    PersonRow,
    ServicePeriodRow,
    StatusChangeRow,
    WageRow,
)
from yibao.store.types import check_money

_TABLES = (DocumentRow, GroupRow, EventRow, ServicePeriodRow, DeathRow, EnrollmentRow, StatusChangeRow, WageRow, LineRow)


def _needs_careful_path(facts: PersonFacts) -> bool:
    keys = [c.key for c in facts.contributions if c.key]
    relation_ids = [e.relation_id for e in facts.enrollments]
    return (
        any(e.previous_relation_id for e in facts.enrollments)
        or any(c.supersedes for c in facts.contributions)
        or len(keys) != len(set(keys))
        or len(relation_ids) != len(set(relation_ids))
        or any(c.relation_id not in relation_ids for c in facts.contributions)
    )


class _Ids:
    """Primary keys handed out in blocks."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def take(self, model: Any, n: int) -> list[int]:
        if n == 0:
            return []
        table = model.__tablename__
        if self.postgres:
            taken = self.session.scalar(
                text("SELECT array_agg(nextval(pg_get_serial_sequence(:t, 'id'))) FROM generate_series(1, :n)"), {"t": table, "n": n}
            )
            return list(taken)
        top = self.session.scalar(select(func.max(model.id))) or 0
        return list(range(top + 1, top + 1 + n))


def _stamped(by: str, recorded_on: Any, when: datetime, migration: bool) -> dict[str, Any]:
    return {"recorded_by": by, **repo._stamp(recorded_on, when, migration)}


def _fact_columns(model: Any) -> dict[str, Any]:
    """The nullable columns every row of ``model`` carries, so that all rows have the same keys."""
    out: dict[str, Any] = {}
    if hasattr(model, "supersedes_id"):
        out.update(supersedes_id=None, reason=None, superseded_at=None, superseded_by_id=None)
    return out


def bulk_add_facts(session: Session, people: Sequence[PersonFacts], *, by: str, at: datetime | None = None, migration: bool = True) -> int:
    """Write new persons' facts, as ``add_facts`` would; returns how many were written."""
    who, when = repo._who(by), repo._now(at)
    simple = [p for p in people if not _needs_careful_path(p)]
    careful = [p for p in people if _needs_careful_path(p)]
    seen: dict[tuple, str] = {}
    rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in (PersonRow, *_TABLES)}
    relations: list[tuple[dict[str, Any], Any]] = []
    base = {m: _fact_columns(m) for m in _TABLES}
    for facts in simple:
        psn_no = facts.person_id
        if len(psn_no) > 40:
            raise YibaoError(INVALID_INPUT, field="person_id", reason="a person number has at most 40 characters")
        rows[PersonRow].append(dict(psn_no=psn_no, name=facts.name or "", birth_date=facts.birth_date, sex=facts.sex, merged_into=None,
                                    merged_at=None, recorded_at=when, recorded_by=who))
        for i, doc in enumerate(facts.documents):
            try:
                key = repo.document_key(doc.cert_type, doc.number, doc.nationality)
            except YibaoError as exc:
                exc.field = f"documents.{i}.{'nationality' if exc.field == 'nationality' else 'number'}"
                raise
            holder = seen.get(key[:3])
            if holder == psn_no:
                continue  # the same document listed twice is stored once
            if holder is not None:
                raise YibaoError(DUPLICATE_PERSON_KEY, field=f"documents.{i}.number", cert_type=key[0].value, number=id_numbers.mask(key[1]),
                                 existing=holder)
            seen[key[:3]] = psn_no
            cert_type, number, key_nationality, nationality = key
            rows[DocumentRow].append(dict(base[DocumentRow], psn_no=psn_no, cert_type=cert_type, number=number, key_nationality=key_nationality,
                                          nationality=nationality, valid_from=doc.valid_from, **_stamped(who, doc.recorded_on, when, migration)))
        for g in facts.groups:
            rows[GroupRow].append(dict(base[GroupRow], psn_no=psn_no, group_code=g.group, start_date=g.start, end_date=g.end, region=g.region,
                                       **_stamped(who, g.recorded_on, when, migration)))
        for e in facts.events:
            rows[EventRow].append(dict(base[EventRow], psn_no=psn_no, kind=e.kind, event_date=e.on, region=e.region,
                                       **_stamped(who, e.recorded_on, when, migration)))
        for sp in facts.service_periods:
            rows[ServicePeriodRow].append(dict(base[ServicePeriodRow], psn_no=psn_no, start_month=sp.start, end_month=sp.end,
                                               **_stamped(who, sp.recorded_on, when, migration)))
        if facts.death_date is not None:
            rows[DeathRow].append(dict(base[DeathRow], psn_no=psn_no, death_date=facts.death_date,
                                       **_stamped(who, facts.death_recorded_on, when, migration)))
        for e in facts.enrollments:
            rel = dict(psn_no=psn_no, relation_id=e.relation_id, insutype=e.insutype, region=e.region, psn_type=e.psn_type, start_date=e.start,
                       end_date=e.end, employer=e.employer, previous_id=None, **_stamped(who, e.recorded_on, when, migration))
            rows[EnrollmentRow].append(rel)
            relations.append((rel, e))
    ids = _Ids(session)
    for model in (DocumentRow, GroupRow, EventRow, ServicePeriodRow, DeathRow, EnrollmentRow):
        for row, new_id in zip(rows[model], ids.take(model, len(rows[model]))):
            row["id"] = new_id
    relation_ids: dict[tuple[str, str], int] = {}
    for rel, e in relations:
        relation_ids[(rel["psn_no"], rel["relation_id"])] = rel["id"]
        for change in e.status_changes:
            rows[StatusChangeRow].append(dict(
                base[StatusChangeRow], enrollment_id=rel["id"], effective_date=change.effective, status=change.status,
                status_reason=change.reason, note=change.note or "", **_stamped(change.recorded_by or who, change.recorded_on, when, migration),
            ))
        for i, w in enumerate(e.wages):
            rows[WageRow].append(dict(
                base[WageRow], enrollment_id=rel["id"], from_month=w.from_month,
                monthly_wage=check_money(w.monthly_wage, field=f"wages.{i}.monthly"), recorded_by=who, recorded_at=rel["recorded_at"],
            ))
    for facts in simple:
        for i, line in enumerate(facts.contributions):
            field = f"contributions.{i}"
            rows[LineRow].append(dict(
                base[LineRow], enrollment_id=relation_ids[(facts.person_id, line.relation_id)], kind=line.kind, payer=line.payer,
                paid_on=line.paid_on, amount=check_money(line.amount, field=f"{field}.amount"), month=line.month,
                benefit_year=line.benefit_year, fund=line.fund, base=None if line.base is None else check_money(line.base, field=f"{field}.base"),
                months_credited=line.months_credited, idempotency_key=line.key, legacy_benefit_start=line.legacy_benefit_start,
                **_stamped(who, line.recorded_on, when, migration),
            ))
    for model in (StatusChangeRow, WageRow, LineRow):
        for row, new_id in zip(rows[model], ids.take(model, len(rows[model]))):
            row["id"] = new_id
    with integrity_guard():
        for model in (PersonRow, *_TABLES):
            _write(session, model.__table__, rows[model], ids.postgres)
    projection.touch(session, (p.person_id for p in simple))
    for facts in careful:
        repo.add_facts(session, facts, by=who, at=when, migration=migration)
    return len(simple) + len(careful)


def _write(session: Session, table: Table, rows: list[dict[str, Any]], postgres: bool) -> None:
    if not rows:
        return
    if not postgres:
        session.execute(insert(table), rows)
        return
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in columns]
    raw = session.connection().connection.driver_connection
    names = ", ".join(f'"{name}"' for name in columns)
    try:
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([p(row[c]) if p is not None else row[c] for c, p in zip(columns, processors)])
    except psycopg.errors.IntegrityError as exc:  # the driver's own error: typed like the ORM path's
        raise translate(IntegrityError(f"COPY {table.name}", None, exc)) from exc


__all__ = ["bulk_add_facts"]
