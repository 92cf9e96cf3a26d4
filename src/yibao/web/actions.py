"""The clerk's actions as forms: fields, checks with the message next to the field, the computed effect
shown before saving, and the save itself — always through :class:`RecordsService`.

Every action runs in three steps: ``edit`` (the form), ``review`` (every field checked; the effect
computed by the rules on the person's facts *plus* the change, nothing written) and ``confirm`` (the
fields checked again — hidden fields are never trusted — and the service called; one transaction).
An error at any step re-renders the form with what the clerk typed and the message beside the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from yibao import ids
from yibao.api.access import PersonScope, check_region, check_relation
from yibao.api.security import Principal
from yibao.codes import (
    RIDER_BASE,
    ContributionKind,
    InsuStatus,
    InsuType,
    PsnType,
    check_psn_type_matches,
    parse_code,
    rows,
)
from yibao.dates import YearMonth
from yibao.errors import INVALID_INPUT, YibaoError, define
from yibao.model import (
    ContributionLine,
    DeclaredWage,
    Enrollment,
    PayerType,
    PersonFacts,
    StatusChange,
    StatusReason,
)
from yibao.money import yuan
from yibao.rules.entitlement import Timeline, build_timeline
from yibao.rules.quote import Quote
from yibao.rules.status import check_transition
from yibao.service.records import RecordsService
from yibao.store.errors import RELATION_NOT_FOUND

from .messages import N_

BAD_DATE = define("BAD_DATE", "日期格式无效：{value}（应为 YYYY-MM-DD）", "invalid date {value!r} (expected YYYY-MM-DD)")
FIELD_REQUIRED = define("FIELD_REQUIRED", "请填写此项", "this field is required")
BAD_PERIOD = define(
    "BAD_PERIOD",
    "费款所属期无效：{value}（职工医保填 YYYY-MM，居民医保填年度 YYYY）",
    "invalid period {value!r} (YYYY-MM for employee insurance, the benefit year YYYY for resident insurance)",
)
PAYMENT_KEY_MISSING = define("PAYMENT_KEY_MISSING", "缺少缴费幂等键，请重新报价", "the payment key is missing; quote again")

PAYER_ZH = {
    "UNIT": "单位",
    "INDIVIDUAL": "个人",
    "UI_FUND": "失业保险基金",
    "MEDICAL_ASSISTANCE": "医疗救助",
    "FISCAL_SUBSIDY": "财政补助",
    "MUNICIPAL_FINANCE": "市财政",
    "GOVERNMENT": "政府代缴",
    "PERSONAL_ACCOUNT": "个人账户划扣",
    "HEIR": "继承人",
}
SUSPEND_REASONS = tuple(r for r in StatusReason if r not in (StatusReason.RESTORE, StatusReason.ENROLLMENT))


class FormErrors(Exception):
    """Field → message; ``None`` for a message about the whole form."""

    def __init__(self, errors: dict[str | None, YibaoError]) -> None:
        super().__init__(", ".join(f"{k}: {v.code}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class FieldSpec:
    name: str
    label: str  # Chinese msgid
    kind: str = "text"  # text | date | select | number | hidden | textarea
    required: bool = True
    hint: str = ""  # Chinese msgid
    choices: Callable[[Env], list[tuple[str, str]]] | None = None  # (value, Chinese label)


@dataclass
class Env:
    service: RecordsService
    principal: Principal
    scope: PersonScope
    facts: PersonFacts
    today: date
    label: Callable[[str, str], str]  # code table name in the page's language


@dataclass
class Effect:
    """What saving would change: benefit periods before and after, notices, and a quote for payments."""

    before: Timeline
    after: Timeline | None
    summary: list[tuple[str, str]] = field(default_factory=list)  # (Chinese label, value)
    quote: Quote | None = None
    notices: tuple = ()
    note: str = ""  # a Chinese msgid shown with the effect


# ------------------------------------------------------------------------------------------ parsing


def _required(values: dict[str, str], name: str) -> str:
    value = (values.get(name) or "").strip()
    if not value:
        raise YibaoError(FIELD_REQUIRED, field=name)
    return value


def _day(values: dict[str, str], name: str, *, required: bool = True) -> date | None:
    raw = (values.get(name) or "").strip()
    if not raw:
        if required:
            raise YibaoError(FIELD_REQUIRED, field=name)
        return None
    try:
        d = date.fromisoformat(raw)
    except ValueError:
        raise YibaoError(BAD_DATE, field=name, value=raw) from None
    if not date(1900, 1, 1) <= d <= date(2099, 12, 31):
        raise YibaoError(BAD_DATE, field=name, value=raw)
    return d


def _collect(values: dict[str, str], checks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run each field's check; every failing field is reported at once (with its own message)."""
    out: dict[str, Any] = {}
    errors: dict[str | None, YibaoError] = {}
    for name, check in checks.items():
        try:
            out[name] = check()
        except YibaoError as exc:
            errors["relation_id" if name == "relation" else name] = exc
    if errors:
        raise FormErrors(errors)
    return out


