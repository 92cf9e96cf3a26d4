"""Hand-built batch inputs (Arrow tables in the layout of yibao.batch.tables)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa

from yibao.batch.tables import SCHEMAS


def tables(
    documents: list[tuple[int, str, str]],
    relations: list[dict[str, Any]],
    context: list[dict[str, Any]] = (),
) -> dict[str, pa.Table]:
    """``relations``: {id, psn, insutype, region, start, end, months: [(y, m)…], years: [y…], status: [(date, "2")…]}."""
    rel_rows, status_rows, line_rows = [], [], []
    for r in relations:
        rel_rows.append(
            {
                "relation_id": r["id"], "psn_no": r["psn"], "insutype": r.get("insutype", "390"), "region": r.get("region", "350100"),
                "psn_type": r.get("psn_type", "1101" if r.get("insutype") == "310" else "1501"),
                "start_date": r["start"], "end_date": r.get("end"),
            }
        )
        for effective, status in r.get("status", []):
            status_rows.append({"relation_id": r["id"], "effective": effective, "status": status, "reason": "OTHER"})
        for y, m in r.get("months", []):
            line_rows.append({"relation_id": r["id"], "kind": "10", "payer": "UNIT", "paid_on": date(y, m, 15),
                              "amount": Decimal("500.00"), "month": y * 100 + m, "benefit_year": None})
        for y in r.get("years", []):
            for payer, amount in (("INDIVIDUAL", "400.00"), ("FISCAL_SUBSIDY", "700.00")):
                line_rows.append({"relation_id": r["id"], "kind": "10", "payer": payer, "paid_on": date(y - 1, 10, 10),
                                  "amount": Decimal(amount), "month": None, "benefit_year": y})
    ctx_rows = [
        {**{f.name: None for f in SCHEMAS["person_context"]}, "employee_part_time": False, "assisted_both": False, **c} for c in context
    ]
    return {
        "documents": pa.Table.from_pylist(
            [{"psn_no": p, "cert_type": t, "cert_no": n, "nationality": None} for p, t, n in documents], schema=SCHEMAS["documents"]
        ),
        "relations": pa.Table.from_pylist(rel_rows, schema=SCHEMAS["relations"]),
        "status_changes": pa.Table.from_pylist(status_rows, schema=SCHEMAS["status_changes"]),
        "contributions": pa.Table.from_pylist(line_rows, schema=SCHEMAS["contributions"]),
        "person_context": pa.Table.from_pylist(ctx_rows, schema=SCHEMAS["person_context"]),
    }


def months(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    out, (y, m) = [], first
    while (y, m) <= last:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
