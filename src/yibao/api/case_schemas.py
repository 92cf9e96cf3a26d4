"""Request and response bodies of the case routes (transfers, refunds, retirement, account,
corrections); the same conventions as :mod:`yibao.api.schemas`."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from yibao.codes import InsuStatus
from yibao.model import StatusReason

from .schemas import Day, In, NonNegativeMoney, RelationId, Text

Month = Text(7, 7, r"^\d{4}-(0[1-9]|1[0-2])$")
Reason = Text(500, 1)


class TransferOutIn(In):
    relation_id: RelationId = Field(description="转出地参保关系 / the sending relation")  # type: ignore[valid-type]
    receiving_relation_id: RelationId = Field(description="转入地已建立的参保关系 / the relation at the receiving region")  # type: ignore[valid-type]
    accepted_on: Day = Field(description="转移申请受理日期 / the day the application was accepted")
    terminate_on: Day | None = Field(default=None, description="同时终止转出地关系的生效日期（原因 TRANSFER_OUT）/ terminate the sending relation from this day")
    account_balance: NonNegativeMoney | None = Field(default=None, description="账户台账余额（缺省按缴费记录计算）/ the account ledger's balance (default: computed)")


class TransferInIn(In):
    form_received_on: Day = Field(description="收到参保信息表的日期 / the day the form arrived")
    remitted_amount: NonNegativeMoney | None = Field(default=None, description="到账的账户资金 / account money received")
    money_received_on: Day | None = None


class TransferStepOut(BaseModel):
    transfer_no: str
    step: Literal["OUT", "IN"]
    case: str
    relation_id: str
    region: str
    other_region: str
    other_relation_id: str | None
    on: date
    due_on: date = Field(description="办结期限（工作日）/ the working-day deadline (R-XFER-002)")
    account_balance: str | None
    account_state: str | None
    account_credited: str | None
    cumulative_months: int | None
    recorded_by: str | None


class RefundIn(In):
    relation_id: RelationId  # type: ignore[valid-type]
    rule: Literal["R-REF-001", "R-REF-003", "R-REF-005"] = Field(
        description="R-REF-001 居民重复参保（含 R-REF-002）/ R-REF-003 灵活就业预缴 / R-REF-005 死亡退费"
    )
    event_date: Day | None = Field(default=None, description="引起退费的事件日期 / the day of the event (R-REF-001)")
    year: int | None = Field(default=None, ge=1990, le=2099, description="待遇年度或预缴年度 / benefit or prepaid year")
    first_unit_month: Month | None = Field(default=None, description="单位开始缴费的月份 YYYY-MM（R-REF-003）")  # type: ignore[valid-type]


class RefundDecisionIn(In):
    approve: bool = Field(description="true 批准（记录退费明细）/ false 驳回")
    reason: Reason = Field(description="审核意见 / the reason")  # type: ignore[valid-type]


class RefundOut(BaseModel):
    refund_no: str
    relation_id: str
    rule: str
    event_date: date
    total: str
    lines: list[dict[str, Any]]
    outcome: str | None = Field(description="null 待审核 / APPROVED / REJECTED")
    decided_by: str | None
    decision_reason: str | None
    refund_keys: list[str] = Field(description="批准后记录的退费明细（类型 20）的幂等键 / keys of the refund lines posted")


class RetireIn(In):
    retired_on: Day


class StatusCorrectionIn(In):
    effective: Day = Field(description="要更正的状态变更的生效日期 / the effective day of the change to correct")
    reason: Reason  # type: ignore[valid-type]
    new_effective: Day | None = None
    new_status: Literal[InsuStatus.NORMAL, InsuStatus.SUSPENDED, InsuStatus.TERMINATED] | None = None
    new_reason: StatusReason | None = None
    withdraw: bool = Field(default=False, description="撤销该变更（无替代记录）/ withdraw the change")

    @model_validator(mode="after")
    def _what(self) -> StatusCorrectionIn:
        changes = (self.new_effective, self.new_status, self.new_reason)
        if self.withdraw == any(v is not None for v in changes):
            raise ValueError("either withdraw, or give what changes / 撤销或给出更正内容，二选一")
        return self


class DeathCorrectionIn(In):
    death_date: Day | None = Field(description="更正后的死亡日期；null 撤销误报的死亡 / the corrected date, or null to withdraw")
    reason: Reason  # type: ignore[valid-type]


class WageCorrectionIn(In):
    from_month: Month  # type: ignore[valid-type]
    monthly_wage: NonNegativeMoney
    reason: Reason  # type: ignore[valid-type]


class CorrectedOut(BaseModel):
    psn_no: str
    table: str
    row_id: int = Field(description="被更正的记录 / the corrected row (kept, marked superseded)")
    replacement_id: int | None = Field(description="替代记录；撤销时为 null / the replacement row, null when withdrawn")


__all__ = [
    "CorrectedOut",
    "DeathCorrectionIn",
    "RefundDecisionIn",
    "RefundIn",
    "RefundOut",
    "RetireIn",
    "StatusCorrectionIn",
    "TransferInIn",
    "TransferOutIn",
    "TransferStepOut",
    "WageCorrectionIn",
]
