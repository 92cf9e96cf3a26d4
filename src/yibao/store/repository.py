"""Persistence operations on the store, each inside a session the caller owns (the service layer
begins and commits the transaction; a :class:`~yibao.errors.YibaoError` means: roll back).

Append-only: there is no function that updates or deletes a fact. A correction is a new row that
*supersedes* the old one, with a reason (:func:`supersede_line`, :func:`supersede_fact`); the old row
stays in its table with its supersede markers set, and an ``audit_log`` row says who, when, why and what.

Writing facts:

* ``by`` names who writes; ``at`` is when (default: now). A fact's ``recorded_on``, when given, is
  kept as that day in Asia/Shanghai (a migration or a back-dated entry says when the agency
  learned it); when absent, ``recorded_at = at`` — unless ``migration=True``, which stores that the
  source did not say (``recorded_on_unknown``), so that :func:`load_facts` gives ``recorded_on=None``
  back and the rules use the fact's own date, exactly as for the case file.
* Document numbers are normalised and validated (:func:`yibao.ids.validate_document`, migration
  mode) before they are stored, so full-width or lower-case variants meet the same person key.

Reading: :func:`load_facts` rebuilds :class:`yibao.model.PersonFacts` as known on a date.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any, Iterable, NamedTuple, Sequence, TypeVar

from sqlalchemy import and_, case, outerjoin, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from yibao import ids
from yibao.codes import CertType
from yibao.errors import INVALID_INPUT, YibaoError, define
from yibao.model import (
    ContributionLine,
    DeclaredWage,
    Enrollment,
    GroupMembership,
    IdentityDocument,
    LifeEvent,
    PersonFacts,
    ServicePeriod,
    StatusChange,
)
from yibao.store.correction_models import (
    PERSON_FIELDS,
    RELATION_FIELDS,
    PersonCorrectionRow,
    RelationCorrectionRow,
)
from yibao.store.errors import (
    ALREADY_SUPERSEDED,
    DEATH_ALREADY_RECORDED,
    DUPLICATE_PERSON,
    DUPLICATE_PERSON_KEY,
    DUPLICATE_RELATION,
    IDEMPOTENCY_CONFLICT,
    LINE_NOT_FOUND,
    MERGE_CONFLICT,
    PERSON_MERGED,
    PERSON_NOT_FOUND,
    REASON_REQUIRED,
    RELATION_NOT_FOUND,
    integrity_guard,
    translate,
)
from yibao.store.models import (
    FACT_TABLES,
    AuditRow,
    Base,
    DeathRow,
    DocumentRow,
    EnrollmentRow,
    EventRow,
    GroupRow,
    LineRow,
    PersonRow,
    ServicePeriodRow,
    StatusChangeRow,
    Supersedable,
    WageRow,
)
from yibao.store.place_models import PlaceKind, PlaceRow
from yibao.store.types import check_money, shanghai_date, start_of_shanghai_day, utcnow

MERGE_PERSON = "MERGE_PERSON"
SUPERSEDE = "SUPERSEDE"
CORRECT_RELATION = "CORRECT_RELATION"
CORRECT_PERSON = "CORRECT_PERSON"

CORRECTION_UNCHANGED = define(
    "CORRECTION_UNCHANGED",
    "更正内容与当前记录相同（{what}），未做任何更改",
    "the correction gives the values already recorded ({what}); nothing was changed",
)

# Tables whose rows belong to a person directly (moved by a merge); lines, status changes, wages and
# relation corrections belong to an enrollment and move with it. The case tables (revision 0004) and
# any later fact table that lets a merge move ``psn_no`` (``FACT_TABLES``) move too: see
# :func:`_moved_by_merge`. Person corrections stay with the person they correct.
OWNED_BY_PERSON: tuple[type, ...] = (DocumentRow, GroupRow, EventRow, ServicePeriodRow, DeathRow, EnrollmentRow)

R = TypeVar("R")


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _who(by: str) -> str:
    if not isinstance(by, str) or not by.strip():
        raise YibaoError(INVALID_INPUT, field="by", reason="recorded_by is required / 必须注明记录人")
    return by.strip()


def _now(at: datetime | None) -> datetime:
    if at is None:
        return utcnow()
    if at.tzinfo is None or at.utcoffset() is None:
        raise YibaoError(INVALID_INPUT, field="at", reason="a timestamp with a time zone is required")
    return at


def _stamp(recorded_on: date | None, at: datetime, migration: bool) -> dict[str, Any]:
    """``recorded_at`` and ``recorded_on_unknown`` for a fact (see the module doc)."""
    if recorded_on is None:
        return {"recorded_at": at, "recorded_on_unknown": migration}
    if shanghai_date(at) == recorded_on:
        return {"recorded_at": at, "recorded_on_unknown": False}
    return {"recorded_at": start_of_shanghai_day(recorded_on), "recorded_on_unknown": False}


def _recorded_on(row: Any) -> date | None:
    return None if row.recorded_on_unknown else shanghai_date(row.recorded_at)


def _reason(reason: str | None) -> str:
    if reason is None or not str(reason).strip():
        raise YibaoError(REASON_REQUIRED, field="reason")
    return str(reason).strip()


def _flush(session: Session) -> None:
    with integrity_guard():
        session.flush()


def _audit(session: Session, *, action: str, psn_no: str, reason: str, by: str, at: datetime, **values: Any) -> AuditRow:
    detail = values.pop("detail", {})
    row = AuditRow(
        action=action, psn_no=psn_no, reason=reason, recorded_by=by, recorded_at=at,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str), **values,
    )
    session.add(row)
    return row


# --------------------------------------------------------------------------------------
# persons and documents
# --------------------------------------------------------------------------------------


def get_person(session: Session, psn_no: str, *, follow_merges: bool = False) -> PersonRow:
    """The person ``psn_no``; ``PERSON_NOT_FOUND``, or ``PERSON_MERGED`` unless ``follow_merges``."""
    person = session.get(PersonRow, psn_no)
    if person is None:
        raise YibaoError(PERSON_NOT_FOUND, field="psn_no", psn_no=psn_no)
    seen = {person.psn_no}
    while person.merged_into is not None:
        if not follow_merges:
            raise YibaoError(
                PERSON_MERGED, field="psn_no", psn_no=person.psn_no, merged_into=person.merged_into,
                merged_at=person.merged_at.isoformat() if person.merged_at else "?",
            )
        person = session.get(PersonRow, person.merged_into)  # type: ignore[assignment]
        if person is None or person.psn_no in seen:  # pragma: no cover - the merge code prevents cycles
            raise YibaoError(PERSON_NOT_FOUND, field="psn_no", psn_no=psn_no)
        seen.add(person.psn_no)
    return person


def document_key(cert_type: CertType | str, number: str, nationality: str | None = None) -> tuple[CertType, str, str, str | None]:
    """(cert_type, normalised number, key nationality, nationality to store) for a document (R-ID-005).

    Raises the validation error of :func:`yibao.ids.validate_document` (migration mode) if the
    number is not a valid document of that type.
    """
    doc = ids.validate_document(cert_type, number, nationality=nationality, migration=True)
    key_nationality = doc.person_key[2] if len(doc.person_key) > 2 else ""
    stored_nationality = doc.nationality if doc.cert_type is CertType.FOREIGN_PASSPORT else nationality
    return doc.cert_type, doc.number, key_nationality, stored_nationality


def _current_document(session: Session, cert_type: CertType, number: str, key_nationality: str) -> DocumentRow | None:
    return session.scalars(
        select(DocumentRow).where(
            DocumentRow.cert_type == cert_type,
            DocumentRow.number == number,
            DocumentRow.key_nationality == key_nationality,
            DocumentRow.superseded_at.is_(None),
        )
    ).first()


def find_person(session: Session, cert_type: CertType | str, number: str, nationality: str | None = None) -> PersonRow | None:
    """The person holding a document (any document of the history), by its normalised number.

    Follows merges to the surviving person. A foreign passport (08) needs its nationality.
    """
    kind, normalised, key_nationality, _ = document_key(cert_type, number, nationality)
    row = _current_document(session, kind, normalised, key_nationality)
    return None if row is None else get_person(session, row.psn_no, follow_merges=True)


def add_person(
    session: Session,
    *,
    by: str,
    psn_no: str | None = None,
    name: str = "",
    birth_date: date | None = None,
    sex: str | None = None,
    documents: Iterable[IdentityDocument] = (),
    at: datetime | None = None,
    migration: bool = False,
) -> PersonRow:
    """Register a person with documents. ``psn_no`` is generated when not given.

    ``DUPLICATE_PERSON_KEY`` if a document already belongs to someone (nothing is written then,
    provided the caller rolls back), ``DUPLICATE_PERSON`` if ``psn_no`` exists.
    """
    who, when = _who(by), _now(at)
    if sex not in (None, "M", "F"):
        raise YibaoError(INVALID_INPUT, field="sex", reason="sex is M or F")
    psn_no = psn_no or uuid.uuid4().hex
    if session.get(PersonRow, psn_no) is not None:
        raise YibaoError(DUPLICATE_PERSON, field="psn_no", psn_no=psn_no)
    docs, keys, seen = [], [], set()
    for i, doc in enumerate(documents):
        key = _checked_document(session, None, doc, i)
        if key is not None and key[:3] not in seen:  # the same document listed twice is stored once
            seen.add(key[:3])
            docs.append(doc)
            keys.append(key)
    person = PersonRow(psn_no=psn_no, name=name or "", birth_date=birth_date, sex=sex, recorded_at=when, recorded_by=who)
    session.add(person)
    _flush(session)
    for doc, key in zip(docs, keys):
        _insert_document(session, psn_no, doc, key, who, when, migration)
    return person


def _checked_document(session: Session, psn_no: str | None, doc: IdentityDocument, index: int | None = None) -> tuple | None:
    """The document's key, or None if ``psn_no`` already holds it; ``DUPLICATE_PERSON_KEY`` if another person does."""
    field = "documents" if index is None else f"documents.{index}"
    try:
        key = document_key(doc.cert_type, doc.number, doc.nationality)
    except YibaoError as exc:
        exc.field = f"{field}.{'nationality' if exc.field == 'nationality' else 'number'}"
        raise
    existing = _current_document(session, key[0], key[1], key[2])
    if existing is None:
        return key
    if psn_no is not None and existing.psn_no == psn_no:
        return None
    raise YibaoError(DUPLICATE_PERSON_KEY, field=f"{field}.number", cert_type=key[0].value, number=ids.mask(key[1]), existing=existing.psn_no)