def _relation(env: Env, values: dict[str, str]) -> Enrollment:
    rid = _required(values, "relation_id")
    for e in env.facts.enrollments:
        if e.relation_id == rid:
            check_relation(env.principal, env.scope, rid)
            return e
    raise YibaoError(RELATION_NOT_FOUND, field="relation_id", relation_id=rid, psn_no=env.facts.person_id)


def _my_relations(env: Env) -> list[tuple[str, str]]:
    return [
        (e.relation_id, f"{e.relation_id} · {env.label('insutype', e.insutype.value)} · {e.region}")
        for e in env.facts.enrollments
        if env.principal.serves(e.region)
    ]


def _timeline(env: Env, facts: PersonFacts) -> Timeline:
    return build_timeline(facts, env.service.policy, env.today)


# ------------------------------------------------------------------------------------------ actions


class Action:
    name = ""
    title = ""  # Chinese msgid
    fields: ClassVar[list[FieldSpec]] = []
    confirm_label = "确认保存"

    def defaults(self, env: Env) -> dict[str, str]:
        return {}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        raise NotImplementedError

    def changed_facts(self, env: Env, parsed: dict[str, Any]) -> PersonFacts | None:
        return None

    def effect(self, env: Env, parsed: dict[str, Any]) -> Effect:
        before = _timeline(env, env.facts)
        changed = self.changed_facts(env, parsed)
        after = _timeline(env, changed) if changed is not None else None
        return Effect(before, after, self.summary(env, parsed), notices=tuple(n for n in (after.notices if after else ()) if n not in before.notices))

    def summary(self, env: Env, parsed: dict[str, Any]) -> list[tuple[str, str]]:
        return []

    def save(self, env: Env, parsed: dict[str, Any], values: dict[str, str]) -> tuple[str, tuple, dict[str, Any]]:
        """Do it: the Chinese msgid of the message shown afterwards, the notices, the message's values."""
        raise NotImplementedError


def _insutype_choices(env: Env) -> list[tuple[str, str]]:
    return [(r.code, f"{r.code} {env.label('insutype', r.code)}") for r in rows("insutype") if not InsuType(r.code).is_legacy]


def _psn_type_choices(env: Env) -> list[tuple[str, str]]:
    return [(r.code, f"{r.code} {env.label('psn_type', r.code)}") for r in rows("psn_type") if len(r.code) == 4]


def _region_choices(env: Env) -> list[tuple[str, str]]:
    policy = env.service.policy
    return [(r, f"{r} {policy.region_name(r)}") for r in policy.regions() if env.principal.serves(r)]


def _payer_choices(env: Env) -> list[tuple[str, str]]:
    return [(p.value, PAYER_ZH[p.value]) for p in PayerType]


def _reason_choices(env: Env) -> list[tuple[str, str]]:
    from .timeline_svg import STATUS_REASON_ZH

    return [(r.value, STATUS_REASON_ZH.get(r.value, r.value)) for r in SUSPEND_REASONS]


