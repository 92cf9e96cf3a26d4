"""More of the clerk's actions, on the same three steps as :mod:`yibao.web.actions` (edit → review →
confirm; the review writes nothing): 转入 transfer in, 退费审核 refund decision, 退休 retirement (the
lump-sum top-up and the conversion) and 更正 corrections (a person's attributes, a relation's columns).

Every save goes through :class:`~yibao.service.records.RecordsService` with the logged-in clerk as
``by``; the region rule is the API's (``api/routes/cases.py``, ``api/routes/corrections.py``): the
transfer-in needs the receiving relation's region, a refund decision the refunded relation's region,
retirement and a relation correction the relation's region; a person correction needs the person to
be visible. The review shows what the rules compute on the stored facts (the deadlines, the account
reconciliation, the cumulative years, the lines an approval posts, before → after); the service
checks everything again when saving and its errors come back beside their field.

Registered into :data:`yibao.web.actions.ACTIONS` when that module is imported.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from yibao import ids
from yibao.api.access import check_region, check_relation
from yibao.codes import (
    RIDER_BASE,
    InsuType,
    PsnType,
    Scheme,
    check_psn_type_matches,
    parse_code,
)
from yibao.errors import INVALID_INPUT, YibaoError
from yibao.explain import Decision
from yibao.model import EventKind, LifeEvent, PersonFacts
from yibao.rules import transfer as xfer
from yibao.rules.retirement import cumulative_months
from yibao.service.cases import (
    REFUND_ALREADY_DECIDED,
    REFUND_NOT_FOUND,
    RET_NO_SHORTFALL,
    TRANSFER_ALREADY_IN,
    TRANSFER_NOT_FOUND,
    RefundCase,
    RetirementReview,
    TransferStep,
)
from yibao.service.corrections import (
    BIRTH_IN_FUTURE,
    CORRECTION_EMPTY,
    CORRECTION_PERIOD,
    DERIVED_CONTRADICTION,
)
from yibao.store.errors import REASON_REQUIRED, RELATION_NOT_FOUND

from .actions import (
    ACTIONS,
    PAYER_ZH,
    PAYMENT_KEY_MISSING,
    REFUND_RULE_ZH,
    Action,
    Effect,
    Env,
    FieldSpec,
    FormErrors,
    _collect,
    _day,
    _optional_money,
    _psn_type_choices,
    _relation,
    _required,
    form_field,
)
from .messages import N_

ACCOUNT_STATE_ZH = {
    "NO_ACCOUNT": N_("无个人账户（居民医保）"),
    "AWAITING_MONEY": N_("待资金到账"),
    "AWAITING_FORM": N_("待收到信息表"),
    "SUSPENSE": N_("暂挂（资金与信息表不一致或先于信息表到账）"),
    "CREDITED": N_("已对账并记入个人账户"),
}
CHANNEL_ZH = {"PERSON": N_("退回缴费人"), "HEIRS": N_("退给法定继承人"), "ASSISTANCE_FUND": N_("退回医疗救助基金"), "PAYER": N_("退回代缴方或原账户")}
DECISIONS = {"APPROVE": N_("批准（记录退费明细）"), "REJECT": N_("驳回")}
SEX_ZH = {"M": N_("男"), "F": N_("女")}
CLEAR = "-"  # typed into an optional relation column: clear it


@dataclass(frozen=True)
class Table:
    """A table of the review: the title and headers are Chinese msgids; cells are translated when they are one."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class MoreEffect(Effect):
    """The effect with tables and the rules' reasons, drawn by ``_effect_more.html``."""

    template: str = "_effect_more.html"
    tables: tuple[Table, ...] = ()
    reasons: tuple = ()
    warning: str = ""  # a Chinese msgid shown as a warning (e.g. the save will be refused)


def _more(action: Action, env: Env, p: dict[str, Any], **more: Any) -> MoreEffect:
    """The base effect (timelines before and after ``changed_facts``, new notices) plus tables and reasons."""
    base = Action.effect(action, env, p)
    notices = more.pop("notices", ())
    return MoreEffect(**{**vars(base), "notices": (*base.notices, *notices), **more})


