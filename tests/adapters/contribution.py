"""Scenario adapters for contributions (SPEC §6 R-CONT-001…010, R-RET-003)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from adapters import adapter
from yibao.codes import ContributionKind, FundLine, InsuStatus, InsuType, PsnType
from yibao.dates import YearMonth, month_range, parse_month_range
from yibao.explain import Citation
from yibao.model import ContributionLine, DeclaredWage, Enrollment, GroupMembership, PayerType, PersonFacts, PersonGroup, StatusChange
from yibao.policy import Policy
from yibao.rules import contribution as C


def D(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def ym(value: Any) -> YearMonth:
    return YearMonth.parse(str(value))


def day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def months_of(value: Any) -> list[YearMonth]:
    if isinstance(value, list):
        return [ym(v) for v in value]
    first, last = parse_month_range(str(value))
    return list(month_range(first, last))


def groups_of(inp: dict[str, Any]) -> frozenset[PersonGroup]:
    return frozenset(PersonGroup(g) for g in inp.get("groups", []))


def dated_values(policy: Policy, region: str, key: str, values: dict[Any, Any]) -> Policy:
    """A policy in which ``key`` has several dated values for ``region`` (a worked example that
    spans years with different figures, e.g. R-CONT-006)."""
    items = sorted((day(f"{k}-01-01") if isinstance(k, int) else day(k), v) for k, v in values.items())
    out = policy.with_overrides(region, {key: items[0][1]}, label="scenario")
    citation = Citation("scenario override", None, "M", None)
    definition = out.catalog[key]
    from yibao.policy.schema import coerce

    out.packs[region].values[key] = [(date.min if i == 0 else d, coerce(key, definition, D(v)), citation, True, None) for i, (d, v) in enumerate(items)]
    return out


def relation_of(inp: dict[str, Any], region: str, *, relation_id: str = "R1") -> Enrollment:
    month = ym(inp["month"]) if "month" in inp else None
    wages = ()
    if inp.get("wage") is not None:
        wages = (DeclaredWage(ym(inp.get("wage_from", "1990-01")), D(inp["wage"])),)
    start = day(inp["start"]) if "start" in inp else (month.first_day() if month else date(2000, 1, 1))
    if month is None and "months" in inp:
        start = min(months_of(inp["months"])).first_day()
    changes = ()
    if inp.get("terminated_on"):
        changes = (StatusChange(day(inp["terminated_on"]), InsuStatus.TERMINATED),)
    return Enrollment(
        relation_id,
        InsuType(str(inp.get("insutype", "310"))),
        str(inp.get("region", region)),
        PsnType(str(inp.get("psn_type", "1101"))),
        start,
        day(inp["end"]) if inp.get("end") else None,
        status_changes=changes,
        wages=wages,
    )


def _by_share(due: C.MonthDue) -> dict[str, Any]:
    out: dict[str, Any] = {"total": due.total, "base": due.base, "lines": len(due.lines)}
    for line in due.lines:
        name = {C.Share.UNIT: "unit", C.Share.INDIVIDUAL: "individual", C.Share.COMBINED: "combined"}[line.share]
        out[name] = line.amount
        out[f"{name}_payer"] = line.payer.value
    out["unit_at_unit_level"] = due.unit_at_unit_level
    return out


@adapter("contribution.clamp_base")
def clamp_base(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = C.clamp_base(D(inp["declared"]), D(inp["ref_wage"]), D(inp["floor_pct"]), D(inp["ceiling_pct"]))
    return {"base": d.value.base, "floor": d.value.floor, "ceiling": d.value.ceiling, "bound": d.value.bound, "rules": list(d.rule_ids)}


@adapter("contribution.employee_month")
def employee_month(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    rel = relation_of(inp, region)
    d = C.employee_month_due(rel, ym(inp["month"]), policy, groups=groups_of(inp), as_of=day(inp["as_of"]) if inp.get("as_of") else None)
    out = _by_share(d.value)
    out["rules"] = list(d.rule_ids)
    out["notices"] = [n.code for n in d.notices]
    for r in d.reasons:
        facts = dict(r.facts)
        if "computed" in facts:
            out["computed"] = facts["computed"]
    if d.value.ref_wage is not None:
        out["ref_wage"] = d.value.ref_wage.value
        out["phase"] = d.value.ref_wage.phase.value
    return out


@adapter("contribution.unit_wage_bill")
def unit_wage_bill(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    bill = inp.get("wage_bill")
    d = C.unit_wage_bill_due(ym(inp["month"]), policy, region, headcount=inp["headcount"], wage_bill=None if bill is None else D(bill))
    return {"base": d.value.base, "amount": d.value.amount, "method": d.value.method}


@adapter("contribution.true_up")
def true_up(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    months = months_of(inp["months"])
    rel = relation_of({**inp, "start": months[0].first_day().isoformat()}, region)
    d = C.base_true_up(rel, months, policy)
    first = months[0]
    return {
        "exempt": d.value.exempt,
        "records": len(d.value.records),
        "unit_per_month": C.sum_lines(r.difference for r in d.value.records if r.share is C.Share.UNIT and r.month == first),
        "individual_per_month": C.sum_lines(r.difference for r in d.value.records if r.share is C.Share.INDIVIDUAL and r.month == first),
        "unit_total": d.value.total(C.Share.UNIT),
        "individual_total": d.value.total(C.Share.INDIVIDUAL),
        "kinds": sorted({r.kind.value for r in d.value.records}),
    }


@adapter("contribution.individual_backpay")
def individual_backpay(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    if inp.get("ref_wage_by_year"):
        policy = dated_values(policy, region, "contribution.employee.ref_wage", inp["ref_wage_by_year"])
    d = C.individual_backpay_due(months_of(inp["months"]), policy, region)
    return {
        "total": d.value.total,
        "amounts": [m.amount for m in d.value.months],
        "bases": [m.base for m in d.value.months],
        "late_fee_waived": d.value.late_fee_waived,
    }


@adapter("contribution.late_fee")
def late_fee(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = C.late_fee(D(inp["unpaid"]), day(inp["due_date"]), day(inp["paid_on"]), policy, region, individual_backpay=bool(inp.get("individual_backpay")))
    return {"days": d.value.days, "fee": d.value.fee, "waived": d.value.waived}


@adapter("contribution.resident_year")
def resident_year(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = C.resident_year_due(int(inp["benefit_year"]), policy, region, groups=groups_of(inp))
    v = d.value
    return {
        "standard": v.standard,
        "subsidy": v.subsidy,
        "individual": v.individual_pays,
        "assistance": v.assistance_pays,
        "total": v.total,
        "payers": [l.payer.value for l in v.lines],
        "notices": [n.code for n in d.notices],
    }


@adapter("contribution.dae_month")
def dae_month(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    month = ym(inp["month"])
    d = C.dae_month_due(
        month,
        policy,
        region,
        psn_type=PsnType(str(inp.get("psn_type", "1101"))),
        unemployed_on_benefit=bool(inp.get("unemployed_on_benefit")),
        delinked=bool(inp.get("delinked")),
        unit_payer=PayerType(inp["unit_payer"]) if inp.get("unit_payer") else None,
    )
    v = d.value
    out: dict[str, Any] = {
        "unit": v.amount(C.Share.UNIT),
        "account_debit": v.amount(payer=PayerType.PERSONAL_ACCOUNT),
        "total": v.total,
        "unit_payer": next((l.payer.value for l in v.lines if l.share is C.Share.UNIT), None),
        "annual_standard": policy.value(region, "contribution.dae.annual_standard", month.first_day()),
        "notices": [n.code for n in d.notices],
    }
    if "account_balance" in inp:
        debit = C.dae_account_debit(v.amount(payer=PayerType.PERSONAL_ACCOUNT), D(inp["account_balance"]), month, policy, region)
        out.update(
            debited=debit.value.debited,
            arrears=debit.value.arrears,
            balance_after=debit.value.balance_after,
            notices=out["notices"] + [n.code for n in debit.notices],
        )
    return out


@adapter("contribution.months_total")
def months_total(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = C.monthly_lines_total(D(inp["base"]), D(inp["rate"]), months_of(inp["months"]), policy, region)
    return {
        "monthly": [a for _, a in d.value.monthly],
        "total": d.value.total,
        "naive_total": C.round_fen(d.value.unrounded_total),
    }


def facts_of(inp: dict[str, Any], region: str) -> PersonFacts:
    enrollments = []
    for i, e in enumerate(inp.get("enrollments", [])):
        enrollments.append(relation_of(e, region, relation_id=str(e.get("id", f"R{i + 1}"))))
    lines = []
    for c in inp.get("contributions", []):
        lines.append(
            ContributionLine(
                str(c["relation"]),
                ContributionKind(str(c.get("kind", "10"))),
                PayerType(c["payer"]),
                day(c["paid_on"]),
                D(c["amount"]),
                month=ym(c["month"]) if c.get("month") else None,
                benefit_year=int(c["benefit_year"]) if c.get("benefit_year") else None,
                fund=FundLine(str(c["fund"])) if c.get("fund") else None,
            )
        )
    groups = tuple(
        GroupMembership(PersonGroup(g["group"]), day(g["start"]), day(g["end"]) if g.get("end") else None) for g in inp.get("groups", [])
    )
    return PersonFacts(
        str(inp.get("person_id", "P1")),
        birth_date=day(inp["birth_date"]) if inp.get("birth_date") else None,
        enrollments=tuple(enrollments),
        contributions=tuple(lines),
        groups=groups,
        death_date=day(inp["death_date"]) if inp.get("death_date") else None,
    )


@adapter("contribution.schedule")
def schedule(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    first, last = parse_month_range(str(inp["months"]))
    d = C.contribution_schedule(facts_of(inp, region), policy, first, last)
    v = d.value

    def total(insutype: str, payer: str | None = None, what: str = "due") -> Decimal:
        return C.sum_lines(
            getattr(r, what) or Decimal("0")
            for r in v.lines
            if r.insutype.value == insutype and (payer is None or r.payer.value == payer)
        )

    return {
        "basic_due": total("310"),
        "basic_paid": total("310", what="paid"),
        "dae_due": total("330"),
        "dae_account": total("330", "PERSONAL_ACCOUNT"),
        "dae_unit": total("330", "UNIT"),
        "resident_due": total("390"),
        "total_due": v.total_due,
        "total_paid": v.total_paid,
        "total_outstanding": v.total_outstanding,
        "rows": [
            {"month": str(r.month), "insutype": r.insutype.value, "payer": r.payer.value, "due": r.due, "paid": r.paid, "outstanding": r.outstanding}
            for r in v.lines
        ],
        "rules": sorted({rid for r in v.lines for rid in (x.rule_id for x in r.reasons)} | set(d.rule_ids)),
        "notices": [n.code for n in d.notices],
    }