class Enroll(Action):
    name, title = "enroll", "参保登记"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("insutype", "险种", "select", choices=_insutype_choices),
        FieldSpec("region", "统筹区", "select", choices=_region_choices),
        FieldSpec("psn_type", "人员类别", "select", choices=_psn_type_choices),
        FieldSpec("start", "参保开始日期", "date"),
        FieldSpec("employer", "单位统一社会信用代码", required=False, hint="单位职工必填，灵活就业和居民不填"),
        FieldSpec("monthly_wage", "月缴费工资（元）", "number", required=False, hint="职工医保按此核定缴费基数"),
    ]

    def defaults(self, env: Env) -> dict[str, str]:
        regions = _region_choices(env)
        return {"insutype": "390", "psn_type": "1501", "start": env.today.isoformat(), "region": regions[0][0] if len(regions) == 1 else ""}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        start = _collect(values, {"start": lambda: _day(values, "start")})["start"]

        def insutype() -> InsuType:
            return InsuType(parse_code("insutype", _required(values, "insutype"), field="insutype", on=start))

        def region() -> str:
            r = env.service.policy.check_region(_required(values, "region"))
            check_region(env.principal, r, field="region")
            return r

        def wage() -> Decimal | None:
            raw = (values.get("monthly_wage") or "").strip()
            if not raw:
                return None
            amount = yuan(raw, field="monthly_wage")
            if amount < 0 or amount != amount.quantize(Decimal("0.01")):
                raise YibaoError(INVALID_INPUT, field="monthly_wage", reason="金额应为不小于0、最多两位小数 / a non-negative amount with at most two decimals")
            return amount

        parsed = _collect(values, {
            "insutype": insutype,
            "region": region,
            "psn_type": lambda: PsnType(parse_code("psn_type", _required(values, "psn_type"), field="psn_type", on=start)),
            "employer": lambda: ids.validate_uscc(values["employer"].strip(), field="employer") if (values.get("employer") or "").strip() else None,
            "monthly_wage": wage,
        })
        parsed["start"] = start
        _collect(values, {"psn_type": lambda: check_psn_type_matches(parsed["psn_type"], InsuType(RIDER_BASE.get(parsed["insutype"].value, parsed["insutype"].value)))})
        return parsed

    def changed_facts(self, env: Env, p: dict[str, Any]) -> PersonFacts:
        wages = (DeclaredWage(YearMonth.of(p["start"]), p["monthly_wage"]),) if p["monthly_wage"] is not None else ()
        new = Enrollment("（新）", p["insutype"], p["region"], p["psn_type"], p["start"], employer=p["employer"], wages=wages, recorded_on=env.today)
        return replace(env.facts, enrollments=(*env.facts.enrollments, new))

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        out = [
            ("险种", f"{p['insutype'].value} {env.label('insutype', p['insutype'].value)}"),
            ("统筹区", f"{p['region']} {env.service.policy.region_name(p['region'])}"),
            ("人员类别", f"{p['psn_type'].value} {env.label('psn_type', p['psn_type'].value)}"),
            ("参保开始日期", p["start"].isoformat()),
        ]
        if p["employer"]:
            out.append(("单位统一社会信用代码", p["employer"]))
        if p["monthly_wage"] is not None:
            out.append(("月缴费工资（元）", format(p["monthly_wage"], "f")))
        return out

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        d = env.service.enroll(
            env.facts.person_id, by=env.principal.by, insutype=p["insutype"].value, region=p["region"], psn_type=p["psn_type"].value,
            start=p["start"], employer=p["employer"], monthly_wage=p["monthly_wage"],
        )
        return N_("已建立参保关系 {relation}"), d.notices, {"relation": d.value}


