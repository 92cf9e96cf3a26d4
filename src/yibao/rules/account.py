"""The employee personal account (个人账户) — SPEC §7 R-ACCT-001…006.

* :func:`account_credit` / :func:`account_credits` — what a contribution month credits to the
  account: the 2021 reform rule (R-ACCT-001) from ``account.reform_effective_ym``, the region's
  legacy rule before it (R-ACCT-002, Dalian age bands by age on day 1 of the contribution month,
  E-15), and back-payment crediting by contribution kind (R-ACCT-003, A-20).
* :func:`check_account_use` — what the account may pay for (R-ACCT-004, ``ACCT_SCOPE``).
* :func:`family_aid_status`, :func:`family_aid_draw` — family mutual aid (R-ACCT-005): only the
  balance above the threshold is shareable, the beneficiary's own account pays first, then the
  shared pool, then cash. A draw returns the new balances; applying draws one after another from
  the returned balance can never take the authoriser below the threshold (E-10 at the rule level;
  the service must still lock the authoriser's account while it applies one).
* :func:`account_on_transfer`, :func:`account_on_death` — the balance moves with the person;
  debits scheduled after death are cancelled (R-ACCT-006).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Iterable, Sequence

from yibao.codes import ContributionKind, InsuStatus, InsuType
from yibao.dates import YearMonth
from yibao.errors import INVALID_INPUT, YibaoError, define
from yibao.explain import Decision, Reason, reason
from yibao.ids import age_on  # R-ID-007 / E-04: 29 Feb birthdays reached on 28 Feb in non-leap years
from yibao.model import Enrollment
from yibao.money import ZERO, round_fen, sum_lines
from yibao.policy import Policy
from yibao.policy.schema import PARAM_MISSING
from yibao.rules.contribution import WAGE_NOT_DECLARED, Record, _check_amount, _Params, employee_base

ACCT_SCOPE = define(
    "ACCT_SCOPE",
    "个人账户不能支付：{reason_zh}",
    "the personal account cannot pay for this: {reason_en}",
)
BIRTH_DATE_REQUIRED = define(
    "BIRTH_DATE_REQUIRED",
    "计算 {month} 的个人账户划入需要出生日期（按年龄分档）",
    "the account credit for {month} needs the date of birth (age bands)",
)
PENSION_REQUIRED = define(
    "PENSION_REQUIRED",
    "计算退休人员 {month} 的个人账户划入需要本人基本养老金",
    "the retiree account credit for {month} needs the person's basic pension",
)

__all__ = [
    "ACCT_SCOPE",
    "BIRTH_DATE_REQUIRED",
    "PENSION_REQUIRED",
    "AccountUse",
    "Relationship",
    "AccountCredit",
    "AccountCredits",
    "FamilyAidStatus",
    "FamilyAidDraw",
    "ScheduledDebit",
    "AccountTransfer",
    "AccountOnDeath",
    "account_credit",
    "account_credits",
    "check_account_use",
    "family_aid_status",
    "family_aid_draw",
    "account_on_transfer",
    "account_on_death",
]


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


class AccountUse(StrEnum):
    """What an account payment is for (R-ACCT-004)."""

    MEDICAL_COPAY = "MEDICAL_COPAY"  # 在定点医药机构发生的个人负担医疗费用
    RESIDENT_CONTRIBUTION = "RESIDENT_CONTRIBUTION"  # 居民医保个人缴费
    PUBLIC_HEALTH = "PUBLIC_HEALTH"  # 公共卫生费用
    FITNESS_WELLNESS = "FITNESS_WELLNESS"  # 体育健身、养生保健
    NON_INSURANCE_ITEM = "NON_INSURANCE_ITEM"  # 其他不属于基本医疗保险保障范围的支出


class Relationship(StrEnum):
    """The beneficiary relative to the account holder (S4, S3, S15)."""

    SELF = "SELF"
    SPOUSE = "SPOUSE"  # 配偶
    PARENT = "PARENT"  # 父母
    CHILD = "CHILD"  # 子女
    SIBLING = "SIBLING"  # 兄弟姐妹
    GRANDPARENT = "GRANDPARENT"  # 祖父母
    MATERNAL_GRANDPARENT = "MATERNAL_GRANDPARENT"  # 外祖父母
    GRANDCHILD = "GRANDCHILD"  # 孙子女
    MATERNAL_GRANDCHILD = "MATERNAL_GRANDCHILD"  # 外孙子女
    OTHER = "OTHER"


@dataclass(frozen=True)
class AccountCredit(Record):
    """One contribution month's account credit and, where known, the pooled-fund part."""

    month: YearMonth
    method: str  # "REFORM_2021", "DALIAN_AGE_BANDS", "BACKPAY_NOT_CREDITED"
    account: Decimal
    pool: Decimal | None = None
    rate: Decimal | None = None
    basis: Decimal | None = None  # the base or pension the rate applies to
    band: str | None = None  # e.g. "AGE<=45", "AGE>45", "RETIREE", "RETIREE_OUTER_DISTRICT"
    age: int | None = None
    kind: ContributionKind = ContributionKind.REGULAR


