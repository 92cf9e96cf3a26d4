"""Response shapes of the case routes (transfers, refunds, corrections)."""

from __future__ import annotations

from typing import Any

from yibao.explain import jsonable
from yibao.service.cases import Corrected, RefundCase, TransferStep


def transfer(step: TransferStep) -> dict[str, Any]:
    return {**jsonable(step.to_dict()), "on": step.on, "due_on": step.due_on}


def refund(case: RefundCase) -> dict[str, Any]:
    out = jsonable(case.to_dict())
    out["event_date"] = case.event_date
    return out


def corrected(c: Corrected) -> dict[str, Any]:
    return {"psn_no": c.psn_no, "table": c.table, "row_id": c.row_id, "replacement_id": c.replacement_id}