class Payment(Action):
    name, title = "payment", "记录缴费"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("relation_id", "参保关系", "select", choices=_my_relations),
        FieldSpec("period", "费款所属期", hint="职工医保填月份 YYYY-MM，居民医保填待遇年度 YYYY"),
        FieldSpec("payer", "缴费主体", "select", choices=_payer_choices),
        FieldSpec("amount", "金额（元）", "number"),
        FieldSpec("paid_on", "缴费日期", "date"),
    ]

    def defaults(self, env: Env) -> dict[str, str]:
        return {"paid_on": env.today.isoformat(), "payer": "INDIVIDUAL", "period": str(YearMonth.of(env.today))}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        def amount() -> Decimal:
            a = yuan(_required(values, "amount"), field="amount")
            if a == 0 or a != a.quantize(Decimal("0.01")):
                raise YibaoError(INVALID_INPUT, field="amount", reason="金额不能为0，最多两位小数 / non-zero, at most two decimals")
            return a

        parsed = _collect(values, {
            "relation": lambda: _relation(env, values),
            "payer": lambda: _payer(values),
            "amount": amount,
            "paid_on": lambda: _day(values, "paid_on"),
        })
        raw = _collect(values, {"period": lambda: _required(values, "period")})["period"]
        rel: Enrollment = parsed["relation"]
        month = year = None
        if rel.scheme is not None and rel.scheme.value == "390" and raw.isdigit() and len(raw) == 4:
            year = int(raw)
        else:
            try:
                month = YearMonth.parse(raw, field="period")
            except YibaoError:
                raise FormErrors({"period": YibaoError(BAD_PERIOD, field="period", value=raw)}) from None
        parsed.update(month=month, benefit_year=year)
        return parsed

    def line(self, p: dict[str, Any], key: str | None = None) -> ContributionLine:
        return ContributionLine(p["relation"].relation_id, ContributionKind.REGULAR, p["payer"], p["paid_on"], p["amount"], month=p["month"], benefit_year=p["benefit_year"], key=key)

    def changed_facts(self, env: Env, p: dict[str, Any]) -> PersonFacts:
        return replace(env.facts, contributions=(*env.facts.contributions, replace(self.line(p), recorded_on=env.today)))

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        return [
            ("参保关系", p["relation"].relation_id),
            ("费款所属期", str(p["month"] or p["benefit_year"])),
            ("缴费主体", PAYER_ZH[p["payer"].value]),
            ("金额（元）", format(p["amount"], "f")),
            ("缴费日期", p["paid_on"].isoformat()),
        ]

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        posted = env.service.record_contributions(env.facts.person_id, [self.line(p)], by=env.principal.by)
        return (N_("已记录缴费 {new} 条") if posted.new else N_("该笔缴费此前已记录，未重复记账")), (), {"new": posted.new}


def _payer(values: dict[str, str]) -> PayerType:
    raw = _required(values, "payer")
    try:
        return PayerType(raw)
    except ValueError:
        raise YibaoError(INVALID_INPUT, field="payer", reason=f"未知缴费主体 / unknown payer {raw}") from None


class Backpay(Action):
    name, title = "backpay", "补缴报价与记账"
    fields: ClassVar[list[FieldSpec]] = [FieldSpec("pay_on", "缴费日期", "date", hint="按该日报价应缴（含补缴）金额"), FieldSpec("payment_key", "缴费幂等键", "hidden", required=False)]
    confirm_label = "确认收款并记账"

    def defaults(self, env: Env) -> dict[str, str]:
        return {"pay_on": env.today.isoformat()}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        parsed = _collect(values, {"pay_on": lambda: _day(values, "pay_on")})
        try:
            decision = env.service.quote(env.facts.person_id, parsed["pay_on"])
        except YibaoError as exc:
            raise FormErrors({"pay_on" if exc.field in (None, "pay_on", "on") else None: exc}) from None
        for item in decision.value.items:
            _collect(values, {"pay_on": lambda item=item: check_relation(env.principal, env.scope, item.relation_id, field="pay_on")})
        parsed["decision"] = decision
        values.setdefault("payment_key", "")
        if not values["payment_key"]:
            values["payment_key"] = f"web-{uuid.uuid4().hex[:16]}"
        return parsed

    def effect(self, env: Env, p: dict[str, Any]) -> Effect:
        before = _timeline(env, env.facts)
        q: Quote = p["decision"].value
        return Effect(before, None, [("缴费日期", p["pay_on"].isoformat())], quote=q, notices=p["decision"].notices)

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        key = (values.get("payment_key") or "").strip()
        if not key:
            raise FormErrors({None: YibaoError(PAYMENT_KEY_MISSING, field="payment_key")})
        posted = env.service.post_backpayment(env.facts.person_id, p["pay_on"], by=env.principal.by, payment_key=key)
        return (N_("已记账 {new} 条缴费明细") if posted.new else N_("该笔缴费此前已记账，未重复记账")), (), {"new": posted.new}


