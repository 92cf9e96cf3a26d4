"""Access control of the REST API (DESIGN §5 "Access"): users, tokens, and where a person was registered.

Declared on the store's :class:`~yibao.store.models.Base` (same naming convention); created by the
Alembic revision ``0002``. These are *not* fact tables: a user is deactivated and a token revoked by
an UPDATE (no append-only trigger), and nothing here feeds the rules.

* ``api_user`` — a person who logs in: ``username``, an argon2id ``password_hash`` (argon2-cffi's
  encoded string, parameters included), a ``role`` (``clerk`` | ``auditor`` | ``administrator``), the
  ``regions`` served (comma-separated 6-digit pooling-region codes, or ``*`` for every region —
  auditors and administrators only) and ``active``.
* ``api_token`` — bearer credentials, stored as the SHA-256 of the secret (the secret is random,
  256 bits, and shown once; a slow hash is only needed for low-entropy passwords). ``kind`` is
  ``session`` (issued by a login, belongs to a user, whose role and regions apply at every request)
  or ``system`` (an API token for another system, with its own role and regions). ``expires_at``
  (NULL: no expiry, system tokens only) and ``revoked_at`` end it.
* ``api_person_home`` — the pooling region of the clerk who registered a person through the API.
  A person belongs to the regions of its relations; only while it has none does this row decide
  which region's staff may see it (``yibao.api.access``). Written once, never updated.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.models import Base, RowId

ROLES = ("clerk", "auditor", "administrator")
TOKEN_KINDS = ("session", "system")
ALL_REGIONS = "*"
AUTH_TABLES = ("api_user", "api_token", "api_person_home")


class UserRow(Base):
    __tablename__ = "api_user"
    __table_args__ = (CheckConstraint("role IN ('clerk', 'auditor', 'administrator')", name="role"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    regions: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(100))

    @property
    def region_list(self) -> list[str]:
        return split_regions(self.regions)


class TokenRow(Base):
    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint("kind IN ('session', 'system')", name="kind"),
        CheckConstraint("(kind = 'session' AND user_id IS NOT NULL) OR (kind = 'system' AND role IS NOT NULL)", name="owner"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(RowId, ForeignKey("api_user.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    regions: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PersonHomeRow(Base):
    __tablename__ = "api_person_home"

    psn_no: Mapped[str] = mapped_column(String(40), ForeignKey("person.psn_no"), primary_key=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))


def split_regions(value: str | None) -> list[str]:
    return [r for r in (value or "").split(",") if r]


def join_regions(regions: list[str] | tuple[str, ...] | set[str]) -> str:
    return ",".join(sorted(set(regions)))
