"""The case file: one person's facts in YAML or JSON (format in docs/case-file.md, schema in docs/).

    person: {id: P-1, documents: [{type: "01", number: "110101199003070011"}]}
    enrollments:
      - {id: R1, insutype: "310", region: "510500", psn_type: "1103", start: 2024-01-01}
    contributions:
      - {relation: R1, months: 2024-01..2024-12, paid_each_month_on_day: 20, kind: "10",
         payer: INDIVIDUAL, amount: 480.00}

The pydantic models here validate the file (unknown keys are errors), generate the JSON Schema,
and turn the file into immutable facts (:class:`yibao.model.PersonFacts`). Every problem becomes
one :class:`YibaoError` naming the field (``CASE_INVALID``), never a traceback.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from yibao.codes import CertType, ContributionKind, FundLine, InsuStatus, InsuType, PsnType, check_psn_type_matches, parse_code
from yibao.dates import YearMonth, parse_month_range
from yibao.errors import YibaoError, define
from yibao.model import (
    ContributionLine,
    DeclaredWage,
    Enrollment,
    EventKind,
    GroupMembership,
    IdentityDocument,
    LifeEvent,
    PayerType,
    PersonFacts,
    PersonGroup,
    ServicePeriod,
    StatusChange,
    StatusReason,
)

CASE_UNREADABLE = define("CASE_UNREADABLE", "无法读取案例文件 {path}：{reason}", "cannot read case file {path}: {reason}")
CASE_INVALID = define("CASE_INVALID", "案例文件字段 {location} 无效：{reason}", "case file field {location} is invalid: {reason}")
CASE_INCONSISTENT = define("CASE_INCONSISTENT", "案例文件数据不一致：{reason_zh}", "case file is inconsistent: {reason_en}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocumentIn(_Strict):
    type: str = Field(description="证件类型 psn_cert_type (R-CODE-004), e.g. '01'")
    number: str
    nationality: str | None = Field(None, description="ISO 3166 alpha-3, required for foreign passports (08)")
    valid_from: date | None = None
    recorded_on: date | None = None


class GroupIn(_Strict):
    group: PersonGroup
    from_: date = Field(alias="from")
    to: date | None = None
    region: str | None = None
    recorded_on: date | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EventIn(_Strict):
    kind: EventKind
    on: date
    region: str | None = None
    recorded_on: date | None = None


class ServiceIn(_Strict):
    from_: str = Field(alias="from", description="first month YYYY-MM")
    to: str = Field(description="last month YYYY-MM")
    recorded_on: date | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PersonIn(_Strict):
    id: str
    name: str = ""
    birth_date: date | None = Field(None, description="derived from a resident ID or residence permit when absent (R-ID-007)")
    sex: Literal["M", "F"] | None = None
    documents: list[DocumentIn] = Field(default_factory=list)
    groups: list[GroupIn] = Field(default_factory=list)
    events: list[EventIn] = Field(default_factory=list)
    military_service: list[ServiceIn] = Field(default_factory=list)
    death_date: date | None = None
    death_recorded_on: date | None = None


class StatusChangeIn(_Strict):
    on: date = Field(description="first day in the new status")
    status: Literal["NORMAL", "SUSPENDED", "TERMINATED"]
    reason: StatusReason = StatusReason.OTHER
    note: str = ""
    recorded_on: date | None = None
    recorded_by: str = ""


class WageIn(_Strict):
    from_: str = Field(alias="from", description="first contribution month YYYY-MM")
    monthly: Decimal

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EnrollmentIn(_Strict):
    id: str
    insutype: str = Field(description="险种 insutype (R-CODE-001), e.g. '310' or '390'")
    region: str = Field(description="统筹区 6-digit division code")
    psn_type: str = Field(description="人员类别 psn_type (R-CODE-002), e.g. '1101'")
    start: date
    end: date | None = None
    employer: str | None = None
    wages: list[WageIn] = Field(default_factory=list)
    status_changes: list[StatusChangeIn] = Field(default_factory=list)
    previous_relation: str | None = None
    recorded_on: date | None = None


class ContributionIn(_Strict):
    relation: str
    month: str | None = Field(None, description="one contribution month YYYY-MM")
    months: str | None = Field(None, description="a range YYYY-MM..YYYY-MM; amount is per month")
    year: int | None = Field(None, description="resident benefit year")
    paid_on: date | None = None
    paid_each_month_on_day: int | None = Field(None, ge=1, le=31, description="with months: each month paid on this day of that month")
    kind: str = Field("10", description="缴费类型 (R-CODE-005)")
    payer: PayerType = PayerType.INDIVIDUAL
    fund: str | None = None
    amount: Decimal
    base: Decimal | None = None
    months_credited: int = 0
    key: str | None = None
    supersedes: str | None = None
    legacy_benefit_start: date | None = None
    recorded_on: date | None = None

    @model_validator(mode="after")
    def _one_period(self) -> "ContributionIn":
        given = [x for x in (self.month, self.months, self.year) if x is not None]
        if len(given) > 1:
            raise ValueError("give only one of month, months, year")
        if not given and self.months_credited <= 0:
            raise ValueError("give month, months or year (or months_credited for a lump sum)")
        if (self.paid_on is None) == (self.paid_each_month_on_day is None):
            raise ValueError("give exactly one of paid_on and paid_each_month_on_day")
        if self.paid_each_month_on_day is not None and self.months is None:
            raise ValueError("paid_each_month_on_day needs months")
        return self


class CaseFile(_Strict):
    """One person's facts. ``as_known_on``/``on`` are optional defaults for the CLI."""

    person: PersonIn
    enrollments: list[EnrollmentIn] = Field(default_factory=list)
    contributions: list[ContributionIn] = Field(default_factory=list)
    policy_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="region -> {parameter: value}: a what-if or a worked example's stated parameters"
    )
    description: str | None = None