class StatusAction(Action):
    status = InsuStatus.SUSPENDED
    with_reason = True

    def defaults(self, env: Env) -> dict[str, str]:
        mine = _my_relations(env)
        return {"effective": env.today.isoformat(), "relation_id": mine[0][0] if len(mine) == 1 else "", "reason": "OTHER"}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        def reason() -> StatusReason:
            if not self.with_reason:
                return StatusReason.RESTORE
            raw = _required(values, "reason")
            if raw not in {r.value for r in SUSPEND_REASONS}:
                raise YibaoError(INVALID_INPUT, field="reason", reason=f"未知原因 / unknown reason {raw}")
            return StatusReason(raw)

        def note() -> str:
            text = (values.get("note") or "").strip()
            if len(text) > 500:
                raise YibaoError(INVALID_INPUT, field="note", reason="最多 500 个字符 / at most 500 characters")
            return text

        parsed = _collect(values, {"relation": lambda: _relation(env, values), "effective": lambda: _day(values, "effective"), "reason": reason, "note": note})
        rel: Enrollment = parsed["relation"]
        terminated = next((c.effective for c in rel.status_changes if c.status is InsuStatus.TERMINATED), None)
        _collect(values, {"effective": lambda: check_transition(rel.status_on(max(parsed["effective"], rel.start)), self.status, terminated_on=terminated, field="effective")})
        return parsed

    def changed_facts(self, env: Env, p: dict[str, Any]) -> PersonFacts:
        change = StatusChange(p["effective"], self.status, p["reason"], p["note"], env.today, env.principal.by)
        rels = tuple(replace(e, status_changes=(*e.status_changes, change)) if e.relation_id == p["relation"].relation_id else e for e in env.facts.enrollments)
        return replace(env.facts, enrollments=rels)

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        from .timeline_svg import STATUS_REASON_ZH

        out = [("参保关系", p["relation"].relation_id), ("生效日期", p["effective"].isoformat())]
        if self.with_reason:
            out.append(("原因", STATUS_REASON_ZH.get(p["reason"].value, p["reason"].value)))
        if p["note"]:
            out.append(("备注", p["note"]))
        return out

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        env.service.change_status(
            env.facts.person_id, p["relation"].relation_id, by=env.principal.by, status=self.status, effective=p["effective"], reason=p["reason"], note=p["note"]
        )
        return self.done, (), {"relation": p["relation"].relation_id, "effective": p["effective"].isoformat()}


_STATUS_FIELDS = [FieldSpec("relation_id", "参保关系", "select", choices=_my_relations), FieldSpec("effective", "生效日期", "date")]


class Suspend(StatusAction):
    name, title, status, done = "suspend", "暂停参保关系", InsuStatus.SUSPENDED, N_("参保关系 {relation} 自 {effective} 起暂停")
    fields: ClassVar[list[FieldSpec]] = [*_STATUS_FIELDS, FieldSpec("reason", "原因", "select", choices=_reason_choices), FieldSpec("note", "备注", "textarea", required=False)]


class Restore(StatusAction):
    name, title, status, done, with_reason = "restore", "恢复参保关系", InsuStatus.NORMAL, N_("参保关系 {relation} 自 {effective} 起恢复"), False
    fields: ClassVar[list[FieldSpec]] = [*_STATUS_FIELDS, FieldSpec("note", "备注", "textarea", required=False)]


