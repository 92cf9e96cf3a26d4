"""Adapters for duplicate enrollment (R-DUP-001…009, R-RES-007 through the duplicate engine).

Input:
  detected_on: 2025-03-10
  context: {habitual_residence_region: "350100", employment_region: …, study_region: …,
            student_cause: SCHOOL_ENTRY | JOB, employee_part_time: true, assisted_both: true,
            assist_choice_region: …, assist_choice_commitment_id: …}
  relations:
    - {id: A, insutype: "310", region: "140100", psn_type: "1101", start: 2025-01-01, end: null,
       paid_months: 2025-01..2025-06, amount: 400.00, payer: UNIT,        # one line per month
       years: {2025: {individual: 400, subsidy: 700, paid_on: 2024-10-10, assistance: 240}},
       suspended_from: 2025-05-01, restored_from: 2025-09-01, terminated_from: …}
Output keys: duplicates (number of groups), kind, outcome, rule, kept, other, action, effective,
overlap_start, overlap_end, subsidy_total, refund_total, refund_by_channel, notice_to, rules, notices.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from adapters import adapter
from adapters.refund import as_date
from yibao.codes import ContributionKind, InsuStatus, InsuType, PsnType
from yibao.dates import month_range, parse_month_range
from yibao.model import (
    ContributionLine,
    Enrollment,
    PayerType,
    StatusChange,
    StatusReason,
)
from yibao.money import yuan
from yibao.policy import Policy
from yibao.rules import duplicate as D


def relations_and_lines(items: list[dict[str, Any]]) -> tuple[list[Enrollment], list[ContributionLine]]:
    relations: list[Enrollment] = []
    lines: list[ContributionLine] = []
    for i, item in enumerate(items):
        rid = str(item["id"])
        changes = []
        for key, status in (("suspended_from", InsuStatus.SUSPENDED), ("restored_from", InsuStatus.NORMAL), ("terminated_from", InsuStatus.TERMINATED)):
            if item.get(key):
                changes.append(StatusChange(as_date(item[key]), status, StatusReason.OTHER))
        relations.append(
            Enrollment(
                rid, InsuType(str(item["insutype"])), str(item["region"]), PsnType(str(item.get("psn_type", "1101"))),
                as_date(item["start"]), as_date(item.get("end")), tuple(changes),
            )
        )
        if "paid_months" in item:
            first, last = parse_month_range(str(item["paid_months"]))
            amount = yuan(str(item.get("amount", "400.00")), field=f"relations[{i}].amount")
            payer = PayerType(item.get("payer", "UNIT"))
            for m in month_range(first, last):
                paid_on = as_date(item["paid_on"]) if item.get("paid_on") else date(m.year, m.month, 15)
                lines.append(ContributionLine(rid, ContributionKind.REGULAR, payer, paid_on, amount, month=m))
        for year, spec in (item.get("years") or {}).items():
            paid_on = as_date(spec.get("paid_on", f"{int(year) - 1}-10-10"))
            for key, payer in (("individual", PayerType.INDIVIDUAL), ("assistance", PayerType.MEDICAL_ASSISTANCE), ("subsidy", PayerType.FISCAL_SUBSIDY)):
                if spec.get(key) is not None:
                    lines.append(ContributionLine(rid, ContributionKind.REGULAR, payer, paid_on, Decimal(str(spec[key])), benefit_year=int(year)))
    return relations, lines


def context(inp: dict[str, Any]) -> D.DuplicateContext:
    c = dict(inp.get("context") or {})
    cause = c.pop("student_cause", None)
    return D.DuplicateContext(
        detected_on=as_date(inp["detected_on"]),
        student_cause=D.StudentCause(cause) if cause else None,
        **{k: (str(v) if k.endswith("region") and v is not None else v) for k, v in c.items()},
    )


def resolution_output(decision) -> dict[str, Any]:
    res = decision.value
    change = res.changes[0] if res.changes else None
    return {
        "kind": res.kind,
        "outcome": res.outcome,
        "rule": res.rule_id,
        "kept": res.kept,
        "other": change.relation_id if change else None,
        "action": change.action if change else None,
        "effective": change.effective if change else None,
        "overlap_start": res.overlap_start,
        "overlap_end": "open" if res.overlap_end and res.overlap_end >= D.END_OF_TIME else res.overlap_end,
        "subsidy_total": res.subsidy_total,
        "deducted_years": [d.year for d in res.deductions if d.deduct],
        "refund_total": res.refund_total,
        "refund_by_channel": res.refund.by_channel(),
        "refund_region": sorted({line.region for line in res.refund.lines}),
        "notice_to": [n.to_region for n in res.region_notices],
        "rules": sorted({r.rule_id for r in decision.reasons}),
        "notices": sorted({n.code for n in decision.notices}),
    }


@adapter("duplicate.resolve")
def resolve(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    relations, lines = relations_and_lines(inp["relations"])
    decisions = D.resolve_person(str(inp.get("person", "P1")), relations, lines, context(inp), policy)
    out: dict[str, Any] = {"duplicates": len(decisions)}
    if decisions:
        out.update(resolution_output(decisions[0]))
    return out