def _refusal(action: Action, exc: YibaoError, default: str | None) -> FormErrors:
    """A service or rule error at the review step, beside its field (or ``default``)."""
    return FormErrors({form_field(action, exc) or default: exc})


def _reason_text(values: dict[str, str], name: str = "reason", *, required: bool = True) -> str:
    text = (values.get(name) or "").strip()
    if required and not text:
        raise YibaoError(REASON_REQUIRED, field=name)
    if len(text) > 500:
        raise YibaoError(INVALID_INPUT, field=name, reason="最多 500 个字符 / at most 500 characters")
    return text


def _payment_key(values: dict[str, str]) -> None:
    """A payment key made at the review step (kept in a hidden field): a double click posts once."""
    if not (values.get("payment_key") or "").strip():
        values["payment_key"] = f"web-{uuid.uuid4().hex[:16]}"


# ------------------------------------------------------------------------------------------ transfer in


def _open_transfers(env: Env) -> list[TransferStep]:
    """Transfers out whose receiving relation is in the clerk's regions and that are not received yet."""
    steps = env.service.transfers(env.facts.person_id)
    received = {s.transfer_no for s in steps if s.step == "IN"}
    return [s for s in steps if s.step == "OUT" and s.transfer_no not in received and env.principal.serves(s.other_region)]


