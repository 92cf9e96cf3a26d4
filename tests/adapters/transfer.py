"""Adapters for transfer and continuation (R-XFER-001, -002, -004)."""

from __future__ import annotations

from typing import Any

from adapters import adapter
from adapters.refund import as_date, as_month
from yibao.money import yuan
from yibao.policy import Policy
from yibao.rules import transfer as T


@adapter("transfer.classify")
def classify(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = T.classify_transfer(
        policy,
        from_scheme=str(inp["from_scheme"]),
        from_region=str(inp["from_region"]),
        to_scheme=str(inp["to_scheme"]),
        to_region=str(inp["to_region"]),
        sending_stopped=bool(inp.get("sending_stopped", False)),
        receiving_enrolled=bool(inp.get("receiving_enrolled", False)),
        sending_last_month=as_month(inp.get("sending_last_month")),
        receiving_first_month=as_month(inp.get("receiving_first_month")),
        move_date=as_date(inp.get("move_date")),
        sending_paid_year=inp.get("sending_paid_year"),
        retiree=bool(inp.get("retiree", False)),
    )
    v = d.value
    return {
        "case": v.case.value,
        "ready": v.ready,
        "gap_months": v.gap_months,
        "keep_sending_until": v.keep_sending_until,
        "receiving_from_year": v.receiving_from_year,
        "follow_up_rule": v.follow_up_rule,
        "notices": sorted({n.code for n in d.notices}),
    }


@adapter("transfer.deadlines")
def deadlines(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = T.transfer_deadlines(
        policy,
        sending_region=str(inp.get("sending_region", region)),
        receiving_region=str(inp.get("receiving_region", region)),
        accepted_on=as_date(inp.get("accepted_on")),
        form_received_on=as_date(inp.get("form_received_on")),
    )
    return {"transfer_out_due": d.value.transfer_out_due, "transfer_in_due": d.value.transfer_in_due}


@adapter("transfer.account")
def account(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    def money(key: str):
        return None if inp.get(key) is None else yuan(str(inp[key]), field=key)

    d = T.account_on_transfer(
        policy,
        scheme=str(inp.get("scheme", "310")),
        form_balance=money("form_balance"),
        form_received_on=as_date(inp.get("form_received_on")),
        remitted_amount=money("remitted_amount"),
        money_received_on=as_date(inp.get("money_received_on")),
    )
    v = d.value
    return {
        "state": v.state.value,
        "credit_amount": v.credit_amount,
        "suspense_amount": v.suspense_amount,
        "credited_on": v.credited_on,
        "notices": sorted({n.code for n in d.notices}),
    }
