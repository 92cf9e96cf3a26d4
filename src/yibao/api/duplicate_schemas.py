"""Request and response bodies of the duplicate worklist routes (重复参保核查, issue 4/5); the same
conventions as :mod:`yibao.api.schemas`."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from .schemas import Day, In, NoticeOut, ReasonOut, Region, Text

CaseState = Literal["OPEN", "CONFIRMED", "DISMISSED", "SUPERSEDED"]
Reason = Text(500, 1)


class ScanIn(In):
    region: Region | None = Field(default=None, description="只核查该统筹区的参保人（默认：调用者服务的全部统筹区）/ scan this region's persons only")  # type: ignore[valid-type]
    on: Day | None = Field(default=None, description="核查日期（默认今天）/ detection day (default today)")


class ScanOut(BaseModel):
    scanned: int = Field(description="核查的参保人数 / persons scanned")
    new: list[str] = Field(description="新记录的案件编号 / case numbers recorded")
    known: int = Field(description="事实未变、已在清单中的案件数 / proposals already on the worklist with the same facts")
    superseded: list[str] = Field(description="因事实变化被替代的待处理案件 / open cases replaced because their facts changed")


class DecideIn(In):
    reason: Reason = Field(description="处理理由 / why")  # type: ignore[valid-type]


class ActionOut(BaseModel):
    action: Literal["STATUS", "SUBSIDY_DEDUCTION", "REFUND_DUE", "REGION_NOTICE"]
    relation_id: str
    region: str
    other_region: str | None
    effective: date | None
    amount: str | None
    detail: dict[str, Any]


class CaseSummary(BaseModel):
    case_no: str
    psn_no: str
    relation_ids: list[str]
    regions: list[str] = Field(description="案件涉及的统筹区（各参保关系所在地）/ the regions of the case's relations")
    acting_regions: list[str] = Field(description="须办理终止或暂停的统筹区 / regions of the relations the proposal gives up")
    state: CaseState
    kind: str
    outcome: Literal["RESOLVED", "MANUAL_REVIEW"]
    rule: str
    detected_on: date


class CaseOut(CaseSummary):
    proposal: dict[str, Any] = Field(description="处理建议（规则的 Resolution）/ the proposed resolution")
    context: dict[str, Any] = Field(description="核查时已知的就业地、常住地等 / what was known when detected")
    reasons: list[ReasonOut]
    notices: list[NoticeOut]
    actions: list[ActionOut] = Field(description="确认后已办理的事项 / what confirming did")


__all__ = ["ActionOut", "CaseOut", "CaseState", "CaseSummary", "DecideIn", "ScanIn", "ScanOut"]
