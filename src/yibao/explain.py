"""Decisions that explain themselves: a value plus the reasons behind it.

A :class:`Reason` names the rule (``R-WAIT-002`` from SPEC, or a project decision ``Y-…`` from
``docs/decisions.md``), says in Chinese and English what it decided, lists the policy parameters
it used (each with its own citation) and cites the documents. This is what a clerk shows a citizen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from dataclasses import fields
from typing import Any, ClassVar, Generic, TypeVar

from yibao.errors import Notice

T = TypeVar("T")


@dataclass(frozen=True)
class Citation:
    """A policy source: document (number or title), article, and how sure we are of it (SPEC §0.3)."""

    document: str
    article: str | None = None
    confidence: str = "M"  # V verified, C corroborated, S seed only, M background knowledge
    source_key: str | None = None  # S1…S20 of SPEC §1

    def __str__(self) -> str:
        art = f" {self.article}" if self.article else ""
        return f"{self.document}{art} [{self.confidence}]"

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "article": self.article, "confidence": self.confidence, "source": self.source_key}


@dataclass(frozen=True)
class UsedParameter:
    """A policy parameter as it was read: region and date it was resolved for, and its source."""

    key: str
    value: Any
    region: str
    effective_from: date
    citation: Citation
    illustrative: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": jsonable(self.value),
            "region": self.region,
            "effective_from": self.effective_from.isoformat(),
            "citation": self.citation.to_dict(),
            "illustrative": self.illustrative,
        }


@dataclass(frozen=True)
class Reason:
    rule_id: str
    message_zh: str
    message_en: str
    parameters: tuple[UsedParameter, ...] = ()
    citations: tuple[Citation, ...] = ()
    facts: tuple[tuple[str, Any], ...] = ()  # the inputs the rule looked at, for the audit trail

    def all_citations(self) -> tuple[Citation, ...]:
        """The rule's own citations and its parameters', each document once (with its articles)."""
        by_document: dict[str, list[Citation]] = {}
        for c in (*self.citations, *(p.citation for p in self.parameters)):
            kept = by_document.setdefault(c.document, [])
            if c.article is None and kept:
                continue
            if c.article is not None:
                kept[:] = [k for k in kept if k.article is not None]
            if all(str(k) != str(c) for k in kept):
                kept.append(c)
        return tuple(c for cites in by_document.values() for c in cites)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "parameters": [p.to_dict() for p in self.parameters],
            "citations": [c.to_dict() for c in self.all_citations()],
            "facts": {k: jsonable(v) for k, v in self.facts},
        }


@dataclass(frozen=True)
class Decision(Generic[T]):
    value: T
    reasons: tuple[Reason, ...] = ()
    notices: tuple[Notice, ...] = ()

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.rule_id for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": jsonable(self.value),
            "reasons": [r.to_dict() for r in self.reasons],
            "notices": [n.to_dict() for n in self.notices],
        }


class Record:
    """Mixin for the frozen result dataclasses of the rules: ``to_dict()`` gives their fields and the
    properties named in ``_computed``, JSON-ready (as ``Decision.to_dict`` expects)."""

    _computed: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]
        for name in self._computed:
            out[name] = jsonable(getattr(self, name))
        return out


def reason(
    rule_id: str,
    zh: str,
    en: str,
    *,
    parameters: tuple[UsedParameter, ...] | list[UsedParameter] = (),
    citations: tuple[Citation, ...] | list[Citation] = (),
    **facts: Any,
) -> Reason:
    return Reason(rule_id, zh, en, tuple(parameters), tuple(citations), tuple(facts.items()))


def jsonable(value: Any) -> Any:
    """A JSON-ready copy: Decimal as text, dates ISO, enums by value, records by ``to_dict``."""
    from yibao.dates import YearMonth

    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, YearMonth)):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "value") and hasattr(value, "name"):  # enums
        return value.value
    return value
