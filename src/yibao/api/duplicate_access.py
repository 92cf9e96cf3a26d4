"""The region rule for the duplicate worklist (重复参保核查), shared by the REST routes and the console.

* A case **concerns the regions of its relations** (the group's relations, as stored now).
* **Seeing** a case needs one of them (as for a person: ``REGION_FORBIDDEN`` otherwise).
* **Deciding** it (confirm or dismiss) needs the region of every relation the proposal gives up
  (terminates or suspends, R-DUP-002…008): confirming changes that relation, and dismissing decides
  that it will not be changed. A case whose proposal gives up nothing (``MANUAL_REVIEW``) can be
  decided by a clerk of any of its regions.
* **Scanning** (which records cases) needs a writer (clerk or administrator); it covers the persons
  of the regions asked for, which the caller must serve.

Read-only queries over the store's tables; the worklist itself is :class:`DuplicatesService`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.service.duplicates import CaseView, DuplicatesService
from yibao.store.models import EnrollmentRow, PersonRow

from .access import _forbidden, _in_regions, check_region
from .security import Principal

CASE_STATES = ("OPEN", "CONFIRMED", "DISMISSED", "SUPERSEDED")


@dataclass(frozen=True)
class ScopedCase:
    view: CaseView
    regions: dict[str, str]  # relation_id -> region (the case's relations)
    acting: tuple[str, ...]  # regions of the relations the proposal gives up

    @property
    def all_regions(self) -> list[str]:
        return sorted(set(self.regions.values()))


def _relation_regions(session: Session, psn_nos: Iterable[str]) -> dict[tuple[str, str], str]:
    keys = sorted(set(psn_nos))
    if not keys:
        return {}
    rows = session.execute(select(EnrollmentRow.psn_no, EnrollmentRow.relation_id, EnrollmentRow.region).where(EnrollmentRow.psn_no.in_(keys)))
    return {(p, r): g for p, r, g in rows}


def scoped(session: Session, views: Iterable[CaseView]) -> list[ScopedCase]:
    """The cases with the regions of their relations and of the relations they give up."""
    views = list(views)
    regions = _relation_regions(session, (v.psn_no for v in views))
    out = []
    for v in views:
        rel = {r: regions[(v.psn_no, r)] for r in v.relation_ids if (v.psn_no, r) in regions}
        changes = (v.proposal.get("value") or {}).get("changes") or []
        acting = tuple(sorted({c["region"] for c in changes if c.get("region")}))
        out.append(ScopedCase(v, rel, acting))
    return out


def visible(principal: Principal, case: ScopedCase) -> bool:
    return principal.serves_any(case.all_regions)


def check_see(principal: Principal, case: ScopedCase) -> None:
    if not visible(principal, case):
        raise _forbidden(principal, case.all_regions, f"重复参保核查案件 {case.view.case_no} 涉及", f"duplicate case {case.view.case_no} concerns ",
                         "case_no")


def check_decide(principal: Principal, case: ScopedCase) -> None:
    """See the case, and serve every region whose relation the proposal gives up."""
    check_see(principal, case)
    for region in case.acting:
        check_region(principal, region, field="case_no")


def one_case(service: DuplicatesService, case_no: str) -> ScopedCase:
    """The case (``DUP_CASE_NOT_FOUND`` if none) with its regions."""
    view = service.case(case_no)
    with service.records.sessions() as session:
        return scoped(session, [view])[0]


def list_cases(
    service: DuplicatesService, principal: Principal, *, state: str | None, region: str | None, offset: int = 0, limit: int | None = None,
) -> tuple[list[ScopedCase], int]:
    """One page of the cases the caller may see (``region``: only those concerning it, which must be
    served), oldest first, and how many there are: the state, the region rule (:func:`visible`, in
    SQL), the order and the page are the database's; only the page's cases are loaded."""
    if region is not None:
        check_region(principal, region, field="region")
    served = None if principal.regions is None else sorted(principal.regions)
    views, total = service.page(state=state, regions=served, region=region, offset=offset, limit=limit)
    with service.records.sessions() as session:
        return scoped(session, views), total


def count_cases(service: DuplicatesService, principal: Principal, *, state: str | None, region: str | None) -> int:
    """How many cases :func:`list_cases` has for the caller (one COUNT, nothing loaded)."""
    return list_cases(service, principal, state=state, region=region, limit=0)[1]


def persons_to_scan(session: Session, regions: list[str] | None) -> list[str]:
    """The persons (not merged away) of ``regions`` (None: every person)."""
    return list(session.scalars(select(PersonRow.psn_no).where(_in_regions(regions)).order_by(PersonRow.psn_no)))


__all__ = ["CASE_STATES", "ScopedCase", "check_decide", "check_see", "count_cases", "list_cases", "one_case", "persons_to_scan", "scoped", "visible"]
