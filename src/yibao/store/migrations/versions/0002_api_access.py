"""API access control: users, tokens, the home region of persons registered without a relation.

Written by hand like 0001, with plain SQLAlchemy types so that it stays frozen when the models
(``yibao.store.auth_models``) change; tests/api/test_api_migration.py compares the migrated schema
with the models on SQLite and PostgreSQL. No append-only triggers: these are not fact tables
(users are deactivated and tokens revoked by UPDATE).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    t = "api_user"
    op.create_table(
        t,
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("regions", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("updated_at", TS, nullable=True),
        sa.Column("updated_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("username", name=f"uq_{t}_username"),
        sa.CheckConstraint("role IN ('clerk', 'auditor', 'administrator')", name=f"ck_{t}_role"),
    )

    t = "api_token"
    op.create_table(
        t,
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("user_id", ROW_ID, sa.ForeignKey("api_user.id", name=f"fk_{t}_user_id_api_user"), nullable=True),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("regions", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("token_hash", name=f"uq_{t}_token_hash"),
        sa.CheckConstraint("kind IN ('session', 'system')", name=f"ck_{t}_kind"),
        sa.CheckConstraint(
            "(kind = 'session' AND user_id IS NOT NULL) OR (kind = 'system' AND role IS NOT NULL)", name=f"ck_{t}_owner"
        ),
    )
    op.create_index(f"ix_{t}_user_id", t, ["user_id"])

    t = "api_person_home"
    op.create_table(
        t,
        sa.Column("psn_no", sa.String(40), sa.ForeignKey("person.psn_no", name=f"fk_{t}_psn_no_person"), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("psn_no", name=f"pk_{t}"),
    )
    op.create_index(f"ix_{t}_region", t, ["region"])


def downgrade() -> None:
    op.drop_index("ix_api_person_home_region", table_name="api_person_home")
    op.drop_table("api_person_home")
    op.drop_index("ix_api_token_user_id", table_name="api_token")
    op.drop_table("api_token")
    op.drop_table("api_user")