class TransferIn(Action):
    """转移接续·转入 (R-XFER-002/003/004): the receiving region received the information form."""

    name, title, group = "transfer_in", "转移接续（转入）", "more"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("transfer_no", "转移编号", "select",
                  choices=lambda env: [(s.transfer_no, f"{s.transfer_no} · {s.relation_id} {s.region} → {s.other_relation_id} {s.other_region}")
                                       for s in _open_transfers(env)]),
        FieldSpec("form_received_on", "收到信息表日期", "date"),
        FieldSpec("remitted_amount", "到账金额（元）", "number", required=False, hint="个人账户余额资金已到账时填写，与到账日期同时填写"),
        FieldSpec("money_received_on", "资金到账日期", "date", required=False),
    ]
    confirm_label = "确认办理转入"

    def defaults(self, env: Env) -> dict[str, str]:
        open_ = _open_transfers(env)
        return {"form_received_on": env.today.isoformat(), "transfer_no": open_[0].transfer_no if len(open_) == 1 else ""}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        def step() -> TransferStep:
            no = _required(values, "transfer_no")
            steps = [s for s in env.service.transfers(env.facts.person_id) if s.transfer_no == no]
            out = next((s for s in steps if s.step == "OUT"), None)
            if out is None:
                raise YibaoError(TRANSFER_NOT_FOUND, field="transfer_no", transfer_no=no)
            if any(s.step == "IN" for s in steps):
                raise YibaoError(TRANSFER_ALREADY_IN, field="transfer_no", transfer_no=no)
            check_region(env.principal, out.other_region, field="transfer_no", relation=out.other_relation_id)  # the receiving region's
            if not any(e.relation_id == out.other_relation_id for e in env.facts.enrollments):
                raise YibaoError(RELATION_NOT_FOUND, field="transfer_no", relation_id=out.other_relation_id, psn_no=env.facts.person_id)
            return out

        p = _collect(values, {
            "transfer_no": step,  # the key names the field an error is shown beside
            "form_received_on": lambda: _day(values, "form_received_on"),
            "remitted_amount": lambda: _optional_money(values, "remitted_amount"),
            "money_received_on": lambda: _day(values, "money_received_on", required=False),
        })
        if (p["remitted_amount"] is None) != (p["money_received_on"] is None):
            name = "money_received_on" if p["money_received_on"] is None else "remitted_amount"
            raise FormErrors({name: YibaoError(INVALID_INPUT, field=name, reason="到账金额与到账日期须同时填写 / the amount and the day it arrived go together")})
        return p

    def effect(self, env: Env, p: dict[str, Any]) -> Effect:
        """What the service records, computed by the same rules: the deadline, the account, the cumulative months."""
        out: TransferStep = p["transfer_no"]
        to = next(e for e in env.facts.enrollments if e.relation_id == out.other_relation_id)
        policy = env.service.policy
        try:
            deadlines = xfer.transfer_deadlines(policy, sending_region=out.region, receiving_region=out.other_region, accepted_on=out.on,
                                                form_received_on=p["form_received_on"])
        except YibaoError as exc:
            raise _refusal(self, exc, "form_received_on") from None
        try:
            money = xfer.account_on_transfer(policy, scheme=to.scheme or Scheme.RESIDENT, form_balance=out.account_balance,
                                             form_received_on=p["form_received_on"], remitted_amount=p["remitted_amount"],
                                             money_received_on=p["money_received_on"])
        except YibaoError as exc:
            raise _refusal(self, exc, "remitted_amount") from None
        reasons = [*deadlines.reasons, *money.reasons]
        m = money.value
        rows = [
            (N_("转入办结期限"), str(deadlines.value.transfer_in_due or "—")),
            (N_("转出地信息表所载账户余额（元）"), _amount(out.account_balance)),
            (N_("转出地记载的累计缴费月数"), _num(out.cumulative_months)),
            (N_("个人账户处理"), ACCOUNT_STATE_ZH.get(m.state.value, m.state.value)),
            (N_("记入个人账户（元）"), _amount(m.credit_amount)),
            (N_("暂挂（元）"), _amount(m.suspense_amount)),
        ]
        if to.scheme is Scheme.EMPLOYEE:
            carried = cumulative_months(env.facts, policy, to.region, p["form_received_on"])
            rows.append((N_("转入后累计缴费月数"), str(carried.value.total)))
            reasons.extend(carried.reasons)
        return _more(self, env, p, tables=(Table(N_("转入后的效果"), (N_("项目"), N_("值")), tuple(rows)),), reasons=tuple(reasons),
                     notices=money.notices)

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        out: TransferStep = p["transfer_no"]
        rows = [
            (N_("转移编号"), out.transfer_no),
            (N_("转出的参保关系"), f"{out.relation_id} · {out.region}"),
            (N_("转入地参保关系"), f"{out.other_relation_id} · {out.other_region}"),
            (N_("受理日期"), out.on.isoformat()),
            (N_("收到信息表日期"), p["form_received_on"].isoformat()),
        ]
        if p["remitted_amount"] is not None:
            rows += [(N_("到账金额（元）"), format(p["remitted_amount"], "f")), (N_("资金到账日期"), p["money_received_on"].isoformat())]
        return rows

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        d = env.service.transfer_in(env.facts.person_id, p["transfer_no"].transfer_no, by=env.principal.by, form_received_on=p["form_received_on"],
                                    remitted_amount=p["remitted_amount"], money_received_on=p["money_received_on"])
        step = d.value
        return N_("已办理转入 {transfer_no}，应于 {due} 前办结；记入个人账户 {credited} 元"), d.notices, {
            "transfer_no": step.transfer_no, "due": step.due_on.isoformat(), "credited": _amount(step.account_credited or Decimal("0.00"))}


def _amount(value: Decimal | None) -> str:
    return "—" if value is None else format(value, "f")


def _num(value: int | None) -> str:
    return "—" if value is None else str(value)


# ------------------------------------------------------------------------------------------ refund decision


def _open_refunds(env: Env) -> list[RefundCase]:
    regions = {e.relation_id: e.region for e in env.facts.enrollments}
    return [r for r in env.service.refunds(env.facts.person_id) if r.outcome is None and env.principal.serves(regions.get(r.relation_id, ""))]


def _period(line: dict[str, Any]) -> str:
    return str(line.get("month") or line.get("benefit_year") or "—")