def _insert_document(session: Session, psn_no: str, doc: IdentityDocument, key: tuple, by: str, at: datetime, migration: bool) -> DocumentRow:
    cert_type, number, key_nationality, nationality = key
    row = DocumentRow(
        psn_no=psn_no, cert_type=cert_type, number=number, key_nationality=key_nationality, nationality=nationality,
        valid_from=doc.valid_from, recorded_by=by, **_stamp(doc.recorded_on, at, migration),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same document
        _checked_document(session, psn_no, doc)
        raise translate(exc) from exc
    return row


def add_document(
    session: Session, psn_no: str, document: IdentityDocument, *, by: str, at: datetime | None = None, migration: bool = False
) -> DocumentRow:
    """Add a document to a person's history. Re-adding one the person holds returns the existing row."""
    who, when = _who(by), _now(at)
    get_person(session, psn_no)
    key = _checked_document(session, psn_no, document)
    if key is None:
        return _current_document(session, *document_key(document.cert_type, document.number, document.nationality)[:3])  # type: ignore[return-value]
    return _insert_document(session, psn_no, document, key, who, when, migration)


# --------------------------------------------------------------------------------------
# groups, events, service, death
# --------------------------------------------------------------------------------------


def add_group(session: Session, psn_no: str, group: GroupMembership, *, by: str, at: datetime | None = None, migration: bool = False) -> GroupRow:
    who, when = _who(by), _now(at)
    get_person(session, psn_no)
    row = GroupRow(psn_no=psn_no, group=group.group, start=group.start, end=group.end, region=group.region,
                   recorded_by=who, **_stamp(group.recorded_on, when, migration))
    session.add(row)
    _flush(session)
    return row


def add_event(session: Session, psn_no: str, event: LifeEvent, *, by: str, at: datetime | None = None, migration: bool = False) -> EventRow:
    who, when = _who(by), _now(at)
    get_person(session, psn_no)
    row = EventRow(psn_no=psn_no, kind=event.kind, on=event.on, region=event.region, recorded_by=who, **_stamp(event.recorded_on, when, migration))
    session.add(row)
    _flush(session)
    return row


def add_service_period(
    session: Session, psn_no: str, period: ServicePeriod, *, by: str, at: datetime | None = None, migration: bool = False
) -> ServicePeriodRow:
    who, when = _who(by), _now(at)
    get_person(session, psn_no)
    row = ServicePeriodRow(psn_no=psn_no, start=period.start, end=period.end, recorded_by=who, **_stamp(period.recorded_on, when, migration))
    session.add(row)
    _flush(session)
    return row


def record_death(
    session: Session, psn_no: str, death_date: date, *, by: str, recorded_on: date | None = None,
    at: datetime | None = None, migration: bool = False,
) -> DeathRow:
    """Record a reported death. The same date again is a no-op; another date needs :func:`supersede_fact`."""
    who, when = _who(by), _now(at)
    get_person(session, psn_no)
    current = session.scalars(select(DeathRow).where(DeathRow.psn_no == psn_no, DeathRow.superseded_at.is_(None))).first()
    if current is not None:
        if current.death_date == death_date:
            return current
        raise YibaoError(DEATH_ALREADY_RECORDED, field="death_date", psn_no=psn_no, death_date=current.death_date.isoformat())
    row = DeathRow(psn_no=psn_no, death_date=death_date, recorded_by=who, **_stamp(recorded_on, when, migration))
    session.add(row)
    _flush(session)
    return row


# --------------------------------------------------------------------------------------
# enrollments
# --------------------------------------------------------------------------------------


def get_relation(session: Session, psn_no: str, relation_id: str, *, field: str = "relation_id") -> EnrollmentRow:
    row = session.scalars(select(EnrollmentRow).where(EnrollmentRow.psn_no == psn_no, EnrollmentRow.relation_id == relation_id)).first()
    if row is None:
        raise YibaoError(RELATION_NOT_FOUND, field=field, psn_no=psn_no, relation_id=relation_id)
    return row


def add_enrollment(
    session: Session, psn_no: str, enrollment: Enrollment, *, by: str, at: datetime | None = None, migration: bool = False
) -> EnrollmentRow:
    """Add a 参保关系 with the status changes and declared wages it carries."""
    who, when = _who(by), _now(at)
    get_person(session, psn_no)
    exists = session.scalars(
        select(EnrollmentRow.id).where(EnrollmentRow.psn_no == psn_no, EnrollmentRow.relation_id == enrollment.relation_id)
    ).first()
    if exists is not None:
        raise YibaoError(DUPLICATE_RELATION, field="relation_id", psn_no=psn_no, relation_id=enrollment.relation_id)
    previous = None
    if enrollment.previous_relation_id is not None:
        previous = get_relation(session, psn_no, enrollment.previous_relation_id, field="previous_relation_id")
    wages = [check_money(w.monthly_wage, field=f"wages.{i}.monthly") for i, w in enumerate(enrollment.wages)]
    row = EnrollmentRow(
        psn_no=psn_no, relation_id=enrollment.relation_id, insutype=enrollment.insutype, region=enrollment.region,
        psn_type=enrollment.psn_type, start=enrollment.start, end=enrollment.end, employer=enrollment.employer,
        previous_id=previous.id if previous is not None else None, recorded_by=who,
        **_stamp(enrollment.recorded_on, when, migration),
    )
    session.add(row)
    _flush(session)
    for change in enrollment.status_changes:
        session.add(_status_row(row, change, who, when, migration))
    for wage, monthly in zip(enrollment.wages, wages):  # a wage has no recorded_on of its own: the relation's
        session.add(WageRow(enrollment_id=row.id, from_month=wage.from_month, monthly_wage=monthly, recorded_by=who, recorded_at=row.recorded_at))
    _flush(session)
    return row


def _status_row(rel: EnrollmentRow, change: StatusChange, by: str, at: datetime, migration: bool) -> StatusChangeRow:
    return StatusChangeRow(
        enrollment_id=rel.id, effective=change.effective, status=change.status, status_reason=change.reason, note=change.note or "",
        recorded_by=change.recorded_by or by, **_stamp(change.recorded_on, at, migration),
    )


def append_status_change(
    session: Session, psn_no: str, relation_id: str, change: StatusChange, *, by: str, at: datetime | None = None, migration: bool = False
) -> StatusChangeRow:
    """Append a change of the relation's 参保状态 (the state machine is the service's to check)."""
    who, when = _who(by), _now(at)
    get_person(session, psn_no)
    row = _status_row(get_relation(session, psn_no, relation_id), change, who, when, migration)
    session.add(row)
    _flush(session)
    return row


def add_wage(session: Session, psn_no: str, relation_id: str, wage: DeclaredWage, *, by: str, at: datetime | None = None) -> WageRow:
    who, when = _who(by), _now(at)
    get_person(session, psn_no)
    rel = get_relation(session, psn_no, relation_id)
    row = WageRow(enrollment_id=rel.id, from_month=wage.from_month, monthly_wage=check_money(wage.monthly_wage, field="monthly_wage"),
                  recorded_by=who, recorded_at=when)
    session.add(row)
    _flush(session)
    return row


# --------------------------------------------------------------------------------------
# contribution lines
# --------------------------------------------------------------------------------------

# Compared to decide whether a repeated idempotency key is the same payment (recording time is not).
_LINE_CONTENT = ("kind", "payer", "paid_on", "amount", "month", "benefit_year", "fund", "base", "months_credited", "legacy_benefit_start")


def _line_row(rel: EnrollmentRow, line: ContributionLine, by: str, at: datetime, migration: bool, index: int | None) -> LineRow:
    field = "contributions" if index is None else f"contributions.{index}"
    return LineRow(
        enrollment_id=rel.id, kind=line.kind, payer=line.payer, paid_on=line.paid_on,
        amount=check_money(line.amount, field=f"{field}.amount"), month=line.month, benefit_year=line.benefit_year,
        fund=line.fund, base=None if line.base is None else check_money(line.base, field=f"{field}.base"),
        months_credited=line.months_credited, idempotency_key=line.key, legacy_benefit_start=line.legacy_benefit_start,
        recorded_by=by, **_stamp(line.recorded_on, at, migration),
    )


def _differences(row: LineRow, candidate: LineRow) -> list[str]:
    diffs = [name for name in _LINE_CONTENT if getattr(row, name) != getattr(candidate, name)]
    if row.enrollment_id != candidate.enrollment_id:
        diffs.insert(0, "relation")
    if row.supersedes_id != candidate.supersedes_id:
        diffs.append("supersedes")
    return diffs


def _same_or_conflict(existing: LineRow, candidate: LineRow, field: str) -> LineRow:
    diffs = _differences(existing, candidate)
    if diffs:
        raise YibaoError(IDEMPOTENCY_CONFLICT, field=field, key=existing.idempotency_key, differences=", ".join(diffs))
    return existing


def _relations(session: Session, psn_no: str) -> dict[str, EnrollmentRow]:
    return {r.relation_id: r for r in session.scalars(select(EnrollmentRow).where(EnrollmentRow.psn_no == psn_no))}


def _line_by_key(session: Session, key: str) -> LineRow | None:
    return session.scalars(select(LineRow).where(LineRow.idempotency_key == key)).first()


def _lines_by_keys(session: Session, keys: list[str]) -> dict[str, LineRow]:
    if not keys:
        return {}
    return {r.idempotency_key: r for r in session.scalars(select(LineRow).where(LineRow.idempotency_key.in_(keys)))}  # type: ignore[misc]


def append_lines(
    session: Session,
    psn_no: str,
    lines: Sequence[ContributionLine],
    *,
    by: str,
    at: datetime | None = None,
    migration: bool = False,
    reason: str | None = None,
    _retry: bool = True,
) -> list[LineRow]:
    """Append contribution lines of ``psn_no``'s relations; the rows, in the order of ``lines``.

    Idempotent by key: a key already stored with the same content returns the stored row and
    writes nothing; with different content → ``IDEMPOTENCY_CONFLICT``. A line that names the key
    it ``supersedes`` is a correction (:func:`supersede_line`) and needs ``reason``.
    """
    who, when = _who(by), _now(at)
    get_person(session, psn_no)
    relations = _relations(session, psn_no)
    rows: list[LineRow | None] = [None] * len(lines)
    fresh: list[tuple[int, LineRow]] = []
    batch: dict[str, LineRow] = {}
    keys = [line.key for line in lines if line.key]
    stored = _lines_by_keys(session, keys)
    corrections = []
    for i, line in enumerate(lines):
        rel = relations.get(line.relation_id)
        if rel is None:
            raise YibaoError(RELATION_NOT_FOUND, field=f"contributions.{i}.relation", psn_no=psn_no, relation_id=line.relation_id)
        if line.supersedes:
            corrections.append(i)
            continue
        candidate = _line_row(rel, line, who, when, migration, i)
        if line.key and line.key in stored:
            rows[i] = _same_or_conflict(stored[line.key], candidate, f"contributions.{i}.key")
        elif line.key and line.key in batch:
            rows[i] = _same_or_conflict(batch[line.key], candidate, f"contributions.{i}.key")
        else:
            rows[i] = candidate
            fresh.append((i, candidate))
            if line.key:
                batch[line.key] = candidate
    if fresh:
        try:
            with session.begin_nested():
                session.add_all([row for _, row in fresh])
                session.flush()
        except IntegrityError as exc:  # a concurrent writer stored one of the keys first: decide again, once
            if not _retry:
                raise translate(exc) from exc
            return append_lines(session, psn_no, lines, by=who, at=when, migration=migration, reason=reason, _retry=False)
    for i in corrections:
        line = lines[i]
        rows[i] = supersede_line(session, line.supersedes, line, reason=reason, by=who, at=when, migration=migration)  # type: ignore[arg-type]
    return rows  # type: ignore[return-value]


def supersede_line(
    session: Session,
    key: str,
    replacement: ContributionLine | None,
    *,
    reason: str | None,
    by: str,
    at: datetime | None = None,
    migration: bool = False,
) -> LineRow | None:
    """Correct the line with idempotency key ``key``: ``replacement`` takes its place (or, with
    None, the line is withdrawn). The old row stays, marked; ``load_facts`` no longer shows it.

    Repeating the same correction (same replacement key and content) is a no-op.
    """
    why, who, when = _reason(reason), _who(by), _now(at)
    old = _line_by_key(session, key)
    if old is None:
        raise YibaoError(LINE_NOT_FOUND, field="supersedes", key=key)
    new_row = None
    if replacement is not None:
        if replacement.supersedes not in (None, key):
            raise YibaoError(INVALID_INPUT, field="supersedes", reason=f"the replacement names {replacement.supersedes}, not {key}")
        rel = get_relation(session, _owner(session, old), replacement.relation_id, field="relation")
        new_row = _line_row(rel, replacement, who, when, migration, None)
        new_row.supersedes_id, new_row.reason = old.id, why
        if replacement.key and (stored := _line_by_key(session, replacement.key)) is not None:
            return _same_or_conflict(stored, new_row, "key")
    _supersede(session, old, new_row, reason=why, by=who, at=when, psn_no=_owner(session, old), detail={"key": key})
    return new_row


def _supersede(session: Session, old: Any, new: Any | None, *, reason: str, by: str, at: datetime, psn_no: str, detail: dict) -> None:
    """Mark ``old`` superseded (once), insert ``new`` pointing at it, write the audit row."""
    if old.superseded_at is not None:
        raise YibaoError(ALREADY_SUPERSEDED, field="supersedes", table=old.__tablename__, row_id=old.id)
    old.superseded_at = new.recorded_at if new is not None else at
    _flush(session)  # the marker first: a current-only unique key (documents) is free for the new row
    if new is not None:
        new.supersedes_id, new.reason = old.id, reason
        session.add(new)
        _flush(session)
        old.superseded_by_id = new.id
    _audit(session, action=SUPERSEDE, psn_no=psn_no, reason=reason, by=by, at=at, table_name=old.__tablename__,
           row_id=old.id, replacement_id=new.id if new is not None else None, detail=detail)
    _flush(session)


def supersede_fact(session: Session, row: Supersedable, replacement: Supersedable | None, *, reason: str, by: str, at: datetime | None = None) -> None:
    """Correct any supersedable row (document, group, event, service period, death, status change,
    wage, line) with a new row of the same table and the same person, or withdraw it (``replacement=None``).

    A replacement without ``recorded_at``/``recorded_by`` gets ``at``/``by``; a replacement document
    is normalised and keeps the person key unique.
    """
    why, who, when = _reason(reason), _who(by), _now(at)
    if not isinstance(row, Supersedable):
        raise YibaoError(INVALID_INPUT, field="row", reason=f"{type(row).__name__} rows are not corrected by supersession")
    owner = _owner(session, row)
    if replacement is not None:
        if type(replacement) is not type(row):
            raise YibaoError(INVALID_INPUT, field="replacement", reason="the replacement must be a row of the same table")
        if getattr(replacement, "psn_no", None) is None and hasattr(type(replacement), "psn_no"):
            replacement.psn_no = owner  # type: ignore[attr-defined]
        if _owner(session, replacement) != owner:
            raise YibaoError(INVALID_INPUT, field="replacement", reason="a correction stays with the same person; merge persons instead")
        if isinstance(replacement, DocumentRow):
            fact = IdentityDocument(replacement.cert_type, replacement.number, replacement.nationality)
            key = document_key(fact.cert_type, fact.number, fact.nationality)
            replacement.cert_type, replacement.number, replacement.key_nationality, replacement.nationality = key
            existing = _current_document(session, *key[:3])
            if existing is not None and existing.id != row.id:  # type: ignore[attr-defined]
                raise YibaoError(DUPLICATE_PERSON_KEY, field="number", cert_type=key[0].value, number=ids.mask(key[1]), existing=existing.psn_no)
        replacement.recorded_by = getattr(replacement, "recorded_by", None) or who  # type: ignore[attr-defined]
        replacement.recorded_at = getattr(replacement, "recorded_at", None) or when  # type: ignore[attr-defined]
    _supersede(session, row, replacement, reason=why, by=who, at=when, psn_no=owner, detail={})


def _owner(session: Session, row: Any) -> str:
    """The person a row belongs to (directly, or through its enrollment)."""
    if hasattr(type(row), "psn_no"):
        return row.psn_no
    rel = session.get(EnrollmentRow, row.enrollment_id)
    if rel is None:
        raise YibaoError(RELATION_NOT_FOUND, field="enrollment_id", psn_no="?", relation_id=str(row.enrollment_id))
    return rel.psn_no


# --------------------------------------------------------------------------------------
# a person's places (place_models, revision 0007): 就业地, 常住地, 学籍地
# --------------------------------------------------------------------------------------


def add_place(
    session: Session, psn_no: str, *, kind: PlaceKind | str, region: str, valid_from: date, by: str,
    student_cause: str | None = None, note: str | None = None, at: datetime | None = None,
) -> PlaceRow:
    """Append one place of ``psn_no`` (the service validates the values first)."""
    who, when = _who(by), _now(at)
    get_person(session, psn_no)
    row = PlaceRow(psn_no=psn_no, kind=PlaceKind(kind).value, region=region, valid_from=valid_from, student_cause=student_cause,
                   note=note, recorded_at=when, recorded_by=who)
    session.add(row)
    _flush(session)
    return row


def places(session: Session, psn_no: str, *, as_known_on: date | None = None) -> list[PlaceRow]:
    """Every place of ``psn_no`` as known at the end of ``as_known_on`` (None: now), by kind then ``valid_from``."""
    rows = [r for r in _rows(session, PlaceRow, PlaceRow.psn_no == psn_no) if _visible(r, as_known_on)]
    if as_known_on is not None:
        rows = [r for r in rows if shanghai_date(r.recorded_at) <= as_known_on]
    return sorted(rows, key=lambda r: (r.kind, r.valid_from, r.recorded_at, r.id))


def places_in_force(rows: Iterable[Any], on: date) -> dict[str, Any]:
    """Kind → the row in force on ``on``: the latest ``valid_from`` ≤ ``on``, then the latest recorded
    (``recorded_at``, id). Rows are anything with those attributes (ORM rows or Core rows)."""
    out: dict[str, Any] = {}
    for r in rows:
        if r.valid_from > on:
            continue
        best = out.get(r.kind)
        if best is None or (r.valid_from, r.recorded_at, r.id) > (best.valid_from, best.recorded_at, best.id):
            out[r.kind] = r
    return out


def places_on(session: Session, psn_no: str, on: date, *, as_known_on: date | None = None) -> dict[str, PlaceRow]:
    """The places of ``psn_no`` in force on ``on``, as known at the end of ``as_known_on`` (None: now)."""
    return places_in_force(places(session, psn_no, as_known_on=as_known_on), on)


# --------------------------------------------------------------------------------------
# corrections of a relation's columns and of a person's attributes (correction_models)
# --------------------------------------------------------------------------------------


def _latest_visible(rows: Iterable[Any], k: date | None) -> Any | None:
    """The latest correction recorded by the end of day ``k`` (None: all), by (recorded_at, id)."""
    seen = [r for r in rows if k is None or shanghai_date(r.recorded_at) <= k]
    return max(seen, key=lambda r: (r.recorded_at, r.id), default=None)


def relation_corrections(session: Session, enrollment_ids: Sequence[int], *, as_known_on: date | None = None) -> dict[int, RelationCorrectionRow]:
    """The correction in force for each relation (by ``enrollment.id``) as known on ``as_known_on``;
    relations never corrected are absent. For readers that query ``enrollment`` rows directly."""
    by_rel: dict[int, list[RelationCorrectionRow]] = {}
    if enrollment_ids:
        for r in session.scalars(select(RelationCorrectionRow).where(RelationCorrectionRow.enrollment_id.in_(list(enrollment_ids)))):
            by_rel.setdefault(r.enrollment_id, []).append(r)
    out = {i: _latest_visible(rows, as_known_on) for i, rows in by_rel.items()}
    return {i: r for i, r in out.items() if r is not None}


def relation_values(session: Session, rel: EnrollmentRow, *, as_known_on: date | None = None) -> dict[str, Any]:
    """The correctable columns of a relation (start, end, psn_type, employer) as corrected by ``as_known_on``."""
    source = relation_corrections(session, [rel.id], as_known_on=as_known_on).get(rel.id, rel)
    return {name: getattr(source, name) for name in RELATION_FIELDS}


def person_values(session: Session, person: PersonRow, *, as_known_on: date | None = None) -> dict[str, Any]:
    """The person's name, sex and birth date as corrected by ``as_known_on``."""
    rows = session.scalars(select(PersonCorrectionRow).where(PersonCorrectionRow.psn_no == person.psn_no))
    source = _latest_visible(rows, as_known_on) or person
    return {name: getattr(source, name) for name in PERSON_FIELDS}


def _latest_correction(table: Any, correction: Any, link: str, own: Any, columns: Sequence[str]) -> tuple[Any, list[Any]]:
    """``table`` LEFT JOIN its latest ``correction`` row (by ``recorded_at``, then id — as
    :func:`_latest_visible` takes it for "now"), joined on ``correction.<link> == own``; and each of
    ``columns`` labelled by its name: the correction's value where there is one, else the row's own.
    A correction carries the complete values, so a column corrected to NULL stays NULL."""
    latest = aliased(correction, name=f"current_{correction.__tablename__}")
    later = aliased(correction, name=f"later_{correction.__tablename__}")
    newest = (
        select(later.id).where(getattr(later, link) == getattr(latest, link)).order_by(later.recorded_at.desc(), later.id.desc()).limit(1)
        .correlate(latest).scalar_subquery()
    )
    corrected = latest.id.is_not(None)
    source = outerjoin(table, latest, and_(getattr(latest, link) == own, latest.id == newest))
    return source, [case((corrected, getattr(latest, c)), else_=getattr(table, c)).label(c) for c in columns]


class CurrentPerson(NamedTuple):
    """SQL for the person's name, sex and birth date as known now (:func:`current_person`)."""

    source: Any  # ``person`` LEFT JOIN its latest ``person_correction``: select from it
    name: Any
    sex: Any
    birth_date: Any


def current_person() -> CurrentPerson:
    """The columns of ``person`` as corrected now, for readers that query ``person`` rows in SQL
    (lists, searches): the values of the latest correction (by ``recorded_at``, then id — as
    :func:`person_values` and ``load_facts`` take it), else the row's own. A correction carries the
    complete values, so a sex or birth date corrected to NULL stays NULL. Use as
    ``select(PersonRow.psn_no, cur.name, …).select_from(cur.source).where(…)``."""
    source, columns = _latest_correction(PersonRow, PersonCorrectionRow, "psn_no", PersonRow.psn_no, ("name", "sex", "birth_date"))
    return CurrentPerson(source, *columns)


class CurrentRelation(NamedTuple):
    """SQL for a relation's start, end, psn_type and employer as known now (:func:`current_relation`)."""

    source: Any  # ``enrollment`` LEFT JOIN its latest ``enrollment_correction``: select from it
    start: Any
    end: Any
    psn_type: Any
    employer: Any


def current_relation() -> CurrentRelation:
    """The correctable columns of ``enrollment`` as corrected now (更正参保关系), for readers that
    query ``enrollment`` rows in SQL (counts, re-run checks): the values of the latest
    ``enrollment_correction`` of the row (by ``recorded_at``, then id — as :func:`relation_values` and
    ``load_facts`` take it), else the row's own; an end or employer corrected to NULL stays NULL.
    ``EnrollmentRow.start`` … remain the values as first recorded. Use as
    ``select(EnrollmentRow.relation_id, cur.start, cur.end, …).select_from(cur.source).where(…)``."""
    source, columns = _latest_correction(EnrollmentRow, RelationCorrectionRow, "enrollment_id", EnrollmentRow.id, RELATION_FIELDS)
    return CurrentRelation(source, *columns)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: {"before": before[k], "after": after[k]} for k in before if before[k] != after[k]}


