"""Read-only questions the records service has no use case for: persons by name, a region's figures.

Like ``yibao.api.access`` these are queries on the store's tables (the region rule is the API's own
``_in_regions``); every change still goes through :class:`RecordsService`. A region's figures that
need the rules (arrears, coming loss of cover, duplicate cover) come from each person's timeline,
computed once per region, day and state of the data (a cheap fingerprint of the fact tables).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.api.access import _in_regions  # the API's region rule, reused as is
from yibao.codes import InsuStatus, Scheme
from yibao.dates import YearMonth
from yibao.model import Enrollment, EventKind, StatusChange
from yibao.rules.entitlement import ActionKind, MonthKind, build_timeline
from yibao.service.records import RecordsService
from yibao.store import repository as repo
from yibao.store.correction_models import PersonCorrectionRow, RelationCorrectionRow
from yibao.store.models import (
    AuditRow,
    DeathRow,
    DocumentRow,
    EnrollmentRow,
    LineRow,
    PersonRow,
    StatusChangeRow,
)

MAX_NAME_RESULTS = 50
LOSS_HORIZON_DAYS = 90
DUPLICATE_CODE = "DUPLICATE_ENROLLMENT"


@dataclass(frozen=True)
class Found:
    psn_no: str
    name: str
    birth_date: date | None
    sex: str | None
    documents: list[tuple[str, str]]  # (cert_type, number) — masked by the caller


def persons_by_name(session: Session, name: str, regions: list[str] | None) -> tuple[list[Found], bool]:
    """Persons of ``regions`` (None: all) whose current name (as corrected, ``person_correction``)
    contains ``name``; at most 50, and whether more exist. A name corrected away is not found by
    its old spelling (docs/decisions.md: the console's name search)."""
    pattern = f"%{name.strip()}%"
    cur = repo.current_person()
    rows = session.execute(
        select(PersonRow.psn_no, cur.name, cur.birth_date, cur.sex).select_from(cur.source)
        .where(_in_regions(regions), cur.name.like(pattern)).order_by(cur.name, PersonRow.psn_no).limit(MAX_NAME_RESULTS + 1)
    ).all()
    more = len(rows) > MAX_NAME_RESULTS
    rows = rows[:MAX_NAME_RESULTS]
    docs: dict[str, list[tuple[str, str]]] = {r.psn_no: [] for r in rows}
    if rows:
        for d in session.scalars(
            select(DocumentRow).where(DocumentRow.psn_no.in_(list(docs)), DocumentRow.superseded_at.is_(None)).order_by(DocumentRow.id)
        ):
            docs[d.psn_no].append((d.cert_type.value, d.number))
    return [Found(r.psn_no, r.name, r.birth_date, r.sex, docs[r.psn_no]) for r in rows], more


@dataclass
class RegionCounts:
    """Persons and relations of a region by insurance type and status today (plain queries, fast)."""

    region: str
    today: date
    people: int = 0
    relations_by: dict[tuple[str, str], int] = field(default_factory=dict)  # (insutype, status) -> relations
    people_by: dict[tuple[str, str], int] = field(default_factory=dict)  # (insutype, status) -> persons
    names: dict[str, str] = field(default_factory=dict)  # psn_no -> name
    normal: set[tuple[str, str]] = field(default_factory=set)  # (psn_no, relation_id) in normal status today


@dataclass
class Attention:
    """Who needs a clerk: from each person's timeline (computed once per region, day and data state)."""

    region: str
    arrears: list[tuple[str, str, int]] = field(default_factory=list)  # (psn_no, name, months owed)
    losing: list[tuple[str, str, date, str]] = field(default_factory=list)  # (psn_no, name, last covered day, relation)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (psn_no, name)
    examined: int = 0


def region_counts(service: RecordsService, region: str) -> RegionCounts:
    today = service.today()
    out = RegionCounts(region, today)
    cur = repo.current_person()  # the names as corrected now
    rel = repo.current_relation()  # and the relations' psn_type, start and end (更正参保关系)
    with service.sessions() as session:
        rels = session.execute(
            select(EnrollmentRow.id, EnrollmentRow.psn_no, EnrollmentRow.relation_id, EnrollmentRow.insutype, rel.psn_type, rel.start, rel.end, cur.name)
            .select_from(rel.source.join(cur.source, PersonRow.psn_no == EnrollmentRow.psn_no))
            .where(EnrollmentRow.region == region, PersonRow.merged_into.is_(None))
        ).all()
        changes: dict[int, list[StatusChange]] = {}
        ids = [r.id for r in rels]
        for chunk in range(0, len(ids), 900):
            for c in session.scalars(
                select(StatusChangeRow).where(StatusChangeRow.enrollment_id.in_(ids[chunk : chunk + 900]), StatusChangeRow.superseded_at.is_(None))
            ):
                changes.setdefault(c.enrollment_id, []).append(StatusChange(c.effective, c.status, c.status_reason))
    people_by: dict[tuple[str, str], set[str]] = {}
    for r in rels:
        e = Enrollment(r.relation_id, r.insutype, region, r.psn_type, r.start, r.end, tuple(changes.get(r.id, ())))
        status = e.status_on(today)  # the model's own status rule (R-CODE-003)
        status = InsuStatus.TERMINATED if status is InsuStatus.NOT_ENROLLED and e.end is not None and e.end < today else status
        k = (r.insutype.value, status.value)
        out.relations_by[k] = out.relations_by.get(k, 0) + 1
        people_by.setdefault(k, set()).add(r.psn_no)
        out.names[r.psn_no] = r.name
        if status is InsuStatus.NORMAL:
            out.normal.add((r.psn_no, r.relation_id))
    out.people_by = {k: len(v) for k, v in people_by.items()}
    out.people = len(out.names)
    return out


def _fingerprint(session: Session) -> tuple:
    # every correction writes an audit row, a withdrawal (a superseded row and no new one) too
    return tuple(session.execute(select(func.count(), func.max(t.id))).one() for t in (EnrollmentRow, StatusChangeRow, LineRow, DeathRow, PersonCorrectionRow, RelationCorrectionRow, AuditRow)) + tuple(
        session.execute(select(func.count()).select_from(PersonRow)).one()
    )


_cache: dict[tuple, Attention] = {}
_lock = threading.Lock()


def attention(service: RecordsService, region: str) -> Attention:
    """Arrears, coming loss of cover and duplicate cover in ``region``, cached until the data or the day change."""
    today = service.today()
    with service.sessions() as session:
        key = (id(service), region, today, _fingerprint(session))
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    found = _attention(service, region_counts(service, region))
    with _lock:
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = found
    return found


def _attention(service: RecordsService, counts: RegionCounts) -> Attention:
    region, today = counts.region, counts.today
    out = Attention(region)
    horizon = today + timedelta(days=LOSS_HORIZON_DAYS)
    this_month = YearMonth.of(today)
    with service.sessions() as session:  # one session for every person's facts
        for psn_no in sorted(counts.names):
            name = counts.names[psn_no]
            facts = repo.load_facts(session, psn_no)
            t = build_timeline(facts, service.policy, today)
            out.examined += 1
            # arrears (欠费): on an employee relation in normal status, the unpaid months from the last paid one up to
            # last month (the open gap), and the gaps the rules propose to back-pay
            retired = bool(facts.events_of(EventKind.RETIRED) or facts.events_of(EventKind.PENSION_START))  # retirees pay nothing (R-RET)
            employee = {
                e.relation_id for e in facts.enrollments
                if e.scheme is Scheme.EMPLOYEE and not e.psn_type.is_retired and not retired and (psn_no, e.relation_id) in counts.normal
            }
            owed = {(a.relation_id, m) for a in t.actions if a.kind is ActionKind.BACKPAY and a.relation_id in employee for m in a.months}
            for rid in employee:
                grid = sorted((m for m in t.months if m.relation_id == rid and m.month < this_month), key=lambda m: m.month, reverse=True)
                for m in grid:
                    if m.kind is not MonthKind.UNPAID:
                        break
                    owed.add((rid, m.month))
            if owed:
                out.arrears.append((psn_no, name, len(owed)))
            now = [p for p in t.periods if p.region == region and p.contains(today)]
            if now and all(p.end is not None and p.end < horizon for p in t.periods_on(today)):
                last = max(p.end for p in t.periods_on(today) if p.end is not None)
                if not t.covered(last + timedelta(days=1)):
                    out.losing.append((psn_no, name, last, now[0].relation_id))
            if any(n.code == DUPLICATE_CODE for n in t.notices):
                out.duplicates.append((psn_no, name))
    out.arrears.sort(key=lambda a: (-a[2], a[0]))
    out.losing.sort(key=lambda a: (a[2], a[0]))
    return out


__all__ = ["Attention", "Found", "RegionCounts", "attention", "persons_by_name", "region_counts"]
