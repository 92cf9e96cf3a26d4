"""The console's duplicate worklist (重复参保核查, issues 4 and 5): the cases of the clerk's regions,
one case with its proposal, reasons and citations, and confirm / dismiss with a reason.

Deciding runs in the console's three steps (``actions.py``): ``edit`` (the decision and the reason
on the case page), ``review`` (checked; what confirming will record is shown; nothing written) and
``confirm`` (checked again, then :class:`~yibao.service.duplicates.DuplicatesService`; one
transaction). An error re-renders the case page with what was typed and the message beside the
field. The region rule is the API's (``yibao.api.duplicate_access``). Scanning is a button on the
worklist (clerks and administrators): ``yibao serve`` does not scan by itself (docs/console.md).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as urlquote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from yibao.api.access import list_regions
from yibao.api.duplicate_access import (
    CASE_STATES,
    ScopedCase,
    check_decide,
    check_see,
    list_cases,
    one_case,
    persons_to_scan,
)
from yibao.api.errors import ROLE_FORBIDDEN, status_for
from yibao.api.routes.duplicates import detail
from yibao.api.security import ADMINISTRATOR, CLERK, WRITERS, Principal
from yibao.errors import YibaoError, define
from yibao.service.duplicates import DUP_REASON_REQUIRED, DuplicatesService
from yibao.store import repository as repo
from yibao.store.models import PersonRow

from .messages import N_
from .views import ConsoleRoute, Page, _page, _posted, _redirect, _set_flash

DUP_DECISION_REQUIRED = define("DUP_DECISION_REQUIRED", "请选择处理方式：确认办理或驳回", "choose a decision: confirm or dismiss")
DUP_REASON_INVALID = define(
    "DUP_REASON_INVALID", "处理理由不能超过 500 字，且不能含控制字符", "the reason must be at most 500 characters, without control characters"
)
PAGE_SIZE = 50

KIND_ZH = {
    "EMPLOYEE_EMPLOYEE": N_("职工医保重复参保"),
    "RESIDENT_RESIDENT": N_("居民医保重复参保"),
    "CROSS_SCHEME": N_("跨制度重复参保"),
    "MULTIPLE": N_("三个及以上参保关系"),
}
STATE_ZH = {"OPEN": N_("待处理"), "CONFIRMED": N_("已确认办理"), "DISMISSED": N_("已驳回"), "SUPERSEDED": N_("已被替代")}
OUTCOME_ZH = {"RESOLVED": N_("规则已给出处理建议"), "MANUAL_REVIEW": N_("须人工复核")}
ACTION_ZH = {"STATUS": N_("参保状态变更"), "SUBSIDY_DEDUCTION": N_("扣减财政补助"), "REFUND_DUE": N_("应退费用"), "REGION_NOTICE": N_("通知另一统筹区")}
DECISION_ZH = {"confirm": N_("确认办理"), "dismiss": N_("驳回（不予处理）")}
SCANNED = N_("已核查 {scanned} 人：新增 {new} 件，已在清单中 {known} 件，被替代 {superseded} 件")
CONFIRMED = N_("案件 {case_no} 已确认办理")
DISMISSED = N_("案件 {case_no} 已驳回")
MESSAGES = (*KIND_ZH.values(), *STATE_ZH.values(), *OUTCOME_ZH.values(), *ACTION_ZH.values(), *DECISION_ZH.values(), SCANNED, CONFIRMED, DISMISSED)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


class ReasonView(dict):
    """A stored reason (``Reason.to_dict``) as ``_reasons.html`` reads a :class:`~yibao.explain.Reason`."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def all_citations(self) -> list[dict[str, Any]]:
        return list(self.get("citations") or [])


def _worklist(page: Page) -> DuplicatesService:
    return DuplicatesService(page.ctx.service)


def _writer(principal: Principal) -> None:
    if principal.role not in WRITERS:
        raise YibaoError(ROLE_FORBIDDEN, role=principal.role, needed=f"{CLERK} / {ADMINISTRATOR}")


def _names(page: Page, psn_nos: set[str]) -> dict[str, str]:
    if not psn_nos:
        return {}
    cur = repo.current_person()  # the names as corrected now
    with page.ctx.service.sessions() as s:
        return dict(s.execute(select(PersonRow.psn_no, cur.name).select_from(cur.source).where(PersonRow.psn_no.in_(sorted(psn_nos)))).all())


# ------------------------------------------------------------------------------------------ the worklist