def _corrected_values(current: dict[str, Any], changes: dict[str, Any], allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise YibaoError(INVALID_INPUT, field=unknown[0], reason=f"not a correctable column; correctable: {', '.join(allowed)}")
    after = {**current, **changes}
    if after == current:
        raise YibaoError(CORRECTION_UNCHANGED, field=next(iter(changes), None), what=what)
    return after


def correct_relation(
    session: Session, psn_no: str, relation_id: str, changes: dict[str, Any], *, reason: str | None, by: str,
    at: datetime | None = None, detail: dict[str, Any] | None = None,
) -> RelationCorrectionRow:
    """更正参保关系: a new ``enrollment_correction`` row with the relation's corrected start, end,
    psn_type and employer (``changes`` names the ones that change), and an audit row (who, when, why,
    before → after). The relation row itself is never touched. ``CORRECTION_UNCHANGED`` when the
    values are already these. The business checks (codes, employer, status history) are the service's."""
    why, who, when = _reason(reason), _who(by), _now(at)
    get_person(session, psn_no)
    rel = get_relation(session, psn_no, relation_id)
    before = relation_values(session, rel)
    after = _corrected_values(before, changes, RELATION_FIELDS, f"{psn_no}/{relation_id}")
    if after["end"] is not None and after["end"] < after["start"]:
        raise YibaoError(INVALID_INPUT, field="end", reason="the end is before the start / 结束日期早于开始日期")
    row = RelationCorrectionRow(enrollment_id=rel.id, reason=why, recorded_by=who, recorded_at=when, **after)
    session.add(row)
    _flush(session)
    _audit(session, action=CORRECT_RELATION, psn_no=psn_no, reason=why, by=who, at=when, table_name=EnrollmentRow.__tablename__,
           row_id=rel.id, replacement_id=row.id, detail={"relation_id": relation_id, "changed": _changed(before, after), **(detail or {})})
    _flush(session)
    return row


def correct_person(
    session: Session, psn_no: str, changes: dict[str, Any], *, reason: str | None, by: str, at: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> PersonCorrectionRow:
    """更正人员基本信息: a new ``person_correction`` row with the person's corrected name, sex and
    birth date, and an audit row (who, when, why, before → after). The person row is never touched."""
    why, who, when = _reason(reason), _who(by), _now(at)
    person = get_person(session, psn_no)
    if changes.get("sex") not in (None, "M", "F"):
        raise YibaoError(INVALID_INPUT, field="sex", reason="sex is M or F")
    before = person_values(session, person)
    after = _corrected_values(before, changes, PERSON_FIELDS, psn_no)
    row = PersonCorrectionRow(psn_no=psn_no, reason=why, recorded_by=who, recorded_at=when, **after)
    session.add(row)
    _flush(session)
    _audit(session, action=CORRECT_PERSON, psn_no=psn_no, reason=why, by=who, at=when, table_name=PersonRow.__tablename__,
           replacement_id=row.id, detail={"changed": _changed(before, after), **(detail or {})})
    _flush(session)
    return row


# --------------------------------------------------------------------------------------
# merge (R-ID-005 人员多号合并)
# --------------------------------------------------------------------------------------


def _moved_by_merge() -> list[type]:
    """The mapped classes whose rows a merge moves by ``psn_no``: those of :data:`OWNED_BY_PERSON`, then
    every other fact table whose ``psn_no`` the append-only triggers let a merge move (``FACT_TABLES``:
    transfer steps, refund applications and decisions of revision 0004, the duplicate worklist …)."""
    classes = {m.class_.__tablename__: m.class_ for m in Base.registry.mappers}
    rest = [classes[t] for t, cols in FACT_TABLES.items() if "psn_no" in cols and t in classes and classes[t] not in OWNED_BY_PERSON]
    return [*OWNED_BY_PERSON, *rest]


def merge_persons(session: Session, keep: str, absorb: str, *, by: str, reason: str, at: datetime | None = None) -> AuditRow:
    """Move every document, group, event, service period, death, relation (with its status changes,
    wages, lines and corrections) and case row (transfer steps, refund applications and decisions, …)
    of ``absorb`` to ``keep``; ``absorb`` is marked merged; one audit row lists what moved. The
    absorbed person's own attribute corrections stay with it (``keep``'s name and birth date stand)."""
    why, who, when = _reason(reason), _who(by), _now(at)

    def conflict(zh: str, en: str) -> YibaoError:
        return YibaoError(MERGE_CONFLICT, field="absorb", keep=keep, absorb=absorb, reason_zh=zh, reason_en=en)

    if keep == absorb:
        raise conflict("不能与自身合并", "a person cannot be merged into itself")
    kept, absorbed = get_person(session, keep), get_person(session, absorb)
    clash = sorted(set(_relations(session, keep)) & set(_relations(session, absorb)))
    if clash:
        raise conflict(f"两人都有参保关系编号 {', '.join(clash)}", f"both have relation ids {', '.join(clash)}")
    deaths = session.scalars(select(DeathRow.psn_no).where(DeathRow.psn_no.in_([keep, absorb]), DeathRow.superseded_at.is_(None))).all()
    if len(deaths) > 1:
        raise conflict("两人都登记了死亡，请先更正其中一条", "both have a recorded death; supersede one first")
    absorbed.merged_into, absorbed.merged_at = kept.psn_no, when
    _flush(session)
    moved: dict[str, list[int]] = {}
    for model in _moved_by_merge():
        ids_ = list(session.scalars(select(model.id).where(model.psn_no == absorb).order_by(model.id)))  # type: ignore[attr-defined]
        if ids_:
            moved[model.__tablename__] = ids_  # type: ignore[attr-defined]
            with integrity_guard():
                session.execute(
                    update(model).where(model.psn_no == absorb).values(psn_no=keep).execution_options(synchronize_session="fetch")  # type: ignore[attr-defined]
                )
    rel_ids = moved.get(EnrollmentRow.__tablename__, [])
    for model in (StatusChangeRow, WageRow, LineRow, RelationCorrectionRow):
        ids_ = list(session.scalars(select(model.id).where(model.enrollment_id.in_(rel_ids)).order_by(model.id))) if rel_ids else []
        if ids_:
            moved[model.__tablename__] = ids_
    row = _audit(session, action=MERGE_PERSON, psn_no=keep, other_psn_no=absorb, reason=why, by=who, at=when, detail={"moved": moved})
    _flush(session)
    return row


# --------------------------------------------------------------------------------------
# a whole PersonFacts
# --------------------------------------------------------------------------------------


def add_facts(
    session: Session,
    facts: PersonFacts,
    *,
    by: str,
    at: datetime | None = None,
    migration: bool = True,
    correction_reason: str = "迁移数据中的更正 / correction carried by migrated data",
) -> PersonRow:
    """Write one person's facts (e.g. from a case file or a legacy system) under ``facts.person_id``.

    With ``migration=True`` (the default here) facts without ``recorded_on`` keep it unknown, so
    ``load_facts`` returns facts equal to ``facts``.
    """
    who, when = _who(by), _now(at)
    person = add_person(
        session, by=who, at=when, psn_no=facts.person_id, name=facts.name, birth_date=facts.birth_date, sex=facts.sex,
        documents=facts.documents, migration=migration,
    )
    psn_no = person.psn_no
    for g in facts.groups:
        add_group(session, psn_no, g, by=who, at=when, migration=migration)
    for e in facts.events:
        add_event(session, psn_no, e, by=who, at=when, migration=migration)
    for s in facts.service_periods:
        add_service_period(session, psn_no, s, by=who, at=when, migration=migration)
    if facts.death_date is not None:
        record_death(session, psn_no, facts.death_date, by=who, recorded_on=facts.death_recorded_on, at=when, migration=migration)
    pending = list(facts.enrollments)
    written: set[str] = set()
    while pending:  # a relation after the one it follows (previous_relation_id)
        ready = [e for e in pending if e.previous_relation_id is None or e.previous_relation_id in written]
        if not ready:
            ready = pending[:1]  # a previous relation that is not in the facts: add_enrollment names it
        for e in ready:
            add_enrollment(session, psn_no, e, by=who, at=when, migration=migration)
            written.add(e.relation_id)
            pending.remove(e)
    if facts.contributions:
        append_lines(session, psn_no, facts.contributions, by=who, at=when, migration=migration, reason=correction_reason)
    return person


def _visible(row: Any, k: date | None) -> bool:
    """Not superseded as known on ``k``; a correction made after ``k`` is not visible yet."""
    if k is None:
        return row.superseded_at is None
    if row.superseded_at is not None and shanghai_date(row.superseded_at) <= k:
        return False
    return row.supersedes_id is None or shanghai_date(row.recorded_at) <= k


def _rows(session: Session, model: type[R], *where: Any) -> list[R]:
    return list(session.scalars(select(model).where(*where).order_by(model.id)))  # type: ignore[attr-defined]


def load_facts(session: Session, psn_no: str, *, as_known_on: date | None = None) -> PersonFacts:
    """Rebuild the person's immutable facts, as known at the end of day ``as_known_on`` (None: now).

    Superseded rows are left out (as of that day); ``recorded_on`` is the date of ``recorded_at``
    in Asia/Shanghai (None for migrated facts without one); the result is then filtered by
    :meth:`PersonFacts.known_on`, so the rules see exactly what they would see from the case file.
    """
    k = as_known_on
    person = get_person(session, psn_no)
    attributes = person_values(session, person, as_known_on=k)

    def owned(model: type[R]) -> list[R]:
        return [r for r in _rows(session, model, model.psn_no == psn_no) if _visible(r, k)]  # type: ignore[attr-defined]

    documents = tuple(IdentityDocument(r.cert_type, r.number, r.nationality, r.valid_from, _recorded_on(r)) for r in owned(DocumentRow))
    groups = tuple(GroupMembership(r.group, r.start, r.end, r.region, _recorded_on(r)) for r in owned(GroupRow))
    events = tuple(LifeEvent(r.kind, r.on, r.region, _recorded_on(r)) for r in owned(EventRow))
    service = tuple(ServicePeriod(r.start, r.end, _recorded_on(r)) for r in owned(ServicePeriodRow))
    deaths = owned(DeathRow)
    if k is not None:  # the correction chain as of k: the last death known by then
        known = [d for d in deaths if (_recorded_on(d) or d.death_date) <= k]
        deaths = known or deaths
    death = deaths[-1] if deaths else None

    rels = _rows(session, EnrollmentRow, EnrollmentRow.psn_no == psn_no)
    by_id = {r.id: r for r in rels}
    rel_ids = list(by_id)
    corrected = relation_corrections(session, rel_ids, as_known_on=k)  # the relation's columns as corrected by k
    changes: dict[int, list[StatusChange]] = {i: [] for i in rel_ids}
    wages: dict[int, list[DeclaredWage]] = {i: [] for i in rel_ids}
    lines: list[ContributionLine] = []
    if rel_ids:
        for r in _rows(session, StatusChangeRow, StatusChangeRow.enrollment_id.in_(rel_ids)):
            if _visible(r, k):
                changes[r.enrollment_id].append(StatusChange(r.effective, r.status, r.status_reason, r.note, _recorded_on(r), r.recorded_by))
        for r in _rows(session, WageRow, WageRow.enrollment_id.in_(rel_ids)):
            if _visible(r, k):
                wages[r.enrollment_id].append(DeclaredWage(r.from_month, r.monthly_wage))
        line_rows = _rows(session, LineRow, LineRow.enrollment_id.in_(rel_ids))
        keys = {r.id: r.idempotency_key for r in line_rows}
        for r in line_rows:
            if _visible(r, k):
                lines.append(
                    ContributionLine(
                        relation_id=by_id[r.enrollment_id].relation_id, kind=r.kind, payer=r.payer, paid_on=r.paid_on, amount=r.amount,
                        month=r.month, benefit_year=r.benefit_year, fund=r.fund, base=r.base, months_credited=r.months_credited,
                        key=r.idempotency_key, supersedes=keys.get(r.supersedes_id) if r.supersedes_id else None,
                        legacy_benefit_start=r.legacy_benefit_start, recorded_on=_recorded_on(r),
                    )
                )
    enrollments = tuple(
        Enrollment(
            relation_id=r.relation_id, insutype=r.insutype, region=r.region, psn_type=c.psn_type, start=c.start, end=c.end,
            status_changes=tuple(changes[r.id]), employer=c.employer, wages=tuple(wages[r.id]),
            previous_relation_id=by_id[r.previous_id].relation_id if r.previous_id in by_id else None,
            recorded_on=_recorded_on(r),
        )
        for r in rels
        for c in (corrected.get(r.id, r),)
    )
    facts = PersonFacts(
        person_id=person.psn_no, name=attributes["name"], birth_date=attributes["birth_date"], sex=attributes["sex"], documents=documents,
        groups=groups, events=events, service_periods=service, enrollments=enrollments, contributions=tuple(lines),
        death_date=death.death_date if death else None, death_recorded_on=_recorded_on(death) if death else None,
    )
    return facts.known_on(k)


__all__ = [
    "MERGE_PERSON",
    "SUPERSEDE",
    "add_document",
    "add_enrollment",
    "add_event",
    "add_facts",
    "add_group",
    "add_person",
    "add_place",
    "add_service_period",
    "add_wage",
    "append_lines",
    "append_status_change",
    "correct_person",
    "correct_relation",
    "current_person",
    "current_relation",
    "document_key",
    "find_person",
    "get_person",
    "get_relation",
    "load_facts",
    "merge_persons",
    "person_values",
    "places",
    "places_in_force",
    "places_on",
    "record_death",
    "relation_corrections",
    "relation_values",
    "supersede_fact",
    "supersede_line",
]
