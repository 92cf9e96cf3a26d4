"""Adapters for the entitlement timeline (R-WAIT, R-RES-001…003, R-SPEC-001/002/004).

Input keys:
  case:          an inline case file (see docs/case-file.md)
  as_known_on:   knowledge date K (default: the end of time — everything recorded)
  relation:      which relation's benefit start to report (default: the last one in the case)
  year:          with a resident relation, the benefit year
  covered_on:    list of dates; output ``covered`` maps each to true/false (any relation)
  covered_by:    list of dates; output ``covered_by`` maps each to the relation id or null
Output keys: start, rules ({rule_id: true} for the reasons of that start), covered, covered_by, actions, notices, periods.
"""

from __future__ import annotations

from typing import Any

from adapters import adapter
from yibao.casefile import parse_case
from yibao.policy import Policy
from yibao.rules.entitlement import build_timeline


def _timeline(inp: dict[str, Any], policy: Policy):
    facts, overrides = parse_case(inp["case"])
    for region, values in overrides.items():
        policy = policy.with_overrides(region, values, label="case")
    return facts, build_timeline(facts, policy, inp.get("as_known_on"))


@adapter("timeline")
def timeline(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    facts, tl = _timeline(inp, policy)
    relation = inp.get("relation") or facts.enrollments[-1].relation_id
    out: dict[str, Any] = {}
    starts = [s for s in tl.starts if s.relation_id == relation]
    if "year" in inp:
        starts = [s for s in starts if s.benefit_year == inp["year"]]
    if starts:
        chosen = starts[-1]
        out["start"] = chosen.benefit_start
        out["rules"] = {r.rule_id: True for r in chosen.decision.reasons}
    else:
        out["start"] = None
        out["rules"] = {}
    out["covered"] = {str(d): tl.covered(d) for d in inp.get("covered_on", [])}
    out["covered_by"] = {
        str(d): (tl.coverage_on(d).relation_id if tl.coverage_on(d) else None) for d in inp.get("covered_by", [])
    }
    out["actions"] = [f"{a.kind.value} {a.relation_id} {a.effective}" for a in tl.actions]
    out["notices"] = sorted({n.code for n in tl.notices})
    out["periods"] = [f"{p.relation_id} {p.start}..{p.end or 'open'}" for p in tl.periods]
    return out


@adapter("resident.payment_check")
def resident_payment_check(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    from yibao.rules.entitlement import check_resident_payment

    check_resident_payment(policy, region, int(inp["year"]), inp["paid_on"])
    return {"accepted": True}