class RefundDecision(Action):
    """退费审核 (R-REF-001…005): approve (the refund lines are posted) or reject an open application, once."""

    name, title, group = "refund_decision", "退费审核", "more"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("refund_no", "退费申请", "select",
                  choices=lambda env: [(r.refund_no, f"{r.refund_no} · {r.relation_id} · {r.rule} · {r.total}") for r in _open_refunds(env)]),
        FieldSpec("decision", "审核结果", "select", choices=lambda env: list(DECISIONS.items())),
        FieldSpec("reason", "审核意见", "textarea", hint="批准或驳回的理由，记入审计日志"),
    ]
    confirm_label = "确认审核"

    def defaults(self, env: Env) -> dict[str, str]:
        open_ = _open_refunds(env)
        return {"refund_no": open_[0].refund_no if len(open_) == 1 else ""}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        def case() -> RefundCase:
            no = _required(values, "refund_no")
            found = next((r for r in env.service.refunds(env.facts.person_id) if r.refund_no == no), None)
            if found is None:
                raise YibaoError(REFUND_NOT_FOUND, field="refund_no", refund_no=no)
            check_relation(env.principal, env.scope, found.relation_id, field="refund_no")
            if found.outcome is not None:
                raise YibaoError(REFUND_ALREADY_DECIDED, field="refund_no", refund_no=no, on="—", outcome=found.outcome)
            return found

        def decision() -> bool:
            raw = _required(values, "decision")
            if raw not in DECISIONS:
                raise YibaoError(INVALID_INPUT, field="decision", reason=f"批准或驳回 / APPROVE or REJECT, not {raw}")
            return raw == "APPROVE"

        p = _collect(values, {"refund_no": case, "decision": decision, "reason": lambda: _reason_text(values)})
        return {**p, "case": p["refund_no"], "approve": p["decision"]}

    def effect(self, env: Env, p: dict[str, Any]) -> Effect:
        case: RefundCase = p["case"]
        if not p["approve"]:
            return _more(self, env, p, note=N_("驳回不记录退费明细；申请人可重新申请。"))
        today = env.today.isoformat()
        rows = tuple(
            (_period(line), PAYER_ZH.get(str(line.get("payer")), str(line.get("payer"))), CHANNEL_ZH.get(str(line.get("channel")), str(line.get("channel"))),
             today, format(-Decimal(str(line["amount"])), "f"))
            for line in case.lines
        )
        table = Table(N_("批准后记录的退费明细（类型 20，负数）"), (N_("所属期"), N_("缴费主体"), N_("退回渠道"), N_("缴费日期"), N_("金额（元）")), rows)
        return _more(self, env, p, tables=(table,),
                     note=N_("批准时按当前缴费记录复核：受理后缴费记录已变化的申请不能批准（REFUND_STALE），请驳回后重新申请。"))

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        case: RefundCase = p["case"]
        return [
            (N_("退费申请"), case.refund_no),
            (N_("参保关系"), case.relation_id),
            (N_("退费情形"), REFUND_RULE_ZH.get(case.rule, case.rule)),
            (N_("申请可退金额（元）"), format(case.total, "f")),
            (N_("审核结果"), DECISIONS["APPROVE" if p["approve"] else "REJECT"]),
            (N_("审核意见"), p["reason"]),
        ]

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        d = env.service.decide_refund(env.facts.person_id, p["case"].refund_no, by=env.principal.by, approve=p["approve"], reason=p["reason"])
        if p["approve"]:
            return N_("已批准退费申请 {refund_no}，记录退费明细 {n} 条"), d.notices, {"refund_no": d.value.refund_no, "n": len(d.value.refund_keys)}
        return N_("已驳回退费申请 {refund_no}"), d.notices, {"refund_no": d.value.refund_no}


# ------------------------------------------------------------------------------------------ retirement


def _employee_relations(env: Env) -> list[tuple[str, str]]:
    return [
        (e.relation_id, f"{e.relation_id} · {env.label('insutype', e.insutype.value)} · {e.region} · {e.psn_type.value} {env.label('psn_type', e.psn_type.value)}")
        for e in env.facts.enrollments
        if e.insutype is InsuType.EMPLOYEE_BASIC and env.principal.serves(e.region)
    ]