class Terminate(StatusAction):
    name, title, status, done = "terminate", "终止参保关系", InsuStatus.TERMINATED, N_("参保关系 {relation} 自 {effective} 起终止")
    fields: ClassVar[list[FieldSpec]] = Suspend.fields
    confirm_label = "确认终止（不可撤销）"


class Death(Action):
    name, title = "death", "登记死亡"
    fields: ClassVar[list[FieldSpec]] = [FieldSpec("death_date", "死亡日期", "date")]
    confirm_label = "确认登记死亡"

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        return _collect(values, {"death_date": lambda: _day(values, "death_date")})

    def changed_facts(self, env: Env, p: dict[str, Any]) -> PersonFacts:
        return replace(env.facts, death_date=p["death_date"], death_recorded_on=env.today)

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        return [("死亡日期", p["death_date"].isoformat())]

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        env.service.record_death(env.facts.person_id, p["death_date"], by=env.principal.by)
        return N_("已登记死亡日期 {death}"), (), {"death": p["death_date"].isoformat()}


def _all_relations(env: Env) -> list[tuple[str, str]]:
    return [(e.relation_id, f"{e.relation_id} · {env.label('insutype', e.insutype.value)} · {e.region}") for e in env.facts.enrollments]


def _optional_money(values: dict[str, str], name: str) -> Decimal | None:
    raw = (values.get(name) or "").strip()
    if not raw:
        return None
    amount = yuan(raw, field=name)
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise YibaoError(INVALID_INPUT, field=name, reason="金额应为不小于0、最多两位小数 / a non-negative amount with at most two decimals")
    return amount


class TransferOut(Action):
    """转移接续·转出 (R-XFER-001…004): the case, the deadline and the account are decided by the service when saving."""

    name, title = "transfer", "转移接续（转出）"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("relation_id", "转出的参保关系", "select", choices=_my_relations),
        FieldSpec("receiving_relation_id", "转入地参保关系", "select", choices=_all_relations, hint="须先在转入地办理参保登记"),
        FieldSpec("accepted_on", "受理日期", "date"),
        FieldSpec("terminate_on", "停保日期", "date", required=False, hint="转出关系尚未停保时填写，保存时一并终止"),
        FieldSpec("account_balance", "个人账户余额（元）", "number", required=False, hint="不填则按缴费记录计算"),
    ]
    confirm_label = "确认受理转出"

    def defaults(self, env: Env) -> dict[str, str]:
        return {"accepted_on": env.today.isoformat()}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        def receiving() -> str:
            rid = _required(values, "receiving_relation_id")
            if rid not in {e.relation_id for e in env.facts.enrollments}:
                raise YibaoError(RELATION_NOT_FOUND, field="receiving_relation_id", relation_id=rid, psn_no=env.facts.person_id)
            return rid

        return _collect(values, {
            "relation": lambda: _relation(env, values),
            "receiving_relation_id": receiving,
            "accepted_on": lambda: _day(values, "accepted_on"),
            "terminate_on": lambda: _day(values, "terminate_on", required=False),
            "account_balance": lambda: _optional_money(values, "account_balance"),
        })

    def effect(self, env: Env, p: dict[str, Any]) -> Effect:
        return Effect(_timeline(env, env.facts), None, self.summary(env, p), note=N_("转移类型、办结期限与账户余额由记录服务在保存时判定（R-XFER-001…004），结果显示在参保人页面。"))

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        out = [("转出的参保关系", p["relation"].relation_id), ("转入地参保关系", p["receiving_relation_id"]), ("受理日期", p["accepted_on"].isoformat())]
        if p["terminate_on"]:
            out.append(("停保日期", p["terminate_on"].isoformat()))
        if p["account_balance"] is not None:
            out.append(("个人账户余额（元）", format(p["account_balance"], "f")))
        return out

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        d = env.service.transfer_out(
            env.facts.person_id, p["relation"].relation_id, by=env.principal.by, receiving_relation_id=p["receiving_relation_id"],
            accepted_on=p["accepted_on"], terminate_on=p["terminate_on"], account_balance=p["account_balance"],
        )
        return N_("已受理转出 {transfer_no}，应于 {due} 前办结"), d.notices, {"transfer_no": d.value.transfer_no, "due": d.value.due_on.isoformat()}


