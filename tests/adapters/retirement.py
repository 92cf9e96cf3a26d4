"""Adapters for cumulative contribution months (R-XFER-003) and retirement (R-RET-001…002).

``retirement.cumulative_months`` input: ``case`` (an inline case file, docs/case-file.md), ``on``
(date the region counts), optional ``through`` (YYYY-MM), ``deemed_months``, ``resident_tiers``
({year: tier}) and ``sex`` (then the R-RET-001 check of the same region is reported too).
"""

from __future__ import annotations

from typing import Any

from adapters import adapter
from adapters.refund import as_date, as_month
from yibao.casefile import parse_case
from yibao.policy import Policy
from yibao.rules import retirement as RT


@adapter("retirement.cumulative_months")
def cumulative(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    facts, overrides = parse_case(inp["case"])
    for r, values in overrides.items():
        policy = policy.with_overrides(r, values, label="case")
    on = as_date(inp["on"])
    tiers = {int(k): str(v) for k, v in (inp.get("resident_tiers") or {}).items()}
    d = RT.cumulative_months(
        facts, policy, region, on,
        through=as_month(inp.get("through")),
        deemed_months=inp.get("deemed_months", 0),
        resident_tiers=tiers or None,
    )
    v = d.value
    out: dict[str, Any] = {
        "total": v.total,
        "years": v.years,
        "remaining_months": v.remaining_months,
        "employee_paid": v.employee_paid_months,
        "military": v.military_months,
        "deemed": v.deemed_months,
        "lump_sum": v.lump_sum_months,
        "resident_converted": v.resident_converted_months,
        "duplicates": v.duplicate_months,
        "by_region": dict(v.paid_by_region),
        "notices": sorted({n.code for n in d.notices}),
    }
    if "sex" in inp:
        check = RT.retirement_check(v, inp["sex"], policy, region, on)
        out["meets"] = check.value.meets
        out["shortfall_months"] = check.value.shortfall_months
    return out


@adapter("retirement.minimum")
def minimum(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = RT.retirement_check(inp["months"], inp["sex"], policy, region, as_date(inp["on"]))
    v = d.value
    return {
        "meets": v.meets,
        "min_years": v.min_years,
        "required_months": v.required_months,
        "shortfall_months": v.shortfall_months,
        "rules": sorted({r.rule_id for r in d.reasons}),
    }


@adapter("retirement.topup")
def topup(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = RT.topup_quote(
        inp["shortfall_months"], policy, region, as_date(inp["paid_on"]),
        never_insured_pensioner=bool(inp.get("never_insured_pensioner", False)),
    )
    v = d.value
    return {
        "amount": v.amount,
        "monthly_amount": v.monthly_amount,
        "benefit_start_rule": v.benefit_start_rule,
        "wait_months": v.wait_months,
        "required_before_benefits": v.required_before_benefits,
        "notices": sorted({n.code for n in d.notices}),
    }
