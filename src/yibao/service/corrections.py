"""Corrections of a relation's columns and of a person's attributes (issue 3), mixed into
:class:`yibao.service.records.RecordsService`.

Each use case is one transaction holding the person's lock: it validates everything first, then
writes one correction row (``enrollment_correction`` / ``person_correction``, revision 0006) and one
audit row (who, when, why, before → after) through :func:`yibao.store.repository.correct_relation` /
:func:`~yibao.store.repository.correct_person`. Nothing is written on error. The stored rows are
never changed: ``load_facts(as_known_on=K)`` shows the values as corrected by K.

* **Relation** (更正参保关系): start date, end date, ``psn_type`` (R-CODE-002: it must belong to the
  relation's insutype family; an in-service category is not corrected into a retiree one —
  ``RETIRE_BY_EVENT``: retirement is the ``retire`` use case, which checks the minimum years), employer
  (a valid USCC, R-ID-006). The corrected start may not come after a status change of the relation,
  the end not before the start. **Region and insutype are not
  corrected** (``RELATION_KEY_FIXED``): a relation in another pooling region or scheme is another
  relation — terminate this one and enrol (or transfer, R-XFER-001); the relation's region also
  decides who may change it (the region rule), which a correction must not shift.
* **Person** (更正人员基本信息): name, sex, birth date. R-ID-007: when a current document of the person
  encodes the birth date (resident ID 01, residence permit 17, new foreign PR card 09) or the sex
  (01, 17), a corrected value that contradicts it is refused (``DERIVED_CONTRADICTION``) unless the
  clerk states why in ``override_reason`` (e.g. the public-security record was wrong); the statement
  is kept in the audit row and the answer carries the ``DERIVED_MISMATCH`` warning. The birth date is
  not in the future and not after a recorded death.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao import ids
from yibao.codes import (
    RIDER_BASE,
    InsuType,
    PsnType,
    check_psn_type_matches,
    parse_code,
)
from yibao.errors import INVALID_INPUT, Notice, YibaoError, define
from yibao.explain import Decision, Reason, Record
from yibao.explain import reason as because
from yibao.model import PersonFacts
from yibao.store import repository as repo
from yibao.store.models import DocumentRow
from yibao.service.common import (
    DEATH_BEFORE_BIRTH,
    MAX_BY,
    MAX_NAME,
    _check_length,
    _lock_person,
    _relation,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

UNSET: Any = object()  # "not corrected" (None is a value: no end date, no employer)

RELATION_KEY_FIXED = define(
    "RELATION_KEY_FIXED",
    "参保关系 {relation} 的{what_zh}不能更正：其他统筹区或险种的参保关系是另一参保关系，请终止本关系后重新参保（跨统筹区请办理转移接续）",
    "the {what_en} of relation {relation} cannot be corrected: a relation in another region or scheme is another relation — "
    "terminate this one and enrol anew (or transfer it between regions)",
)
CORRECTION_EMPTY = define("CORRECTION_EMPTY", "未给出要更正的内容", "nothing to correct was given")
CORRECTION_PERIOD = define(
    "CORRECTION_PERIOD",
    "参保关系结束日期 {end} 早于开始日期 {start}",
    "the relation would end on {end}, before it starts on {start}",
)
START_AFTER_STATUS_CHANGE = define(
    "START_AFTER_STATUS_CHANGE",
    "更正后的开始日期 {start} 晚于该关系 {effective} 的状态变更：请先更正或撤销该状态变更",
    "the corrected start {start} is after the relation's status change of {effective}: correct or withdraw that change first",
)
DERIVED_CONTRADICTION = define(
    "DERIVED_CONTRADICTION",
    "{attribute_zh} {value} 与证件 {cert_type} {number} 所载的 {derived} 不一致（R-ID-007）：如确需更正，请在 override_reason 中说明依据",
    "the {attribute} {value} contradicts the {derived} that document {cert_type} {number} encodes (R-ID-007): "
    "state why in override_reason to correct it anyway",
)
RETIRE_BY_EVENT = define(
    "RETIRE_BY_EVENT",
    "不能把在职人员类别 {before} 更正为退休人员类别 {after}：退休须办理退休（核定最低缴费年限，R-RET-001/R-RET-003）",
    "an in-service category {before} is not corrected into the retiree category {after}: retire the person instead "
    "(the minimum years are checked, R-RET-001/R-RET-003)",
)
BIRTH_IN_FUTURE = define("BIRTH_IN_FUTURE", "出生日期 {birth} 晚于今天", "the date of birth {birth} is in the future")


@dataclass(frozen=True)
class AttributesCorrected(Record):
    """A correction recorded: the table corrected, the correction row, and what changed (before → after)."""

    psn_no: str
    table: str  # enrollment | person
    correction_id: int
    changed: dict[str, dict[str, Any]]
    relation_id: str | None = None
    recorded_by: str | None = None


class CorrectionUseCases:
    """Corrections of relations and persons (mixed into ``RecordsService``)."""

    today: Callable[[], date]
    clock: Callable[[], Any]
    _tx: Callable[[], AbstractContextManager[Session]]

    def correct_relation(
        self,
        psn_no: str,
        relation_id: str,
        *,
        by: str,
        reason: str,
        start: date = UNSET,
        end: date | None = UNSET,
        psn_type: str | PsnType = UNSET,
        employer: str | None = UNSET,
        region: str | None = None,
        insutype: str | None = None,
    ) -> Decision[AttributesCorrected]:
        """更正参保关系: the given columns take new values from now on (see the module doc).

        ``region`` / ``insutype`` may be given only with the relation's own values (a form that sends
        every column); another value is ``RELATION_KEY_FIXED``."""
        _check_length(by, MAX_BY, "by")
        _required_reason(reason)
        changes: dict[str, Any] = {k: v for k, v in (("start", start), ("end", end), ("psn_type", psn_type), ("employer", employer)) if v is not UNSET}
        if not changes and region is None and insutype is None:
            raise YibaoError(CORRECTION_EMPTY, field=None)
        if employer not in (UNSET, None):
            changes["employer"] = ids.validate_uscc(employer, field="employer")
        with self._tx() as session:
            _lock_person(session, psn_no)
            facts = repo.load_facts(session, psn_no)
            rel = _relation(facts, relation_id)
            for name, given, stored in (("region", region, rel.region), ("insutype", insutype, rel.insutype.value)):
                if given is not None and str(given).strip() != stored:
                    raise YibaoError(RELATION_KEY_FIXED, field=name, relation=relation_id, what_zh="统筹区" if name == "region" else "险种",
                                     what_en=name)
            if not changes:
                raise YibaoError(repo.CORRECTION_UNCHANGED, field="region" if region is not None else "insutype", what=f"{psn_no}/{relation_id}")
            new_start = changes.get("start", rel.start)
            new_end = changes.get("end", rel.end)
            reasons: list[Reason] = []
            if "psn_type" in changes:
                pt = PsnType(parse_code("psn_type", str(changes["psn_type"]), field="psn_type", on=new_start))
                check_psn_type_matches(pt, InsuType(RIDER_BASE.get(rel.insutype.value, rel.insutype.value)), field="psn_type")
                if pt.is_retired and not rel.psn_type.is_retired:
                    raise YibaoError(RETIRE_BY_EVENT, field="psn_type", before=rel.psn_type.value, after=pt.value)
                changes["psn_type"] = pt
                reasons.append(because("R-CODE-002", f"人员类别 {pt.value} 属于险种 {rel.insutype.value}",
                                      f"person category {pt.value} belongs to insutype {rel.insutype.value}"))
            if new_end is not None and new_end < new_start:
                raise YibaoError(CORRECTION_PERIOD, field="end" if "end" in changes else "start", end=new_end.isoformat(), start=new_start.isoformat())
            first_change = min((c.effective for c in rel.status_changes), default=None)
            if "start" in changes and first_change is not None and first_change < new_start:
                raise YibaoError(START_AFTER_STATUS_CHANGE, field="start", start=new_start.isoformat(), effective=first_change.isoformat())
            row = repo.correct_relation(session, psn_no, relation_id, changes, reason=reason, by=by, at=self.clock())
            changed = _changed(session, psn_no, row.id, "enrollment")
            return Decision(AttributesCorrected(psn_no, "enrollment", row.id, changed, relation_id, by), tuple(reasons))

    def correct_person(
        self,
        psn_no: str,
        *,
        by: str,
        reason: str,
        name: str = UNSET,
        sex: str | None = UNSET,
        birth_date: date | None = UNSET,
        override_reason: str | None = None,
    ) -> Decision[AttributesCorrected]:
        """更正人员基本信息: name, sex, birth date (see the module doc for R-ID-007)."""
        _check_length(by, MAX_BY, "by")
        _required_reason(reason)
        changes: dict[str, Any] = {k: v for k, v in (("name", name), ("sex", sex), ("birth_date", birth_date)) if v is not UNSET}
        if not changes:
            raise YibaoError(CORRECTION_EMPTY, field=None)
        if "name" in changes:
            if changes["name"] is None or not str(changes["name"]).strip():
                raise YibaoError(INVALID_INPUT, field="name", reason="a name is required / 姓名不能为空")
            changes["name"] = str(changes["name"]).strip()
            _check_length(changes["name"], MAX_NAME, "name")
        if changes.get("sex") not in (None, "M", "F"):
            raise YibaoError(INVALID_INPUT, field="sex", reason="sex is M or F / 性别为 M 或 F")
        if changes.get("birth_date") is not None and changes["birth_date"] > self.today():
            raise YibaoError(BIRTH_IN_FUTURE, field="birth_date", birth=changes["birth_date"].isoformat())
        override = override_reason.strip() if override_reason and override_reason.strip() else None
        with self._tx() as session:
            _lock_person(session, psn_no)
            facts = repo.load_facts(session, psn_no)
            birth = changes.get("birth_date")
            if birth is not None and facts.death_date is not None and facts.death_date < birth:
                raise YibaoError(DEATH_BEFORE_BIRTH, field="birth_date", death=facts.death_date.isoformat(), birth=birth.isoformat())
            notices, reasons = _check_derived(session, facts, changes, override)
            detail = {"override_reason": override} if notices else {}
            row = repo.correct_person(session, psn_no, changes, reason=reason, by=by, at=self.clock(), detail=detail)
            changed = _changed(session, psn_no, row.id, "person")
            return Decision(AttributesCorrected(psn_no, "person", row.id, changed, None, by), tuple(reasons), tuple(notices))


# ------------------------------------------------------------------------------------ helpers


def _required_reason(text: str | None) -> None:
    from yibao.store.errors import REASON_REQUIRED

    if text is None or not str(text).strip():
        raise YibaoError(REASON_REQUIRED, field="reason")


def _changed(session: Session, psn_no: str, correction_id: int, table: str) -> dict[str, dict[str, Any]]:
    """What the audit row of the correction says changed (before → after, JSON values)."""
    import json

    from yibao.store.models import AuditRow

    detail = session.scalars(
        select(AuditRow.detail).where(AuditRow.psn_no == psn_no, AuditRow.table_name == table, AuditRow.replacement_id == correction_id,
                                      AuditRow.action.in_([repo.CORRECT_RELATION, repo.CORRECT_PERSON]))
    ).one()
    return json.loads(detail)["changed"]


def _check_derived(
    session: Session, facts: PersonFacts, changes: dict[str, Any], override: str | None
) -> tuple[list[Notice], list[Reason]]:
    """R-ID-007: the corrected birth date / sex against what the person's current documents encode."""
    wanted = {k: changes[k] for k in ("birth_date", "sex") if changes.get(k) is not None}
    if not wanted:
        return [], []
    notices: list[Notice] = []
    reasons: list[Reason] = []
    documents = session.scalars(
        select(DocumentRow).where(DocumentRow.psn_no == facts.person_id, DocumentRow.superseded_at.is_(None)).order_by(DocumentRow.id)
    )
    for d in documents:
        try:
            encoded = ids.validate_document(d.cert_type, d.number, nationality=d.nationality, migration=True)
        except YibaoError:  # a stored document that no longer validates says nothing reliable
            continue
        for attribute, value in wanted.items():
            derived = getattr(encoded, attribute, None)
            if derived is None:
                continue
            label, label_zh = ("birth date", "出生日期") if attribute == "birth_date" else ("sex", "性别")
            shown = value.isoformat() if isinstance(value, date) else str(value)
            derived_shown = derived.isoformat() if isinstance(derived, date) else str(derived)
            if derived == value:
                reasons.append(because("R-ID-007", f"{label_zh} {shown} 与证件 {d.cert_type.value} {ids.mask(d.number)} 一致",
                                      f"the {label} {shown} agrees with document {d.cert_type.value} {ids.mask(d.number)}"))
                continue
            if override is None:
                raise YibaoError(
                    DERIVED_CONTRADICTION, field=attribute, attribute=label, attribute_zh=label_zh, value=shown, derived=derived_shown,
                    cert_type=d.cert_type.value, number=ids.mask(d.number),
                )
            notices.append(Notice.of(ids.DERIVED_MISMATCH, field=attribute, attribute=label, attribute_zh=label_zh, declared=shown,
                                     derived=derived_shown))
            reasons.append(because("R-ID-007", f"{label_zh} {shown} 与证件所载 {derived_shown} 不一致，经办员说明：{override}",
                                  f"the {label} {shown} contradicts the document's {derived_shown}; the clerk stated: {override}"))
    return notices, reasons


__all__ = ["UNSET", "AttributesCorrected", "CorrectionUseCases"]
