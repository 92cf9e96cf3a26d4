"""Request dependencies: the app's context, the caller, role requirements, pagination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Connection
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from yibao.errors import YibaoError
from yibao.service.records import RecordsService

from .access import PersonScope, check_person, person_scope
from .errors import AUTH_REQUIRED, ROLE_FORBIDDEN
from .security import ADMINISTRATOR, AUDITOR, CLERK, AccessStore, Principal


@dataclass
class Context:
    service: RecordsService
    access: AccessStore


def context(request: Request) -> Context:
    return request.app.state.yibao


async def _context(request: Request) -> Context:
    # async: no I/O here, and FastAPI runs a plain ``def`` dependency in the thread pool (a hop per call)
    return request.app.state.yibao


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="登录令牌（POST /api/v1/auth/token）或系统 API 令牌 / a login session token or a system API token",
)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None, connection: Connection | None = None) -> Principal:
    """The caller behind the bearer token (blocking: a database query, on ``connection`` if given)."""
    if credentials is None or not credentials.credentials:
        raise YibaoError(AUTH_REQUIRED, field="authorization")
    principal = context(request).access.authenticate(credentials.credentials, connection=connection)
    request.state.principal = principal
    return principal


def check_role(principal: Principal, roles: tuple[str, ...]) -> Principal:
    if principal.role not in roles:
        raise YibaoError(ROLE_FORBIDDEN, field=None, role=principal.role, needed=" / ".join(roles))
    return principal


def caller(request: Request, credentials: Credentials) -> Principal:
    return authenticate(request, credentials)


def _require(*roles: str) -> Callable[[Principal], Principal]:
    async def dependency(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        return check_role(principal, roles)

    return dependency


READERS = (CLERK, AUDITOR, ADMINISTRATOR)
WRITERS = (CLERK, ADMINISTRATOR)
Reader = Annotated[Principal, Depends(_require(*READERS))]
Writer = Annotated[Principal, Depends(_require(*WRITERS))]
Admin = Annotated[Principal, Depends(_require(ADMINISTRATOR))]
Ctx = Annotated[Context, Depends(_context)]


def scope_of(ctx: Context, psn_no: str) -> PersonScope:
    with ctx.service.sessions() as session:
        return person_scope(session, psn_no)


def visible_person(ctx: Context, principal: Principal, psn_no: str) -> PersonScope:
    """The person's scope, if the caller may see (and, for writers, change) it: 404, else 403."""
    scope = scope_of(ctx, psn_no)
    check_person(principal, scope)
    return scope


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def paging(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="页码，从 1 开始 / page, from 1")] = 1,
    page_size: Annotated[int, Query(ge=1, le=200, description="每页条数（≤200）/ items per page")] = 50,
) -> Paging:
    return Paging(page, page_size)


Pages = Annotated[Paging, Depends(paging)]
