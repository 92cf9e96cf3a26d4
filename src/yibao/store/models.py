"""SQLAlchemy 2 models of the stored facts (DESIGN §1, §5; SPEC R-ID-005).

One table per kind of fact in :mod:`yibao.model`. The classes end in ``Row`` so that they do not
clash with the immutable facts; :mod:`yibao.store.repository` converts between the two.

Every fact row carries

* ``recorded_at`` (timestamp with time zone) and ``recorded_by`` (text): when the agency learned
  the fact and who wrote it. The fact's ``recorded_on`` is the date of ``recorded_at`` in
  Asia/Shanghai. ``recorded_on_unknown`` marks migrated facts whose source did not say when they
  were learned: ``recorded_at`` is then the moment of the import and the fact's ``recorded_on`` is
  ``None``, so the rules fall back to the fact's own date (:meth:`yibao.model.PersonFacts.known_on`).
* where a fact can be corrected: ``supersedes_id`` + ``reason`` on the correcting row, and the
  *supersede markers* ``superseded_at`` / ``superseded_by_id`` on the corrected one (``superseded_by_id``
  stays NULL when a row is withdrawn without replacement). The markers are the only columns ever
  written after the insert, once, from NULL; the owner ``psn_no`` changes only when a person
  is merged into another (R-ID-005). PostgreSQL and SQLite triggers enforce this (see the initial
  migration); the repository offers no update or delete of facts.

Business keys are unique in the database:

* ``person_document``: ``(cert_type, number, key_nationality)`` among *current* rows (partial
  unique index ``uq_person_document_key`` WHERE ``superseded_at IS NULL``). ``key_nationality`` is the
  nationality for foreign passports (08), whose numbers are unique only per issuing country, and
  ``''`` otherwise, so that NULLs never make two keys look distinct. A partial index rather than a
  separate key table: a corrected document keeps its history rows, and only the current row holds
  the key; both SQLite (≥ 3.8) and PostgreSQL have partial indexes.
* ``contribution_line.idempotency_key``: UNIQUE (NULLs allowed: migrated lines without a key).
* ``enrollment``: ``(psn_no, relation_id)`` — relation ids are per person, as in :class:`PersonFacts`.
* ``person_death``: at most one current row per person.

Money is :class:`~yibao.store.types.Money` (NUMERIC(14,2); integer fen on SQLite), never float.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from yibao.codes import (
    CertType,
    ContributionKind,
    FundLine,
    InsuStatus,
    InsuType,
    PsnType,
)
from yibao.dates import YearMonth
from yibao.model import EventKind, PayerType, PersonGroup, StatusReason
from yibao.store.types import CodeType, Money, UTCDateTime, YearMonthType

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Surrogate keys: BIGINT on PostgreSQL, INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements there).
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: Money(),
        YearMonth: YearMonthType(),
        date: Date(),
    }


class Recorded:
    """When the agency learned the fact and who wrote it."""

    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(100), nullable=False)


class KnownOn:
    """``recorded_on_unknown``: a migrated fact whose knowledge date was not given (see module doc)."""

    recorded_on_unknown: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=text("false"))


class Supersedable:
    """A correction points to the row it corrects; the corrected row gets the markers, once."""

    @declared_attr
    def supersedes_id(cls) -> Mapped[int | None]:
        return mapped_column(RowId, ForeignKey(f"{cls.__tablename__}.id"), nullable=True)  # type: ignore[attr-defined]

    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @declared_attr
    def superseded_by_id(cls) -> Mapped[int | None]:
        return mapped_column(RowId, ForeignKey(f"{cls.__tablename__}.id"), nullable=True)  # type: ignore[attr-defined]

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (
            CheckConstraint("supersedes_id IS NULL OR reason IS NOT NULL", name="correction_has_reason"),
            CheckConstraint("superseded_by_id IS NULL OR superseded_at IS NOT NULL", name="marker_pair"),
            *getattr(cls, "_extra_table_args", ()),
        )

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None


# Columns a trigger lets an UPDATE change (see the initial migration). Everything else is a fact column.
SUPERSEDE_MARKERS = ("superseded_at", "superseded_by_id")
PERSON_MARKERS = ("merged_into", "merged_at")


class PersonRow(Base, Recorded):
    """人员: the internal person number ``psn_no`` and what does not change."""

    __tablename__ = "person"
    __table_args__ = (CheckConstraint("sex IS NULL OR sex IN ('M', 'F')", name="sex"),)

    psn_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    birth_date: Mapped[date | None]
    sex: Mapped[str | None] = mapped_column(String(1))
    merged_into: Mapped[str | None] = mapped_column(String(40), ForeignKey("person.psn_no"))
    merged_at: Mapped[datetime | None]


class DocumentRow(Supersedable, KnownOn, Recorded, Base):
    """证件 history (R-ID-005): every document a person holds or held."""

    __tablename__ = "person_document"
    _extra_table_args = (
        Index(
            "uq_person_document_key",
            "cert_type",
            "number",
            "key_nationality",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    cert_type: Mapped[CertType] = mapped_column(CodeType(CertType, 6))
    number: Mapped[str] = mapped_column(String(64))
    nationality: Mapped[str | None] = mapped_column(String(3))
    key_nationality: Mapped[str] = mapped_column(String(3), default="", server_default=text("''"))
    valid_from: Mapped[date | None]


class GroupRow(Supersedable, KnownOn, Recorded, Base):
    """人员身份 held for a period (低保, 学生 …)."""

    __tablename__ = "group_membership"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    group: Mapped[PersonGroup] = mapped_column("group_code", CodeType(PersonGroup, 40))
    start: Mapped[date] = mapped_column("start_date", Date)
    end: Mapped[date | None] = mapped_column("end_date", Date)
    region: Mapped[str | None] = mapped_column(String(6))


class EventRow(Supersedable, KnownOn, Recorded, Base):
    __tablename__ = "life_event"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    kind: Mapped[EventKind] = mapped_column(CodeType(EventKind, 40))
    on: Mapped[date] = mapped_column("event_date", Date)
    region: Mapped[str | None] = mapped_column(String(6))


class ServicePeriodRow(Supersedable, KnownOn, Recorded, Base):
    """Active military service (R-XFER-003)."""

    __tablename__ = "service_period"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    start: Mapped[YearMonth] = mapped_column("start_month", YearMonthType())
    end: Mapped[YearMonth] = mapped_column("end_month", YearMonthType())


class DeathRow(Supersedable, KnownOn, Recorded, Base):
    """A reported death: a fact learned after registration, so not a column of ``person``."""

    __tablename__ = "person_death"
    _extra_table_args = (
        Index(
            "uq_person_death_current",
            "psn_no",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"))
    death_date: Mapped[date]


class EnrollmentRow(KnownOn, Recorded, Base):
    """参保关系: person × insutype × region × period. Its status history and wages are child tables."""

    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("psn_no", "relation_id", name="uq_enrollment_relation"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"))
    relation_id: Mapped[str] = mapped_column(String(64))
    insutype: Mapped[InsuType] = mapped_column(CodeType(InsuType, 3))
    region: Mapped[str] = mapped_column(String(6))
    psn_type: Mapped[PsnType] = mapped_column(CodeType(PsnType, 4))
    start: Mapped[date] = mapped_column("start_date", Date)
    end: Mapped[date | None] = mapped_column("end_date", Date)
    employer: Mapped[str | None] = mapped_column(String(18))
    previous_id: Mapped[int | None] = mapped_column(RowId, ForeignKey("enrollment.id"))


class StatusChangeRow(Supersedable, KnownOn, Recorded, Base):
    __tablename__ = "status_change"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[int] = mapped_column(RowId, ForeignKey("enrollment.id"), index=True)
    effective: Mapped[date] = mapped_column("effective_date", Date)
    status: Mapped[InsuStatus] = mapped_column(CodeType(InsuStatus, 1))
    status_reason: Mapped[StatusReason] = mapped_column(CodeType(StatusReason, 40))
    note: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))


class WageRow(Supersedable, Recorded, Base):
    """申报工资 from a contribution month on (R-CONT-001 input)."""

    __tablename__ = "declared_wage"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[int] = mapped_column(RowId, ForeignKey("enrollment.id"), index=True)
    from_month: Mapped[YearMonth]
    monthly_wage: Mapped[Decimal]


class LineRow(Supersedable, KnownOn, Recorded, Base):
    """缴费明细: one contribution month or one benefit year of one relation."""

    __tablename__ = "contribution_line"
    _extra_table_args = (CheckConstraint("month IS NULL OR benefit_year IS NULL", name="one_period"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[int] = mapped_column(RowId, ForeignKey("enrollment.id"), index=True)
    kind: Mapped[ContributionKind] = mapped_column(CodeType(ContributionKind, 2))
    payer: Mapped[PayerType] = mapped_column(CodeType(PayerType, 40))
    paid_on: Mapped[date]
    amount: Mapped[Decimal]
    month: Mapped[YearMonth | None]
    benefit_year: Mapped[int | None]
    fund: Mapped[FundLine | None] = mapped_column(CodeType(FundLine, 6))
    base: Mapped[Decimal | None]
    months_credited: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    legacy_benefit_start: Mapped[date | None]


class AuditRow(Base, Recorded):
    """Person merges and corrections: who (recorded_by), when (recorded_at), why (reason), what (detail)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(32))  # MERGE_PERSON | SUPERSEDE
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    other_psn_no: Mapped[str | None] = mapped_column(String(40), ForeignKey("person.psn_no"))
    table_name: Mapped[str | None] = mapped_column(String(64))
    row_id: Mapped[int | None] = mapped_column(RowId)
    replacement_id: Mapped[int | None] = mapped_column(RowId)
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON


# Tables holding facts (append-only) and the columns an UPDATE may touch in each.
FACT_TABLES: dict[str, tuple[str, ...]] = {
    "person": PERSON_MARKERS,
    "person_document": SUPERSEDE_MARKERS + ("psn_no",),
    "group_membership": SUPERSEDE_MARKERS + ("psn_no",),
    "life_event": SUPERSEDE_MARKERS + ("psn_no",),
    "service_period": SUPERSEDE_MARKERS + ("psn_no",),
    "person_death": SUPERSEDE_MARKERS + ("psn_no",),
    "enrollment": ("psn_no",),
    "status_change": SUPERSEDE_MARKERS,
    "declared_wage": SUPERSEDE_MARKERS,
    "contribution_line": SUPERSEDE_MARKERS,
    "audit_log": (),
}
