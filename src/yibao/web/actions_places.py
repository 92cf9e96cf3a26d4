"""The clerk's forms for a person's places (人员地点, issue 4), on the three steps of
:mod:`yibao.web.actions` (edit → review → confirm; the review writes nothing): 登记就业地/常住地/学籍地
(record a place) and 撤销地点登记 (withdraw a place recorded in error, with a reason).

The region rule is the API's (``api/routes/persons.py``): the person must be visible to the clerk
(``_action_env``); the place itself may be any well-formed division code, as the service checks it
(:mod:`yibao.service.places`). The review shows the place of that kind in force today before → after
and what the duplicate rules decide with it (R-DUP-002/003/004); the service checks everything again
when saving and its errors come back beside their field.

Registered into :data:`yibao.web.actions.ACTIONS` when :mod:`yibao.web.actions_more` is imported.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any, ClassVar

from yibao.errors import INVALID_INPUT, YibaoError
from yibao.service.places import (
    MAX_NOTE,
    PLACE_ALREADY_RECORDED,
    PLACE_CAUSE,
    PLACE_FUTURE,
    PLACE_KIND,
    PLACE_NOT_FOUND,
    Place,
    check_region_code,
)
from yibao.store.place_models import STUDENT_CAUSES, PlaceKind
from yibao.store.repository import places_in_force

from .actions import (
    ACTIONS,
    Action,
    Env,
    FieldSpec,
    FormErrors,
    _collect,
    _day,
    _required,
)
from .actions_more import MoreEffect, Table, _more, _reason_text
from .messages import N_

PLACE_KIND_ZH = {
    PlaceKind.EMPLOYMENT.value: N_("就业地"),
    PlaceKind.HABITUAL_RESIDENCE.value: N_("常住地"),
    PlaceKind.STUDY.value: N_("学籍地"),
}
STUDENT_CAUSE_ZH = {"SCHOOL_ENTRY": N_("入学"), "JOB": N_("就业")}
assert set(STUDENT_CAUSE_ZH) == set(STUDENT_CAUSES)
# what the duplicate rules decide with a place of this kind (SPEC §10, Y-DUP-007)
DUPLICATE_USE_ZH = {
    PlaceKind.EMPLOYMENT.value: N_("登记就业地后，职工医保重复参保按 R-DUP-002 保留就业地的参保关系。"),
    PlaceKind.HABITUAL_RESIDENCE.value: N_("登记常住地后，居民医保重复参保按 R-DUP-003 保留常住地的参保关系。"),
    PlaceKind.STUDY.value: N_("登记学籍地后，学生重复参保按 R-DUP-004 保留学籍地的参保关系；未注明重复原因（入学或就业）的仍转人工核查。"),
}
NOT_RECORDED = N_("未登记")


def _kind_choices(env: Env) -> list[tuple[str, str]]:
    return list(PLACE_KIND_ZH.items())


def _place_text(env: Env, place: Any) -> str:
    """``510500 泸州市（自 2025-06-01 起）`` — the region's name only where it has a policy pack."""
    name = env.service.policy.region_name(place.region)
    region = place.region if name == place.region else f"{place.region} {name}"
    return f"{region}（自 {place.valid_from.isoformat()} 起）"


def _ordered(places: list[Place], *, without: int | None = None) -> list[SimpleNamespace]:
    """The places as rows for ``places_in_force``, numbered in the order they were recorded (a new row comes last)."""
    rows = sorted((q for q in places if q.place_id != without), key=lambda q: (q.recorded_at, q.place_id))
    return [SimpleNamespace(kind=q.kind, region=q.region, valid_from=q.valid_from, recorded_at=i, id=i) for i, q in enumerate(rows)]


def _in_force_table(env: Env, kind: str, before: list[Any], after: list[Any]) -> tuple[Table, bool]:
    """The place of ``kind`` in force today before → after; True when it changes."""
    was = places_in_force(before, env.today).get(kind)
    now = places_in_force(after, env.today).get(kind)
    shown = (_place_text(env, was) if was is not None else NOT_RECORDED, _place_text(env, now) if now is not None else NOT_RECORDED)
    table = Table(N_("今天适用的地点"), (N_("地点类型"), N_("办理前"), N_("办理后")), ((PLACE_KIND_ZH[kind], *shown),))
    return table, shown[0] != shown[1]


