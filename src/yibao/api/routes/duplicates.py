"""重复参保核查工作清单 / the duplicate-enrollment worklist (issues 4 and 5).

* ``GET /duplicates`` — the cases of the caller's regions (``state``, ``region``, paginated).
* ``GET /duplicates/{case_no}`` — one case: the proposal with its reasons (rule IDs, citations)
  and, once confirmed, what was done.
* ``POST /duplicates/scan`` — detect and record proposals for the persons of the caller's regions
  (or the one asked for). It writes cases, so it needs a clerk or an administrator (``Writer``);
  an auditor reads the worklist but does not fill it.
* ``POST /duplicates/{case_no}/confirm`` / ``…/dismiss`` — with a reason (``Writer``).

Region rule (``api/duplicate_access.py``): a case concerns the regions of its relations; seeing it
needs one of them, deciding it needs the region of every relation the proposal gives up.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from yibao.explain import jsonable
from yibao.service.duplicates import DuplicatesService

from ..access import list_regions
from ..deps import Context, Ctx, Pages, Reader, Writer
from ..duplicate_access import (
    ScopedCase,
    check_decide,
    check_see,
    list_cases,
    one_case,
    persons_to_scan,
)
from ..duplicate_schemas import (
    CaseOut,
    CaseState,
    CaseSummary,
    DecideIn,
    ScanIn,
    ScanOut,
)
from ..schemas import Page, errors
from ..security import Principal

router = APIRouter(prefix="/api/v1")
TAG = "重复参保核查 duplicates"
CaseNo = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$", description="案件编号 / case number (DUP…)")]
WRITE_ERRORS = errors(400, 401, 403, 404, 409)


def worklist(ctx: Context) -> DuplicatesService:
    return DuplicatesService(ctx.service)


def summary(case: ScopedCase) -> dict[str, Any]:
    v = case.view
    return {
        "case_no": v.case_no, "psn_no": v.psn_no, "relation_ids": list(v.relation_ids), "regions": case.all_regions,
        "acting_regions": list(case.acting), "state": v.state, "kind": v.kind, "outcome": v.outcome, "rule": v.rule,
        "detected_on": v.detected_on,
    }


def detail(case: ScopedCase) -> dict[str, Any]:
    p = case.view.proposal
    actions = [{**a, "amount": format(a["amount"], "f") if a["amount"] is not None else None} for a in case.view.actions]
    return {**summary(case), "proposal": p.get("value") or {}, "context": p.get("context") or {}, "reasons": p.get("reasons") or [],
            "notices": p.get("notices") or [], "actions": jsonable(actions)}


@router.get(
    "/duplicates",
    tags=[TAG],
    summary="重复参保核查案件列表 / the duplicate worklist",
    description="只列出涉及调用者所辖统筹区的案件；state 过滤状态（OPEN 待处理 / CONFIRMED 已确认 / DISMISSED 已驳回 / SUPERSEDED 已替代）。\n\n"
    "Cases concerning the caller's regions, oldest first; filter by state and region.",
    response_model=Page[CaseSummary],
    responses=errors(400, 401, 403),
)
def list_duplicates(
    principal: Reader, ctx: Ctx, paging: Pages,
    state: Annotated[CaseState | None, Query(description="案件状态 / state")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$", description="统筹区 / pooling region")] = None,
) -> Page[CaseSummary]:
    shown, total = list_cases(worklist(ctx), principal, state=state, region=region, offset=paging.offset, limit=paging.page_size)
    return Page[CaseSummary](items=[CaseSummary(**summary(c)) for c in shown], page=paging.page, page_size=paging.page_size, total=total)


@router.post(
    "/duplicates/scan",
    tags=[TAG],
    summary="重复参保核查：发现并记录处理建议 / scan: detect duplicates and record proposals",
    description="R-DUP-001 发现重复参保，R-DUP-002…009 给出处理建议，逐案记录为待处理案件。事实未变的案件不重复记录（已驳回的也不再提出）；"
    "待处理案件的事实变化后被新案件替代。经办员只能核查所辖统筹区。\n\n"
    "Records each proposal as an OPEN case; a case already known with the same facts is not recorded again; an open case "
    "whose facts changed is superseded. Clerks and administrators; the region must be served.",
    response_model=ScanOut,
    responses=errors(400, 401, 403),
)
def scan(body: ScanIn, principal: Writer, ctx: Ctx) -> ScanOut:
    regions = list_regions(principal, body.region)
    service = worklist(ctx)
    with ctx.service.sessions() as session:
        persons = persons_to_scan(session, regions)
    result = service.scan(by=principal.by, on=body.on, psn_nos=persons)
    return ScanOut(scanned=len(persons), new=list(result.new), known=result.known, superseded=list(result.superseded))


@router.get(
    "/duplicates/{case_no}",
    tags=[TAG],
    summary="重复参保核查案件：处理建议及依据 / one case: the proposal, its reasons and what was done",
    response_model=CaseOut,
    responses=errors(400, 401, 403, 404),
)
def get_duplicate(case_no: CaseNo, principal: Reader, ctx: Ctx) -> CaseOut:
    case = one_case(worklist(ctx), case_no)
    check_see(principal, case)
    return CaseOut(**detail(case))


@router.post(
    "/duplicates/{case_no}/confirm",
    tags=[TAG],
    summary="确认并办理：终止或暂停参保关系，记录扣减补助、应退费用及通知 / confirm: apply the resolution",
    description="按当前参保事实复核（事实已变化返回 409 DUP_CASE_STALE，须重新核查），通过参保状态机（R-CODE-003）记录被放弃关系的终止或暂停，"
    "并记录财政补助扣减（R-RES-007）、应退费用及渠道（R-REF-001…003）和给另一统筹区的通知；全部或全不。须服务被放弃关系的统筹区。"
    "规则未给出处理建议的案件返回 409 DUP_CASE_NEEDS_DECISION。\n\n"
    "Re-checks the facts (409 DUP_CASE_STALE if they changed), then records the status change, the subsidy deduction, the "
    "refunds due and the notice, all or nothing, audited. The caller must serve the region of the relation given up.",
    response_model=CaseOut,
    responses=WRITE_ERRORS,
)
def confirm(case_no: CaseNo, body: DecideIn, principal: Writer, ctx: Ctx) -> CaseOut:
    return _decide(ctx, principal, case_no, body.reason, confirm=True)


@router.post(
    "/duplicates/{case_no}/dismiss",
    tags=[TAG],
    summary="驳回：不予处理，说明理由 / dismiss: not acted on, with a reason",
    description="驳回后，事实未变时不再提出同一案件。\n\nThe same facts are not proposed again.",
    response_model=CaseOut,
    responses=WRITE_ERRORS,
)
def dismiss(case_no: CaseNo, body: DecideIn, principal: Writer, ctx: Ctx) -> CaseOut:
    return _decide(ctx, principal, case_no, body.reason, confirm=False)


def _decide(ctx: Context, principal: Principal, case_no: str, reason: str, *, confirm: bool) -> CaseOut:
    service = worklist(ctx)
    check_decide(principal, one_case(service, case_no))
    (service.confirm if confirm else service.dismiss)(case_no, by=principal.by, reason=reason)
    return CaseOut(**detail(one_case(service, case_no)))


__all__ = ["detail", "router", "summary", "worklist"]