def _retirement_table(env: Env, review: RetirementReview) -> Table:
    c = review.cumulative
    rows: list[tuple[str, str]] = [
        (N_("累计缴费月数"), str(c.total)),
        (N_("职工医保实际缴费月数"), str(c.employee_paid_months)),
        (N_("各统筹区缴费月数"), "；".join(f"{region} {env.service.policy.region_name(region)}: {n}" for region, n in c.paid_by_region) or "—"),
        (N_("视同缴费月数"), str(c.deemed_total)),
        (N_("一次性补缴月数"), str(c.lump_sum_months)),
        (N_("重复缴费月数（只计一次）"), str(c.duplicate_months)),
    ]
    if review.check is not None:
        k = review.check
        rows += [
            (N_("最低缴费年限（年）"), f"{k.min_years}（{SEX_ZH.get(k.sex, k.sex)}）"),
            (N_("最低缴费月数"), str(k.required_months)),
            (N_("差额月数"), str(k.shortfall_months)),
            (N_("达到最低缴费年限"), N_("是") if k.meets else N_("否")),
        ]
    if review.topup is not None:
        t = review.topup
        rows += [
            (N_("一次性补缴金额（元）"), format(t.amount, "f")),
            (N_("每月金额（元）"), f"{t.monthly_amount} = {t.base_ref} × {t.rate}"),
        ]
    if review.retiree_psn_type:
        rows.append((N_("退休后人员类别"), f"{review.retiree_psn_type} {env.label('psn_type', review.retiree_psn_type)}"))
    return Table(N_("累计缴费年限（R-XFER-003、R-RET-001…003）"), (N_("项目"), N_("值")), tuple(rows))


class RetirementAction(Action):
    """The retirement review on a day, shared by the top-up and the conversion."""

    group = "more"
    day_field = "retired_on"

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        p = _collect(values, {"relation": lambda: _relation(env, values), self.day_field: lambda: _day(values, self.day_field)})
        try:
            p["review"] = env.service.retirement_review(env.facts.person_id, p["relation"].relation_id, p[self.day_field])
        except YibaoError as exc:
            raise _refusal(self, exc, None) from None
        return p

    def effect(self, env: Env, p: dict[str, Any]) -> Effect:
        review: Decision[RetirementReview] = p["review"]
        short = review.value.check is not None and not review.value.check.meets
        return _more(self, env, p, tables=(_retirement_table(env, review.value),), reasons=review.reasons, notices=review.notices,
                     warning=self.short_warning if short else "")

    short_warning = ""

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        label = next(f.label for f in self.fields if f.name == self.day_field)
        return [(N_("参保关系"), p["relation"].relation_id), (label, p[self.day_field].isoformat())]


class RetirementTopup(RetirementAction):
    """R-RET-002: the lump sum (趸缴, kind 33) that makes up the shortfall, idempotent by a key made at review."""

    name, title, day_field = "retirement_topup", "退休一次性补缴", "pay_on"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("relation_id", "职工医保参保关系", "select", choices=_employee_relations),
        FieldSpec("pay_on", "缴费日期", "date", hint="按该日核定累计年限与补缴金额"),
        FieldSpec("payment_key", "缴费幂等键", "hidden", required=False),
    ]
    confirm_label = "确认收款并记账"

    def defaults(self, env: Env) -> dict[str, str]:
        mine = _employee_relations(env)
        return {"pay_on": env.today.isoformat(), "relation_id": mine[0][0] if len(mine) == 1 else ""}

    def _posted(self, env: Env, p: dict[str, Any], values: dict[str, str]) -> bool:
        key = f"{(values.get('payment_key') or '').strip()}:{p['relation'].relation_id}:RET"
        return any(c.key == key for c in env.facts.contributions)

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        p = super().parse(env, values)
        if p["review"].value.topup is None and not self._posted(env, p, values):  # a repeat of a posted key is the service's to answer
            raise FormErrors({"relation_id": YibaoError(RET_NO_SHORTFALL, field="relation_id")})
        _payment_key(values)
        return p

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        key = (values.get("payment_key") or "").strip()
        if not key:
            raise FormErrors({None: YibaoError(PAYMENT_KEY_MISSING, field="payment_key")})
        repeat = self._posted(env, p, values)
        d = env.service.post_retirement_topup(env.facts.person_id, p["relation"].relation_id, by=env.principal.by, pay_on=p["pay_on"], payment_key=key)
        if repeat:
            return N_("该笔补缴此前已记账，未重复记账"), (), {}
        topup = d.value.topup
        return N_("已记录退休一次性补缴 {amount} 元（{months} 个月）"), d.notices, {
            "amount": format(topup.amount, "f") if topup else "—", "months": topup.shortfall_months if topup else 0}


