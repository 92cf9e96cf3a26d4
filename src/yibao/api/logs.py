"""Logs without ID numbers (DESIGN §5): a masking filter, the access log, and the catch-all for 500s.

* :class:`MaskingFilter` masks anything that looks like an identity-document number (18- and
  15-digit resident IDs, 8–12 digit numbers, permit and passport numbers: one or two letters and
  7–11 digits) in log messages, their arguments and exception texts, as ``510***********1234``.
  Attach it to a *handler* to cover every record that passes through it (``yibao serve`` does, for
  uvicorn's handlers too); :func:`install_masking` attaches it to the API's loggers and uvicorn's.
* :class:`AccessLogMiddleware` writes one line per request on ``yibao.api.access`` —
  method, path, query (``number=`` always masked), status, milliseconds — and turns any exception
  that escapes the application into a 500 ``INTERNAL_ERROR`` body with a reference, logged (masked)
  on ``yibao.api`` with that reference. No stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yibao.errors import YibaoError
from yibao.ids import mask

from .errors import INTERNAL_ERROR, error_body

log = logging.getLogger("yibao.api")
access_log = logging.getLogger("yibao.api.access")

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{8,15}|[A-Za-z]{1,2}\d{7,11})(?![0-9A-Za-z])")
_SENSITIVE_PARAMS = frozenset({"number", "cert_no", "certno"})


def mask_text(text: str) -> str:
    """``text`` with every ID-like number masked."""
    return _ID_LIKE.sub(lambda m: mask(m.group(0)), text)


def _mask_arg(value: Any) -> Any:
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return mask_text(value if isinstance(value, str) else str(value))


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        elif record.msg is not None and not record.args:
            record.msg = mask_text(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(_mask_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _mask_arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_masking() -> None:
    """Attach the masking filter to the API's loggers and uvicorn's (once)."""
    for name in ("yibao", "yibao.api", "yibao.api.access", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskingFilter) for f in logger.filters):
            logger.addFilter(MaskingFilter())
        for handler in logger.handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())


def masked_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, mask(v) if k.lower() in _SENSITIVE_PARAMS and v else mask_text(v)) for k, v in pairs], safe="*.:-")


def masked_target(scope: Scope) -> str:
    path = mask_text(scope.get("path", ""))
    query = masked_query(scope.get("query_string", b"").decode("latin-1"))
    return f"{path}?{query}" if query else path


class AccessLogMiddleware:
    """One access line per request, and the last line of defence: unknown exceptions → 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            ref = uuid.uuid4().hex[:12]
            log.error(
                "unhandled %s on %s %s (ref %s): %s",
                type(exc).__name__, scope.get("method"), masked_target(scope), ref, exc, exc_info=exc,
            )
            if response_started:  # pragma: no cover - a streaming response failed half-way: nothing to do but close
                return
            error = YibaoError(INTERNAL_ERROR, kind=f"ref {ref}")
            await JSONResponse(error_body(error), status_code=500)(scope, receive, send_wrapper)
        finally:
            access_log.info(
                "%s %s %s %.1fms", scope.get("method"), masked_target(scope), status, (time.perf_counter() - started) * 1000
            )