@router.get("/duplicates")
def worklist_page(request: Request, state: str | None = "OPEN", region: str | None = None, page_no: int = 1) -> Response:
    page = _page(request)
    assert page.principal is not None
    state = state if state in CASE_STATES else None  # "" or "ALL": every state
    region = region or None
    policy = page.ctx.service.policy
    mine = [r for r in policy.regions() if page.principal.serves(r)]
    page_no = max(1, page_no)
    shown, total = list_cases(_worklist(page), page.principal, state=state, region=region, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return page.render(
        "duplicates.html", cases=shown, total=total, page_no=page_no, pages=max(1, -(-total // PAGE_SIZE)),
        state=state or "", region=region or "", regions=[(r, page.region_name(r)) for r in mine], states=STATE_ZH, kinds=KIND_ZH,
        outcomes=OUTCOME_ZH, names=_names(page, {c.view.psn_no for c in shown}),
    )


@router.post("/duplicates/scan")
async def scan(request: Request) -> Response:
    page, principal, values = await _posted(request)
    _writer(principal)
    region = values.get("region") or None

    def run() -> Any:
        regions = list_regions(principal, region)
        with page.ctx.service.sessions() as s:
            persons = persons_to_scan(s, regions)
        return len(persons), _worklist(page).scan(by=principal.by, psn_nos=persons)

    scanned, result = await run_in_threadpool(run)
    response = _redirect(request, "/duplicates" + (f"?region={urlquote(region)}" if region else ""))
    _set_flash(response, SCANNED, {"scanned": scanned, "new": len(result.new), "known": result.known, "superseded": len(result.superseded)})
    return response


# ------------------------------------------------------------------------------------------ one case


def _case(page: Page, case_no: str) -> ScopedCase:
    assert page.principal is not None
    case = one_case(_worklist(page), case_no)
    check_see(page.principal, case)
    return case


def _may_decide(principal: Principal, case: ScopedCase) -> bool:
    if principal.role not in WRITERS or case.view.state != "OPEN":
        return False
    try:
        check_decide(principal, case)
    except YibaoError:
        return False
    return True


def _render_case(page: Page, case: ScopedCase, *, values: dict[str, str] | None = None, errors: dict[str | None, YibaoError] | None = None,
                 step: str = "edit", status: int = 200) -> Response:
    assert page.principal is not None
    shown = detail(case)
    return page.render(
        "duplicate_case.html", status=status, case=shown, reasons=[ReasonView(r) for r in shown["reasons"]],
        name=_names(page, {case.view.psn_no}).get(case.view.psn_no), may_decide=_may_decide(page.principal, case),
        values=values or {"decision": "confirm" if case.view.outcome == "RESOLVED" else "dismiss"}, errors=errors or {}, step=step,
        states=STATE_ZH, kinds=KIND_ZH, outcomes=OUTCOME_ZH, action_names=ACTION_ZH, decisions=DECISION_ZH,
    )


@router.get("/duplicates/{case_no}")
def case_page(request: Request, case_no: str) -> Response:
    page = _page(request)
    return _render_case(page, _case(page, case_no))


def _checked(values: dict[str, str]) -> dict[str | None, YibaoError]:
    errors: dict[str | None, YibaoError] = {}
    if values.get("decision") not in DECISION_ZH:
        errors["decision"] = YibaoError(DUP_DECISION_REQUIRED, field="decision")
    if not values.get("reason", "").strip():
        errors["reason"] = YibaoError(DUP_REASON_REQUIRED, field="reason")
    elif len(values["reason"]) > 500 or any(ord(ch) < 32 and ch not in "\n\r\t" for ch in values["reason"]):
        errors["reason"] = YibaoError(DUP_REASON_INVALID, field="reason")
    return errors


@router.post("/duplicates/{case_no}")
async def decide(request: Request, case_no: str) -> Response:
    page, principal, values = await _posted(request)
    _writer(principal)
    case = await run_in_threadpool(_case, page, case_no)
    check_decide(principal, case)
    step = values.get("step", "review")
    kept = {k: values.get(k, "") for k in ("decision", "reason")}
    if step == "edit":
        return _render_case(page, case, values=kept)
    errors = _checked(kept)
    if errors:
        return _render_case(page, case, values=kept, errors=errors, status=400)
    if step != "confirm":
        return _render_case(page, case, values=kept, step="review")
    service = _worklist(page)
    try:
        if kept["decision"] == "confirm":
            await run_in_threadpool(lambda: service.confirm(case_no, by=principal.by, reason=kept["reason"]))
        else:
            await run_in_threadpool(lambda: service.dismiss(case_no, by=principal.by, reason=kept["reason"]))
    except YibaoError as exc:
        if exc.code in ("REGION_FORBIDDEN", "ROLE_FORBIDDEN"):
            raise
        field = exc.field if exc.field in ("decision", "reason") else None
        fresh = await run_in_threadpool(_case, page, case_no)
        return _render_case(page, fresh, values=kept, errors={field: exc}, status=status_for(exc.code))
    response = _redirect(request, f"/duplicates/{urlquote(case_no)}")
    _set_flash(response, CONFIRMED if kept["decision"] == "confirm" else DISMISSED, {"case_no": case_no})
    return response


__all__ = ["MESSAGES", "ReasonView", "router"]
