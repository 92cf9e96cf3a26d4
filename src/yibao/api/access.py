"""The region rule: which persons a caller may read and change.

* A person **belongs to the regions of its relations** (参保关系, every relation ever recorded,
  whatever its status). A person with **no relation yet** belongs to the region it was registered
  in through the API (``api_person_home``: the registering clerk's region, or the one an
  administrator named). A merged person is judged by the person it was merged into.
* **Reading** a person (details, timeline, quote, lines, coverage, search) needs one region in
  common between the person and the caller. **Changing** a person needs the same, and a change
  that touches one relation — enrolling into a region, suspending, restoring or terminating,
  posting lines for it, a back-payment's quoted relations — needs that relation's region to be
  one of the caller's. Administrators (and auditors or system tokens with ``*``) serve every region.
* A refusal is ``403 REGION_FORBIDDEN`` on every route. A person that does not exist is ``404``
  first: this API serves authenticated agency staff, and a clear "another region's person" helps
  them more than hiding existence would; ID numbers stay masked in every such message.

These are read-only queries on the store's tables (the records service has no "list by region"
or "regions of a person" use case); every change still goes through :class:`RecordsService`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from yibao.errors import YibaoError
from yibao.store import repository as repo
from yibao.store.auth_models import ALL_REGIONS, PersonHomeRow
from yibao.store.errors import PERSON_NOT_FOUND
from yibao.store.models import DocumentRow, EnrollmentRow, PersonRow

from .errors import REGION_FORBIDDEN
from .security import Principal


@dataclass(frozen=True)
class PersonScope:
    psn_no: str  # as asked
    owner: str  # the person it resolves to (after merges)
    regions: frozenset[str]
    relations: dict[str, str]  # relation_id -> region, of the owner
    home_region: str | None


def person_scope(session: Session, psn_no: str) -> PersonScope:
    """The regions ``psn_no`` belongs to; ``PERSON_NOT_FOUND`` if there is no such person."""
    person = session.get(PersonRow, psn_no) if len(psn_no) <= 40 else None
    if person is None:
        raise YibaoError(PERSON_NOT_FOUND, field="psn_no", psn_no=psn_no)
    seen = {person.psn_no}
    while person.merged_into is not None and person.merged_into not in seen:
        nxt = session.get(PersonRow, person.merged_into)
        if nxt is None:  # pragma: no cover - a foreign key prevents it
            break
        seen.add(nxt.psn_no)
        person = nxt
    owner = person.psn_no
    relations = {rid: region for rid, region in session.execute(
        select(EnrollmentRow.relation_id, EnrollmentRow.region).where(EnrollmentRow.psn_no == owner)
    )}
    home = session.scalar(select(PersonHomeRow.region).where(PersonHomeRow.psn_no == owner))
    regions = frozenset(relations.values()) if relations else frozenset({home} if home else ())
    return PersonScope(psn_no, owner, regions, relations, home)


def _forbidden(principal: Principal, regions: Iterable[str], what_zh: str, what_en: str, field: str | None) -> YibaoError:
    shown = ", ".join(sorted(regions)) or "—"
    return YibaoError(
        REGION_FORBIDDEN, field=field, what=what_zh, what_en=what_en, regions=shown, served=", ".join(principal.served()),
    )


def check_person(principal: Principal, scope: PersonScope) -> None:
    """The caller shares a region with the person (reads and changes alike)."""
    if not principal.serves_any(scope.regions):
        raise _forbidden(principal, scope.regions, f"参保人 {scope.psn_no} 属于", f"person {scope.psn_no} belongs to ", "psn_no")


def check_region(principal: Principal, region: str, *, field: str = "region", relation: str | None = None) -> None:
    """The caller serves ``region`` (for a change that touches a relation in it)."""
    if principal.serves(region):
        return
    if relation is not None:
        raise _forbidden(principal, [region], f"参保关系 {relation} 属于", f"relation {relation} belongs to ", field)
    raise _forbidden(principal, [region], "请求涉及", "the request concerns ", field)


def check_relation(principal: Principal, scope: PersonScope, relation_id: str, *, field: str = "relation_id") -> None:
    """A change of one relation: its region must be served. An unknown relation is left to the
    service (``RELATION_NOT_FOUND``)."""
    region = scope.relations.get(relation_id)
    if region is not None:
        check_region(principal, region, field=field, relation=relation_id)


# ------------------------------------------------------------------------------------ lists


@dataclass(frozen=True)
class ListedPerson:
    """A person's attributes as corrected now (``person_correction``), not the ``person`` row's own."""

    psn_no: str
    name: str
    birth_date: date | None
    sex: str | None


@dataclass(frozen=True)
class PersonListing:
    person: ListedPerson
    regions: list[str]
    documents: list[DocumentRow]


def _in_regions(regions: Iterable[str] | None):
    """SQL condition: the person belongs to one of ``regions`` (None: any)."""
    live = PersonRow.merged_into.is_(None)
    if regions is None:
        return live
    wanted = list(regions)
    has_relation_here = exists().where(EnrollmentRow.psn_no == PersonRow.psn_no, EnrollmentRow.region.in_(wanted))
    has_relation = exists().where(EnrollmentRow.psn_no == PersonRow.psn_no)
    home_here = exists().where(PersonHomeRow.psn_no == PersonRow.psn_no, PersonHomeRow.region.in_(wanted))
    return and_(live, or_(has_relation_here, and_(not_(has_relation), home_here)))


def list_persons(session: Session, regions: Iterable[str] | None, offset: int, limit: int) -> tuple[list[PersonListing], int]:
    """Persons of ``regions`` (None: all), by person number, with their name, birth date and sex as
    corrected now, their regions and current documents."""
    where = _in_regions(regions)
    total = session.scalar(select(func.count()).select_from(PersonRow).where(where)) or 0
    cur = repo.current_person()
    persons = [
        ListedPerson(*row) for row in session.execute(
            select(PersonRow.psn_no, cur.name, cur.birth_date, cur.sex).select_from(cur.source).where(where)
            .order_by(PersonRow.psn_no).offset(offset).limit(limit)
        )
    ]
    keys = [p.psn_no for p in persons]
    by_person: dict[str, set[str]] = {k: set() for k in keys}
    docs: dict[str, list[DocumentRow]] = {k: [] for k in keys}
    if keys:
        for psn_no, region in session.execute(select(EnrollmentRow.psn_no, EnrollmentRow.region).where(EnrollmentRow.psn_no.in_(keys))):
            by_person[psn_no].add(region)
        homes = dict(session.execute(select(PersonHomeRow.psn_no, PersonHomeRow.region).where(PersonHomeRow.psn_no.in_(keys))).all())
        for k in keys:
            if not by_person[k] and k in homes:
                by_person[k].add(homes[k])
        for d in session.scalars(
            select(DocumentRow).where(DocumentRow.psn_no.in_(keys), DocumentRow.superseded_at.is_(None)).order_by(DocumentRow.id)
        ):
            docs[d.psn_no].append(d)
    return [PersonListing(p, sorted(by_person[p.psn_no]), docs[p.psn_no]) for p in persons], total


def list_regions(principal: Principal, asked: str | None) -> list[str] | None:
    """The regions a list covers: the one asked for (if served), else all the caller serves."""
    if asked is not None:
        check_region(principal, asked, field="region")
        return [asked]
    return None if principal.regions is None else sorted(principal.regions)


__all__ = [
    "ALL_REGIONS",
    "ListedPerson",
    "PersonListing",
    "PersonScope",
    "check_person",
    "check_region",
    "check_relation",
    "list_persons",
    "list_regions",
    "person_scope",
]
