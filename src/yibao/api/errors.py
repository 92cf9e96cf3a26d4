"""Typed errors over HTTP: every failure is ``{"error": {"code", "field", "message_zh", "message_en"}}``.

The status code follows from the error code (:func:`status_for`):

=====  ==========================================================================================
400    validation: the input is wrong (the default for any code not listed below); also
       ``REQUEST_INVALID`` — FastAPI's request validation, ``field`` = where (``body.lines.0.amount``)
401    ``AUTH_REQUIRED`` (no credentials), ``TOKEN_INVALID`` (unknown, expired or revoked token),
       ``LOGIN_FAILED`` (wrong username or password, or inactive account — one code for all three)
403    ``ROLE_FORBIDDEN`` (the role may not do this), ``REGION_FORBIDDEN`` (the person or relation
       belongs to a region the caller does not serve)
404    every ``*_NOT_FOUND`` code (``PERSON_NOT_FOUND``, ``RELATION_NOT_FOUND``, ``DOCUMENT_NOT_FOUND``,
       ``USER_NOT_FOUND``, ``TOKEN_NOT_FOUND``, ``ROUTE_NOT_FOUND`` …)
405    ``METHOD_NOT_ALLOWED``
429    ``LOGIN_THROTTLED`` — too many failed logins for the username or from the address
409    the request conflicts with what is stored: duplicates (``DUPLICATE_PERSON_KEY``,
       ``DUPLICATE_PERSON``, ``DUPLICATE_RELATION``, ``USERNAME_TAKEN``, ``SELF_LOCKOUT``), idempotency conflicts
       (``IDEMPOTENCY_CONFLICT``), state (``TERMINATED_IS_FINAL``, ``BAD_TRANSITION``,
       ``STATUS_DATE_ORDER``, ``PERSON_MERGED``, ``MERGE_CONFLICT``, ``DEATH_ALREADY_RECORDED``,
       ``AFTER_DEATH``, ``PAYMENT_AFTER_DEATH``, ``NOTHING_TO_QUOTE``; the cases' ``TRANSFER_EXISTS``,
       ``TRANSFER_ALREADY_IN``, ``REFUND_ALREADY_DECIDED``, ``REFUND_STALE``, ``REFUND_RELATION_ACTIVE``,
       ``RET_ALREADY_RETIRED``, ``RET_YEARS_SHORT``, ``RET_NO_SHORTFALL``; the corrections'
       ``CORRECTION_UNCHANGED``, ``DERIVED_CONTRADICTION``, ``START_AFTER_STATUS_CHANGE``; the duplicate worklist's
       ``DUP_CASE_NOT_OPEN``, ``DUP_CASE_STALE``, ``DUP_CASE_NEEDS_DECISION``), and the
       store's guards (``APPEND_ONLY_VIOLATION``, ``ALREADY_SUPERSEDED``, ``STORE_INTEGRITY``)
500    ``INTERNAL_ERROR`` — anything unexpected; the body carries a reference, the log line the
       rest (ID numbers masked); never a stack trace in a response
=====  ==========================================================================================
"""

from __future__ import annotations

from typing import Any

from yibao.errors import ERROR_CATALOG, YibaoError, define