def json_schema() -> dict[str, Any]:
    schema = CaseFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "yibao case file"
    return schema


# --------------------------------------------------------------------------------------


def read_case(path: str | Path) -> tuple[PersonFacts, dict[str, dict[str, Any]]]:
    """Read a YAML or JSON case file (or a timeline scenario file's ``case``) → facts and policy overrides."""
    from yibao.policy.loader import load_yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise YibaoError(CASE_UNREADABLE, field="path", path=str(p), reason=exc.__class__.__name__) from None
    try:
        data = json.loads(text, parse_float=Decimal) if p.suffix.lower() == ".json" else load_yaml(text)
    except Exception as exc:  # yaml and json raise many kinds
        raise YibaoError(CASE_UNREADABLE, field="path", path=str(p), reason=str(exc).splitlines()[0][:200]) from None
    if isinstance(data, dict) and "case" in data and "person" not in data:
        data = data["case"]  # a scenario file embeds its case
    return parse_case(data)


def parse_case(data: Any) -> tuple[PersonFacts, dict[str, dict[str, Any]]]:
    if not isinstance(data, dict):
        raise YibaoError(CASE_INVALID, field="", location="(root)", reason="expected a mapping")
    try:
        case = CaseFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        location = ".".join(str(x) for x in err["loc"]) or "(root)"
        raise YibaoError(CASE_INVALID, field=location, location=location, reason=err["msg"]) from None
    return to_facts(case), {str(k): v for k, v in case.policy_overrides.items()}


def _documents(person: PersonIn) -> tuple[tuple[IdentityDocument, ...], date | None, str | None]:
    from yibao import ids

    docs = []
    birth, sex = None, None
    for i, d in enumerate(person.documents):
        field = f"person.documents.{i}"
        cert_type = parse_code("cert_type", d.type, field=f"{field}.type")
        try:
            doc = ids.validate_document(cert_type, d.number, nationality=d.nationality, migration=True)
        except YibaoError as exc:  # name the place in the file, keep the code and message
            exc.field = f"{field}.{'nationality' if exc.field == 'nationality' else 'number'}"
            raise
        docs.append(IdentityDocument(CertType(cert_type), doc.number, doc.nationality, d.valid_from, d.recorded_on))
        birth = birth or doc.birth_date
        sex = sex or doc.sex
    return tuple(docs), birth, sex


