"""Stored cases of the records service (issue 3): transfers (转移接续) and refunds (退费).

Facts, append-only like :mod:`yibao.store.models`: a transfer step, a refund application and a
refund decision are each one row that is never updated (a decision is a new row, not an UPDATE of the
application). Every row carries ``psn_no`` (the coverage projection recomputes the persons whose
rows a transaction added) and ``recorded_at`` / ``recorded_by``. The migration is revision 0004,
with the same append-only triggers as revision 0001.

Retirement conversion and the retirement top-up need no table of their own: the conversion is a
``RETIRED`` life event (the fact the timeline reads, R-RET-003) and the top-up a lump-sum line (33).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.models import FACT_TABLES, Base, Recorded, RowId


class TransferStepRow(Recorded, Base):
    """One step of a transfer (转移接续, R-XFER-001…004): ``OUT`` — the sending region accepted the
    application (受理) on ``on_date``; ``IN`` — the receiving region received the form (参保信息表) on
    ``on_date``. ``due_on`` is the working-day deadline of the step (R-XFER-002)."""

    __tablename__ = "transfer_step"
    __table_args__ = (
        UniqueConstraint("transfer_no", "step", name="uq_transfer_step_transfer_no_step"),
        CheckConstraint("step IN ('OUT', 'IN')", name="step"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    transfer_no: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(3))
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    relation_id: Mapped[str] = mapped_column(String(64))  # OUT: the sending relation; IN: the receiving one
    other_relation_id: Mapped[str] = mapped_column(String(64))  # the relation at the other end
    region: Mapped[str] = mapped_column(String(6))  # the region acting in this step
    other_region: Mapped[str] = mapped_column(String(6))
    case: Mapped[str] = mapped_column("transfer_case", String(20))  # R-XFER-001 case
    on_date: Mapped[date]
    due_on: Mapped[date]
    account_balance: Mapped[Decimal | None]  # OUT: balance remitted (form); IN: money received
    account_state: Mapped[str | None] = mapped_column(String(16))  # IN: R-XFER-004 state
    account_credited: Mapped[Decimal | None]  # IN: credited to the account (R-ACCT-006)
    money_received_on: Mapped[date | None]
    cumulative_months: Mapped[int | None] = mapped_column(Integer)  # R-XFER-003, carried


class RefundApplicationRow(Recorded, Base):
    """退费申请: what the rule makes refundable (``detail``: the inputs and the refund lines, JSON) and why."""

    __tablename__ = "refund_application"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    refund_no: Mapped[str] = mapped_column(String(40), unique=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    relation_id: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(16))  # R-REF-001 | R-REF-003 | R-REF-005
    event_date: Mapped[date]
    total: Mapped[Decimal]
    detail: Mapped[str] = mapped_column(Text)  # JSON: inputs, lines
    reasons: Mapped[str] = mapped_column(Text)  # JSON: the decision's reasons


class RefundDecisionRow(Recorded, Base):
    """退费审核: a clerk approves or rejects an application, once, with a reason."""

    __tablename__ = "refund_decision"
    __table_args__ = (CheckConstraint("outcome IN ('APPROVED', 'REJECTED')", name="outcome"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(RowId, ForeignKey("refund_application.id"), unique=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)


# Fact tables of this module and the columns an UPDATE may change (none: never updated; ``psn_no``
# only when a merge moves it, as for the person-owned tables of revision 0001).
CASE_TABLES: dict[str, tuple[str, ...]] = {
    "transfer_step": ("psn_no",),
    "refund_application": ("psn_no",),
    "refund_decision": ("psn_no",),
}
FACT_TABLES.update(CASE_TABLES)  # they are fact tables too (tests/store/test_migrations.py checks the list)