class RecordPlace(Action):
    """登记人员地点: the person's place of employment, habitual residence or study from a day on."""

    name, title, group = "record_place", "登记就业地/常住地/学籍地", "more"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("kind", "地点类型", "select", choices=_kind_choices),
        FieldSpec("region", "行政区划代码", hint="6位行政区划代码，任意有效代码均可（不限本系统的统筹区）"),
        FieldSpec("valid_from", "起始日期", "date", hint="自该日起为此地点；不能晚于今天"),
        FieldSpec("student_cause", "重复参保原因", "select", required=False, choices=lambda env: list(STUDENT_CAUSE_ZH.items()),
                  hint="仅学籍地填写（R-DUP-004）"),
        FieldSpec("note", "依据", "textarea", required=False, hint="如居住证、劳动合同、学籍证明"),
    ]
    confirm_label = "确认登记"

    def defaults(self, env: Env) -> dict[str, str]:
        return {"valid_from": env.today.isoformat()}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        def kind() -> str:
            raw = _required(values, "kind")
            if raw not in PLACE_KIND_ZH:
                raise YibaoError(PLACE_KIND, field="kind", kind=raw)
            return raw

        def valid_from() -> date:
            d = _day(values, "valid_from")
            assert d is not None
            if d > env.today:
                raise YibaoError(PLACE_FUTURE, field="valid_from", valid_from=d.isoformat())
            return d

        def note() -> str | None:
            text = (values.get("note") or "").strip()
            if len(text) > MAX_NOTE:
                raise YibaoError(INVALID_INPUT, field="note", reason="最多 500 个字符 / at most 500 characters")
            return text or None

        p = _collect(values, {
            "kind": kind,
            "region": lambda: check_region_code(_required(values, "region")),
            "valid_from": valid_from,
            "note": note,
        })

        def cause() -> str | None:
            raw = (values.get("student_cause") or "").strip()
            if raw and (raw not in STUDENT_CAUSE_ZH or p["kind"] != PlaceKind.STUDY.value):
                raise YibaoError(PLACE_CAUSE, field="student_cause", cause=raw)
            return raw or None

        p.update(_collect(values, {"student_cause": cause}))
        p["places"] = env.service.places(env.facts.person_id)
        for place in p["places"]:
            if (place.kind, place.region, place.valid_from, place.student_cause) == (p["kind"], p["region"], p["valid_from"], p["student_cause"]):
                raise FormErrors({"region": YibaoError(PLACE_ALREADY_RECORDED, field="region", kind=p["kind"], region=p["region"],
                                                       valid_from=p["valid_from"].isoformat())})
        return p

    def effect(self, env: Env, p: dict[str, Any]) -> MoreEffect:
        before = _ordered(p["places"])
        new = SimpleNamespace(kind=p["kind"], region=p["region"], valid_from=p["valid_from"], recorded_at=len(before), id=len(before))
        table, changes = _in_force_table(env, p["kind"], before, [*before, new])
        warning = "" if changes else N_("已登记起始日期更晚的同类地点，今天适用的地点不变。")
        return _more(self, env, p, tables=(table,), warning=warning, note=DUPLICATE_USE_ZH[p["kind"]])

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        out = [(N_("地点类型"), PLACE_KIND_ZH[p["kind"]]), (N_("行政区划代码"), p["region"]), (N_("起始日期"), p["valid_from"].isoformat())]
        if p["student_cause"]:
            out.append((N_("重复参保原因"), STUDENT_CAUSE_ZH[p["student_cause"]]))
        if p["note"]:
            out.append((N_("依据"), p["note"]))
        return out

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        place = env.service.record_place(env.facts.person_id, p["kind"], p["region"], p["valid_from"], by=env.principal.by, note=p["note"],
                                         student_cause=p["student_cause"])
        return N_("已登记{kind} {region}，自 {valid_from} 起"), (), {
            "kind": PLACE_KIND_ZH[place.kind], "region": place.region, "valid_from": place.valid_from.isoformat()}



def _place_choice(q: Place) -> str:
    return f"{q.place_id} · {PLACE_KIND_ZH[q.kind]} {q.kind} · {q.region} · {q.valid_from.isoformat()}"


def _current_places(env: Env) -> list[tuple[str, str]]:
    return [(str(q.place_id), _place_choice(q)) for q in env.service.places(env.facts.person_id)]


class WithdrawPlace(Action):
    """撤销地点登记: a place recorded in error is withdrawn (the row stays, marked), with a reason."""

    name, title, group = "withdraw_place", "撤销地点登记", "more"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("place_id", "地点记录", "select", choices=_current_places, hint="地点变更请登记新地点，不必撤销"),
        FieldSpec("reason", "撤销原因", "textarea", hint="记入审计日志"),
    ]
    confirm_label = "确认撤销"

    def defaults(self, env: Env) -> dict[str, str]:
        mine = _current_places(env)
        return {"place_id": mine[0][0] if len(mine) == 1 else ""}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        places = env.service.places(env.facts.person_id)

        def place() -> Place:
            raw = _required(values, "place_id")
            for q in places:
                if str(q.place_id) == raw:
                    return q
            raise YibaoError(PLACE_NOT_FOUND, field="place_id", psn_no=env.facts.person_id, place_id=raw)

        p = _collect(values, {"place_id": place, "reason": lambda: _reason_text(values)})  # errors beside their field
        p["place"], p["places"] = p.pop("place_id"), places
        return p

    def effect(self, env: Env, p: dict[str, Any]) -> MoreEffect:
        q: Place = p["place"]
        table, _changes = _in_force_table(env, q.kind, _ordered(p["places"]), _ordered(p["places"], without=q.place_id))
        return _more(self, env, p, tables=(table,), note=N_("撤销后重复参保处理不再依据该地点；原记录保留并标记为撤销。"))

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        q: Place = p["place"]
        out = [(N_("地点类型"), PLACE_KIND_ZH[q.kind]), (N_("行政区划代码"), q.region), (N_("起始日期"), q.valid_from.isoformat())]
        if q.student_cause:
            out.append((N_("重复参保原因"), STUDENT_CAUSE_ZH.get(q.student_cause, q.student_cause)))
        out += [(N_("登记人"), q.recorded_by), (N_("撤销原因"), p["reason"])]
        return out

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        q: Place = p["place"]
        env.service.withdraw_place(env.facts.person_id, q.place_id, by=env.principal.by, reason=p["reason"])
        return N_("已撤销{kind} {region}（记录 {place_id}）"), (), {"kind": PLACE_KIND_ZH[q.kind], "region": q.region, "place_id": q.place_id}


PLACE_ACTIONS: tuple[Action, ...] = (RecordPlace(), WithdrawPlace())
ACTIONS.update({a.name: a for a in PLACE_ACTIONS})

__all__ = ["DUPLICATE_USE_ZH", "PLACE_ACTIONS", "PLACE_KIND_ZH", "STUDENT_CAUSE_ZH"]
