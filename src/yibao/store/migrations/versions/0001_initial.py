"""Initial store: persons, documents, groups, events, service periods, deaths, enrollments,
status changes, declared wages, contribution lines, audit log; append-only triggers.

Written by hand and checked against the models (tests/store/test_migrations.py compares the
migrated schema with ``yibao.store.models`` on SQLite and PostgreSQL). It uses plain SQLAlchemy
types so that it stays frozen when the models change:

* money: NUMERIC(14,2) on PostgreSQL, BIGINT fen on SQLite (``yibao.store.types.Money``);
* timestamps: TIMESTAMP WITH TIME ZONE (UTC text on SQLite);
* months: CHAR-like VARCHAR(7) ``YYYY-MM``; codes: VARCHAR.

Append-only triggers (both dialects): DELETE is refused on every fact table (and TRUNCATE on
PostgreSQL); UPDATE is refused unless it only sets supersede markers (``superseded_at``,
``superseded_by_id``; on ``person`` ``merged_into``/``merged_at``) that were NULL, or moves a row's
owner ``psn_no`` to the person its owner was merged into (R-ID-005 merge). Errors carry the text
``YIBAO_APPEND_ONLY`` (PostgreSQL SQLSTATE 23001 restrict_violation), which
``yibao.store.errors.translate`` turns into ``APPEND_ONLY_VIOLATION``.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")
TS = sa.DateTime(timezone=True)
MONTH = sa.String(7)

SUPERSEDE_MARKERS = ("superseded_at", "superseded_by_id")
PERSON_MARKERS = ("merged_into", "merged_at")

# table -> columns an UPDATE may change (see module doc); "psn_no" only by a merge
UPDATABLE: dict[str, tuple[str, ...]] = {
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


def _id(table: str) -> sa.Column:
    return sa.Column("id", ROW_ID, primary_key=True, autoincrement=True)


def _owner(table: str, *, index: bool = True) -> sa.Column:
    return sa.Column("psn_no", sa.String(40), sa.ForeignKey("person.psn_no", name=f"fk_{table}_psn_no_person"), nullable=False, index=index)


def _enrollment_fk(table: str) -> sa.Column:
    return sa.Column("enrollment_id", ROW_ID, sa.ForeignKey("enrollment.id", name=f"fk_{table}_enrollment_id_enrollment"), nullable=False, index=True)


def _recorded(*, known_on: bool = True) -> list[sa.Column]:
    cols = [sa.Column("recorded_at", TS, nullable=False), sa.Column("recorded_by", sa.String(100), nullable=False)]
    if known_on:
        cols.append(sa.Column("recorded_on_unknown", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    return cols


def _supersedable(table: str) -> list:
    return [
        sa.Column("supersedes_id", ROW_ID, sa.ForeignKey(f"{table}.id", name=f"fk_{table}_supersedes_id_{table}"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("superseded_at", TS, nullable=True),
        sa.Column("superseded_by_id", ROW_ID, sa.ForeignKey(f"{table}.id", name=f"fk_{table}_superseded_by_id_{table}"), nullable=True),
        sa.CheckConstraint("supersedes_id IS NULL OR reason IS NOT NULL", name=f"ck_{table}_correction_has_reason"),
        sa.CheckConstraint("superseded_by_id IS NULL OR superseded_at IS NOT NULL", name=f"ck_{table}_marker_pair"),
    ]


def _current_only_index(name: str, table: str, columns: list[str]) -> None:
    op.create_index(
        name, table, columns, unique=True,
        sqlite_where=sa.text("superseded_at IS NULL"), postgresql_where=sa.text("superseded_at IS NULL"),
    )


def upgrade() -> None:
    tables: dict[str, sa.Table] = {}

    tables["person"] = op.create_table(
        "person",
        sa.Column("psn_no", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(1), nullable=True),
        sa.Column("merged_into", sa.String(40), sa.ForeignKey("person.psn_no", name="fk_person_merged_into_person"), nullable=True),
        sa.Column("merged_at", TS, nullable=True),
        *_recorded(known_on=False),
        sa.PrimaryKeyConstraint("psn_no", name="pk_person"),
        sa.CheckConstraint("sex IS NULL OR sex IN ('M', 'F')", name="ck_person_sex"),
    )

    t = "person_document"
    tables[t] = op.create_table(
        t,
        _id(t),
        _owner(t),
        sa.Column("cert_type", sa.String(6), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("nationality", sa.String(3), nullable=True),
        sa.Column("key_nationality", sa.String(3), nullable=False, server_default=sa.text("''")),
        sa.Column("valid_from", sa.Date(), nullable=True),
        *_recorded(),
        *_supersedable(t),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
    )
    _current_only_index("uq_person_document_key", t, ["cert_type", "number", "key_nationality"])

    t = "group_membership"
    tables[t] = op.create_table(
        t,
        _id(t),
        _owner(t),
        sa.Column("group_code", sa.String(40), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("region", sa.String(6), nullable=True),
        *_recorded(),
        *_supersedable(t),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
    )

    t = "life_event"
    tables[t] = op.create_table(
        t,
        _id(t),
        _owner(t),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("region", sa.String(6), nullable=True),
        *_recorded(),
        *_supersedable(t),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
    )

    t = "service_period"
    tables[t] = op.create_table(
        t,
        _id(t),
        _owner(t),
        sa.Column("start_month", MONTH, nullable=False),
        sa.Column("end_month", MONTH, nullable=False),
        *_recorded(),
        *_supersedable(t),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
    )

    t = "person_death"
    tables[t] = op.create_table(
        t,
        _id(t),
        _owner(t, index=False),
        sa.Column("death_date", sa.Date(), nullable=False),
        *_recorded(),
        *_supersedable(t),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
    )
    _current_only_index("uq_person_death_current", t, ["psn_no"])

    t = "enrollment"
    tables[t] = op.create_table(
        t,
        _id(t),
        _owner(t, index=False),
        sa.Column("relation_id", sa.String(64), nullable=False),
        sa.Column("insutype", sa.String(3), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("psn_type", sa.String(4), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("employer", sa.String(18), nullable=True),
        sa.Column("previous_id", ROW_ID, sa.ForeignKey("enrollment.id", name="fk_enrollment_previous_id_enrollment"), nullable=True),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("psn_no", "relation_id", name="uq_enrollment_relation"),
    )

    t = "status_change"
    tables[t] = op.create_table(
        t,
        _id(t),
        _enrollment_fk(t),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(1), nullable=False),
        sa.Column("status_reason", sa.String(40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=sa.text("''")),
        *_recorded(),
        *_supersedable(t),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
    )

    t = "declared_wage"
    tables[t] = op.create_table(
        t,
        _id(t),
        _enrollment_fk(t),
        sa.Column("from_month", MONTH, nullable=False),
        sa.Column("monthly_wage", MONEY, nullable=False),
        *_recorded(known_on=False),
        *_supersedable(t),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
    )

    t = "contribution_line"
    tables[t] = op.create_table(
        t,
        _id(t),
        _enrollment_fk(t),
        sa.Column("kind", sa.String(2), nullable=False),
        sa.Column("payer", sa.String(40), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("month", MONTH, nullable=True),
        sa.Column("benefit_year", sa.Integer(), nullable=True),
        sa.Column("fund", sa.String(6), nullable=True),
        sa.Column("base", MONEY, nullable=True),
        sa.Column("months_credited", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("legacy_benefit_start", sa.Date(), nullable=True),
        *_recorded(),
        *_supersedable(t),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("idempotency_key", name="uq_contribution_line_idempotency_key"),
        sa.CheckConstraint("month IS NULL OR benefit_year IS NULL", name="ck_contribution_line_one_period"),
    )

    t = "audit_log"
    tables[t] = op.create_table(
        t,
        _id(t),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("psn_no", sa.String(40), sa.ForeignKey("person.psn_no", name="fk_audit_log_psn_no_person"), nullable=False, index=True),
        sa.Column("other_psn_no", sa.String(40), sa.ForeignKey("person.psn_no", name="fk_audit_log_other_psn_no_person"), nullable=True),
        sa.Column("table_name", sa.String(64), nullable=True),
        sa.Column("row_id", ROW_ID, nullable=True),
        sa.Column("replacement_id", ROW_ID, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        *_recorded(known_on=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgresql_triggers()
    elif dialect == "sqlite":
        _sqlite_triggers(tables)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in UPDATABLE:
        if dialect == "postgresql":
            op.execute(f'DROP TRIGGER IF EXISTS trg_{table}_append_only ON "{table}"')
            op.execute(f'DROP TRIGGER IF EXISTS trg_{table}_no_truncate ON "{table}"')
        elif dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_delete")
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_update")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS yibao_append_only()")
    for table in reversed(list(UPDATABLE)):
        op.drop_table(table)


# --------------------------------------------------------------------------------------
# Append-only triggers
# --------------------------------------------------------------------------------------

_PG_FUNCTION = r"""
CREATE OR REPLACE FUNCTION yibao_append_only() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    old_row jsonb;
    new_row jsonb;
    col text;
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'YIBAO_APPEND_ONLY: % on %: facts are never deleted, supersede them', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    old_row := to_jsonb(OLD);
    new_row := to_jsonb(NEW);
    FOR i IN 0 .. TG_NARGS - 1 LOOP
        col := TG_ARGV[i];
        IF col = 'psn_no' THEN
            IF (old_row ->> 'psn_no') IS DISTINCT FROM (new_row ->> 'psn_no') AND NOT EXISTS (
                SELECT 1 FROM person p WHERE p.psn_no = old_row ->> 'psn_no' AND p.merged_into = new_row ->> 'psn_no'
            ) THEN
                RAISE EXCEPTION 'YIBAO_APPEND_ONLY: %.psn_no moves only to the person its owner was merged into', TG_TABLE_NAME
                    USING ERRCODE = 'restrict_violation';
            END IF;
        ELSIF (old_row -> col) <> 'null'::jsonb AND (old_row -> col) IS DISTINCT FROM (new_row -> col) THEN
            RAISE EXCEPTION 'YIBAO_APPEND_ONLY: %.% is set once', TG_TABLE_NAME, col
                USING ERRCODE = 'restrict_violation';
        END IF;
        old_row := old_row - col;
        new_row := new_row - col;
    END LOOP;
    IF old_row IS DISTINCT FROM new_row THEN
        RAISE EXCEPTION 'YIBAO_APPEND_ONLY: UPDATE of fact columns of % (id %): supersede with a reason instead',
            TG_TABLE_NAME, coalesce(old_row ->> 'id', old_row ->> 'psn_no')
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$fn$
"""


def _postgresql_triggers() -> None:
    op.execute(_PG_FUNCTION)
    for table, updatable in UPDATABLE.items():
        args = ", ".join(f"'{c}'" for c in updatable)
        op.execute(
            f'CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION yibao_append_only({args})"
        )
        op.execute(
            f'CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON "{table}" '
            f"FOR EACH STATEMENT EXECUTE FUNCTION yibao_append_only()"
        )


def _sqlite_triggers(tables: dict[str, sa.Table]) -> None:
    for table, updatable in UPDATABLE.items():
        op.execute(
            f'CREATE TRIGGER trg_{table}_no_delete BEFORE DELETE ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, 'YIBAO_APPEND_ONLY: DELETE on {table}: facts are never deleted, supersede them'); END"
        )
        changed = [f'OLD."{c.name}" IS NOT NEW."{c.name}"' for c in tables[table].columns if c.name not in updatable]
        changed += [f'(OLD."{c}" IS NOT NULL AND OLD."{c}" IS NOT NEW."{c}")' for c in updatable if c != "psn_no"]
        if "psn_no" in updatable:
            changed.append(
                '(OLD.psn_no IS NOT NEW.psn_no AND NOT EXISTS '
                "(SELECT 1 FROM person p WHERE p.psn_no = OLD.psn_no AND p.merged_into = NEW.psn_no))"
            )
        op.execute(
            f'CREATE TRIGGER trg_{table}_no_update BEFORE UPDATE ON "{table}" WHEN {" OR ".join(changed)} '
            f"BEGIN SELECT RAISE(ABORT, 'YIBAO_APPEND_ONLY: UPDATE on {table} may only set supersede markers once'); END"
        )
