"""The duplicate-enrollment worklist (issue 4): scan, list, dismiss, confirm — one transaction each.

* :meth:`DuplicatesService.scan` runs :func:`yibao.rules.duplicate.resolve_person` on stored
  persons and records each proposal as an ``OPEN`` case, keyed by (person, relations, fingerprint
  of the facts). A case already known with the same facts is not recorded again — whatever its
  state, so a **dismissed** pair comes back only when its facts change; an open case whose facts
  changed is ``SUPERSEDED`` by the new one.
* :meth:`DuplicatesService.dismiss` — not acted on, with a reason.
* :meth:`DuplicatesService.confirm` — applies the resolution: checks that the facts are still those
  of the case (else ``DUP_CASE_STALE``, nothing written), appends the status change of the relation
  given up (the records service's state machine, R-CODE-003), and records the subsidy deduction,
  each refund due with its channel, and the notice to the other region, plus an audit row.

Cases, events and actions are facts (``yibao.store.worklist_models``): never updated or deleted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping, Sequence

from sqlalchemy import Integer, and_, exists, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from yibao.codes import InsuStatus
from yibao.errors import YibaoError, define
from yibao.explain import jsonable
from yibao.model import StatusChange, StatusReason
from yibao.rules import duplicate as D
from yibao.rules.refund import RelationAction
from yibao.rules.status import check_transition
from yibao.service.places import duplicate_context
from yibao.service.records import (
    BEFORE_RELATION_START,
    STATUS_DATE_ORDER,
    RecordsService,
    _lock_person,
    _relation,
)
from yibao.store import repository as repo
from yibao.store.models import EnrollmentRow, PersonRow
from yibao.store.worklist_models import (
    DuplicateActionRow,
    DuplicateCaseEventRow,
    DuplicateCaseRow,
)

DUP_CASE_NOT_FOUND = define("DUP_CASE_NOT_FOUND", "重复参保核查案件 {case_no} 不存在", "duplicate case {case_no} does not exist")
DUP_CASE_NOT_OPEN = define(
    "DUP_CASE_NOT_OPEN", "重复参保核查案件 {case_no} 已处理（{state}），不能再次处理",
    "duplicate case {case_no} is already {state}; it cannot be decided again",
)
DUP_CASE_STALE = define(
    "DUP_CASE_STALE", "案件 {case_no} 生成后参保事实已变化，请重新核查后再处理",
    "the facts changed since case {case_no} was proposed; scan again before deciding",
)
DUP_CASE_NEEDS_DECISION = define(
    "DUP_CASE_NEEDS_DECISION", "案件 {case_no} 规则未给出处理建议（{rule}），须由经办人员另行处理",
    "case {case_no} has no proposal the rules can apply ({rule}); a clerk must decide it",
)
DUP_REASON_REQUIRED = define("DUP_REASON_REQUIRED", "请填写处理理由", "a reason is required")

_STATUS_REASON = {
    "R-DUP-004": StatusReason.STUDENT_EMPLOYED,
    "R-DUP-006": StatusReason.FLEXIBLE_DUPLICATE,
}


@dataclass(frozen=True)
class ScanResult:
    new: tuple[str, ...]  # case numbers recorded
    known: int  # proposals already on the worklist with the same facts
    superseded: tuple[str, ...]


@dataclass(frozen=True)
class CaseView:
    case_no: str
    psn_no: str
    relation_ids: tuple[str, ...]
    state: str  # OPEN | CONFIRMED | DISMISSED | SUPERSEDED
    kind: str
    outcome: str
    rule: str
    detected_on: date
    proposal: dict
    actions: tuple[dict, ...] = ()


def _context_dict(ctx: D.DuplicateContext) -> dict:
    out = jsonable(ctx.to_dict())
    out.pop("benefit_starts", None)
    return out


def _context_of(data: Mapping) -> D.DuplicateContext:
    data = dict(data)
    cause = data.pop("student_cause", None)
    data.pop("benefit_starts", None)
    return D.DuplicateContext(
        detected_on=date.fromisoformat(data.pop("detected_on")), student_cause=D.StudentCause(cause) if cause else None, **data,
    )


# What each kind of duplicate group is decided on besides the relations and lines (yibao.rules.duplicate),
# and how the rules read each field: "eq" — a place compared with the relations' regions only (one
# outside them is as good as unknown); "place" — compared, and unknown is told apart (R-DUP-002's only
# unit relation, R-DUP-004's student job with no place of study); "value" — as it is. The case's
# fingerprint covers these only, so that recording a place the group's rules do not read (a place of
# employment for two resident relations) does not bring a dismissed case back.
_DECIDED_ON: dict[D.DupKind, dict[str, str]] = {
    D.DupKind.EMPLOYEE_EMPLOYEE: {"employment_region": "place"},  # R-DUP-002
    D.DupKind.RESIDENT_RESIDENT: {  # R-DUP-004 (school entry), R-DUP-007, R-DUP-003
        "study_region": "eq", "student_cause": "value", "assisted_both": "value", "assist_choice_region": "eq",
        "assist_choice_commitment_id": "value", "habitual_residence_region": "eq",
    },
    D.DupKind.CROSS_SCHEME: {"student_cause": "value", "study_region": "place", "employee_part_time": "value"},  # R-DUP-004, R-DUP-006
    D.DupKind.MULTIPLE: {},  # Y-DUP-003: always manual review
}
ELSEWHERE = "ELSEWHERE"  # a known place outside the group's regions


def decided_on(ctx: D.DuplicateContext, kind: D.DupKind, regions: set[str]) -> D.DuplicateContext:
    """The part of ``ctx`` a group of ``kind`` over ``regions`` is decided on (see ``_DECIDED_ON``): the
    fields its rules read, a place outside ``regions`` reduced to what the rules can tell of it."""
    kept = {}
    for name, how in _DECIDED_ON[kind].items():
        value = getattr(ctx, name)
        if how != "value" and value is not None and value not in regions:
            value = None if how == "eq" else ELSEWHERE
        kept[name] = value
    return D.DuplicateContext(detected_on=ctx.detected_on, **kept)


def case_fingerprint(facts, ctx: D.DuplicateContext, kind: D.DupKind, relation_ids: Sequence[str]) -> str:
    """The fingerprint of one case: the person's relations and lines and what the group is decided on."""
    regions = {r.region for r in facts.enrollments if r.relation_id in set(relation_ids)}
    return D.facts_fingerprint(facts.enrollments, facts.contributions, decided_on(ctx, kind, regions))


