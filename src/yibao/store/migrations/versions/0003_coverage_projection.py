"""The coverage projection: one derived row per person for the fast "covered on D" lookup.

Not a fact table (no append-only trigger, no audit): rows are rewritten as the facts change;
see ``yibao.store.projection``. Written by hand with plain SQLAlchemy types, like 0001/0002.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coverage_projection",
        sa.Column("psn_no", sa.String(40), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("known_on", sa.Date(), nullable=True),
        sa.Column("stable_through", sa.Date(), nullable=True),
        sa.Column("regions", sa.String(255), nullable=False, server_default=sa.text("''")),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("psn_no", name="pk_coverage_projection"),
    )


def downgrade() -> None:
    op.drop_table("coverage_projection")
