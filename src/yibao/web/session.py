"""The console's login: the API's users, passwords and session tokens, carried in a cookie.

* Logging in is :meth:`AccessStore.login` (argon2, the same ``ybs_…`` session token as
  ``POST /api/v1/auth/token``); the token travels in an **HttpOnly, SameSite=Strict** cookie and is
  checked at every request by :meth:`AccessStore.authenticate` (a deactivated user or a revoked
  token is out at once). Logging out revokes the token.
* **CSRF**: every form carries a hidden ``csrf`` field, an HMAC of the session token; a POST whose
  field does not match is refused (the login form, before any session, uses a random value that must
  match a cookie of its own — the "double submit" pattern).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

from yibao.api.deps import context
from yibao.api.security import Principal
from yibao.errors import YibaoError, define

SESSION_COOKIE = "yibao_session"
LOGIN_CSRF_COOKIE = "yibao_login_csrf"

CSRF_INVALID = define(
    "CSRF_INVALID",
    "表单已过期或来源不明，请刷新页面后重新提交",
    "the form has expired or did not come from this console; reload the page and submit again",
)
LOGIN_REQUIRED = define("LOGIN_REQUIRED", "请先登录", "please log in first")


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode("utf-8"), b"yibao-console-csrf", hashlib.sha256).hexdigest()


def current(request: Request) -> tuple[Principal, str] | None:
    """The logged-in caller and its session token, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal = context(request).access.authenticate(token)
    except YibaoError:
        return None
    request.state.principal = principal  # the access log names the caller
    return principal, token


def check_csrf(token: str, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(csrf_token(token), submitted):
        raise YibaoError(CSRF_INVALID, field="csrf")


def set_session(response: Response, token: str, max_age: int, *, secure: bool = False) -> None:
    """The session cookie; ``secure`` (HTTPS only) when the console is served over HTTPS."""
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict", path="/", secure=secure)


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def check_login_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise YibaoError(CSRF_INVALID, field="csrf")


__all__ = [
    "CSRF_INVALID",
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "check_csrf",
    "check_login_csrf",
    "clear_session",
    "csrf_token",
    "current",
    "new_login_csrf",
    "set_session",
]
