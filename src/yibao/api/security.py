"""Users, passwords, tokens: who is calling, with which role and for which regions.

Passwords are hashed with argon2id (argon2-cffi, its default parameters unless the app is given
another :class:`argon2.PasswordHasher`); a hash made with older parameters is upgraded at the next
login. Bearer tokens are 256-bit random secrets (``ybs_…`` for a login session, ``ybt_…`` for a
system's API token), shown once and stored only as their SHA-256: a token is looked up by its hash,
so a stolen table does not give working tokens, and no per-request argon2 (which would cost tens of
milliseconds on every call) is needed for a secret that cannot be guessed.

A session token carries no role of its own: the user's current role, regions and ``active`` flag
apply at every request, so deactivating a user or changing its regions takes effect at once. A
system token carries its own role and regions. Login failures look the same whether the user is
unknown, inactive or the password wrong, and take the same time (a dummy verification).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from yibao.errors import YibaoError
from yibao.store.auth_models import (
    ALL_REGIONS,
    ROLES,
    TokenRow,
    UserRow,
    join_regions,
    split_regions,
)

from .errors import (
    LOGIN_FAILED,
    LOGIN_THROTTLED,
    NOT_A_USER,
    PASSWORD_UNCHANGED,
    REGIONS_INVALID,
    TOKEN_INVALID,
    TOKEN_NOT_FOUND,
    USER_NOT_FOUND,
    USERNAME_TAKEN,
)

CLERK, AUDITOR, ADMINISTRATOR = ROLES
WRITERS = frozenset({CLERK, ADMINISTRATOR})
SESSION_PREFIX = "ybs_"
SYSTEM_PREFIX = "ybt_"
DEFAULT_SESSION_TTL = timedelta(hours=8)


@dataclass(frozen=True)
class Principal:
    """The caller of one request."""

    name: str  # username, or the system token's name
    kind: str  # "user" | "system"
    role: str
    regions: frozenset[str] | None  # None: every region
    token_id: int
    user_id: int | None = None

    @property
    def by(self) -> str:
        """``recorded_by`` for what this caller writes."""
        return f"{'user' if self.kind == 'user' else 'token'}:{self.name}"[:100]

    @property
    def all_regions(self) -> bool:
        return self.regions is None

    def serves(self, region: str) -> bool:
        return self.regions is None or region in self.regions

    def serves_any(self, regions: Iterable[str]) -> bool:
        return self.regions is None or not self.regions.isdisjoint(regions)

    def served(self) -> list[str]:
        return [ALL_REGIONS] if self.regions is None else sorted(self.regions)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def regions_value(role: str, regions: Sequence[str] | None, known: Iterable[str]) -> str:
    """The stored ``regions`` for a role: administrators serve every region; clerks need at least one
    known region and never ``*``; auditors are ``*`` or a list of known regions."""
    if role == ADMINISTRATOR:
        return ALL_REGIONS
    wanted = sorted(set(regions or ()))
    if not wanted:
        raise YibaoError(REGIONS_INVALID, field="regions", role=role, reason_zh="至少需要一个统筹区", reason_en="at least one region is needed")
    if ALL_REGIONS in wanted:
        if role == CLERK:
            raise YibaoError(REGIONS_INVALID, field="regions", role=role, reason_zh="经办员必须指定统筹区", reason_en="a clerk serves named regions only")
        if len(wanted) > 1:
            raise YibaoError(REGIONS_INVALID, field="regions", role=role, reason_zh="* 不能与其他统筹区并列", reason_en="* stands alone")
        return ALL_REGIONS
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise YibaoError(
            REGIONS_INVALID, field="regions", role=role,
            reason_zh=f"未知统筹区 {', '.join(unknown)}", reason_en=f"unknown region {', '.join(unknown)}",
        )
    return join_regions(wanted)


def _principal_regions(role: str, stored: str | None) -> frozenset[str] | None:
    if role == ADMINISTRATOR or stored == ALL_REGIONS:
        return None
    return frozenset(split_regions(stored))


AUTHENTICATE = (  # the token check of every request: one row, with its user
    select(
        TokenRow.id, TokenRow.kind, TokenRow.name, TokenRow.role, TokenRow.regions, TokenRow.revoked_at, TokenRow.expires_at, TokenRow.user_id,
        UserRow.username, UserRow.role.label("user_role"), UserRow.regions.label("user_regions"), UserRow.active,
    )
    .outerjoin(UserRow, UserRow.id == TokenRow.user_id)
    .where(TokenRow.token_hash == bindparam("token_hash"))
)


EXPIRED_KEPT = timedelta(days=7)  # expired session tokens are purged after this


class LoginThrottle:
    """Failed logins per key (``user:<name>``, ``addr:<client address>``) in a sliding window.

    After ``limit`` failures within ``window`` for any key, logins with that key are refused with
    ``LOGIN_THROTTLED`` until the oldest failure leaves the window; a success clears the username's
    count. Kept in the memory of each server process (with several workers each counts on its own;
    a restart forgets), which bounds password guessing without a table to clean up.
    """

    def __init__(self, *, clock: Callable[[], datetime], user_limit: int = 5, address_limit: int = 20,
                 window: timedelta = timedelta(minutes=15)) -> None:
        self.clock = clock
        self.limits = {"user": user_limit, "addr": address_limit}
        self.window = window
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: datetime) -> list[datetime]:
        kept = [t for t in self._failures.get(key, []) if now - t < self.window]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def check(self, keys: Sequence[str]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                if len(recent) >= self.limits[key.split(":", 1)[0]]:
                    wait = int((recent[0] + self.window - now).total_seconds()) + 1
                    raise YibaoError(LOGIN_THROTTLED, field="username", retry_after=wait)

    def failed(self, keys: Sequence[str]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now)
                self._failures.setdefault(key, []).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class AccessStore:
    """The API's users and tokens, in the store's database (tables of revision 0002)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        known_regions: Iterable[str],
        clock: Callable[[], datetime],
        hasher: PasswordHasher | None = None,
        session_ttl: timedelta = DEFAULT_SESSION_TTL,
    ) -> None:
        self.sessions = sessions
        self.known_regions = frozenset(known_regions)
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self.session_ttl = session_ttl
        self._dummy_hash: str | None = None
        self.throttle = LoginThrottle(clock=clock)

    # ------------------------------------------------------------------ users

    def user_count(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(UserRow)) or 0

    def create_user(self, *, username: str, password: str, role: str, regions: Sequence[str] | None, by: str) -> UserRow:
        stored_regions = regions_value(role, regions, self.known_regions)
        password_hash = self.hasher.hash(password)
        with self.sessions() as s, s.begin():
            if s.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
                raise YibaoError(USERNAME_TAKEN, field="username", username=username)
            row = UserRow(
                username=username, password_hash=password_hash, role=role, regions=stored_regions, active=True,
                created_at=self.clock(), created_by=by,
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError:  # a concurrent creation of the same name
                raise YibaoError(USERNAME_TAKEN, field="username", username=username) from None
            return row

    def get_user(self, username: str) -> UserRow:
        with self.sessions() as s:
            row = s.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                raise YibaoError(USER_NOT_FOUND, field="username", username=username)
            return row

    def list_users(self, offset: int, limit: int) -> tuple[list[UserRow], int]:
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(UserRow)) or 0
            rows = list(s.scalars(select(UserRow).order_by(UserRow.username).offset(offset).limit(limit)))
            return rows, total

    def update_user(
        self,
        username: str,
        *,
        by: str,
        password: str | None = None,
        role: str | None = None,
        regions: Sequence[str] | None = None,
        active: bool | None = None,
    ) -> UserRow:
        password_hash = self.hasher.hash(password) if password is not None else None
        with self.sessions() as s, s.begin():
            row = s.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                raise YibaoError(USER_NOT_FOUND, field="username", username=username)
            new_role = role or row.role
            if role is not None or regions is not None:
                current = None if row.regions == ALL_REGIONS else row.region_list
                row.regions = regions_value(new_role, regions if regions is not None else ([ALL_REGIONS] if current is None else current), self.known_regions)
                row.role = new_role
            if password_hash is not None:
                row.password_hash = password_hash
            if active is not None:
                row.active = active
            row.updated_at, row.updated_by = self.clock(), by
            return row

    # ------------------------------------------------------------------ login and tokens

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def login(self, username: str, password: str, *, address: str | None = None) -> tuple[str, TokenRow, UserRow]:
        """A new session token for a user whose password is right; ``LOGIN_FAILED`` otherwise.

        ``LOGIN_THROTTLED`` (before any password is checked) after too many recent failures for the
        username or from ``address`` (:class:`LoginThrottle`).
        """
        keys = [f"user:{username.casefold()}"] + ([f"addr:{address}"] if address else [])
        self.throttle.check(keys)
        with self.sessions() as s:
            user = s.scalar(select(UserRow).where(UserRow.username == username))
        if user is None:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
            self._verify(self._dummy_hash, password)  # the same time as a wrong password
            self.throttle.failed(keys)
            raise YibaoError(LOGIN_FAILED, field="username")
        if not self._verify(user.password_hash, password) or not user.active:
            self.throttle.failed(keys)
            raise YibaoError(LOGIN_FAILED, field="username")
        self.throttle.succeeded(keys[0])
        secret = SESSION_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        self.purge_expired(now)
        rehash = self.hasher.check_needs_rehash(user.password_hash)
        new_hash = self.hasher.hash(password) if rehash else None
        with self.sessions() as s, s.begin():
            row = TokenRow(
                token_hash=token_hash(secret), kind="session", name=f"login {username}"[:100], user_id=user.id,
                created_at=now, created_by=f"user:{username}"[:100], expires_at=now + self.session_ttl,
            )
            s.add(row)
            if new_hash is not None:
                stored = s.get(UserRow, user.id)
                if stored is not None:
                    stored.password_hash = new_hash
        return secret, row, user

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete session tokens that expired more than :data:`EXPIRED_KEPT` ago (they can never be
        used again; system tokens, revoked or not, stay for the audit). Returns how many."""
        cutoff = (now or self.clock()) - EXPIRED_KEPT
        with self.sessions() as s, s.begin():
            result = s.execute(delete(TokenRow).where(TokenRow.kind == "session", TokenRow.expires_at < cutoff))
        return result.rowcount or 0

    def change_password(self, principal: Principal, current: str, new: str) -> int:
        """A user changes their own password; every other session of theirs is revoked. Returns how many."""
        if principal.kind != "user" or principal.user_id is None:
            raise YibaoError(NOT_A_USER, field=None)
        with self.sessions() as s:
            user = s.get(UserRow, principal.user_id)
        if user is None or not user.active or not self._verify(user.password_hash, current):
            raise YibaoError(LOGIN_FAILED, field="current_password")
        if current == new:
            raise YibaoError(PASSWORD_UNCHANGED, field="new_password")
        new_hash = self.hasher.hash(new)
        now = self.clock()
        with self.sessions() as s, s.begin():
            stored = s.get(UserRow, principal.user_id)
            assert stored is not None
            stored.password_hash = new_hash
            stored.updated_at, stored.updated_by = now, f"user:{user.username}"[:100]
            revoked = s.execute(
                update(TokenRow)
                .where(TokenRow.user_id == principal.user_id, TokenRow.kind == "session", TokenRow.id != principal.token_id,
                       TokenRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return revoked.rowcount or 0

    def create_system_token(
        self, *, name: str, role: str, regions: Sequence[str] | None, expires_at: datetime | None, by: str
    ) -> tuple[str, TokenRow]:
        stored_regions = regions_value(role, regions, self.known_regions)
        secret = SYSTEM_PREFIX + secrets.token_urlsafe(32)
        with self.sessions() as s, s.begin():
            row = TokenRow(
                token_hash=token_hash(secret), kind="system", name=name, role=role, regions=stored_regions,
                created_at=self.clock(), created_by=by, expires_at=expires_at,
            )
            s.add(row)
        return secret, row

    def list_tokens(self, kind: str | None, offset: int, limit: int) -> tuple[list[tuple[TokenRow, str | None]], int]:
        with self.sessions() as s:
            where = [TokenRow.kind == kind] if kind else []
            total = s.scalar(select(func.count()).select_from(TokenRow).where(*where)) or 0
            rows = s.execute(
                select(TokenRow, UserRow.username).outerjoin(UserRow, UserRow.id == TokenRow.user_id).where(*where)
                .order_by(TokenRow.id).offset(offset).limit(limit)
            ).all()
            return [(t, u) for t, u in rows], total

    def revoke_token(self, token_id: int) -> TokenRow:
        with self.sessions() as s, s.begin():
            row = s.get(TokenRow, token_id)
            if row is None:
                raise YibaoError(TOKEN_NOT_FOUND, field="token_id", token_id=token_id)
            if row.revoked_at is None:
                row.revoked_at = self.clock()
            return row

    def authenticate(self, token: str, *, connection: Connection | None = None) -> Principal:
        """The caller behind a bearer token; ``TOKEN_INVALID`` if unknown, expired, revoked or inactive.

        Every request asks, so this is one Core query (no ORM session), on ``connection`` if given.
        """
        hashed = self.token_key(token)
        if connection is not None:
            row = connection.execute(AUTHENTICATE, {"token_hash": hashed}).first()
        else:
            with self.sessions.kw["bind"].connect() as own:
                row = own.execute(AUTHENTICATE, {"token_hash": hashed}).first()
        return self.principal_from(row)

    @staticmethod
    def token_key(token: str) -> str:
        """The stored hash of a well-formed token (the ``token_hash`` parameter of :data:`AUTHENTICATE`)."""
        if not token.startswith((SESSION_PREFIX, SYSTEM_PREFIX)) or len(token) > 200:
            raise YibaoError(TOKEN_INVALID, field="authorization")
        return token_hash(token)

    def principal_from(self, row: Any) -> Principal:
        """The caller from a row of :data:`AUTHENTICATE` (None: no such token)."""
        if row is None or row.id is None:
            raise YibaoError(TOKEN_INVALID, field="authorization")
        now = self.clock()
        if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            raise YibaoError(TOKEN_INVALID, field="authorization")
        if row.kind == "session":
            if row.username is None or not row.active:
                raise YibaoError(TOKEN_INVALID, field="authorization")
            return Principal(row.username, "user", row.user_role, _principal_regions(row.user_role, row.user_regions), row.id, row.user_id)
        assert row.role is not None
        return Principal(row.name, "system", row.role, _principal_regions(row.role, row.regions), row.id)
