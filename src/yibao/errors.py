"""Typed errors and warnings: a stable code, a Chinese and an English message, the offending field.

Every module declares the codes it raises with :func:`define` at import time, so the catalog
(``ERROR_CATALOG``) is complete once the package is imported and documentation can list it.
Messages are ``str.format`` templates filled from the error's details.

    CHECK_DIGIT = define("CHECK_DIGIT", "校验码错误，应为 {expected}", "check digit is wrong, expected {expected}")
    raise YibaoError(CHECK_DIGIT, field="cert_no", expected="1")
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any, Iterable


@dataclass(frozen=True)
class MessageTemplate:
    code: str
    zh: str
    en: str


ERROR_CATALOG: dict[str, MessageTemplate] = {}


def define(code: str, zh: str, en: str) -> str:
    """Register an error or warning code with its bilingual message template; returns the code."""
    existing = ERROR_CATALOG.get(code)
    if existing is not None and (existing.zh, existing.en) != (zh, en):
        raise ValueError(f"error code {code} defined twice with different messages")
    ERROR_CATALOG[code] = MessageTemplate(code, zh, en)
    return code


def _render(code: str, details: dict[str, Any]) -> tuple[str, str]:
    template = ERROR_CATALOG.get(code)
    if template is None:
        raise KeyError(f"undefined error code {code!r}; declare it with yibao.errors.define")
    safe = _SafeDict({k: v for k, v in details.items()})
    return template.zh.format_map(safe), template.en.format_map(safe)


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:  # a template naming a detail that was not given
        return "{" + key + "}"


class YibaoError(Exception):
    """A rejection of input or a rule violation: nothing was changed.

    ``code`` is stable (tests and API clients match on it); ``field`` names the input that is wrong.
    """

    def __init__(self, code: str, /, field: str | None = None, **details: Any) -> None:
        self.code = code
        self.field = field
        self.details = details
        self.message_zh, self.message_en = _render(code, details)
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.code}{where}: {self.message_zh} / {self.message_en}"

    def __reduce__(self) -> tuple:
        """Pickled as (code, field, details), so an error raised in a worker process arrives whole."""
        return (_rebuild, (type(self), self.code, self.field, self.details))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "field": self.field,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


@dataclass(frozen=True)
class Notice:
    """A warning attached to a decision: the input is accepted but something deserves attention."""

    code: str
    message_zh: str
    message_en: str
    field: str | None = None
    details: dict[str, Any] = dc_field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, code: str, /, field: str | None = None, **details: Any) -> "Notice":
        zh, en = _render(code, details)
        return cls(code, zh, en, field, details)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message_zh": self.message_zh, "message_en": self.message_en}


def dedupe_notices(notices: "Iterable[Notice]") -> list[Notice]:
    """Each notice once (same code and message), in first-seen order."""
    seen: set[tuple[str, str]] = set()
    out = []
    for n in notices:
        key = (n.code, n.message_en)
        if key not in seen:
            seen.add(key)
            out.append(n)
    return out


# Codes used across modules.
INVALID_INPUT = define("INVALID_INPUT", "输入无效：{reason}", "invalid input: {reason}")


def _rebuild(cls: type, code: str, field: str | None, details: dict[str, Any]) -> "YibaoError":
    return cls(code, field=field, **details)
