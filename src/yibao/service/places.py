"""A person's places (人员地点: 就业地, 常住地, 学籍地) for the duplicate rules, mixed into
:class:`yibao.service.records.RecordsService`.

The duplicate rules keep the relation at the place of employment (R-DUP-002), the habitual
residence (R-DUP-003) or the place of study (R-DUP-004); the store keeps these places as facts
(``person_place``, revision 0007). Each use case is one transaction holding the person's lock: it
validates first (kind, a well-formed 6-digit division code of a mainland province — any region, not
only those with a policy pack —, a ``valid_from`` not in the future, a student cause only for a
place of study) and writes nothing on error; the row and an audit row (``RECORD_PLACE``) are written
together. A wrong place is withdrawn (``repository.supersede_fact``, audited as ``SUPERSEDE``) or
followed by a newer one; nothing is ever deleted.

:func:`duplicate_context` turns the places in force on a day into the rules' ``DuplicateContext``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import YibaoError, define
from yibao.ids import CITIZEN_PROVINCE_CODES
from yibao.rules.duplicate import DuplicateContext, StudentCause
from yibao.service.common import MAX_BY, _check_length, _lock_person
from yibao.store import repository as repo
from yibao.store.place_models import STUDENT_CAUSES, PlaceKind, PlaceRow

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

PLACE_KIND = define(
    "PLACE_KIND",
    "地点类型 {kind} 无效，应为 EMPLOYMENT（就业地）、HABITUAL_RESIDENCE（常住地）或 STUDY（学籍地）",
    "place kind {kind} is not valid: EMPLOYMENT, HABITUAL_RESIDENCE or STUDY",
)
PLACE_REGION = define(
    "PLACE_REGION",
    "地点 {region} 不是有效的6位行政区划代码",
    "{region} is not a valid 6-digit administrative division code",
)
PLACE_FUTURE = define("PLACE_FUTURE", "地点起始日期 {valid_from} 晚于今天", "the place's start date {valid_from} is in the future")
PLACE_CAUSE = define(
    "PLACE_CAUSE",
    "重复参保原因 {cause} 无效：仅学籍地可注明，取值 SCHOOL_ENTRY（入学）或 JOB（就业）",
    "student cause {cause} is not valid: only a place of study takes one, SCHOOL_ENTRY or JOB",
)
PLACE_ALREADY_RECORDED = define(
    "PLACE_ALREADY_RECORDED",
    "该地点已登记（{kind} {region}，自 {valid_from} 起），未做任何更改",
    "this place is already recorded ({kind} {region} from {valid_from}); nothing was changed",
)
PLACE_NOT_FOUND = define("PLACE_NOT_FOUND", "人员 {psn_no} 没有编号为 {place_id} 的有效地点记录", "person {psn_no} has no current place {place_id}")

MAX_NOTE = 500


@dataclass(frozen=True)
class Place:
    """One recorded place, as the API and the console show it."""

    place_id: int
    kind: str
    region: str
    valid_from: date
    student_cause: str | None
    note: str | None
    recorded_at: datetime
    recorded_by: str
    current: bool  # not superseded or withdrawn now

    @classmethod
    def of(cls, row: PlaceRow) -> Place:
        return cls(row.id, row.kind, row.region, row.valid_from, row.student_cause, row.note, row.recorded_at, row.recorded_by,
                   row.superseded_at is None)


def check_region_code(region: Any, *, field: str = "region") -> str:
    """A 6-digit division code of a mainland province (format only: any region, with or without a policy pack)."""
    value = str(region).strip() if region is not None else ""
    if len(value) != 6 or not value.isascii() or not value.isdigit() or value[:2] not in CITIZEN_PROVINCE_CODES:
        raise YibaoError(PLACE_REGION, field=field, region=value)
    return value


def duplicate_context(places: Mapping[str, Any], detected_on: date) -> DuplicateContext:
    """The rules' context from the places in force (kind → row): what is not recorded stays unknown (Y-DUP-002)."""

    def region(kind: PlaceKind) -> str | None:
        row = places.get(kind.value)
        return row.region if row is not None else None

    study = places.get(PlaceKind.STUDY.value)
    cause = study.student_cause if study is not None else None
    return DuplicateContext(
        detected_on=detected_on,
        employment_region=region(PlaceKind.EMPLOYMENT),
        habitual_residence_region=region(PlaceKind.HABITUAL_RESIDENCE),
        study_region=region(PlaceKind.STUDY),
        student_cause=StudentCause(cause) if cause else None,
    )


