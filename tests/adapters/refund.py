"""Adapters for refunds (R-REF-001…006).

Contribution lines in an input (``lines``), one mapping each:
  {payer: INDIVIDUAL, amount: 400.00, year: 2026, paid_on: 2025-10-10}            a resident benefit-year line
  {payer: INDIVIDUAL, months: 2025-01..2025-12, amount: 480.00, paid_on: …}       one line per month, same amount
  {month: 2025-03, amount: -480.00, kind: "20", paid_on: …}                       a refund already made
  {kind: "40", amount: 36000.00, months_credited: 60, paid_on: …}                 a lump sum naming no month
Output keys: total, months, by_channel, by_payer, rules, notices.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters import adapter
from yibao.codes import ContributionKind
from yibao.dates import YearMonth, month_range, parse_month_range
from yibao.model import ContributionLine, PayerType
from yibao.money import yuan
from yibao.policy import Policy
from yibao.rules import refund as R


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def as_month(value: Any) -> YearMonth | None:
    return None if value is None else YearMonth.parse(str(value))


def lines(items: list[dict[str, Any]], relation: str = "R1") -> list[ContributionLine]:
    out: list[ContributionLine] = []
    for i, item in enumerate(items or []):
        common = dict(
            relation_id=str(item.get("relation", relation)),
            kind=ContributionKind(str(item.get("kind", "10"))),
            payer=PayerType(item.get("payer", "INDIVIDUAL")),
            paid_on=as_date(item.get("paid_on", "2000-01-01")),
            amount=yuan(str(item["amount"]), field=f"lines[{i}].amount"),
            months_credited=int(item.get("months_credited", 0)),
            key=item.get("key"),
            supersedes=item.get("supersedes"),
        )
        if "months" in item:
            first, last = parse_month_range(str(item["months"]))
            out.extend(ContributionLine(month=m, **common) for m in month_range(first, last))
        else:
            out.append(ContributionLine(month=as_month(item.get("month")), benefit_year=item.get("year"), **common))
    return out


def refund_output(decision) -> dict[str, Any]:
    value = decision.value
    return {
        "total": value.total,
        "months": [str(m) for m in value.months],
        "by_channel": value.by_channel(),
        "by_payer": value.by_payer(),
        "rules": sorted({r.rule_id for r in decision.reasons}),
        "notices": sorted({n.code for n in decision.notices}),
    }


@adapter("refund.resident")
def resident(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = R.resident_refund(
        lines(inp["lines"]),
        as_date(inp["benefit_start"]),
        as_date(inp["event_date"]),
        policy,
        str(inp.get("terminated_region", region)),
        action=inp.get("action", "TERMINATED"),
        deceased=bool(inp.get("deceased", False)),
    )
    return refund_output(d)


@adapter("refund.flexible_prepaid")
def flexible_prepaid(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = R.flexible_prepaid_refund(lines(inp["lines"]), as_month(inp["first_unit_month"]), inp["year"], policy, region)
    return refund_output(d)


@adapter("refund.lump_sum_death")
def lump_sum_death(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = R.lump_sum_death_refund(lines(inp["lines"]), as_date(inp["benefit_start"]), as_date(inp["death_date"]), policy, region)
    return refund_output(d)


@adapter("refund.death")
def death(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    starts = {int(k): as_date(v) for k, v in (inp.get("benefit_starts") or {}).items()}
    d = R.death_refund(lines(inp["lines"]), as_date(inp["death_date"]), policy, region, benefit_starts=starts)
    return refund_output(d)


@adapter("refund.true_up")
def true_up(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = R.true_up_applies(as_date(inp.get("termination_date")), as_date(inp["publication_date"]), policy, region)
    return {"true_up": d.value, "rules": sorted({r.rule_id for r in d.reasons})}
