"""A person's places (人员地点, issue 4): 就业地, 常住地, 学籍地 — append-only facts.

The duplicate rules (SPEC §10, R-DUP-002/003/004) keep the relation at the person's place of
employment (就业地), habitual residence (常住地/居住地) or place of study (学籍地). ``person_place``
records them, one row per (person, kind, region, from a day on):

* ``kind`` — ``EMPLOYMENT`` | ``HABITUAL_RESIDENCE`` | ``STUDY``;
* ``region`` — a 6-digit division code (any valid code: a place need not be a region with a policy pack);
* ``valid_from`` — the day the person's place became this region; the place in force on a day D
  is the row of that kind with the latest ``valid_from`` ≤ D (then the latest recorded);
* ``student_cause`` — for a place of study only: what made the student enrolled twice, as the clerk
  established it (``SCHOOL_ENTRY`` 入学 / ``JOB`` 就业, R-DUP-004); NULL = not established;
* ``note`` — the evidence (居住证, 劳动合同, 学籍证明 …), free text.

Corrections supersede (``repository.supersede_fact``: a replacement row, or a withdrawal), with the
markers of :class:`~yibao.store.models.Supersedable`; a merge moves the rows to the kept person like
groups and events. Created by revision 0007 with its own copy of the append-only triggers.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.models import (
    FACT_TABLES,
    SUPERSEDE_MARKERS,
    Base,
    Recorded,
    RowId,
    Supersedable,
)


class PlaceKind(StrEnum):
    EMPLOYMENT = "EMPLOYMENT"  # 就业地 (R-DUP-002)
    HABITUAL_RESIDENCE = "HABITUAL_RESIDENCE"  # 常住地 / 居住地 (R-DUP-003)
    STUDY = "STUDY"  # 学籍地 (R-DUP-004)


STUDENT_CAUSES = ("SCHOOL_ENTRY", "JOB")  # yibao.rules.duplicate.StudentCause


class PlaceRow(Supersedable, Recorded, Base):
    """人员地点: where the person works, lives or studies, from ``valid_from`` on."""

    __tablename__ = "person_place"
    _extra_table_args = (
        CheckConstraint("kind IN ('EMPLOYMENT', 'HABITUAL_RESIDENCE', 'STUDY')", name="kind"),
        CheckConstraint("length(region) = 6", name="region"),
        CheckConstraint(
            "student_cause IS NULL OR (kind = 'STUDY' AND student_cause IN ('SCHOOL_ENTRY', 'JOB'))", name="student_cause"
        ),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(6))
    valid_from: Mapped[date]
    student_cause: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


PLACE_TABLES: dict[str, tuple[str, ...]] = {"person_place": SUPERSEDE_MARKERS + ("psn_no",)}
FACT_TABLES.update(PLACE_TABLES)  # tests/store/test_migrations.py checks the list; a merge moves psn_no

__all__ = ["PLACE_TABLES", "STUDENT_CAUSES", "PlaceKind", "PlaceRow"]
