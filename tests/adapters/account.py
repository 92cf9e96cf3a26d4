"""Scenario adapters for the personal account (SPEC §7 R-ACCT-001…006)."""

from __future__ import annotations

from typing import Any

from adapters import adapter
from adapters.contribution import D, day, months_of, relation_of, ym
from yibao.codes import ContributionKind
from yibao.policy import Policy
from yibao.rules import account as A


def _credit_kwargs(inp: dict[str, Any]) -> dict[str, Any]:
    return {
        "birth_date": day(inp["birth_date"]) if inp.get("birth_date") else None,
        "base": D(inp["base"]) if inp.get("base") is not None else None,
        "pension": D(inp["pension"]) if inp.get("pension") is not None else None,
        "kind": ContributionKind(str(inp.get("kind", "10"))),
        "outer_district": bool(inp.get("outer_district")),
    }


@adapter("account.credit")
def credit(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    rel = relation_of(inp, region)
    d = A.account_credit(rel, ym(inp["month"]), policy, **_credit_kwargs(inp))
    v = d.value
    return {
        "account": v.account,
        "pool": v.pool,
        "rate": v.rate,
        "method": v.method,
        "band": v.band,
        "age": v.age,
        "rules": list(d.rule_ids),
    }


@adapter("account.credits")
def credits(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    months = months_of(inp["months"])
    rel = relation_of({**inp, "start": months[0].first_day().isoformat()}, region)
    d = A.account_credits(rel, months, policy, **_credit_kwargs(inp))
    return {
        "total": d.value.total,
        "monthly": [c.account for c in d.value.credits],
        "rates": [c.rate for c in d.value.credits],
        "methods": [c.method for c in d.value.credits],
        "rules": sorted(set(d.rule_ids)),
    }


@adapter("account.use")
def use(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = A.check_account_use(
        A.AccountUse(inp["use"]),
        policy,
        region,
        day(inp.get("on", "2025-06-01")),
        relationship=A.Relationship(inp.get("relationship", "SELF")),
        designated=bool(inp.get("designated", True)),
    )
    return {"allowed": d.value, "rules": list(d.rule_ids)}


@adapter("account.family_aid_draw")
def family_aid_draw(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    on = day(inp.get("on", "2025-06-01"))
    draws = inp.get("draws") or [{"beneficiary_balance": inp["beneficiary_balance"], "bill": inp["bill"]}]
    balance = D(inp["authoriser_balance"])
    results = []
    for draw in draws:
        d = A.family_aid_draw(policy, region, on, authoriser_balance=balance, beneficiary_balance=D(draw["beneficiary_balance"]), bill=D(draw["bill"]))
        results.append(d.value)
        balance = d.value.authoriser_balance_after
    first = results[0]
    return {
        "own": first.own_paid,
        "pool": first.pool_paid,
        "cash": first.cash,
        "shareable": first.shareable_before,
        "authoriser_after": balance,
        "pools": [r.pool_paid for r in results],
        "cashes": [r.cash for r in results],
    }


@adapter("account.family_aid_status")
def family_aid_status(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    on = day(inp.get("on", "2025-06-01"))
    authoriser = relation_of(inp["authoriser"], region, relation_id="A")
    beneficiary = relation_of(inp["beneficiary"], region, relation_id="B")
    if inp["authoriser"].get("suspended_on"):
        from dataclasses import replace

        from yibao.codes import InsuStatus
        from yibao.model import StatusChange

        authoriser = replace(authoriser, status_changes=(StatusChange(day(inp["authoriser"]["suspended_on"]), InsuStatus.SUSPENDED),))
    d = A.family_aid_status(policy, region, on, authoriser=authoriser, beneficiary=beneficiary, relationship=A.Relationship(inp["relationship"]))
    return {"state": d.value.state.value, "problems": list(d.value.problems), "can_draw": d.value.can_draw}


@adapter("account.transfer")
def transfer(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = A.account_on_transfer(
        D(inp["balance"]),
        policy,
        sending_region=str(inp.get("sending_region", region)),
        receiving_region=str(inp["receiving_region"]),
        accepted_on=day(inp["accepted_on"]),
    )
    return {"amount": d.value.amount, "sending_region": d.value.sending_region, "receiving_region": d.value.receiving_region}


@adapter("account.death")
def death(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    debits = [A.ScheduledDebit(ym(m), D(inp.get("monthly_debit", "16"))) for m in months_of(inp["debit_months"])]
    d = A.account_on_death(D(inp.get("balance", "0")), day(inp["death_date"]), debits, policy)
    return {
        "kept": [str(x.month) for x in d.value.kept],
        "cancelled": [str(x.month) for x in d.value.cancelled],
        "first_cancelled": str(d.value.cancelled[0].month) if d.value.cancelled else None,
        "inheritable_balance": d.value.inheritable_balance,
    }