REFUND_RULE_ZH = {
    "R-REF-001": "居民参保后当年转为其他参保（R-REF-001）",
    "R-REF-003": "灵活就业预缴后由单位参保（R-REF-003）",
    "R-REF-005": "参保人死亡后退还继承人（R-REF-005）",
}


class Refund(Action):
    """退费申请 (R-REF-001/003/005): what is refundable is decided by the service when saving."""

    name, title = "refund", "退费申请"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("relation_id", "参保关系", "select", choices=_my_relations),
        FieldSpec("rule", "退费情形", "select", choices=lambda env: list(REFUND_RULE_ZH.items())),
        FieldSpec("event_date", "事件日期", "date", required=False, hint="R-REF-001：转为其他参保的日期"),
        FieldSpec("year", "待遇年度", required=False, hint="R-REF-001 / R-REF-003：预缴的年度 YYYY"),
        FieldSpec("first_unit_month", "单位缴费起始月", required=False, hint="R-REF-003：YYYY-MM"),
    ]
    confirm_label = "确认受理退费申请"

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        def rule() -> str:
            r = _required(values, "rule")
            if r not in REFUND_RULE_ZH:
                raise YibaoError(INVALID_INPUT, field="rule", reason=f"未知退费情形 / unknown refund rule {r}")
            return r

        def year() -> int | None:
            raw = (values.get("year") or "").strip()
            if not raw:
                return None
            if not (raw.isdigit() and len(raw) == 4):
                raise YibaoError(BAD_PERIOD, field="year", value=raw)
            return int(raw)

        def month() -> YearMonth | None:
            raw = (values.get("first_unit_month") or "").strip()
            return YearMonth.parse(raw, field="first_unit_month") if raw else None

        return _collect(values, {
            "relation": lambda: _relation(env, values), "rule": rule, "event_date": lambda: _day(values, "event_date", required=False),
            "year": year, "first_unit_month": month,
        })

    def effect(self, env: Env, p: dict[str, Any]) -> Effect:
        return Effect(_timeline(env, env.facts), None, self.summary(env, p), note=N_("可退金额按缴费渠道由记录服务在保存时计算（R-REF-002），申请待审核后才记退费明细。"))

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        out = [("参保关系", p["relation"].relation_id), ("退费情形", REFUND_RULE_ZH[p["rule"]])]
        for key, label in (("event_date", "事件日期"), ("year", "待遇年度"), ("first_unit_month", "单位缴费起始月")):
            if p[key] is not None:
                out.append((label, str(p[key])))
        return out

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        d = env.service.apply_refund(
            env.facts.person_id, p["relation"].relation_id, by=env.principal.by, rule=p["rule"], event_date=p["event_date"], year=p["year"],
            first_unit_month=p["first_unit_month"],
        )
        return N_("已受理退费申请 {refund_no}，可退 {total} 元，待审核"), d.notices, {"refund_no": d.value.refund_no, "total": format(d.value.total, "f")}


ACTIONS: dict[str, Action] = {a.name: a for a in (Enroll(), Payment(), Backpay(), Suspend(), Restore(), Terminate(), TransferOut(), Refund(), Death())}

FIELD_ALIASES = {"month": "period", "benefit_year": "period", "relation": "relation_id", "cert_no": None, "status": None}


def form_field(action: Action, exc: YibaoError) -> str | None:
    """The form field a service error is about (``lines.0.amount`` → ``amount``), or None for the whole form."""
    if not exc.field:
        return None
    last = exc.field.split(".")[-1]
    last = FIELD_ALIASES.get(last, last) or ""
    names = {f.name for f in action.fields if f.kind != "hidden"}
    return last if last in names else None


__all__ = ["ACTIONS", "PAYER_ZH", "Action", "Effect", "Env", "FieldSpec", "FormErrors", "form_field"]

from . import actions_more  # noqa: F401 - registers transfer in, refund decision, retirement, corrections into ACTIONS
