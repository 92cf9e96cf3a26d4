"""Adapters for the resident incentives and subsidy deduction (R-RES-004…007).

``covered_years`` is a list of years or of ranges ``"2021..2025"``; ``claims`` maps a year to
``{fund_paid, critical_illness_paid?, reward_used?}``.
"""

from __future__ import annotations

from typing import Any

from adapters import adapter
from yibao.dates import YearMonth, month_range, parse_month_range
from yibao.money import ZERO, yuan
from yibao.policy import Policy
from yibao.rules import incentive as I


def years(items: list[Any]) -> list[int]:
    out: list[int] = []
    for item in items or []:
        text = str(item)
        if ".." in text:
            a, b = text.split("..")
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(text))
    return out


def claims(items: dict[Any, Any] | None) -> dict[int, I.ClaimYear]:
    out = {}
    for year, rec in (items or {}).items():
        out[int(year)] = I.ClaimYear(
            fund_paid=yuan(str(rec.get("fund_paid", 0))),
            critical_illness_paid=yuan(str(rec.get("critical_illness_paid", 0))),
            reward_used=rec.get("reward_used"),
        )
    return out


def cap_output(d) -> dict[str, Any]:
    v = d.value
    return {
        "cap": v.cap,
        "increase": v.increase,
        "continuous_increase": v.continuous_increase,
        "zero_claim_increase": v.zero_claim_increase,
        "penalty": v.penalty,
        "rules": sorted({r.rule_id for r in d.reasons}),
    }


@adapter("incentive.continuous")
def continuous(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    c = I.continuous_incentive(inp["year"], years(inp["covered_years"]), policy, region)
    s = I.stack_incentives(inp["year"], c.value.increase, ZERO, policy, region, penalty=c.value.penalty)
    out = cap_output(s)
    out.update(steps=c.value.steps, kept_steps=c.value.kept_steps, continuous_years=c.value.continuous_years)
    return out


@adapter("incentive.zero_claim")
def zero_claim(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    if "covered_years" in inp:
        out = cap_output(I.critical_illness_max(inp["year"], years(inp["covered_years"]), claims(inp["claims"]), policy, region))
        z = I.zero_claim_incentive(inp["year"], claims(inp["claims"]), policy, region)
    else:
        z = I.zero_claim_incentive(inp["year"], claims(inp["claims"]), policy, region)
        out = cap_output(I.stack_incentives(inp["year"], ZERO, z.value.increase, policy, region))
    out.update(zero_claim_steps=z.value.steps, reset_in=z.value.reset_in)
    return out


@adapter("incentive.stacking")
def stacking(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = I.stack_incentives(
        inp["year"],
        yuan(str(inp["continuous_increase"])),
        yuan(str(inp["zero_claim_increase"])),
        policy,
        region,
        penalty=yuan(str(inp.get("penalty", 0))),
    )
    return cap_output(d)


@adapter("incentive.subsidy_deduction")
def subsidy_deduction(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    months = inp.get("employee_continuous_months")
    if "employee_months" in inp:
        first, last = parse_month_range(str(inp["employee_months"]))
        through = YearMonth.parse(str(inp.get("through", last)))
        months = I.continuous_months(month_range(first, last), through)
    subsidy = inp["subsidy"]
    subsidy = {k: yuan(str(v)) for k, v in subsidy.items()} if isinstance(subsidy, dict) else yuan(str(subsidy))
    d = I.subsidy_deduction(
        inp["kind"],
        inp["year"],
        subsidy,
        policy,
        str(inp.get("terminated_region", region)),
        student_entry_year=bool(inp.get("student_entry_year", False)),
        employee_continuous_months=months,
        employee_payment_normal=bool(inp.get("employee_payment_normal", True)),
    )
    v = d.value
    return {"deduct": v.deduct, "amount": v.amount, "region": v.region, "employee_continuous_months": months}
