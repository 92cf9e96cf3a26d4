"""Scenario adapters for the national code tables and the status machine (SPEC §3 R-CODE-001…005).

``codes.insutype``        input {insutype, migration?, on?} → {code, name, kind, is_core, is_rider, is_legacy}
``codes.psn_type_check``  input {insutype, psn_type, migration?} → {valid: true, group, is_retired}
``codes.status_history``  input {changes: [{on, status, reason?}, …]} (a relation's history, starting from
                          status 1) → {valid: true, final}
``codes.parse``           input {table, code, migration?, on?} → {code, name} (any table: cert_type, clct_type, …),
                          plus is_backpay for clct_type
Errors surface as :class:`~yibao.errors.YibaoError` (the scenario says ``expect: {error: …, field: …}``).
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from adapters import adapter
from yibao.codes import ContributionKind, InsuStatus, InsuType, PsnType, check_psn_type_matches, parse_code
from yibao.model import StatusChange, StatusReason
from yibao.policy import Policy
from yibao.rules.status import check_transitions


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _code(value: Any, what: str) -> str:
    if not isinstance(value, str):  # an unquoted 01 in YAML reads as the integer 1
        raise TypeError(f"{what} must be quoted text in the scenario, got {value!r}")
    return value


def _insutype(inp: dict[str, Any]) -> InsuType:
    return cast(
        InsuType,
        parse_code(
            "insutype", _code(inp["insutype"], "insutype"), field="insutype",
            on=_day(inp.get("on")), migration=bool(inp.get("migration", False)),
        ),
    )


@adapter("codes.insutype")
def insutype(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    t = _insutype(inp)
    return {
        "code": t.value,
        "name": t.name,
        "kind": t.kind,
        "is_core": t.is_core,
        "is_rider": t.is_rider,
        "is_legacy": t.is_legacy,
    }


@adapter("codes.psn_type_check")
def psn_type_check(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    t = _insutype(inp)
    p = cast(
        PsnType,
        parse_code("psn_type", _code(inp["psn_type"], "psn_type"), field="psn_type", migration=bool(inp.get("migration", False))),
    )
    check_psn_type_matches(p, t)
    return {"valid": True, "group": p.group, "is_retired": p.is_retired}


def _status(value: Any) -> InsuStatus:
    text = _code(value, "status")
    return InsuStatus[text] if text in InsuStatus.__members__ else InsuStatus(text)


@adapter("codes.status_history")
def status_history(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    changes = [
        StatusChange(_day(c["on"]), _status(c["status"]), StatusReason(c.get("reason", "OTHER")))
        for c in inp["changes"]
    ]
    check_transitions(changes)
    final = sorted(changes, key=lambda c: c.effective)[-1].status if changes else InsuStatus.NORMAL
    return {"valid": True, "final": final.value}


@adapter("codes.parse")
def parse(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    table = inp["table"]
    member = parse_code(
        table, _code(inp["code"], "code"), field=inp.get("field", table),
        on=_day(inp.get("on")), migration=bool(inp.get("migration", False)),
    )
    out: dict[str, Any] = {"code": member.value, "name": member.name}
    if isinstance(member, ContributionKind):
        out["is_backpay"] = member.is_backpay
    return out