class PlaceUseCases:
    """就业地 / 常住地 / 学籍地 of a person (see the module doc)."""

    if TYPE_CHECKING:
        clock: Callable[[], datetime]

        def today(self) -> date: ...
        def _tx(self) -> AbstractContextManager[Session]: ...
        def _read(self) -> AbstractContextManager[Session]: ...

    def record_place(
        self, psn_no: str, kind: str, region: str, valid_from: date, *, by: str, note: str | None = None,
        student_cause: str | None = None,
    ) -> Place:
        """登记人员地点: the person's place of ``kind`` is ``region`` from ``valid_from`` on."""
        _check_length(by, MAX_BY, "by")
        if note is not None:
            note = note.strip() or None
            _check_length(note, MAX_NOTE, "note")
        try:
            place_kind = PlaceKind(str(kind).strip().upper())
        except ValueError:
            raise YibaoError(PLACE_KIND, field="kind", kind=str(kind)) from None
        region = check_region_code(region)
        if not isinstance(valid_from, date) or isinstance(valid_from, datetime):
            raise YibaoError(PLACE_FUTURE, field="valid_from", valid_from=str(valid_from))
        if valid_from > self.today():
            raise YibaoError(PLACE_FUTURE, field="valid_from", valid_from=valid_from.isoformat())
        if student_cause is not None:
            student_cause = str(student_cause).strip().upper()
            if place_kind is not PlaceKind.STUDY or student_cause not in STUDENT_CAUSES:
                raise YibaoError(PLACE_CAUSE, field="student_cause", cause=student_cause)
        with self._tx() as session:
            _lock_person(session, psn_no)
            for row in repo.places(session, psn_no):
                if (row.kind, row.region, row.valid_from, row.student_cause) == (place_kind.value, region, valid_from, student_cause):
                    raise YibaoError(PLACE_ALREADY_RECORDED, field="region", kind=place_kind.value, region=region,
                                     valid_from=valid_from.isoformat())
            at = self.clock()
            row = repo.add_place(session, psn_no, kind=place_kind, region=region, valid_from=valid_from, by=by,
                                 student_cause=student_cause, note=note, at=at)
            repo._audit(session, action="RECORD_PLACE", psn_no=psn_no, reason=note or "登记人员地点 / place recorded", by=by, at=at,
                        table_name=PlaceRow.__tablename__, row_id=row.id,
                        detail={"kind": place_kind.value, "region": region, "valid_from": valid_from, "student_cause": student_cause})
            return Place.of(row)

    def withdraw_place(self, psn_no: str, place_id: int, *, by: str, reason: str) -> None:
        """撤销人员地点: a place recorded in error is withdrawn (superseded without replacement), with a reason."""
        _check_length(by, MAX_BY, "by")
        with self._tx() as session:
            _lock_person(session, psn_no)
            row = session.scalar(select(PlaceRow).where(PlaceRow.id == place_id, PlaceRow.psn_no == psn_no))
            if row is None or row.superseded_at is not None:
                raise YibaoError(PLACE_NOT_FOUND, field="place_id", psn_no=psn_no, place_id=place_id)
            repo.supersede_fact(session, row, None, reason=reason, by=by, at=self.clock())

    def places(self, psn_no: str, *, as_known_on: date | None = None) -> list[Place]:
        """Every place of the person as known on ``as_known_on`` (None: now), by kind then start."""
        with self._read() as session:
            repo.get_person(session, psn_no)
            return [Place.of(r) for r in repo.places(session, psn_no, as_known_on=as_known_on)]

    def places_on(self, psn_no: str, on: date, *, as_known_on: date | None = None) -> dict[str, Place]:
        """Kind → the place in force on ``on``, as known on ``as_known_on`` (None: now)."""
        with self._read() as session:
            repo.get_person(session, psn_no)
            return {k: Place.of(r) for k, r in repo.places_on(session, psn_no, on, as_known_on=as_known_on).items()}
