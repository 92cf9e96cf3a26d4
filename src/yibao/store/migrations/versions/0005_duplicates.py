"""The duplicate-enrollment worklist (owner: the batch engine): cases, their events, their actions.

Written by hand with plain SQLAlchemy types like 0004 (checked against
``yibao.store.worklist_models`` by the migration tests on SQLite and PostgreSQL). The three tables
are facts: the append-only triggers of 0001 are added (DELETE refused; UPDATE refused except moving
``psn_no`` to the person its owner was merged into). On PostgreSQL the trigger function
``yibao_append_only()`` of 0001 is reused.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")
TS = sa.DateTime(timezone=True)

UPDATABLE: dict[str, tuple[str, ...]] = {
    "duplicate_case": ("psn_no",),
    "duplicate_case_event": ("psn_no",),
    "duplicate_action": ("psn_no",),
}


def _person(t: str) -> sa.Column:
    return sa.Column("psn_no", sa.String(40), sa.ForeignKey("person.psn_no", name=f"fk_{t}_psn_no_person"), nullable=False)


def _case(t: str) -> sa.Column:
    return sa.Column("case_id", ROW_ID, sa.ForeignKey("duplicate_case.id", name=f"fk_{t}_case_id_duplicate_case"), nullable=False)


def _recorded() -> list[sa.Column]:
    return [sa.Column("recorded_at", TS, nullable=False), sa.Column("recorded_by", sa.String(100), nullable=False)]


def upgrade() -> None:
    tables: dict[str, sa.Table] = {}
    t = "duplicate_case"
    tables[t] = op.create_table(
        t,
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("case_no", sa.String(40), nullable=False),
        _person(t),
        sa.Column("relation_ids", sa.String(400), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("detected_on", sa.Date(), nullable=False),
        sa.Column("proposal", sa.Text(), nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("case_no", name=f"uq_{t}_case_no"),
        sa.UniqueConstraint("psn_no", "relation_ids", "fingerprint", name=f"uq_{t}_psn_no_relation_ids_fingerprint"),
    )
    op.create_index(f"ix_{t}_psn_no", t, ["psn_no"])

    t = "duplicate_case_event"
    tables[t] = op.create_table(
        t,
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        _case(t),
        _person(t),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("case_id", name=f"uq_{t}_case_id"),
        sa.CheckConstraint("state IN ('CONFIRMED', 'DISMISSED', 'SUPERSEDED')", name=f"ck_{t}_state"),
    )
    op.create_index(f"ix_{t}_psn_no", t, ["psn_no"])

    t = "duplicate_action"
    tables[t] = op.create_table(
        t,
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        _case(t),
        _person(t),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("relation_id", sa.String(64), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("other_region", sa.String(6), nullable=True),
        sa.Column("effective", sa.Date(), nullable=True),
        sa.Column("amount", MONEY, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.CheckConstraint(
            "action IN ('STATUS', 'SUBSIDY_DEDUCTION', 'REFUND_DUE', 'REGION_NOTICE')", name=f"ck_{t}_action"
        ),
    )
    op.create_index(f"ix_{t}_case_id", t, ["case_id"])
    op.create_index(f"ix_{t}_psn_no", t, ["psn_no"])

    dialect = op.get_bind().dialect.name
    for table, updatable in UPDATABLE.items():
        if dialect == "postgresql":
            args = ", ".join(f"'{c}'" for c in updatable)
            op.execute(
                f'CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
                f"FOR EACH ROW EXECUTE FUNCTION yibao_append_only({args})"
            )
            op.execute(
                f'CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON "{table}" '
                f"FOR EACH STATEMENT EXECUTE FUNCTION yibao_append_only()"
            )
        elif dialect == "sqlite":
            op.execute(
                f'CREATE TRIGGER trg_{table}_no_delete BEFORE DELETE ON "{table}" '
                f"BEGIN SELECT RAISE(ABORT, 'YIBAO_APPEND_ONLY: DELETE on {table}: facts are never deleted'); END"
            )
            changed = [f'OLD."{c.name}" IS NOT NEW."{c.name}"' for c in tables[table].columns if c.name not in updatable]
            changed.append(
                '(OLD.psn_no IS NOT NEW.psn_no AND NOT EXISTS '
                "(SELECT 1 FROM person p WHERE p.psn_no = OLD.psn_no AND p.merged_into = NEW.psn_no))"
            )
            op.execute(
                f'CREATE TRIGGER trg_{table}_no_update BEFORE UPDATE ON "{table}" WHEN {" OR ".join(changed)} '
                f"BEGIN SELECT RAISE(ABORT, 'YIBAO_APPEND_ONLY: UPDATE on {table}: cases are never updated'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in UPDATABLE:
        if dialect == "postgresql":
            op.execute(f'DROP TRIGGER IF EXISTS trg_{table}_append_only ON "{table}"')
            op.execute(f'DROP TRIGGER IF EXISTS trg_{table}_no_truncate ON "{table}"')
        elif dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_delete")
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_update")
    op.drop_index("ix_duplicate_action_case_id", table_name="duplicate_action")
    for table in reversed(list(UPDATABLE)):
        op.drop_index(f"ix_{table}_psn_no", table_name=table)
        op.drop_table(table)
