"""The duplicate-enrollment worklist (重复参保核查工作清单, issue 4): facts, append-only.

* ``duplicate_case`` — one proposal of :func:`yibao.rules.duplicate.resolve_duplicate` for one
  person's group of relations, as detected on a date, with the ``fingerprint`` of the facts it was
  made on and the proposal itself (JSON). Never updated.
* ``duplicate_case_event`` — the case's state changes, one row each, with who, when and why:
  ``CONFIRMED`` (the resolution was applied), ``DISMISSED`` (not a duplicate to act on; the same
  facts are not proposed again), ``SUPERSEDED`` (the facts changed; a newer case replaces it). A case
  without an event is ``OPEN``. At most one event per case.
* ``duplicate_action`` — what confirming did: the status change of the relation given up
  (``STATUS``), the subsidy to deduct (``SUBSIDY_DEDUCTION``, R-RES-007), each refund due and its
  channel (``REFUND_DUE``, R-REF-001…003, paid on application), and the notice to the other
  region (``REGION_NOTICE``).

Created by revision 0005, with the append-only triggers of 0001/0004.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.models import FACT_TABLES, Base, Recorded, RowId

CASE_STATES = ("CONFIRMED", "DISMISSED", "SUPERSEDED")
ACTION_KINDS = ("STATUS", "SUBSIDY_DEDUCTION", "REFUND_DUE", "REGION_NOTICE")


class DuplicateCaseRow(Recorded, Base):
    __tablename__ = "duplicate_case"
    __table_args__ = (UniqueConstraint("psn_no", "relation_ids", "fingerprint", name="uq_duplicate_case_psn_no_relation_ids_fingerprint"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(String(40), unique=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    relation_ids: Mapped[str] = mapped_column(String(400))  # the group, sorted, comma-separated
    fingerprint: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(16))  # RESOLVED | MANUAL_REVIEW
    rule: Mapped[str] = mapped_column(String(16))
    detected_on: Mapped[date]
    proposal: Mapped[str] = mapped_column(Text)  # JSON: Decision.to_dict()


class DuplicateCaseEventRow(Recorded, Base):
    __tablename__ = "duplicate_case_event"
    __table_args__ = (CheckConstraint("state IN ('CONFIRMED', 'DISMISSED', 'SUPERSEDED')", name="state"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(RowId, ForeignKey("duplicate_case.id"), unique=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    state: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)


class DuplicateActionRow(Recorded, Base):
    __tablename__ = "duplicate_action"
    __table_args__ = (
        CheckConstraint("action IN ('STATUS', 'SUBSIDY_DEDUCTION', 'REFUND_DUE', 'REGION_NOTICE')", name="action"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(RowId, ForeignKey("duplicate_case.id"), index=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    relation_id: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(6))  # who acts: the region of the relation given up
    other_region: Mapped[str | None] = mapped_column(String(6))  # REGION_NOTICE: the sender
    effective: Mapped[date | None]
    amount: Mapped[Decimal | None]
    detail: Mapped[str] = mapped_column(Text)  # JSON


WORKLIST_TABLES: dict[str, tuple[str, ...]] = {
    "duplicate_case": ("psn_no",),
    "duplicate_case_event": ("psn_no",),
    "duplicate_action": ("psn_no",),
}
FACT_TABLES.update(WORKLIST_TABLES)
