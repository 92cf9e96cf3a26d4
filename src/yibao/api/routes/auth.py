"""认证与管理 / login, the caller, users and API tokens (administrators), regions, health."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator
from sqlalchemy import text

from yibao.errors import YibaoError, define
from yibao.store.auth_models import ALL_REGIONS, TokenRow, UserRow, split_regions

from ..deps import Admin, Ctx, Pages, Reader, caller, context
from ..errors import SELF_LOCKOUT, error_body
from ..schemas import (
    HealthOut,
    LoginIn,
    LoginOut,
    PasswordChanged,
    PasswordIn,
    MeOut,
    Page,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
    errors,
    no_control,
)

DATABASE_UNAVAILABLE = define("DATABASE_UNAVAILABLE", "数据库不可用", "the database is unavailable")

router = APIRouter(prefix="/api/v1")
health_router = APIRouter()


def _regions(stored: str | None) -> list[str]:
    return [ALL_REGIONS] if stored == ALL_REGIONS else split_regions(stored)


def _user(row: UserRow) -> UserOut:
    return UserOut(
        username=row.username, role=row.role, regions=_regions(row.regions), active=row.active,  # type: ignore[arg-type]
        created_at=row.created_at, created_by=row.created_by, updated_at=row.updated_at,
    )


def _token(row: TokenRow, username: str | None) -> TokenOut:
    return TokenOut(
        id=row.id, kind=row.kind, name=row.name, username=username, role=row.role,  # type: ignore[arg-type]
        regions=_regions(row.regions) if row.regions is not None else None, created_at=row.created_at,
        created_by=row.created_by, expires_at=row.expires_at, revoked_at=row.revoked_at,
    )


# ------------------------------------------------------------------------------------------- auth


@router.post(
    "/auth/token",
    tags=["认证 auth"],
    summary="登录，取得会话令牌 / log in for a session token",
    description="用户名和密码换取会话令牌（有效期默认 8 小时），之后以 `Authorization: Bearer <令牌>` 调用其他接口。"
    "用户名不存在、密码错误、账户停用均返回同一错误 LOGIN_FAILED。\n\n"
    "Username and password for a bearer session token (8 hours by default). Unknown user, wrong password and "
    "inactive account all give LOGIN_FAILED. After 5 failures for a username (20 from one address) within 15 "
    "minutes, logins are refused with 429 LOGIN_THROTTLED until the oldest failure is 15 minutes old.",
    response_model=LoginOut,
    responses=errors(400, 401, 429),
)
def login(body: LoginIn, ctx: Ctx, request: Request) -> LoginOut:
    address = request.client.host if request.client else None
    secret, token, user = ctx.access.login(body.username, body.password, address=address)
    assert token.expires_at is not None
    return LoginOut(access_token=secret, expires_at=token.expires_at, username=user.username, role=user.role, regions=_regions(user.regions))  # type: ignore[arg-type]


@router.post(
    "/auth/logout",
    tags=["认证 auth"],
    summary="注销当前令牌 / revoke the token of this request",
    status_code=204,
    response_class=Response,
    responses=errors(401),
)
def logout(principal: Reader, ctx: Ctx) -> Response:
    ctx.access.revoke_token(principal.token_id)
    return Response(status_code=204)


@router.post(
    "/auth/password",
    tags=["认证 auth"],
    summary="修改本人密码（其他会话随之注销）/ change your own password (your other sessions are revoked)",
    description="以会话令牌调用：提供当前密码和新密码（至少 8 个字符）。成功后本账户的其他会话令牌全部撤销，当前令牌仍有效。"
    "系统令牌没有密码（403 NOT_A_USER）。\n\nWith a session token: the current and the new password (at least 8 "
    "characters). Every other session of the account is revoked; this one stays valid. System tokens have no password.",
    response_model=PasswordChanged,
    responses=errors(400, 401, 403),
)
def change_password(body: PasswordIn, principal: Reader, ctx: Ctx) -> PasswordChanged:
    revoked = ctx.access.change_password(principal, body.current_password, body.new_password)
    return PasswordChanged(revoked_sessions=revoked)


@router.get(
    "/auth/me",
    tags=["认证 auth"],
    summary="当前调用者 / who is calling",
    response_model=MeOut,
    responses=errors(401),
)
def me(principal: Reader) -> MeOut:
    return MeOut(name=principal.name, kind=principal.kind, role=principal.role, regions=principal.served())  # type: ignore[arg-type]


@router.get(
    "/regions",
    tags=["认证 auth"],
    summary="统筹区列表 / pooling regions with a policy pack",
    responses=errors(401),
)
def regions(principal: Reader, ctx: Ctx) -> list[dict[str, str | bool]]:
    policy = ctx.service.policy
    return [{"region": r, "name": policy.region_name(r), "served": principal.serves(r)} for r in policy.regions()]


# ------------------------------------------------------------------------------------------- users

Username = Annotated[str, Path(min_length=1, max_length=64, description="用户名 / username"), AfterValidator(no_control)]


@router.post(
    "/users",
    tags=["管理 administration"],
    summary="新建用户（管理员）/ create a user (administrator)",
    description="角色：clerk 经办员（读写所辖统筹区）、auditor 审计员（只读，所辖统筹区或 [\"*\"] 全部）、administrator 管理员（全部）。"
    "密码以 argon2 哈希保存。\n\nRoles: clerk (reads and writes its regions), auditor (reads its regions or [\"*\"]), "
    "administrator (everything). Passwords are stored as argon2 hashes.",
    status_code=201,
    response_model=UserOut,
    responses=errors(400, 401, 403, 409),
)
def create_user(body: UserIn, principal: Admin, ctx: Ctx) -> UserOut:
    row = ctx.access.create_user(username=body.username, password=body.password, role=body.role, regions=body.regions, by=principal.by)
    return _user(row)


@router.get(
    "/users",
    tags=["管理 administration"],
    summary="用户列表（管理员）/ list users (administrator)",
    response_model=Page[UserOut],
    responses=errors(400, 401, 403),
)
def list_users(principal: Admin, ctx: Ctx, paging: Pages) -> Page[UserOut]:
    rows, total = ctx.access.list_users(paging.offset, paging.page_size)
    return Page[UserOut](items=[_user(r) for r in rows], page=paging.page, page_size=paging.page_size, total=total)


@router.get(
    "/users/{username}",
    tags=["管理 administration"],
    summary="查看用户（管理员）/ a user (administrator)",
    response_model=UserOut,
    responses=errors(400, 401, 403, 404),
)
def get_user(username: Username, principal: Admin, ctx: Ctx) -> UserOut:
    return _user(ctx.access.get_user(username))


@router.patch(
    "/users/{username}",
    tags=["管理 administration"],
    summary="修改用户：密码、角色、统筹区、启用/停用（管理员）/ change a user (administrator)",
    description="停用用户或修改其统筹区立即生效（会话令牌每次请求都读取用户当前的角色与统筹区）。\n\n"
    "Deactivating a user or changing its regions takes effect at once.",
    response_model=UserOut,
    responses=errors(400, 401, 403, 404, 409),
)
def patch_user(username: Username, body: UserPatch, principal: Admin, ctx: Ctx) -> UserOut:
    if principal.kind == "user" and principal.name == username and (body.active is False or body.role not in (None, "administrator")):
        raise YibaoError(SELF_LOCKOUT, field="active" if body.active is False else "role")
    row = ctx.access.update_user(
        username, by=principal.by, password=body.password, role=body.role, regions=body.regions, active=body.active
    )
    return _user(row)


# ------------------------------------------------------------------------------------------- tokens


@router.post(
    "/tokens",
    tags=["管理 administration"],
    summary="新建系统 API 令牌（管理员）/ create an API token for a system (administrator)",
    description="令牌明文只在此响应中出现一次，数据库只保存其 SHA-256 哈希。\n\nThe secret appears once, in this response; "
    "only its SHA-256 is stored.",
    status_code=201,
    response_model=TokenCreated,
    responses=errors(400, 401, 403),
)
def create_token(body: TokenIn, principal: Admin, ctx: Ctx) -> TokenCreated:
    expires = ctx.service.clock() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    secret, row = ctx.access.create_system_token(name=body.name, role=body.role, regions=body.regions, expires_at=expires, by=principal.by)
    return TokenCreated(id=row.id, token=secret, name=row.name, role=row.role, regions=_regions(row.regions), expires_at=row.expires_at)  # type: ignore[arg-type]


@router.get(
    "/tokens",
    tags=["管理 administration"],
    summary="令牌列表（不含明文）（管理员）/ list tokens, without secrets (administrator)",
    response_model=Page[TokenOut],
    responses=errors(400, 401, 403),
)
def list_tokens(
    principal: Admin,
    ctx: Ctx,
    paging: Pages,
    kind: Annotated[str | None, Query(pattern="^(session|system)$", description="session 或 system")] = None,
) -> Page[TokenOut]:
    rows, total = ctx.access.list_tokens(kind, paging.offset, paging.page_size)
    return Page[TokenOut](items=[_token(t, u) for t, u in rows], page=paging.page, page_size=paging.page_size, total=total)


@router.delete(
    "/tokens/{token_id}",
    tags=["管理 administration"],
    summary="撤销令牌（管理员）/ revoke a token (administrator)",
    response_model=TokenOut,
    responses=errors(400, 401, 403, 404),
)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2**62)], principal: Admin, ctx: Ctx) -> TokenOut:
    row = ctx.access.revoke_token(token_id)
    return _token(row, None)


# ------------------------------------------------------------------------------------------- health


@health_router.get(
    "/healthz",
    tags=["运维 health"],
    summary="健康检查（无需认证）/ health check (no authentication)",
    response_model=HealthOut,
    responses={503: {"description": "数据库不可用 / database unavailable"}},
)
def healthz(request: Request) -> HealthOut | JSONResponse:
    ctx = context(request)
    try:
        with ctx.service.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return JSONResponse(error_body(YibaoError(DATABASE_UNAVAILABLE)), status_code=503)
    return HealthOut(status="ok", database=ctx.service.engine.dialect.name)


__all__ = ["caller", "health_router", "router"]
