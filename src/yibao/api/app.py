"""The FastAPI application over a :class:`~yibao.service.records.RecordsService`."""

from __future__ import annotations

import gc
import os

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from yibao.errors import YibaoError
from yibao.service.records import RecordsService

from .deps import Context
from .errors import (
    HTTP_ERROR,
    METHOD_NOT_ALLOWED,
    REQUEST_INVALID,
    ROUTE_NOT_FOUND,
    UNAUTHORIZED_CODES,
    error_body,
    status_for,
)
from .logs import AccessLogMiddleware, install_masking, mask_text
from .routes import auth, cases, corrections, duplicates, money, persons
from .security import DEFAULT_SESSION_TTL, AccessStore


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("yibao")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"

DESCRIPTION = """\
yibao 医保记录服务的 REST 接口：参保人、参保关系、缴费明细、报价与补缴、待遇享受期时间线、医院端参保待遇查询。
The REST API of yibao's records service: persons, relations, contribution lines, quotes and back-payments,
the benefit timeline, and the hospital-facing coverage lookup.

**认证 / Authentication.** `POST /api/v1/auth/token`（用户名+密码）取得会话令牌，或由管理员发放系统 API 令牌；
之后每个请求带 `Authorization: Bearer <令牌>`。Log in for a session token, or use a system API token.

**角色 / Roles.** clerk 经办员：读写所辖统筹区的参保人；auditor 审计员：只读（所辖或全部统筹区）；
administrator 管理员：全部，包括用户、令牌与人员合并。

**统筹区 / Regions.** 参保人属于其参保关系所在的统筹区（尚无参保关系时属于登记统筹区）。
与调用者没有共同统筹区的参保人，任何接口都返回 403 REGION_FORBIDDEN；涉及某一参保关系的变更还要求该关系的统筹区属于调用者。
A person belongs to the regions of its relations (before any, to its registration region); every route answers
403 REGION_FORBIDDEN for a person outside the caller's regions.

**错误 / Errors.** `{"error": {"code", "field", "message_zh", "message_en"}}`：400 输入无效（含 REQUEST_INVALID），
401 未认证，403 角色或统筹区无权，404 不存在，409 与已存数据冲突（重复、幂等冲突、终止后变更等），500 INTERNAL_ERROR。

**分页 / Pagination.** `page`（从 1 开始）与 `page_size`（≤200）；响应含 `items`、`total`。

**脱敏 / Masking.** 列表中的证件号一律脱敏（510***********1234）；单个参保人的证件号仅对管理员完整显示；日志中的证件号脱敏。
"""


DEFAULT_THREADS = 4


def create_app(
    service: RecordsService,
    *,
    password_hasher: PasswordHasher | None = None,
    session_ttl: timedelta = DEFAULT_SESSION_TTL,
    clock: Callable[[], datetime] | None = None,
    title: str = "yibao 医保 API",
    threads: int | None = None,
) -> FastAPI:
    """The API over ``service`` (its database must be migrated to head: revision 0002 holds the users and tokens).

    ``password_hasher``: argon2 parameters (default: argon2-cffi's); ``session_ttl``: how long a login
    lasts; ``clock``: now, as an aware datetime (default: the service's clock); ``threads``: how many
    requests a process works on at once in its thread pool (default ``YIBAO_THREADS`` or
    :data:`DEFAULT_THREADS`). The handlers hold the GIL most of the time: a few threads per process
    answer faster than many, which only take turns (measured: bench/README.md).
    """
    wanted_threads = threads or int(os.environ.get("YIBAO_THREADS", DEFAULT_THREADS))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = wanted_threads
        # what is loaded by now (code, policy packs, catalogs) lives as long as the process: keep it out
        # of the collector's full passes, which otherwise show in the slowest requests
        gc.collect()
        gc.freeze()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title=title,
        version=_version(),
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "认证 auth", "description": "登录、当前调用者、统筹区 / login, the caller, regions"},
            {"name": "参保人 persons", "description": "人员登记、查询、证件、合并、死亡 / persons"},
            {"name": "参保关系 relations", "description": "参保登记、暂停、恢复、终止 / relations and their status"},
            {"name": "缴费 contributions", "description": "缴费明细、报价、补缴、应缴 / contributions"},
            {"name": "待遇查询 entitlement", "description": "待遇享受期与参保待遇查询 / timeline and coverage"},
            {"name": "管理 administration", "description": "用户与 API 令牌（管理员）/ users and tokens"},
            {"name": "运维 health", "description": "健康检查 / health"},
        ],
    )
    access = AccessStore(
        service.sessions,
        known_regions=service.policy.regions(),
        clock=clock or service.clock,
        hasher=password_hasher,
        session_ttl=session_ttl,
    )
    app.state.yibao = Context(service, access)

    install_masking()
    app.add_middleware(AccessLogMiddleware)

    @app.exception_handler(YibaoError)
    async def _yibao_error(request: Request, exc: YibaoError) -> JSONResponse:
        status = status_for(exc.code)
        headers = {"WWW-Authenticate": "Bearer"} if exc.code in UNAUTHORIZED_CODES else None
        return JSONResponse(error_body(exc), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = (exc.errors() or [{}])[0]
        loc = [str(p) for p in first.get("loc", ())]
        where = ".".join(loc) or "request"
        detail = mask_text(str(first.get("msg", "invalid")))
        return JSONResponse(error_body(YibaoError(REQUEST_INVALID, field=where, where=where, detail=detail)), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            error = YibaoError(ROUTE_NOT_FOUND, path=mask_text(request.url.path))
        elif exc.status_code == 405:
            error = YibaoError(METHOD_NOT_ALLOWED, method=request.method)
        else:
            error = YibaoError(HTTP_ERROR, status=exc.status_code)
        return JSONResponse(error_body(error), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    app.include_router(auth.health_router)
    app.include_router(auth.router)
    app.include_router(persons.router)
    app.include_router(money.router)
    app.include_router(cases.router)
    app.include_router(corrections.router)
    app.include_router(duplicates.router)

    from yibao.web import install as install_console  # the clerk's console at / (docs/console.md)

    install_console(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags)
        _errors_instead_of_422(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _errors_instead_of_422(schema: dict[str, Any]) -> None:
    """FastAPI documents its validation errors as 422; this API answers them as 400 in the error shape."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and "400" not in responses:
                responses["400"] = {
                    "description": "输入无效 / invalid input (REQUEST_INVALID or a validation code)",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
                }
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
