"""Corrections of a relation's columns and of a person's attributes (issue 3): append-only facts.

``enrollment`` and ``person`` rows are never updated and have no supersede markers. A correction of
them is a row of its own that carries the **complete corrected values** of the correctable columns
(not a difference), the reason, and ``recorded_at`` / ``recorded_by``:

* ``enrollment_correction`` (更正参保关系): start date, end date, ``psn_type``, employer of one relation,
  by ``enrollment_id`` (the relation's surrogate key: it follows the relation when a merge moves it,
  and the coverage projection finds the owner through it). Region and insutype are not correctable:
  a relation in another region or scheme is another relation (terminate it and enrol, or transfer).
* ``person_correction`` (更正人员基本信息): name, sex, birth date of one person, by ``psn_no``. A merge
  does not move these rows: they correct the absorbed person's own record, whose attributes the
  kept person does not take.

As known on day K (:func:`yibao.store.repository.load_facts`), the values are those of the latest
correction recorded by the end of K (Asia/Shanghai), else the row's own: a correction recorded after
K is not visible at K, and nothing is ever lost (the original row and every correction stay).
The migration is revision 0006, with the append-only triggers of revision 0001 (no column is ever
updated, not even by a merge).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yibao.codes import PsnType
from yibao.store.models import FACT_TABLES, Base, Recorded, RowId
from yibao.store.types import CodeType


class RelationCorrectionRow(Recorded, Base):
    """更正参保关系: the relation's start, end, psn_type and employer from this correction on."""

    __tablename__ = "enrollment_correction"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period"),
        CheckConstraint("length(reason) > 0", name="reason"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[int] = mapped_column(RowId, ForeignKey("enrollment.id"), index=True)
    start: Mapped[date] = mapped_column("start_date")
    end: Mapped[date | None] = mapped_column("end_date")
    psn_type: Mapped[PsnType] = mapped_column(CodeType(PsnType, 4))
    employer: Mapped[str | None] = mapped_column(String(18))
    reason: Mapped[str] = mapped_column(Text)


class PersonCorrectionRow(Recorded, Base):
    """更正人员基本信息: the person's name, sex and birth date from this correction on."""

    __tablename__ = "person_correction"
    __table_args__ = (
        CheckConstraint("sex IS NULL OR sex IN ('M', 'F')", name="sex"),
        CheckConstraint("length(reason) > 0", name="reason"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[date | None]
    reason: Mapped[str] = mapped_column(Text)


# Correctable columns (attribute names) of each corrected table, in the order the audit lists them.
RELATION_FIELDS = ("start", "end", "psn_type", "employer")
PERSON_FIELDS = ("name", "sex", "birth_date")

# Fact tables of this module: no column is ever updated (see the module doc).
CORRECTION_TABLES: dict[str, tuple[str, ...]] = {"enrollment_correction": (), "person_correction": ()}
FACT_TABLES.update(CORRECTION_TABLES)  # tests/store/test_migrations.py checks the list

__all__ = ["CORRECTION_TABLES", "PERSON_FIELDS", "RELATION_FIELDS", "PersonCorrectionRow", "RelationCorrectionRow"]