def to_facts(case: CaseFile) -> PersonFacts:
    person = case.person
    documents, derived_birth, derived_sex = _documents(person)
    relations: dict[str, Enrollment] = {}
    for i, e in enumerate(case.enrollments):
        field = f"enrollments.{i}"
        if e.id in relations:
            raise YibaoError(CASE_INCONSISTENT, field=f"{field}.id", reason_zh=f"参保关系编号 {e.id} 重复", reason_en=f"relation id {e.id} is used twice")
        insutype = InsuType(parse_code("insutype", e.insutype, field=f"{field}.insutype", migration=True))
        psn_type = PsnType(parse_code("psn_type", e.psn_type, field=f"{field}.psn_type", migration=True))
        from yibao.codes import RIDER_BASE

        family = InsuType(RIDER_BASE.get(insutype.value, insutype.value))  # a rider's holder is in its base scheme
        check_psn_type_matches(psn_type, family, field=f"{field}.psn_type")
        if e.end is not None and e.end < e.start:
            raise YibaoError(
                CASE_INCONSISTENT,
                field=f"{field}.end",
                reason_zh=f"参保关系 {e.id} 的结束日 {e.end} 早于开始日 {e.start}",
                reason_en=f"relation {e.id} ends ({e.end}) before it starts ({e.start})",
            )
        changes = []
        for j, c in enumerate(e.status_changes):
            changes.append(StatusChange(c.on, InsuStatus[c.status], c.reason, c.note, c.recorded_on, c.recorded_by))
        _check_status_machine(changes, f"{field}.status_changes")
        wages = tuple(DeclaredWage(YearMonth.parse(w.from_, field=f"{field}.wages.from"), w.monthly) for w in e.wages)
        relations[e.id] = Enrollment(
            e.id, insutype, e.region, psn_type, e.start, e.end, tuple(changes), e.employer, wages, e.previous_relation, e.recorded_on
        )
    _check_riders(list(relations.values()))
    lines: list[ContributionLine] = []
    for i, c in enumerate(case.contributions):
        field = f"contributions.{i}"
        if c.relation not in relations:
            raise YibaoError(CASE_INCONSISTENT, field=f"{field}.relation", reason_zh=f"没有编号为 {c.relation} 的参保关系", reason_en=f"no relation with id {c.relation}")
        kind = ContributionKind(parse_code("clct_type", c.kind, field=f"{field}.kind"))
        fund = FundLine(c.fund) if c.fund else None
        common = dict(
            relation_id=c.relation,
            kind=kind,
            payer=c.payer,
            amount=c.amount,
            fund=fund,
            base=c.base,
            key=c.key,
            supersedes=c.supersedes,
            legacy_benefit_start=c.legacy_benefit_start,
            recorded_on=c.recorded_on,
        )
        if c.months is not None:
            first, last = parse_month_range(c.months, field=f"{field}.months")
            for idx in range(first.index, last.index + 1):
                m = YearMonth.from_index(idx)
                paid_on = c.paid_on or _day_in_month(m, c.paid_each_month_on_day or 1)
                key = f"{c.key}:{m}" if c.key else None
                lines.append(ContributionLine(**{**common, "key": key}, paid_on=paid_on, month=m))
        elif c.month is not None:
            lines.append(ContributionLine(**common, paid_on=c.paid_on, month=YearMonth.parse(c.month, field=f"{field}.month")))  # type: ignore[arg-type]
        else:
            lines.append(ContributionLine(**common, paid_on=c.paid_on, benefit_year=c.year, months_credited=c.months_credited))  # type: ignore[arg-type]
        if c.paid_on is not None and c.recorded_on is not None and c.recorded_on < c.paid_on:
            raise YibaoError(CASE_INCONSISTENT, field=f"{field}.recorded_on", reason_zh="缴费不能在缴费日之前入账", reason_en="a payment cannot be recorded before it was paid")
    service = tuple(
        ServicePeriod(YearMonth.parse(s.from_, field="person.military_service.from"), YearMonth.parse(s.to, field="person.military_service.to"), s.recorded_on)
        for s in person.military_service
    )
    birth = person.birth_date or derived_birth
    if person.death_date is not None and birth is not None and person.death_date < birth:
        raise YibaoError(CASE_INCONSISTENT, field="person.death_date", reason_zh="死亡日期早于出生日期", reason_en="death before birth")
    return PersonFacts(
        person_id=person.id,
        name=person.name,
        birth_date=birth,
        sex=person.sex or derived_sex,
        documents=documents,
        groups=tuple(GroupMembership(g.group, g.from_, g.to, g.region, g.recorded_on) for g in person.groups),
        events=tuple(LifeEvent(e.kind, e.on, e.region, e.recorded_on) for e in person.events),
        service_periods=service,
        enrollments=tuple(relations.values()),
        contributions=tuple(lines),
        death_date=person.death_date,
        death_recorded_on=person.death_recorded_on,
    )


def _check_riders(relations: list[Enrollment]) -> None:
    """R-CODE-001 example 2: a rider (330 …) needs its basic relation in the same region for its period."""
    from yibao.codes import RIDER_BASE, RIDER_WITHOUT_BASE

    for i, rider in enumerate(relations):
        base_code = RIDER_BASE.get(rider.insutype.value)
        if base_code is None:
            continue
        covered = any(
            b.insutype.value == base_code
            and b.region == rider.region
            and b.start <= rider.start
            and (b.end is None or (rider.end is not None and rider.end <= b.end))
            for b in relations
        )
        if not covered:
            raise YibaoError(RIDER_WITHOUT_BASE, field=f"enrollments.{i}.insutype", code=rider.insutype.value, base=base_code)


def _day_in_month(m: YearMonth, day: int) -> date:
    return min(date(m.year, m.month, 1) + timedelta(days=day - 1), m.last_day())


def _check_status_machine(changes: list[StatusChange], field: str) -> None:
    """R-CODE-003: nothing follows a termination (TERMINATED_IS_FINAL)."""
    from yibao.rules.status import check_transitions

    check_transitions(changes, field=field)
