"""The coverage projection (参保待遇查询投影): a derived row per person for the fast "covered on D" lookup.

Not a fact table. One row per person holds the person's :class:`~yibao.rules.entitlement.CoverageIndex`
(the benefit periods with their reasons, JSON from :mod:`yibao.rules.coverage_codec`) as computed
on ``known_on``, valid through ``stable_through`` while the person's facts do not change, and the
regions of the person's relations (for the region rule on the hospital path).

Freshness, without a race:

* every transaction that adds or changes a row of a person (any session made by
  :func:`yibao.store.db.session_factory`) **invalidates** that person's projection before it commits:
  ``revision`` goes up by one and the payload is cleared, in the same transaction as the facts;
* a reader that finds no usable payload computes the index from the facts and stores it **only if
  the revision is still the one it saw before reading the facts** (:func:`store`). A write that
  committed in between has raised the revision, so a stale index is never stored.

So a lookup never answers from facts older than the last committed write. The service computes
indexes lazily and in bulk (``yibao coverage refresh``); the rules stay the only definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import Connection, Date, Integer, bindparam, String, Text, and_, event, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from yibao.store.models import Base, DocumentRow, EnrollmentRow, PersonRow
from yibao.store.types import UTCDateTime

DERIVED_TABLES = ("coverage_projection",)  # derived from the facts, rewritten freely: not fact tables
TOUCHED = "yibao.touched_persons"  # session.info key: persons whose rows this transaction wrote


class CoverageProjectionRow(Base):
    """Derived: the coverage index of one person (not a fact; rewritten, never audited)."""

    __tablename__ = "coverage_projection"

    psn_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default=text("0"))
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)
    known_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    stable_through: Mapped[date | None] = mapped_column(Date, nullable=True)
    regions: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default=text("''"))
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


@dataclass(frozen=True)
class Found:
    """What one indexed query knows about the holder of a document."""

    psn_no: str
    merged: bool
    revision: int | None  # None: no projection row yet
    payload: str | None
    known_on: date | None
    stable_through: date | None
    regions: frozenset[str]

    def usable_on(self, k: date) -> bool:
        return (
            self.payload is not None
            and self.known_on is not None
            and self.stable_through is not None
            and self.known_on <= k <= self.stable_through
        )


def _regions(text_value: str | None) -> frozenset[str]:
    return frozenset(r for r in (text_value or "").split(",") if r)


BY_DOCUMENT = (  # parameters cert_type, number, key_nationality
    select(
        DocumentRow.psn_no,
        PersonRow.merged_into,
        CoverageProjectionRow.revision,
        CoverageProjectionRow.payload,
        CoverageProjectionRow.known_on,
        CoverageProjectionRow.stable_through,
        CoverageProjectionRow.regions.label("holder_regions"),  # a name of its own: callers join it with other rows
    )
    .join(PersonRow, PersonRow.psn_no == DocumentRow.psn_no)
    .outerjoin(CoverageProjectionRow, CoverageProjectionRow.psn_no == DocumentRow.psn_no)
    .where(
        DocumentRow.cert_type == bindparam("cert_type"),
        DocumentRow.number == bindparam("number"),
        DocumentRow.key_nationality == bindparam("key_nationality"),
        DocumentRow.superseded_at.is_(None),
    )
    .limit(1)
)


def find_by_document(session: Session | Connection, cert_type: str, number: str, key_nationality: str) -> Found | None:
    """The current holder of a (normalised) document and its projection, in one indexed query."""
    row = session.execute(BY_DOCUMENT, {"cert_type": cert_type, "number": number, "key_nationality": key_nationality}).first()
    return found_from(tuple(row)) if row is not None else None


def found_from(values: tuple) -> Found | None:
    """A :class:`Found` from the seven columns of :data:`BY_DOCUMENT` (None when the first is None)."""
    if values[0] is None:
        return None
    return Found(values[0], values[1] is not None, values[2], values[3], values[4], values[5], _regions(values[6]))


def find_by_person(session: Session, psn_no: str) -> Found | None:
    row = session.execute(
        select(
            PersonRow.psn_no,
            PersonRow.merged_into,
            CoverageProjectionRow.revision,
            CoverageProjectionRow.payload,
            CoverageProjectionRow.known_on,
            CoverageProjectionRow.stable_through,
            CoverageProjectionRow.regions,
        )
        .outerjoin(CoverageProjectionRow, CoverageProjectionRow.psn_no == PersonRow.psn_no)
        .where(PersonRow.psn_no == psn_no)
    ).first()
    if row is None:
        return None
    return Found(row[0], row[1] is not None, row[2], row[3], row[4], row[5], _regions(row[6]))


def relation_regions(session: Session, psn_no: str) -> frozenset[str]:
    return frozenset(session.scalars(select(EnrollmentRow.region).where(EnrollmentRow.psn_no == psn_no).distinct()))


def store(
    session: Session,
    psn_no: str,
    seen_revision: int | None,
    *,
    payload: str,
    known_on: date,
    stable_through: date,
    regions: Iterable[str],
    at: datetime,
) -> bool:
    """Keep a computed index if no write came in since ``seen_revision`` was read; True if kept."""
    values: dict[str, Any] = {
        "payload": payload,
        "known_on": known_on,
        "stable_through": stable_through,
        "regions": ",".join(sorted(regions)),
        "computed_at": at,
    }
    if seen_revision is None:
        dialect = _insert_for(session)
        stmt = dialect.insert(CoverageProjectionRow).values(psn_no=psn_no, revision=0, **values).on_conflict_do_nothing(index_elements=["psn_no"])
        return session.execute(stmt).rowcount == 1
    stmt = (
        update(CoverageProjectionRow)
        .where(CoverageProjectionRow.psn_no == psn_no, CoverageProjectionRow.revision == seen_revision)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1


def invalidate(session: Session, psn_nos: Iterable[str]) -> None:
    """Raise the revision of each person's projection and clear its payload (in the caller's transaction)."""
    wanted = sorted(set(psn_nos))
    if not wanted:
        return
    stmt = _insert_for(session).insert(CoverageProjectionRow).on_conflict_do_update(
        index_elements=["psn_no"],
        set_={"revision": CoverageProjectionRow.revision + 1, "payload": None, "known_on": None, "stable_through": None, "computed_at": None},
    )
    # in key order: concurrent writers lock the rows in the same order
    session.execute(stmt, [{"psn_no": p, "revision": 1, "payload": None} for p in wanted])


def stale(session: Session, today: date, *, after: str = "", limit: int = 1000) -> list[tuple[str, int | None]]:
    """Persons (not merged away) whose projection is missing or not usable on ``today``, in key order."""
    rows = session.execute(
        select(PersonRow.psn_no, CoverageProjectionRow.revision)
        .outerjoin(CoverageProjectionRow, CoverageProjectionRow.psn_no == PersonRow.psn_no)
        .where(
            PersonRow.merged_into.is_(None),
            PersonRow.psn_no > after,
            (CoverageProjectionRow.psn_no.is_(None))
            | CoverageProjectionRow.payload.is_(None)
            | (CoverageProjectionRow.known_on > today)
            | (CoverageProjectionRow.stable_through < today),
        )
        .order_by(PersonRow.psn_no)
        .limit(limit)
    ).all()
    return [(r[0], r[1]) for r in rows]


def counts(session: Session, today: date) -> dict[str, int]:
    persons = session.scalar(select(func.count()).select_from(PersonRow).where(PersonRow.merged_into.is_(None))) or 0
    fresh = session.scalar(
        select(func.count())
        .select_from(CoverageProjectionRow)
        .join(PersonRow, and_(PersonRow.psn_no == CoverageProjectionRow.psn_no, PersonRow.merged_into.is_(None)))
        .where(CoverageProjectionRow.payload.is_not(None), CoverageProjectionRow.known_on <= today, CoverageProjectionRow.stable_through >= today)
    ) or 0
    return {"persons": persons, "fresh": fresh, "stale": persons - fresh}


def _insert_for(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql
    if name == "sqlite":
        return sqlite
    raise NotImplementedError(f"coverage projection upserts on {name}")  # pragma: no cover


# ----------------------------------------------------------------------------- write tracking


def _collect(session: Session, _context: object, _instances: object) -> None:
    touched: set[str] = session.info.setdefault(TOUCHED, set())
    relation_owner: dict[int, str | None] = {}
    written = (*session.new, *session.dirty, *session.deleted)
    for obj in written:
        if isinstance(obj, EnrollmentRow) and obj.id is not None:
            relation_owner[obj.id] = obj.psn_no  # pending relations with their id given (bulk loads)
    for obj in written:
        if isinstance(obj, CoverageProjectionRow):
            continue
        psn_no = getattr(obj, "psn_no", None)
        if not psn_no:
            enrollment_id = getattr(obj, "enrollment_id", None)
            if enrollment_id is None:
                continue
            if enrollment_id not in relation_owner:
                with session.no_autoflush:
                    rel = session.get(EnrollmentRow, enrollment_id)
                relation_owner[enrollment_id] = rel.psn_no if rel is not None else None
            psn_no = relation_owner[enrollment_id]
        if psn_no:
            touched.add(str(psn_no))


def _invalidate_touched(session: Session) -> None:
    session.flush()  # collect what is still pending
    touched = session.info.pop(TOUCHED, set())
    if touched:
        invalidate(session, touched)


def _forget(session: Session, transaction: Any) -> None:
    """The outermost transaction ended (committed: already invalidated; rolled back: nothing written)."""
    if transaction.parent is None:
        session.info.pop(TOUCHED, None)


def track_writes(factory: sessionmaker[Session]) -> None:
    """Invalidate the projection of every person a transaction of ``factory``'s sessions writes to.

    ORM writes are seen by a ``before_flush`` hook (rows with a ``psn_no``, or an ``enrollment_id``
    whose relation has one); Core statements that move rows between persons (merges) also change
    an ORM row of each person. Code that writes facts with Core statements alone calls
    :func:`touch`.
    """
    event.listen(factory, "before_flush", _collect)
    event.listen(factory, "before_commit", _invalidate_touched)
    event.listen(factory, "after_transaction_end", _forget)


def touch(session: Session, psn_nos: Iterable[str]) -> None:
    """Mark persons written by Core statements, so that the commit invalidates their projection."""
    session.info.setdefault(TOUCHED, set()).update(psn_nos)


__all__ = [
    "CoverageProjectionRow",
    "Found",
    "counts",
    "find_by_document",
    "find_by_person",
    "invalidate",
    "relation_regions",
    "stale",
    "store",
    "touch",
    "track_writes",
]
