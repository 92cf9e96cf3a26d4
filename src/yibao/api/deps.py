"""Request dependencies: the app's context, the caller, role requirements, pagination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
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


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="登录令牌（POST /api/v1/auth/token）或系统 API 令牌 / a login session token or a system API token",
)


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise YibaoError(AUTH_REQUIRED, field="authorization")
    principal = context(request).access.authenticate(credentials.credentials)
    request.state.principal = principal
    return principal


def _require(*roles: str) -> Callable[[Principal], Principal]:
    needed = " / ".join(roles)

    def dependency(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        if principal.role not in roles:
            raise YibaoError(ROLE_FORBIDDEN, field=None, role=principal.role, needed=needed)
        return principal

    return dependency


Reader = Annotated[Principal, Depends(_require(CLERK, AUDITOR, ADMINISTRATOR))]
Writer = Annotated[Principal, Depends(_require(CLERK, ADMINISTRATOR))]
Admin = Annotated[Principal, Depends(_require(ADMINISTRATOR))]
Ctx = Annotated[Context, Depends(context)]


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


def paging(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="页码，从 1 开始 / page, from 1")] = 1,
    page_size: Annotated[int, Query(ge=1, le=200, description="每页条数（≤200）/ items per page")] = 50,
) -> Paging:
    return Paging(page, page_size)


Pages = Annotated[Paging, Depends(paging)]