@dataclass(frozen=True)
class AccountCredits(Record):
    credits: tuple[AccountCredit, ...]
    total: Decimal


class FamilyAidState(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"  # a side's relation is suspended (status 2): sharing paused, not dissolved
    DISSOLVED = "DISSOLVED"  # a side's relation ended (status 4): the authorisation ends by itself
    NOT_ELIGIBLE = "NOT_ELIGIBLE"


@dataclass(frozen=True)
class FamilyAidStatus(Record):
    state: FamilyAidState
    problems: tuple[str, ...] = ()

    @property
    def can_draw(self) -> bool:
        return self.state is FamilyAidState.ACTIVE


@dataclass(frozen=True)
class FamilyAidDraw(Record):
    """One bill paid under family mutual aid, and the balances after it."""

    bill: Decimal
    threshold: Decimal
    shareable_before: Decimal
    own_paid: Decimal
    pool_paid: Decimal
    cash: Decimal
    authoriser_balance_before: Decimal
    authoriser_balance_after: Decimal
    beneficiary_balance_before: Decimal
    beneficiary_balance_after: Decimal


@dataclass(frozen=True)
class ScheduledDebit(Record):
    """An account debit planned for a contribution month (e.g. the Datong 大额 deduction)."""

    month: YearMonth
    amount: Decimal
    purpose: str = "330"


@dataclass(frozen=True)
class AccountTransfer(Record):
    amount: Decimal
    sending_region: str
    receiving_region: str
    accepted_on: date


@dataclass(frozen=True)
class AccountOnDeath(Record):
    death_date: date
    inheritable_balance: Decimal
    kept: tuple[ScheduledDebit, ...]
    cancelled: tuple[ScheduledDebit, ...]


# --------------------------------------------------------------------------------------
# R-ACCT-001 / 002 / 003 crediting
# --------------------------------------------------------------------------------------


def account_credit(
    relation: Enrollment,
    month: YearMonth,
    policy: Policy,
    *,
    birth_date: date | None = None,
    base: Decimal | None = None,
    pension: Decimal | None = None,
    kind: ContributionKind = ContributionKind.REGULAR,
    outer_district: bool = False,
) -> Decision[AccountCredit]:
    """What one contribution month credits to the personal account.

    ``base`` is the clamped contribution base (A-19); when omitted it is computed from the
    relation's declared wage (R-CONT-001). ``pension`` is the retiree's own basic pension (legacy
    rule). The rule is chosen by the contribution month, whatever the payment date.
    """
    region = policy.check_region(relation.region)
    if relation.insutype is not InsuType.EMPLOYEE_BASIC:
        raise YibaoError(INVALID_INPUT, field="insutype", reason=f"only employee (310) relations have a personal account, got {relation.insutype.value}")
    if kind is ContributionKind.REFUND:
        raise YibaoError(INVALID_INPUT, field="kind", reason="a refund (20) reverses the credit of the line it refunds; it is not credited")
    on = month.first_day()
    P = _Params(policy, region, on)
    reasons: list[Reason] = []

    if kind.is_backpay:
        flags = {str(k): v for k, v in (P("account.credit_on_backpay") or {}).items()}
        if kind.value not in flags:
            key = f"account.credit_on_backpay[{kind.value}]"
            raise YibaoError(PARAM_MISSING, field="account.credit_on_backpay", region=region, on=on.isoformat(), key=key)
        if not bool(flags[kind.value]):
            r = reason(
                "R-ACCT-003",
                f"{month} 的补缴（类型 {kind.value}）按本地规定不划入个人账户（+0.00）",
                f"back-payment of kind {kind.value} for {month} does not credit the account under the regional rule (+0.00)",
                parameters=P.take(),
                kind=kind,
            )
            return Decision(AccountCredit(month, "BACKPAY_NOT_CREDITED", ZERO, kind=kind), (r,))
        reasons.append(
            reason(
                "R-ACCT-003",
                f"{month} 的补缴（类型 {kind.value}）按费款所属期的划入办法划入个人账户",
                f"back-payment of kind {kind.value} for {month} credits the account at that contribution month's allocation rule",
                parameters=P.take(),
                kind=kind,
            )
        )

    reform_from = P("account.reform_effective_ym")
    reformed = reform_from is not None and month >= YearMonth.of(reform_from)
    if reformed:
        credit, r = _reform_credit(relation, month, policy, region, P, base, kind)
    else:
        method = P("account.legacy_method")
        if reform_from is None:
            why_zh, why_en = "本统筹区未配置改革切换月份", "no reform switch-over month is configured"
        else:
            why_zh, why_en = f"早于改革切换月份 {YearMonth.of(reform_from)}", f"before the reform switch-over month {YearMonth.of(reform_from)}"
        reasons.append(
            reason(
                "R-ACCT-001",
                f"{month} {why_zh}，按旧办法 {method} 划入",
                f"{month}: {why_en}; legacy rule {method} applies",
                parameters=P.take(),
            )
        )
        credit, r = _dalian_legacy_credit(relation, month, policy, region, P, base, pension, birth_date, kind, outer_district)
    reasons.append(r)
    return Decision(credit, tuple(reasons))


def _base_for(relation: Enrollment, month: YearMonth, policy: Policy, region: str, base: Decimal | None) -> tuple[Decimal, tuple[Reason, ...]]:
    if base is not None:
        return _check_amount(base, "缴费基数 / base", "base"), ()
    wage = relation.wage_for(month)
    if wage is None:
        raise YibaoError(WAGE_NOT_DECLARED, field="wages", relation_id=relation.relation_id, month=str(month))
    d = employee_base(wage, month, policy, region)
    return d.value.base, d.reasons


def _reform_credit(
    relation: Enrollment, month: YearMonth, policy: Policy, region: str, P: _Params, base: Decimal | None, kind: ContributionKind
) -> tuple[AccountCredit, Reason]:
    if relation.psn_type.is_retired:
        pct = P("account.retiree_fixed_pct")
        avg = P("account.retiree_reform_avg_pension")
        amount = round_fen(avg * pct)
        r = reason(
            "R-ACCT-001",
            f"{month} 退休人员个人账户定额划入 {amount} = 改革当年平均基本养老金 {avg} × {pct}，与本人养老金无关",
            f"{month}: retiree fixed credit {amount} = reform-year average pension {avg} × {pct}, whatever the own pension",
            parameters=P.take(),
            citations=[policy.cite("S4", "二(二)")],
        )
        return AccountCredit(month, "REFORM_2021", amount, None, pct, avg, "RETIREE", kind=kind), r
    the_base, _ = _base_for(relation, month, policy, region, base)
    rate = P("contribution.employee.indiv_rate")
    amount = round_fen(the_base * rate)
    pool: Decimal | None = None
    pool_zh = pool_en = ""
    try:
        unit_rate = P("contribution.employee.unit_rate")
    except YibaoError:
        unit_rate = None
    if unit_rate is not None and not (relation.is_flexible and P("contribution.flexible.method") == "FLAT_RATE"):
        pool = round_fen(the_base * unit_rate)
        pool_zh, pool_en = f"；单位缴费 {pool} 全部划入统筹基金", f"; the whole unit contribution {pool} goes to the pooling fund"
    r = reason(
        "R-ACCT-001",
        f"{month} 在职人员个人缴费 {amount} = {the_base} × {rate} 划入个人账户{pool_zh}",
        f"{month}: in service, the individual contribution {amount} = {the_base} × {rate} goes to the account{pool_en}",
        parameters=P.take(),
        citations=[policy.cite("S4", "二(二)")],
        base=the_base,
    )
    return AccountCredit(month, "REFORM_2021", amount, pool, rate, the_base, "IN_SERVICE", kind=kind), r


def _dalian_legacy_credit(
    relation: Enrollment,
    month: YearMonth,
    policy: Policy,
    region: str,
    P: _Params,
    base: Decimal | None,
    pension: Decimal | None,
    birth_date: date | None,
    kind: ContributionKind,
    outer_district: bool,
) -> tuple[AccountCredit, Reason]:
    """R-ACCT-002 (Dalian, historical)."""
    cite = [policy.cite("S17")]
    if relation.psn_type.is_retired:
        if pension is None:
            raise YibaoError(PENSION_REQUIRED, field="pension", month=str(month))
        pension = _check_amount(pension, "养老金 / pension", "pension")
        pooling_from = P("account.legacy.city_pooling_date")
        if outer_district and month.first_day() < pooling_from:
            rate = P("account.legacy.outer_district_retiree_rate")
            amount = round_fen(pension * rate)
            r = reason(
                "R-ACCT-002",
                f"{month} 市级统筹（{pooling_from}）前外围区县退休人员：{pension} × {rate} = {amount}（不设平均养老金保底）",
                f"{month}, outer district before city-level pooling ({pooling_from}), retiree: {pension} × {rate} = {amount} (no average-pension floor)",
                parameters=P.take(),
                citations=cite,
            )
            return AccountCredit(month, "DALIAN_AGE_BANDS", amount, None, rate, pension, "RETIREE_OUTER_DISTRICT", kind=kind), r
        rate = P("account.legacy.retiree_rate")
        avg = P("account.legacy.avg_pension")
        basis = max(pension, avg)
        amount = round_fen(basis * rate)
        if pension < avg:
            how_zh, how_en = f"本人养老金 {pension} 低于上年度平均养老金 {avg}，按 {avg}", f"own pension {pension} below the previous-year average {avg}: {avg} used"
        else:
            how_zh, how_en = f"按本人养老金 {pension}", f"own pension {pension}"
        r = reason(
            "R-ACCT-002",
            f"{month} 退休人员：{how_zh} × {rate} = {amount}",
            f"{month}, retiree: {how_en} × {rate} = {amount}",
            parameters=P.take(),
            citations=cite,
        )
        return AccountCredit(month, "DALIAN_AGE_BANDS", amount, None, rate, basis, "RETIREE", kind=kind), r
    if birth_date is None:
        raise YibaoError(BIRTH_DATE_REQUIRED, field="birth_date", month=str(month))
    the_base, _ = _base_for(relation, month, policy, region, base)
    limit = P("account.legacy.age_band_limit")
    ref_day = month.first_day()
    age = age_on(birth_date, ref_day)
    if age <= limit:
        rate, band = P("account.legacy.rate_at_or_below_limit"), f"AGE<={limit}"
        band_zh, band_en = f"{limit} 周岁以下（含）", f"{limit} or under (inclusive)"
    else:
        rate, band = P("account.legacy.rate_above_limit"), f"AGE>{limit}"
        band_zh, band_en = f"{limit} 周岁以上", f"over {limit}"
    amount = round_fen(the_base * rate)
    r = reason(
        "R-ACCT-002",
        f"{month} 在职人员：{ref_day} 时 {age} 周岁（{band_zh}），{the_base} × {rate} = {amount}",
        f"{month}, in service: age {age} on {ref_day} ({band_en}), {the_base} × {rate} = {amount}",
        parameters=P.take(),
        citations=cite,
        age=age,
        base=the_base,
    )
    return AccountCredit(month, "DALIAN_AGE_BANDS", amount, None, rate, the_base, band, age, kind), r


def account_credits(relation: Enrollment, months: Iterable[YearMonth], policy: Policy, **kwargs) -> Decision[AccountCredits]:
    """:func:`account_credit` for several contribution months; the total adds the rounded monthly credits."""
    credits: list[AccountCredit] = []
    reasons: list[Reason] = []
    notices = []
    for month in months:
        d = account_credit(relation, month, policy, **kwargs)
        credits.append(d.value)
        reasons.extend(d.reasons)
        notices.extend(d.notices)
    total = sum_lines(c.account for c in credits)
    return Decision(AccountCredits(tuple(credits), total), tuple(reasons), tuple(notices))


# --------------------------------------------------------------------------------------
# R-ACCT-004 scope
# --------------------------------------------------------------------------------------


def _allowed_relatives(P: _Params) -> tuple[set[str], bool]:
    allowed = {str(r) for r in P("account.family_relatives")}
    near_enabled = bool(P("account.near_relatives_enabled"))
    if near_enabled:
        allowed |= {str(r) for r in P("account.near_relatives")}
    return allowed, near_enabled


def check_account_use(
    use: AccountUse,
    policy: Policy,
    region: str,
    on: date,
    *,
    relationship: Relationship = Relationship.SELF,
    designated: bool = True,
) -> Decision[bool]:
    """R-ACCT-004: may the account pay for this? Allowed → ``Decision(True)``; otherwise ``ACCT_SCOPE``.

    Own or family out-of-pocket costs at designated facilities and pharmacies (spouse, parents,
    children; near relatives where the region enabled them); relatives' resident contributions where
    ``account.pay_relative_resident_contrib`` is on. Never public health, fitness, wellness or other
    items outside basic medical insurance.
    """
    region = policy.check_region(region)
    P = _Params(policy, region, on)

    def refuse(zh: str, en: str) -> YibaoError:
        return YibaoError(ACCT_SCOPE, field="use", reason_zh=zh, reason_en=en)

    if use in (AccountUse.PUBLIC_HEALTH, AccountUse.FITNESS_WELLNESS, AccountUse.NON_INSURANCE_ITEM):
        names = {
            AccountUse.PUBLIC_HEALTH: ("公共卫生费用", "public-health services"),
            AccountUse.FITNESS_WELLNESS: ("体育健身、养生保健", "fitness or wellness"),
            AccountUse.NON_INSURANCE_ITEM: ("不属于基本医疗保险保障范围的支出", "items outside basic medical insurance"),
        }[use]
        raise refuse(names[0], names[1])
    if use is AccountUse.MEDICAL_COPAY and not designated:
        raise refuse("非定点医药机构发生的费用", "costs at a non-designated facility or pharmacy")
    if relationship is not Relationship.SELF:
        allowed, near_enabled = _allowed_relatives(P)
        if relationship.value not in allowed:
            extra_zh = "" if near_enabled else "（本统筹区未启用近亲属共济）"
            extra_en = "" if near_enabled else " (near relatives are not enabled in this region)"
            raise refuse(f"{relationship.value} 不在家庭共济范围内{extra_zh}", f"{relationship.value} is not among the relatives allowed{extra_en}")
    if use is AccountUse.RESIDENT_CONTRIBUTION:
        if not P("account.pay_relative_resident_contrib"):
            raise refuse("本统筹区未开通个人账户缴纳家庭成员居民医保费", "this region has not enabled paying relatives' resident contributions")
        if relationship is Relationship.SELF:
            raise refuse("职工医保个人账户用于缴纳家庭成员的居民医保费", "the account pays resident contributions of relatives, not of the holder")
    r = reason(
        "R-ACCT-004",
        f"个人账户可支付 {use.value}（{relationship.value}）",
        f"the personal account may pay {use.value} for {relationship.value}",
        parameters=P.take(),
        citations=[policy.cite("S4", "二(三)"), policy.cite("S3", "二")],
        use=use,
        relationship=relationship,
    )
    return Decision(True, (r,))


# --------------------------------------------------------------------------------------
# R-ACCT-005 family mutual aid
# --------------------------------------------------------------------------------------


def _in_scope(region: str, home: str, scope: str) -> bool:
    if scope == "PROVINCE":
        return region[:2] == home[:2]
    return region == home


def family_aid_status(
    policy: Policy,
    region: str,
    on: date,
    *,
    authoriser: Enrollment,
    beneficiary: Enrollment,
    relationship: Relationship,
) -> Decision[FamilyAidStatus]:
    """R-ACCT-005 1–3: is an authorisation usable on ``on``?

    The authoriser must hold a 310 relation and the beneficiary a 310 or 390 relation, both within
    the scope (province for Shanxi) of ``region``; the beneficiary must be an allowed relative. A
    terminated (4) or ended relation on either side dissolves the authorisation; a suspended (2)
    one pauses it (recommendation).
    """
    region = policy.check_region(region)
    P = _Params(policy, region, on)
    scope = P("account.family_aid_scope")
    allowed, _ = _allowed_relatives(P)
    problems: list[str] = []
    if authoriser.insutype is not InsuType.EMPLOYEE_BASIC:
        problems.append("AUTHORISER_NOT_EMPLOYEE")
    if beneficiary.insutype not in (InsuType.EMPLOYEE_BASIC, InsuType.RESIDENT_BASIC):
        problems.append("BENEFICIARY_SCHEME")
    if not _in_scope(authoriser.region, region, scope):
        problems.append("AUTHORISER_OUT_OF_SCOPE")
    if not _in_scope(beneficiary.region, region, scope):
        problems.append("BENEFICIARY_OUT_OF_SCOPE")
    if relationship is Relationship.SELF or relationship.value not in allowed:
        problems.append("RELATIONSHIP_NOT_ALLOWED")
    statuses = [authoriser.status_on(on), beneficiary.status_on(on)]

    def ended(e: Enrollment) -> bool:
        s = e.status_on(on)
        return s is InsuStatus.TERMINATED or (s is InsuStatus.NOT_ENROLLED and e.end is not None and on > e.end)

    if problems:
        state = FamilyAidState.NOT_ELIGIBLE
    elif ended(authoriser) or ended(beneficiary):
        state = FamilyAidState.DISSOLVED
    elif InsuStatus.SUSPENDED in statuses:
        state = FamilyAidState.SUSPENDED
    elif any(s is not InsuStatus.NORMAL for s in statuses):
        state, problems = FamilyAidState.NOT_ELIGIBLE, ["NOT_ENROLLED"]
    else:
        state = FamilyAidState.ACTIVE
    texts = {
        FamilyAidState.ACTIVE: ("家庭共济授权有效", "the family mutual-aid authorisation is in force"),
        FamilyAidState.SUSPENDED: ("一方参保暂停，共济暂停（不解除）", "one side's relation is suspended: sharing is paused, not dissolved"),
        FamilyAidState.DISSOLVED: ("一方参保关系终止，授权自动解除", "one side's relation has ended: the authorisation is dissolved"),
        FamilyAidState.NOT_ELIGIBLE: (f"不符合家庭共济条件：{', '.join(problems)}", f"not eligible for family mutual aid: {', '.join(problems)}"),
    }[state]
    r = reason(
        "R-ACCT-005",
        texts[0],
        texts[1],
        parameters=P.take(),
        citations=[policy.cite("S15")],
        relationship=relationship,
        authoriser_status=statuses[0],
        beneficiary_status=statuses[1],
    )
    return Decision(FamilyAidStatus(state, tuple(problems)), (r,))


def family_aid_draw(
    policy: Policy,
    region: str,
    on: date,
    *,
    authoriser_balance: Decimal,
    beneficiary_balance: Decimal,
    bill: Decimal,
) -> Decision[FamilyAidDraw]:
    """R-ACCT-005 4–5: pay ``bill`` (the part payable from accounts) for the beneficiary.

    ``shareable = max(0, authoriser_balance - threshold)``; own account first, then the shared
    pool up to ``shareable``, the rest in cash. Money is conserved (own + pool + cash = bill) and
    the authoriser never ends below the threshold if it started at or above it (nor is debited at
    all below it). Apply the next draw to the returned ``authoriser_balance_after`` (E-10).
    """
    region = policy.check_region(region)
    a = round_fen(_check_amount(authoriser_balance, "授权人账户余额 / authoriser balance", "authoriser_balance"))
    b = round_fen(_check_amount(beneficiary_balance, "被授权人账户余额 / beneficiary balance", "beneficiary_balance"))
    bill = round_fen(_check_amount(bill, "费用 / bill", "bill"))
    P = _Params(policy, region, on)
    threshold = P("account.family_aid_threshold")
    shareable = max(ZERO, a - threshold)
    own = min(b, bill)
    pool = min(shareable, bill - own)
    cash = bill - own - pool
    value = FamilyAidDraw(bill, threshold, shareable, own, pool, cash, a, a - pool, b, b - own)
    r = reason(
        "R-ACCT-005",
        f"费用 {bill}：本人账户支付 {own}，共济账户支付 {pool}（可共济 {shareable} = max(0, {a} - {threshold})），现金 {cash}；授权人余额 {a} → {a - pool}",
        f"bill {bill}: own account {own}, shared pool {pool} (shareable {shareable} = max(0, {a} - {threshold})), cash {cash}; authoriser balance {a} → {a - pool}",
        parameters=P.take(),
        citations=[policy.cite("S15")],
    )
    return Decision(value, (r,))


# --------------------------------------------------------------------------------------
# R-ACCT-006 transfer and death
# --------------------------------------------------------------------------------------


def account_on_transfer(
    balance: Decimal, policy: Policy, *, sending_region: str, receiving_region: str, accepted_on: date
) -> Decision[AccountTransfer]:
    """R-ACCT-006: on an employee-scheme transfer the whole balance moves with the person."""
    sending_region = policy.check_region(sending_region, field="sending_region")
    receiving_region = policy.check_region(receiving_region, field="receiving_region")
    balance = round_fen(_check_amount(balance, "账户余额 / balance", "balance"))
    r = reason(
        "R-ACCT-006",
        f"转移接续（{accepted_on} 受理）：转出地 {sending_region} 将个人账户余额 {balance} 划转至转入地 {receiving_region}，对账后记入",
        f"transfer accepted {accepted_on}: {sending_region} pays the account balance {balance} to {receiving_region}, credited after reconciliation",
        citations=[policy.cite("S2")],
    )
    return Decision(AccountTransfer(balance, sending_region, receiving_region, accepted_on), (r,))


def account_on_death(balance: Decimal, death_date: date, debits: Sequence[ScheduledDebit], policy: Policy) -> Decision[AccountOnDeath]:
    """R-ACCT-006 / E-07: debits for contribution months starting after the date of death are
    cancelled; the month of death is kept; the balance is inheritable (paid to heirs on application)."""
    balance = round_fen(_check_amount(balance, "账户余额 / balance", "balance"))
    kept = tuple(d for d in debits if d.month.first_day() <= death_date)
    cancelled = tuple(d for d in debits if d.month.first_day() > death_date)
    months = ", ".join(str(d.month) for d in cancelled) or "无 / none"
    r = reason(
        "R-ACCT-006",
        f"参保人于 {death_date} 死亡：此后的账户划扣取消（{months}）；余额 {balance} 可由继承人申请继承",
        f"died on {death_date}: account debits after that date are cancelled ({months}); the balance {balance} goes to heirs on application",
        citations=[policy.cite("S4")],
        death_date=death_date,
    )
    return Decision(AccountOnDeath(death_date, balance, kept, cancelled), (r,))
