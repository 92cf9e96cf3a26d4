"""Read the store's facts (``yibao.store.models``) into the batch layout, with SQLAlchemy Core.

Person numbers (``psn_no``, text) and relations (``enrollment.id``) get int64 surrogates in the
batch tables; :class:`DatabaseInput` keeps the way back so proposals name the store's own keys.
A merged person record (``person.merged_into``) is read as its survivor (R-ID-005). Superseded
rows (corrections) are left out: only the facts in force are read; a relation's start, end and
psn_type are those of its latest correction (``enrollment_correction``, revision 0006), if any.
``person_context`` holds the places recorded for each person (``person_place``, revision 0007) in
force on the detection day ``on`` — 就业地, 常住地, 学籍地 and a student's cause; the rest of the
context (part-time work, medical assistance) is not in the store and stays unknown.

At national scale read the same tables with DuckDB's ``postgres`` scanner (or Spark JDBC) instead;
the layout is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa
from sqlalchemy import select

from yibao.batch.tables import SCHEMAS


@dataclass(frozen=True)
class DatabaseInput:
    tables: dict[str, pa.Table]
    psn_no: dict[int, str]  # surrogate → person.psn_no
    relation: dict[int, tuple[str, str]]  # surrogate (enrollment.id) → (psn_no, relation_id)


def read_database(url: str, *, on: date | None = None) -> DatabaseInput:
    """The store's facts in the batch layout; ``on``: the detection day the places are taken on (default today)."""
    from yibao.store.db import create_engine_for, migrate
    from yibao.store.correction_models import RelationCorrectionRow
    from yibao.store.place_models import PlaceRow
    from yibao.store.repository import places_in_force
    from yibao.store.models import (
        DocumentRow,
        EnrollmentRow,
        LineRow,
        PersonRow,
        StatusChangeRow,
    )

    engine = create_engine_for(url)
    try:
        migrate(engine)  # a store written by an earlier version gets the newer tables, as every entry point does
        with engine.connect() as conn:
            persons = conn.execute(select(PersonRow.psn_no, PersonRow.merged_into)).all()
            survivor = {p: (m or p) for p, m in persons}
            for _ in range(8):  # follow chains of merges
                survivor = {p: survivor.get(s, s) for p, s in survivor.items()}
            numbers = {p: i for i, p in enumerate(sorted(survivor), start=1)}
            docs = conn.execute(
                select(DocumentRow.psn_no, DocumentRow.cert_type, DocumentRow.number, DocumentRow.nationality).where(
                    DocumentRow.superseded_at.is_(None)
                )
            ).all()
            rels = conn.execute(
                select(
                    EnrollmentRow.id, EnrollmentRow.psn_no, EnrollmentRow.relation_id, EnrollmentRow.insutype, EnrollmentRow.region,
                    EnrollmentRow.psn_type, EnrollmentRow.start, EnrollmentRow.end,
                )
            ).all()
            corrected: dict[int, tuple] = {}  # enrollment.id → (start, end, psn_type) of the latest correction
            for c in conn.execute(
                select(RelationCorrectionRow.enrollment_id, RelationCorrectionRow.start, RelationCorrectionRow.end,
                       RelationCorrectionRow.psn_type).order_by(RelationCorrectionRow.recorded_at, RelationCorrectionRow.id)
            ):
                corrected[c[0]] = (c[1], c[2], c[3])
            rels = [(r[0], r[1], r[2], r[3], r[4], *((corrected[r[0]][2], corrected[r[0]][0], corrected[r[0]][1]) if r[0] in corrected else r[5:]))
                    for r in rels]
            changes = conn.execute(
                select(StatusChangeRow.enrollment_id, StatusChangeRow.effective, StatusChangeRow.status, StatusChangeRow.status_reason).where(
                    StatusChangeRow.superseded_at.is_(None)
                )
            ).all()
            lines = conn.execute(
                select(
                    LineRow.enrollment_id, LineRow.kind, LineRow.payer, LineRow.paid_on, LineRow.amount, LineRow.month, LineRow.benefit_year,
                ).where(LineRow.superseded_at.is_(None))
            ).all()
            places = conn.execute(
                select(PlaceRow.psn_no, PlaceRow.kind, PlaceRow.region, PlaceRow.valid_from, PlaceRow.student_cause,
                       PlaceRow.recorded_at, PlaceRow.id).where(PlaceRow.superseded_at.is_(None))
            ).all()
    finally:
        engine.dispose()
    psn = lambda p: numbers[survivor.get(p, p)]  # noqa: E731
    by_person: dict[int, list] = {}
    for row in places:
        by_person.setdefault(psn(row.psn_no), []).append(row)
    context = []
    for person, rows in sorted(by_person.items()):
        now = places_in_force(rows, on or date.today())
        if now:
            study = now.get("STUDY")
            context.append({
                "psn_no": person, "habitual_region": getattr(now.get("HABITUAL_RESIDENCE"), "region", None),
                "employment_region": getattr(now.get("EMPLOYMENT"), "region", None),
                "study_region": getattr(study, "region", None), "student_cause": getattr(study, "student_cause", None),
                "employee_part_time": False, "assisted_both": False,
            })
    tables = {
        "documents": pa.Table.from_pylist(
            [{"psn_no": psn(d[0]), "cert_type": d[1].value, "cert_no": d[2], "nationality": d[3]} for d in docs],
            schema=SCHEMAS["documents"],
        ),
        "relations": pa.Table.from_pylist(
            [
                {"relation_id": r[0], "psn_no": psn(r[1]), "insutype": r[3].value, "region": r[4], "psn_type": r[5].value,
                 "start_date": r[6], "end_date": r[7]}
                for r in rels
            ],
            schema=SCHEMAS["relations"],
        ),
        "status_changes": pa.Table.from_pylist(
            [{"relation_id": c[0], "effective": c[1], "status": c[2].value, "reason": c[3].value} for c in changes],
            schema=SCHEMAS["status_changes"],
        ),
        "contributions": pa.Table.from_pylist(
            [
                {"relation_id": c[0], "kind": c[1].value, "payer": c[2].value, "paid_on": c[3], "amount": c[4],
                 "month": c[5].year * 100 + c[5].month if c[5] is not None else None, "benefit_year": c[6]}
                for c in lines
            ],
            schema=SCHEMAS["contributions"],
        ),
        "person_context": pa.Table.from_pylist(context, schema=SCHEMAS["person_context"]),
    }
    back = {i: p for p, i in numbers.items()}
    return DatabaseInput(tables, back, {r[0]: (survivor.get(r[1], r[1]), r[2]) for r in rels})


def with_store_keys(proposals: pa.Table, source: DatabaseInput) -> pa.Table:
    """Add the store's keys to proposals made from a database: ``psn_no`` and ``relation_keys``."""
    persons = [source.psn_no.get(p) for p in proposals.column("person_id").to_pylist()]
    keys = [
        ",".join(source.relation[int(r)][1] for r in rels.split(","))
        for rels in proposals.column("relations").to_pylist()
    ]
    return proposals.append_column("psn_no", pa.array(persons, pa.string())).append_column("relation_keys", pa.array(keys, pa.string()))