class Retire(RetirementAction):
    """办理退休 (R-RET-001/003): the 310 relation becomes a retiree relation; refused while the years are short."""

    name, title, day_field = "retire", "办理退休", "retired_on"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("relation_id", "职工医保参保关系", "select", choices=_employee_relations),
        FieldSpec("retired_on", "退休日期", "date"),
    ]
    confirm_label = "确认办理退休"
    short_warning = N_("累计缴费年限不足最低缴费年限：保存将被拒绝（RET_YEARS_SHORT），请先办理退休一次性补缴（R-RET-002）。")

    def defaults(self, env: Env) -> dict[str, str]:
        mine = _employee_relations(env)
        return {"retired_on": env.today.isoformat(), "relation_id": mine[0][0] if len(mine) == 1 else ""}

    def changed_facts(self, env: Env, p: dict[str, Any]) -> PersonFacts | None:
        check = p["review"].value.check
        if check is not None and not check.meets:
            return None  # refused while the years are short: no "after" to show
        event = LifeEvent(EventKind.RETIRED, p["retired_on"], p["relation"].region, env.today)
        return replace(env.facts, events=(*env.facts.events, event))

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        d = env.service.retire(env.facts.person_id, p["relation"].relation_id, by=env.principal.by, retired_on=p["retired_on"])
        return N_("参保关系 {relation} 自 {retired_on} 起转为退休人员关系（人员类别 {psn_type}）"), d.notices, {
            "relation": p["relation"].relation_id, "retired_on": p["retired_on"].isoformat(), "psn_type": d.value.retiree_psn_type or "—"}


# ------------------------------------------------------------------------------------------ corrections


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, PsnType):
        return value.value
    return str(value)


def _before_after(labels: dict[str, str], before: dict[str, Any], changes: dict[str, Any], show=_shown) -> Table:
    rows = tuple((labels[k], show(before[k]), show(v)) for k, v in changes.items())
    return Table(N_("更正前后"), (N_("项目"), N_("更正前"), N_("更正后")), rows)