REQUEST_INVALID = define("REQUEST_INVALID", "请求无效（{where}）：{detail}", "invalid request ({where}): {detail}")
AUTH_REQUIRED = define(
    "AUTH_REQUIRED",
    "需要身份认证：请在请求头中提供 Authorization: Bearer <令牌>",
    "authentication required: send Authorization: Bearer <token>",
)
TOKEN_INVALID = define("TOKEN_INVALID", "令牌无效、已过期或已撤销", "the token is invalid, expired or revoked")
LOGIN_FAILED = define("LOGIN_FAILED", "用户名或密码错误，或账户已停用", "wrong username or password, or the account is inactive")
ROLE_FORBIDDEN = define("ROLE_FORBIDDEN", "角色 {role} 无权执行此操作（需要：{needed}）", "role {role} may not do this (needs: {needed})")
REGION_FORBIDDEN = define(
    "REGION_FORBIDDEN",
    "{what}统筹区 {regions}，不在本账户服务的统筹区（{served}）内",
    "{what_en}region {regions}, which this account does not serve ({served})",
)
DOCUMENT_NOT_FOUND = define("DOCUMENT_NOT_FOUND", "没有持有证件 {cert_type} {number} 的参保人", "no person holds document {cert_type} {number}")
USER_NOT_FOUND = define("USER_NOT_FOUND", "没有用户 {username}", "no user {username}")
TOKEN_NOT_FOUND = define("TOKEN_NOT_FOUND", "没有令牌 {token_id}", "no token {token_id}")
USERNAME_TAKEN = define("USERNAME_TAKEN", "用户名 {username} 已被使用", "username {username} is taken")
REGIONS_INVALID = define("REGIONS_INVALID", "角色 {role} 的统筹区设置无效：{reason_zh}", "invalid regions for role {role}: {reason_en}")
MONTH_RANGE_TOO_LONG = define(
    "MONTH_RANGE_TOO_LONG", "月份范围 {value} 超过 {limit} 个月", "the month range {value} is longer than {limit} months"
)
SELF_LOCKOUT = define(
    "SELF_LOCKOUT",
    "管理员不能停用自己或取消自己的管理员角色",
    "administrators cannot deactivate themselves or give up their own administrator role",
)
LOGIN_THROTTLED = define(
    "LOGIN_THROTTLED",
    "登录失败次数过多，请 {retry_after} 秒后再试",
    "too many failed logins; try again in {retry_after} seconds",
)
NOT_A_USER = define("NOT_A_USER", "系统令牌没有密码，不能修改密码", "a system token has no password to change")
PASSWORD_UNCHANGED = define("PASSWORD_UNCHANGED", "新密码不能与当前密码相同", "the new password must differ from the current one")
ROUTE_NOT_FOUND = define("ROUTE_NOT_FOUND", "没有该接口：{path}", "no such endpoint: {path}")
METHOD_NOT_ALLOWED = define("METHOD_NOT_ALLOWED", "接口不支持方法 {method}", "the endpoint does not accept method {method}")
HTTP_ERROR = define("HTTP_ERROR", "HTTP 错误 {status}", "HTTP error {status}")
# The CLI declares the same code with the same text; declare it here only if it is not known yet.
INTERNAL_ERROR = "INTERNAL_ERROR"
if INTERNAL_ERROR not in ERROR_CATALOG:
    define(INTERNAL_ERROR, "内部错误（{kind}），未做任何更改；请报告此问题", "internal error ({kind}); nothing was changed — please report it")

UNAUTHORIZED_CODES = frozenset({AUTH_REQUIRED, TOKEN_INVALID, LOGIN_FAILED})
FORBIDDEN_CODES = frozenset({ROLE_FORBIDDEN, REGION_FORBIDDEN, NOT_A_USER})
CONFLICT_CODES = frozenset(
    {
        "DUPLICATE_PERSON_KEY",
        "DUPLICATE_PERSON",
        "DUPLICATE_RELATION",
        USERNAME_TAKEN,
        SELF_LOCKOUT,
        "IDEMPOTENCY_CONFLICT",
        "TERMINATED_IS_FINAL",
        "BAD_TRANSITION",
        "STATUS_DATE_ORDER",
        "PERSON_MERGED",
        "MERGE_CONFLICT",
        "DEATH_ALREADY_RECORDED",
        "AFTER_DEATH",
        "PAYMENT_AFTER_DEATH",
        "NOTHING_TO_QUOTE",
        # cases (service/cases.py): the stored case or relation is in a state that refuses the request
        "TRANSFER_EXISTS",
        "TRANSFER_ALREADY_IN",
        "REFUND_ALREADY_DECIDED",
        "REFUND_STALE",
        "REFUND_RELATION_ACTIVE",
        "RET_ALREADY_RETIRED",
        "RET_YEARS_SHORT",
        "RET_NO_SHORTFALL",
        # corrections (service/corrections.py, store/repository.py)
        "CORRECTION_UNCHANGED",
        "DERIVED_CONTRADICTION",
        "START_AFTER_STATUS_CHANGE",
        "APPEND_ONLY_VIOLATION",
        "ALREADY_SUPERSEDED",
        "STORE_INTEGRITY",
        # the duplicate worklist (service/duplicates.py): decided already, proposed on facts that changed, or no proposal to apply
        "DUP_CASE_NOT_OPEN",
        "DUP_CASE_STALE",
        "DUP_CASE_NEEDS_DECISION",
        # a person's places (service/places.py): the same place is already recorded
        "PLACE_ALREADY_RECORDED",
    }
)


def status_for(code: str) -> int:
    """The HTTP status of an error code (see the module doc)."""
    if code in UNAUTHORIZED_CODES:
        return 401
    if code in FORBIDDEN_CODES:
        return 403
    if code == METHOD_NOT_ALLOWED:
        return 405
    if code == LOGIN_THROTTLED:
        return 429
    if code in CONFLICT_CODES:
        return 409
    if code == INTERNAL_ERROR:
        return 500
    if code.endswith("_NOT_FOUND"):
        return 404
    return 400


def error_body(error: YibaoError) -> dict[str, Any]:
    return {"error": error.to_dict()}


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "field", "message_zh", "message_en"],
            "properties": {
                "code": {"type": "string", "description": "稳定的错误代码 / stable error code"},
                "field": {"type": ["string", "null"], "description": "出错的输入项 / the offending input"},
                "message_zh": {"type": "string"},
                "message_en": {"type": "string"},
            },
        }
    },
}