def _stored_context(session: Session, psn_no: str, on: date) -> D.DuplicateContext:
    """The context from the places recorded for the person and in force on ``on`` (as known now)."""
    return duplicate_context(repo.places_on(session, psn_no, on), on)


class _position(FunctionElement):
    """1-based position of a string in another, 0 if absent (``instr`` on SQLite, ``strpos`` on
    PostgreSQL): a plain substring test, unlike LIKE, where ``_`` and ``%`` in an id would be wildcards."""

    type = Integer()
    inherit_cache = True


@compiles(_position)
def _position_instr(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_position, "postgresql")
def _position_strpos(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"strpos({compiler.process(element.clauses, **kw)})"


def _concerns(regions: list[str]):
    """SQL condition: one of the case's relations (``relation_ids``, comma-separated) is in ``regions``."""
    listed = _position(literal(",") + DuplicateCaseRow.relation_ids + literal(","), literal(",") + EnrollmentRow.relation_id + literal(","))
    return exists().where(EnrollmentRow.psn_no == DuplicateCaseRow.psn_no, EnrollmentRow.region.in_(regions), listed > 0)


class DuplicatesService:
    def __init__(self, records: RecordsService) -> None:
        self.records = records
        self.policy = records.policy

    # ------------------------------------------------------------------------------ scan
    def scan(
        self, *, by: str, on: date | None = None, psn_nos: Iterable[str] | None = None,
        contexts: Mapping[str, D.DuplicateContext] | None = None,
    ) -> ScanResult:
        """Detect and propose for the given persons (default: every person not merged away).

        A person's context is ``contexts[psn_no]`` when given, else the places recorded for the person
        (``person_place``) in force on ``on`` (Y-DUP-007); each case is fingerprinted on what its group
        is decided on (:func:`case_fingerprint`, Y-DUP-008)."""
        on = on or self.records.today()
        contexts = contexts or {}
        new, superseded, known = [], [], 0
        at = self.records.clock()
        with self.records._tx() as session:
            persons = list(psn_nos) if psn_nos is not None else list(
                session.scalars(select(PersonRow.psn_no).where(PersonRow.merged_into.is_(None)).order_by(PersonRow.psn_no))
            )
            for psn_no in persons:
                facts = repo.load_facts(session, psn_no)
                given = contexts.get(psn_no)
                ctx = given or _stored_context(session, psn_no, on)  # explicit contexts win; else the recorded places
                decisions = D.resolve_person(psn_no, facts.enrollments, facts.contributions, ctx, self.policy)
                # an open case whose duplicate is gone from the facts (a relation ended or suspended since)
                current = {",".join(d.value.relations) for d in decisions}
                for gone in session.scalars(
                    select(DuplicateCaseRow).where(DuplicateCaseRow.psn_no == psn_no, DuplicateCaseRow.relation_ids.not_in(current))
                ).all():
                    if self._state(session, gone) == "OPEN":
                        session.add(DuplicateCaseEventRow(
                            case_id=gone.id, psn_no=psn_no, state="SUPERSEDED", reason="不再重复参保 / the duplicate is gone from the facts",
                            recorded_at=at, recorded_by=by,
                        ))
                        superseded.append(gone.case_no)
                for decision in decisions:
                    res = decision.value
                    rel_ids = ",".join(res.relations)
                    fp = case_fingerprint(facts, ctx, res.kind, res.relations)
                    earlier = session.scalars(
                        select(DuplicateCaseRow).where(DuplicateCaseRow.psn_no == psn_no, DuplicateCaseRow.relation_ids == rel_ids)
                    ).all()
                    if any(c.fingerprint == fp for c in earlier):
                        known += 1
                        continue
                    for old in earlier:
                        if self._state(session, old) == "OPEN":
                            session.add(DuplicateCaseEventRow(
                                case_id=old.id, psn_no=psn_no, state="SUPERSEDED", reason=f"facts changed ({fp})",
                                recorded_at=at, recorded_by=by,
                            ))
                            superseded.append(old.case_no)
                    case_no = "DUP" + hashlib.sha256(f"{psn_no}|{rel_ids}|{fp}".encode()).hexdigest()[:20].upper()
                    proposal = {**decision.to_dict(), "context": _context_dict(ctx), "context_source": "given" if given else "stored"}
                    session.add(DuplicateCaseRow(
                        case_no=case_no, psn_no=psn_no, relation_ids=rel_ids, fingerprint=fp, kind=res.kind.value,
                        outcome=res.outcome.value, rule=res.rule_id, detected_on=on,
                        proposal=json.dumps(proposal, ensure_ascii=False, sort_keys=True), recorded_at=at, recorded_by=by,
                    ))
                    new.append(case_no)
        return ScanResult(tuple(new), known, tuple(superseded))

    # ------------------------------------------------------------------------------ read
    @staticmethod
    def _state(session: Session, case: DuplicateCaseRow) -> str:
        """The case's state: its latest event (by id), else ``OPEN``."""
        event = session.scalar(
            select(DuplicateCaseEventRow.state).where(DuplicateCaseEventRow.case_id == case.id)
            .order_by(DuplicateCaseEventRow.id.desc()).limit(1)
        )
        return event or "OPEN"

    @staticmethod
    def _views(session: Session, rows: Sequence[tuple[DuplicateCaseRow, str]]) -> list[CaseView]:
        """The views of (case, state) rows, with their actions loaded in one query."""
        actions: dict[int, list[DuplicateActionRow]] = {case.id: [] for case, _ in rows}
        if actions:
            for a in session.scalars(
                select(DuplicateActionRow).where(DuplicateActionRow.case_id.in_(list(actions))).order_by(DuplicateActionRow.id)
            ):
                actions[a.case_id].append(a)
        return [
            CaseView(
                case.case_no, case.psn_no, tuple(case.relation_ids.split(",")), state, case.kind, case.outcome, case.rule,
                case.detected_on, json.loads(case.proposal),
                tuple(
                    {"action": a.action, "relation_id": a.relation_id, "region": a.region, "other_region": a.other_region,
                     "effective": a.effective, "amount": a.amount, "detail": json.loads(a.detail)}
                    for a in actions[case.id]
                ),
            )
            for case, state in rows
        ]

    def _view(self, session: Session, case: DuplicateCaseRow) -> CaseView:
        return self._views(session, [(case, self._state(session, case))])[0]

    def page(
        self, *, state: str | None = None, psn_no: str | None = None, regions: Iterable[str] | None = None,
        region: str | None = None, offset: int = 0, limit: int | None = None,
    ) -> tuple[list[CaseView], int]:
        """One page of the worklist, oldest case first, and how many cases match — filtered, ordered
        and paged in SQL, with the actions of the page's cases only (three statements whatever the size).

        ``state``: the case's latest event (``OPEN`` without one); ``regions``: only cases concerning
        one of these regions (None: every case); ``region``: only cases concerning this one. A case
        concerns the regions of its relations as stored now (``enrollment.region``)."""
        event = aliased(DuplicateCaseEventRow)
        latest_id = (
            select(func.max(DuplicateCaseEventRow.id)).where(DuplicateCaseEventRow.case_id == DuplicateCaseRow.id)
            .correlate(DuplicateCaseRow).scalar_subquery()
        )
        current = func.coalesce(event.state, "OPEN")
        where = []
        if state is not None:
            where.append(current == state)
        if psn_no is not None:
            where.append(DuplicateCaseRow.psn_no == psn_no)
        if regions is not None:
            where.append(_concerns(list(regions)))
        if region is not None:
            where.append(_concerns([region]))
        base = (
            select(DuplicateCaseRow, current)
            .outerjoin(event, and_(event.case_id == DuplicateCaseRow.id, event.id == latest_id))
            .where(*where)
        )
        with self.records._read() as session:
            total = session.scalar(select(func.count()).select_from(base.with_only_columns(DuplicateCaseRow.id).subquery())) or 0
            if limit == 0 or offset >= total:
                return [], total
            query = base.order_by(DuplicateCaseRow.id).offset(offset)
            if limit is not None:
                query = query.limit(limit)
            rows = [(case, st) for case, st in session.execute(query)]
            return self._views(session, rows), total

    def cases(self, *, state: str | None = None, psn_no: str | None = None) -> list[CaseView]:
        """Every case (of ``psn_no``) in ``state``, oldest first."""
        return self.page(state=state, psn_no=psn_no)[0]

    def case(self, case_no: str) -> CaseView:
        with self.records._read() as session:
            return self._view(session, self._case(session, case_no))

    @staticmethod
    def _case(session: Session, case_no: str) -> DuplicateCaseRow:
        case = session.scalar(select(DuplicateCaseRow).where(DuplicateCaseRow.case_no == case_no))
        if case is None:
            raise YibaoError(DUP_CASE_NOT_FOUND, field="case_no", case_no=case_no)
        return case

    def _open(self, session: Session, case_no: str) -> DuplicateCaseRow:
        case = self._case(session, case_no)
        _lock_person(session, case.psn_no)
        state = self._state(session, case)
        if state != "OPEN":
            raise YibaoError(DUP_CASE_NOT_OPEN, field="case_no", case_no=case_no, state=state)
        return case

    # ------------------------------------------------------------------------------ decide
    def dismiss(self, case_no: str, *, by: str, reason: str) -> None:
        """Not a duplicate to act on: the same facts are never proposed again."""
        if not reason or not reason.strip():
            raise YibaoError(DUP_REASON_REQUIRED, field="reason")
        with self.records._tx() as session:
            case = self._open(session, case_no)
            at = self.records.clock()
            session.add(DuplicateCaseEventRow(case_id=case.id, psn_no=case.psn_no, state="DISMISSED", reason=reason, recorded_at=at, recorded_by=by))
            repo._audit(session, action="DUPLICATE_DISMISS", psn_no=case.psn_no, reason=reason, by=by, at=at,
                        table_name="duplicate_case", row_id=case.id, detail={"case_no": case_no})

    def confirm(self, case_no: str, *, by: str, reason: str) -> CaseView:
        """Apply the case's resolution, all or nothing."""
        if not reason or not reason.strip():
            raise YibaoError(DUP_REASON_REQUIRED, field="reason")
        with self.records._tx() as session:
            case = self._open(session, case_no)
            proposal = json.loads(case.proposal)
            ctx = _context_of(proposal["context"])
            if proposal.get("context_source") == "stored":  # the places as recorded now: a place changed since → stale
                ctx = _stored_context(session, case.psn_no, case.detected_on)
            facts = repo.load_facts(session, case.psn_no)
            if case_fingerprint(facts, ctx, D.DupKind(case.kind), case.relation_ids.split(",")) != case.fingerprint:
                raise YibaoError(DUP_CASE_STALE, field="case_no", case_no=case_no)
            decision = next(
                d for d in D.resolve_person(case.psn_no, facts.enrollments, facts.contributions, ctx, self.policy)
                if ",".join(d.value.relations) == case.relation_ids
            )
            res = decision.value
            if not res.changes:
                raise YibaoError(DUP_CASE_NEEDS_DECISION, field="case_no", case_no=case_no, rule=res.rule_id)
            at, today = self.records.clock(), self.records.today()
            for change in res.changes:
                rel = _relation(facts, change.relation_id)
                if change.effective < rel.start:
                    raise YibaoError(BEFORE_RELATION_START, field="effective", effective=change.effective.isoformat(), start=rel.start.isoformat())
                last = max((c.effective for c in rel.status_changes), default=None)
                if last is not None and change.effective < last:
                    raise YibaoError(STATUS_DATE_ORDER, field="effective", effective=change.effective.isoformat(), last=last.isoformat())
                status = InsuStatus.TERMINATED if change.action is RelationAction.TERMINATED else InsuStatus.SUSPENDED
                terminated = next((c.effective for c in rel.status_changes if c.status is InsuStatus.TERMINATED), None)
                check_transition(rel.status_on(max(change.effective, rel.start)), status, terminated_on=terminated, field="status")
                why = _STATUS_REASON.get(res.rule_id, StatusReason.DUPLICATE_CLEANUP)
                repo.append_status_change(
                    session, case.psn_no, change.relation_id, StatusChange(change.effective, status, why, f"{case_no} {res.rule_id}", today, by),
                    by=by, at=at,
                )
                self._action(session, case, "STATUS", change.relation_id, change.region, at, by, effective=change.effective,
                             detail={"status": status.value, "reason": why.value, "rule": res.rule_id})
            for d in res.deductions:
                if d.deduct:
                    self._action(session, case, "SUBSIDY_DEDUCTION", res.changes[0].relation_id, d.region, at, by, amount=d.amount,
                                 detail={"year": d.year, "rule": "R-RES-007"})
            for line in res.refund.lines:
                self._action(session, case, "REFUND_DUE", res.changes[0].relation_id, line.region, at, by, amount=line.amount,
                             detail=jsonable(line.to_dict()))
            for n in res.region_notices:
                self._action(session, case, "REGION_NOTICE", n.relation_id, n.to_region, at, by, other_region=n.from_region,
                             effective=n.effective, detail={"action": n.action.value, "rule": res.rule_id})
            session.add(DuplicateCaseEventRow(case_id=case.id, psn_no=case.psn_no, state="CONFIRMED", reason=reason, recorded_at=at, recorded_by=by))
            repo._audit(session, action="DUPLICATE_CONFIRM", psn_no=case.psn_no, reason=reason, by=by, at=at,
                        table_name="duplicate_case", row_id=case.id, detail={"case_no": case_no, "rule": res.rule_id})
            session.flush()
            return self._view(session, case)

    @staticmethod
    def _action(session: Session, case: DuplicateCaseRow, action: str, relation_id: str, region: str, at, by: str, *,
                other_region: str | None = None, effective: date | None = None, amount=None, detail: dict) -> None:
        session.add(DuplicateActionRow(
            case_id=case.id, psn_no=case.psn_no, action=action, relation_id=relation_id, region=region, other_region=other_region,
            effective=effective, amount=amount, detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
            recorded_at=at, recorded_by=by,
        ))
