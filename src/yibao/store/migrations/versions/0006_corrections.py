"""Corrections of relations and persons: ``enrollment_correction`` and ``person_correction``.

Written by hand with plain SQLAlchemy types like 0001/0004 (checked against
``yibao.store.correction_models`` by the migration tests on SQLite and PostgreSQL). Both tables are
facts with the append-only triggers of 0001: DELETE (and TRUNCATE) refused, and every UPDATE refused
— no column is ever changed, not even by a merge (a relation's corrections follow it through
``enrollment_id``; a person's corrections stay with the corrected, possibly absorbed, person). On
PostgreSQL the trigger function ``yibao_append_only()`` of 0001 is reused.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)

TABLES = ("enrollment_correction", "person_correction")


def _recorded() -> list[sa.Column]:
    return [sa.Column("recorded_at", TS, nullable=False), sa.Column("recorded_by", sa.String(100), nullable=False)]


def upgrade() -> None:
    tables: dict[str, sa.Table] = {}
    t = "enrollment_correction"
    tables[t] = op.create_table(
        t,
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "enrollment_id", ROW_ID, sa.ForeignKey("enrollment.id", name=f"fk_{t}_enrollment_id_enrollment"), nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("psn_type", sa.String(4), nullable=False),
        sa.Column("employer", sa.String(18), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name=f"ck_{t}_period"),
        sa.CheckConstraint("length(reason) > 0", name=f"ck_{t}_reason"),
    )
    op.create_index(f"ix_{t}_enrollment_id", t, ["enrollment_id"])

    t = "person_correction"
    tables[t] = op.create_table(
        t,
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("psn_no", sa.String(40), sa.ForeignKey("person.psn_no", name=f"fk_{t}_psn_no_person"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sex", sa.String(1), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.CheckConstraint("sex IS NULL OR sex IN ('M', 'F')", name=f"ck_{t}_sex"),
        sa.CheckConstraint("length(reason) > 0", name=f"ck_{t}_reason"),
    )
    op.create_index(f"ix_{t}_psn_no", t, ["psn_no"])

    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "postgresql":
            op.execute(
                f'CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
                f"FOR EACH ROW EXECUTE FUNCTION yibao_append_only()"
            )
            op.execute(
                f'CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON "{table}" '
                f"FOR EACH STATEMENT EXECUTE FUNCTION yibao_append_only()"
            )
        elif dialect == "sqlite":
            op.execute(
                f'CREATE TRIGGER trg_{table}_no_delete BEFORE DELETE ON "{table}" '
                f"BEGIN SELECT RAISE(ABORT, 'YIBAO_APPEND_ONLY: DELETE on {table}: corrections are never deleted'); END"
            )
            changed = [f'OLD."{c.name}" IS NOT NEW."{c.name}"' for c in tables[table].columns]
            op.execute(
                f'CREATE TRIGGER trg_{table}_no_update BEFORE UPDATE ON "{table}" WHEN {" OR ".join(changed)} '
                f"BEGIN SELECT RAISE(ABORT, 'YIBAO_APPEND_ONLY: UPDATE on {table}: corrections are never updated'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "postgresql":
            op.execute(f'DROP TRIGGER IF EXISTS trg_{table}_append_only ON "{table}"')
            op.execute(f'DROP TRIGGER IF EXISTS trg_{table}_no_truncate ON "{table}"')
        elif dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_delete")
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_update")
    op.drop_index("ix_person_correction_psn_no", table_name="person_correction")
    op.drop_table("person_correction")
    op.drop_index("ix_enrollment_correction_enrollment_id", table_name="enrollment_correction")
    op.drop_table("enrollment_correction")
