"""Adapter for the Datong resident chronic/special outpatient ratio (R-BEN-003, E-13).

Input: ``service_date``, ``charging_class`` (1/2/3, CLASS_n or a hospital grade such as 三级甲等),
``eligible_amount``; or ``visits`` — a list of those — for a stay spanning a ratio change.
"""

from __future__ import annotations

from typing import Any

from adapters import adapter
from adapters.refund import as_date
from yibao.money import sum_lines, yuan
from yibao.policy import Policy
from yibao.rules import benefit as B


@adapter("benefit.resident_chronic_ratio")
def chronic_ratio(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    if "visits" in inp:
        d = B.chronic_outpatient_payments(
            [(as_date(v["service_date"]), v["charging_class"], yuan(str(v["eligible_amount"]))) for v in inp["visits"]],
            policy,
            region,
        )
        return {
            "ratios": [p.ratio for p in d.value],
            "fund_pays": [p.fund_pays for p in d.value],
            "total": sum_lines(p.fund_pays for p in d.value),
        }
    d = B.chronic_outpatient_payment(
        yuan(str(inp["eligible_amount"]), field="eligible_amount"),
        inp["charging_class"],
        as_date(inp["service_date"]),
        policy,
        region,
    )
    return {"ratio": d.value.ratio, "fund_pays": d.value.fund_pays, "charging_class": d.value.charging_class}


@adapter("benefit.major_medical")
def major_medical(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    d = B.major_medical_payment(yuan(str(inp["eligible_expense"]), field="eligible_expense"), int(inp.get("year", 2026)), policy, region)
    return {"band": d.value.band_amount, "payment": d.value.payment, "capped": d.value.capped}
