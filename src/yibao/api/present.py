"""Facts and decisions as response bodies (masking numbers where the caller may not see them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from yibao.errors import Notice
from yibao.explain import Decision, jsonable
from yibao.ids import mask
from yibao.model import ContributionLine, IdentityDocument, PersonFacts
from yibao.rules.entitlement import Coverage, Timeline

from .security import ADMINISTRATOR, Principal


def sees_full_numbers(principal: Principal) -> bool:
    """Only administrators see whole ID numbers, and only on a single person's page (never in lists)."""
    return principal.role == ADMINISTRATOR


def document(cert_type: Any, number: str, nationality: str | None, valid_from: date | None = None, *, full: bool = False) -> dict[str, Any]:
    return {
        "cert_type": getattr(cert_type, "value", cert_type),
        "number": number if full else mask(number),
        "nationality": nationality,
        "valid_from": valid_from,
    }


def documents(docs: Iterable[IdentityDocument], *, full: bool) -> list[dict[str, Any]]:
    return [document(d.cert_type, d.number, d.nationality, d.valid_from, full=full) for d in docs]


def person(facts: PersonFacts, regions: Iterable[str], today: date, *, full: bool) -> dict[str, Any]:
    return {
        "psn_no": facts.person_id,
        "name": facts.name,
        "birth_date": facts.birth_date,
        "sex": facts.sex,
        "death_date": facts.death_date,
        "regions": sorted(regions),
        "documents": documents(facts.documents, full=full),
        "relations": [
            {
                "relation_id": e.relation_id,
                "insutype": e.insutype.value,
                "region": e.region,
                "psn_type": e.psn_type.value,
                "start": e.start,
                "end": e.end,
                "employer": e.employer,
                "status": e.status_on(today).value,
                "status_changes": [
                    {"effective": c.effective, "status": c.status.value, "reason": c.reason.value, "note": c.note}
                    for c in sorted(e.status_changes, key=lambda c: c.effective)
                ],
            }
            for e in facts.enrollments
        ],
    }


def line(l: ContributionLine) -> dict[str, Any]:
    return {
        "relation_id": l.relation_id,
        "kind": l.kind.value,
        "payer": l.payer.value,
        "paid_on": l.paid_on,
        "amount": format(l.amount, "f"),
        "month": str(l.month) if l.month is not None else None,
        "benefit_year": l.benefit_year,
        "fund": l.fund.value if l.fund is not None else None,
        "base": format(l.base, "f") if l.base is not None else None,
        "months_credited": l.months_credited,
        "key": l.key,
        "recorded_on": l.recorded_on,
    }


def line_order(l: ContributionLine) -> tuple:
    period = str(l.month) if l.month is not None else (f"{l.benefit_year}" if l.benefit_year is not None else "")
    return (l.paid_on, period, l.relation_id, l.key or "")


def notices(items: Iterable[Notice]) -> list[dict[str, Any]]:
    return [n.to_dict() for n in items]


def decision(d: Decision[Any]) -> dict[str, Any]:
    return d.to_dict()


def coverage(psn_no: str, answer: Decision[Coverage], as_known_on: date) -> dict[str, Any]:
    c = answer.value
    return {
        "psn_no": psn_no,
        "on": c.on,
        "as_known_on": as_known_on,
        "covered": c.covered,
        "relation_id": c.relation_id,
        "insutype": c.insutype.value if c.insutype is not None else None,
        "region": c.region,
        "period_start": c.period.start if c.period is not None else None,
        "period_end": c.period.end if c.period is not None else None,
        "reasons": [r.to_dict() for r in answer.reasons],
        "notices": notices(answer.notices),
    }


def timeline(psn_no: str, t: Timeline, answer: Decision[Coverage], on: date, as_known_on: date, *, grid: bool) -> dict[str, Any]:
    return {
        "psn_no": psn_no,
        "on": on,
        "as_known_on": as_known_on,
        "answer": coverage(psn_no, answer, as_known_on),
        "periods": [
            {
                "relation_id": p.relation_id,
                "insutype": p.insutype.value,
                "region": p.region,
                "start": p.start,
                "end": p.end,
                "start_reasons": [r.to_dict() for r in p.start_reasons],
                "end_reasons": [r.to_dict() for r in p.end_reasons],
            }
            for p in t.periods
        ],
        "decisions": [
            {
                "relation_id": s.relation_id,
                "first_month": str(s.first_month),
                "last_month": str(s.last_month),
                "benefit_year": s.benefit_year,
                "benefit_start": s.benefit_start,
                "reasons": [r.to_dict() for r in s.decision.reasons],
            }
            for s in t.starts
        ],
        "actions": [
            {
                "kind": a.kind.value,
                "relation_id": a.relation_id,
                "effective": a.effective,
                "months": [str(m) for m in a.months],
                "reason": a.reason.to_dict(),
            }
            for a in t.actions
        ],
        "notices": notices(t.notices),
        "months": [
            {
                "relation_id": m.relation_id,
                "month": str(m.month),
                "kind": m.kind.value,
                "paid_on": m.paid_on,
                "waiting": m.waiting,
                "covered_days": m.covered_days,
                "continuous_months": m.continuous_months,
            }
            for m in t.months
        ]
        if grid
        else None,
    }


__all__ = ["coverage", "decision", "document", "documents", "jsonable", "line", "line_order", "notices", "person", "sees_full_numbers", "timeline"]