class CorrectPerson(Action):
    """更正人员基本信息: name, sex, birth date (R-ID-007: a value contradicting the ID needs a stated reason)."""

    name, title, group = "correct_person", "更正人员基本信息", "more"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("name", "姓名"),
        FieldSpec("sex", "性别", "select", required=False, choices=lambda env: list(SEX_ZH.items())),
        FieldSpec("birth_date", "出生日期", "date", required=False),
        FieldSpec("reason", "更正原因", "textarea", hint="记入审计日志"),
        FieldSpec("override_reason", "与证件不一致的依据", "textarea", required=False,
                  hint="出生日期或性别与身份证件所载不一致时必填（R-ID-007），如公安机关更正证明"),
    ]
    confirm_label = "确认更正"
    labels: ClassVar[dict[str, str]] = {"name": N_("姓名"), "sex": N_("性别"), "birth_date": N_("出生日期")}

    def defaults(self, env: Env) -> dict[str, str]:
        f = env.facts
        return {"name": f.name, "sex": f.sex or "", "birth_date": f.birth_date.isoformat() if f.birth_date else ""}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        def sex() -> str | None:
            raw = (values.get("sex") or "").strip()
            if raw and raw not in SEX_ZH:
                raise YibaoError(INVALID_INPUT, field="sex", reason="sex is M or F / 性别为 M 或 F")
            return raw or None

        def birth() -> date | None:
            d = _day(values, "birth_date", required=False)
            if d is not None and d > env.today:
                raise YibaoError(BIRTH_IN_FUTURE, field="birth_date", birth=d.isoformat())
            return d

        def name() -> str:
            text = (values.get("name") or "").strip()
            return text if text or not env.facts.name else _required(values, "name")  # a name is corrected, never removed

        p = _collect(values, {
            "name": name,
            "sex": sex,
            "birth_date": birth,
            "reason": lambda: _reason_text(values),
            "override_reason": lambda: _reason_text(values, "override_reason", required=False),
        })
        before = {"name": env.facts.name, "sex": env.facts.sex, "birth_date": env.facts.birth_date}
        p["changes"] = {k: p[k] for k in before if p[k] != before[k]}
        if not p["changes"]:
            raise FormErrors({None: YibaoError(CORRECTION_EMPTY, field=None)})
        p["mismatch"] = _derived_check(env.facts, p["changes"], p["override_reason"])
        return p

    def changed_facts(self, env: Env, p: dict[str, Any]) -> PersonFacts:
        return replace(env.facts, **p["changes"])

    def effect(self, env: Env, p: dict[str, Any]) -> Effect:
        before = {"name": env.facts.name, "sex": env.facts.sex, "birth_date": env.facts.birth_date}
        table = _before_after(self.labels, before, p["changes"], show=lambda v: SEX_ZH.get(v, _shown(v)) if isinstance(v, str) else _shown(v))
        warning = N_("更正后的值与证件所载不一致，将按所填依据保存并提示（DERIVED_MISMATCH）。") if p["mismatch"] else ""
        return _more(self, env, p, tables=(table,), warning=warning)

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        out = [(N_("更正原因"), p["reason"])]
        if p["override_reason"]:
            out.append((N_("与证件不一致的依据"), p["override_reason"]))
        return out

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        d = env.service.correct_person(env.facts.person_id, by=env.principal.by, reason=p["reason"], override_reason=p["override_reason"] or None,
                                       **p["changes"])
        return N_("已更正人员基本信息（{fields}）"), d.notices, {"fields": "、".join(d.value.changed)}


def _derived_check(facts: PersonFacts, changes: dict[str, Any], override: str) -> bool:
    """R-ID-007 at the review step, as the service checks it when saving: a corrected birth date or
    sex that a document of the person contradicts is ``DERIVED_CONTRADICTION`` unless a reason is
    stated. True when a contradiction is overridden (the service will answer DERIVED_MISMATCH)."""
    overridden = False
    for doc in facts.documents:
        try:
            encoded = ids.validate_document(doc.cert_type, doc.number, nationality=doc.nationality, migration=True)
        except YibaoError:
            continue
        for attribute in ("birth_date", "sex"):
            value, derived = changes.get(attribute), getattr(encoded, attribute, None)
            if value is None or derived is None or value == derived:
                continue
            if not override:
                label, label_zh = ("birth date", "出生日期") if attribute == "birth_date" else ("sex", "性别")
                raise FormErrors({attribute: YibaoError(
                    DERIVED_CONTRADICTION, field=attribute, attribute=label, attribute_zh=label_zh, value=_shown(value), derived=_shown(derived),
                    cert_type=doc.cert_type.value, number=ids.mask(doc.number))})
            overridden = True
    return overridden


