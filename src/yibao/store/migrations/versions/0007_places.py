"""A person's places for the duplicate rules: ``person_place`` (就业地, 常住地, 学籍地).

Written by hand with plain SQLAlchemy types like 0001/0004–0006 (checked against
``yibao.store.place_models`` by the migration tests on SQLite and PostgreSQL). The table is a fact
table with the append-only triggers of 0001, copied here on purpose (a migration never imports
another): DELETE (and TRUNCATE) refused; UPDATE refused except setting a supersede marker that was
NULL, or moving ``psn_no`` to the person its owner was merged into. On PostgreSQL the trigger
function ``yibao_append_only()`` of 0001 is reused.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)

UPDATABLE: dict[str, tuple[str, ...]] = {"person_place": ("superseded_at", "superseded_by_id", "psn_no")}


def upgrade() -> None:
    t = "person_place"
    table = op.create_table(
        t,
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("psn_no", sa.String(40), sa.ForeignKey("person.psn_no", name=f"fk_{t}_psn_no_person"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("student_cause", sa.String(20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("supersedes_id", ROW_ID, sa.ForeignKey(f"{t}.id", name=f"fk_{t}_supersedes_id_{t}"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("superseded_at", TS, nullable=True),
        sa.Column("superseded_by_id", ROW_ID, sa.ForeignKey(f"{t}.id", name=f"fk_{t}_superseded_by_id_{t}"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.CheckConstraint("supersedes_id IS NULL OR reason IS NOT NULL", name=f"ck_{t}_correction_has_reason"),
        sa.CheckConstraint("superseded_by_id IS NULL OR superseded_at IS NOT NULL", name=f"ck_{t}_marker_pair"),
        sa.CheckConstraint("kind IN ('EMPLOYMENT', 'HABITUAL_RESIDENCE', 'STUDY')", name=f"ck_{t}_kind"),
        sa.CheckConstraint("length(region) = 6", name=f"ck_{t}_region"),
        sa.CheckConstraint(
            "student_cause IS NULL OR (kind = 'STUDY' AND student_cause IN ('SCHOOL_ENTRY', 'JOB'))", name=f"ck_{t}_student_cause"
        ),
    )
    op.create_index(f"ix_{t}_psn_no", t, ["psn_no"])

    dialect = op.get_bind().dialect.name
    for name, updatable in UPDATABLE.items():
        if dialect == "postgresql":
            args = ", ".join(f"'{c}'" for c in updatable)
            op.execute(
                f'CREATE TRIGGER trg_{name}_append_only BEFORE UPDATE OR DELETE ON "{name}" '
                f"FOR EACH ROW EXECUTE FUNCTION yibao_append_only({args})"
            )
            op.execute(
                f'CREATE TRIGGER trg_{name}_no_truncate BEFORE TRUNCATE ON "{name}" '
                f"FOR EACH STATEMENT EXECUTE FUNCTION yibao_append_only()"
            )
        elif dialect == "sqlite":
            op.execute(
                f'CREATE TRIGGER trg_{name}_no_delete BEFORE DELETE ON "{name}" '
                f"BEGIN SELECT RAISE(ABORT, 'YIBAO_APPEND_ONLY: DELETE on {name}: facts are never deleted, supersede them'); END"
            )
            changed = [f'OLD."{c.name}" IS NOT NEW."{c.name}"' for c in table.columns if c.name not in updatable]
            changed += [f'(OLD."{c}" IS NOT NULL AND OLD."{c}" IS NOT NEW."{c}")' for c in updatable if c != "psn_no"]
            changed.append(
                '(OLD.psn_no IS NOT NEW.psn_no AND NOT EXISTS '
                "(SELECT 1 FROM person p WHERE p.psn_no = OLD.psn_no AND p.merged_into = NEW.psn_no))"
            )
            op.execute(
                f'CREATE TRIGGER trg_{name}_no_update BEFORE UPDATE ON "{name}" WHEN {" OR ".join(changed)} '
                f"BEGIN SELECT RAISE(ABORT, 'YIBAO_APPEND_ONLY: UPDATE on {name} may only set supersede markers once'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in UPDATABLE:
        if dialect == "postgresql":
            op.execute(f'DROP TRIGGER IF EXISTS trg_{name}_append_only ON "{name}"')
            op.execute(f'DROP TRIGGER IF EXISTS trg_{name}_no_truncate ON "{name}"')
        elif dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS trg_{name}_no_delete")
            op.execute(f"DROP TRIGGER IF EXISTS trg_{name}_no_update")
    op.drop_index("ix_person_place_psn_no", table_name="person_place")
    op.drop_table("person_place")