class CorrectRelation(Action):
    """更正参保关系: start, end, person category, employer (region and insutype are not corrected)."""

    name, title, group = "correct_relation", "更正参保关系", "more"
    fields: ClassVar[list[FieldSpec]] = [
        FieldSpec("relation_id", "参保关系", "select", choices=lambda env: _my_relations_detailed(env)),
        FieldSpec("start", "参保开始日期", "date", required=False, hint="留空不更正"),
        FieldSpec("end", "参保结束日期", required=False, hint="YYYY-MM-DD；留空不更正，填 - 清除结束日期"),
        FieldSpec("psn_type", "人员类别", "select", required=False, choices=_psn_type_choices, hint="不选不更正；在职不能更正为退休，请办理退休"),
        FieldSpec("employer", "单位统一社会信用代码", required=False, hint="留空不更正，填 - 清除"),
        FieldSpec("reason", "更正原因", "textarea", hint="记入审计日志"),
    ]
    confirm_label = "确认更正"
    labels: ClassVar[dict[str, str]] = {"start": N_("参保开始日期"), "end": N_("参保结束日期"), "psn_type": N_("人员类别"), "employer": N_("单位统一社会信用代码")}

    def defaults(self, env: Env) -> dict[str, str]:
        mine = _my_relations_detailed(env)
        return {"relation_id": mine[0][0] if len(mine) == 1 else ""}

    def parse(self, env: Env, values: dict[str, str]) -> dict[str, Any]:
        p = _collect(values, {"relation": lambda: _relation(env, values), "reason": lambda: _reason_text(values)})
        rel = p["relation"]

        def end() -> date | None:
            raw = (values.get("end") or "").strip()
            if raw == CLEAR:
                return None
            return _day(values, "end", required=False) or rel.end

        def psn_type() -> PsnType:
            raw = (values.get("psn_type") or "").strip()
            if not raw:
                return rel.psn_type
            pt = PsnType(parse_code("psn_type", raw, field="psn_type", on=rel.start))
            check_psn_type_matches(pt, InsuType(RIDER_BASE.get(rel.insutype.value, rel.insutype.value)), field="psn_type")
            return pt

        def employer() -> str | None:
            raw = (values.get("employer") or "").strip()
            if raw == CLEAR:
                return None
            return ids.validate_uscc(raw, field="employer") if raw else rel.employer

        p.update(_collect(values, {
            "start": lambda: _day(values, "start", required=False) or rel.start,
            "end": end, "psn_type": psn_type, "employer": employer,
        }))
        p["changes"] = {k: p[k] for k in self.labels if p[k] != getattr(rel, k)}
        if not p["changes"]:
            raise FormErrors({None: YibaoError(CORRECTION_EMPTY, field=None)})
        if p["end"] is not None and p["end"] < p["start"]:
            name = "end" if "end" in p["changes"] else "start"
            raise FormErrors({name: YibaoError(CORRECTION_PERIOD, field=name, end=p["end"].isoformat(), start=p["start"].isoformat())})
        return p

    def changed_facts(self, env: Env, p: dict[str, Any]) -> PersonFacts:
        rid = p["relation"].relation_id
        rels = tuple(replace(e, **p["changes"]) if e.relation_id == rid else e for e in env.facts.enrollments)
        return replace(env.facts, enrollments=rels)

    def effect(self, env: Env, p: dict[str, Any]) -> Effect:
        before = {k: getattr(p["relation"], k) for k in self.labels}
        return _more(self, env, p, tables=(_before_after(self.labels, before, p["changes"]),))

    def summary(self, env: Env, p: dict[str, Any]) -> list[tuple[str, str]]:
        return [(N_("参保关系"), p["relation"].relation_id), (N_("更正原因"), p["reason"])]

    def save(self, env: Env, p: dict[str, Any], values: dict[str, str]):
        changes = {k: (v.value if isinstance(v, PsnType) else v) for k, v in p["changes"].items()}
        d = env.service.correct_relation(env.facts.person_id, p["relation"].relation_id, by=env.principal.by, reason=p["reason"], **changes)
        return N_("已更正参保关系 {relation}（{fields}）"), d.notices, {"relation": p["relation"].relation_id, "fields": "、".join(d.value.changed)}


def _my_relations_detailed(env: Env) -> list[tuple[str, str]]:
    return [
        (e.relation_id, f"{e.relation_id} · {env.label('insutype', e.insutype.value)} · {e.region} · {e.start}—{e.end or ''} · {e.psn_type.value}")
        for e in env.facts.enrollments
        if env.principal.serves(e.region)
    ]


MORE_ACTIONS: tuple[Action, ...] = (TransferIn(), RefundDecision(), RetirementTopup(), Retire(), CorrectPerson(), CorrectRelation())
ACTIONS.update({a.name: a for a in MORE_ACTIONS})

__all__ = ["ACCOUNT_STATE_ZH", "CHANNEL_ZH", "DECISIONS", "MORE_ACTIONS", "MoreEffect", "Table"]

from . import actions_places  # noqa: F401 - registers the place forms (登记/撤销地点) into ACTIONS
