"""Refunds (退费) — SPEC §12 R-REF-001…006, A-10…A-12, E-07, E-11.

Every refund is computed from the contribution lines actually collected: per payer and per
contribution month (or benefit year), the net of payments and earlier refunds. A refund is never
"annual ÷ 12 × months" (E-11) and never more than was collected. Each refunded amount goes back
through the channel it came from: the person, the heirs when the person has died (never the
deceased's account, E-07), the medical-assistance fund of the region whose relation is
terminated (R-REF-002), or the paying body (unit, government, fiscal).

* :func:`resident_refund` — R-REF-001 / R-REF-002: resident contribution when an extra 390
  relation is terminated (or suspended), before or after its benefit period starts.
* :func:`flexible_prepaid_refund` — R-REF-003: a flexible worker's prepaid months once a unit pays.
* :func:`lump_sum_death_refund` — R-REF-004: Luzhou lump sum when the payer dies before the start.
* :func:`death_refund` — R-REF-005: months after the month of death; 390 only before the start.
* :func:`true_up_applies` — R-REF-006: Luzhou, no true-up (nor refund) after early termination.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Iterable, Mapping, Sequence

from yibao.codes import ContributionKind
from yibao.dates import YearMonth
from yibao.errors import Notice, YibaoError, define
from yibao.explain import Decision, Reason, Record, reason
from yibao.model import ContributionLine, PayerType
from yibao.money import ZERO, sum_lines
from yibao.policy import Policy

REF_LINE_WITHOUT_MONTH = define(
    "REF_LINE_WITHOUT_MONTH",
    "缴费明细没有费款所属期，无法按月计算退费",
    "the contribution line has no contribution month; the refund cannot be computed month by month",
)
REF_LINE_WITHOUT_YEAR = define(
    "REF_LINE_WITHOUT_YEAR",
    "居民医保缴费明细没有待遇年度",
    "the resident contribution line has no benefit year",
)
REF_MIXED_YEARS = define(
    "REF_MIXED_YEARS",
    "缴费明细属于不同待遇年度（{first} 与 {other}），请按年度分别计算退费",
    "the lines belong to different benefit years ({first} and {other}); compute the refund one year at a time",
)
REF_NOT_LUMP_SUM = define(
    "REF_NOT_LUMP_SUM",
    "缴费类型 {kind} 不是一次性缴费（趸缴 33/40）",
    "contribution kind {kind} is not a lump sum (33/40)",
)
REF_BAD_ACTION = define(
    "REF_BAD_ACTION",
    "参保关系处理方式无效：{value}（应为 TERMINATED 或 SUSPENDED）",
    "invalid relation action {value!r} (expected TERMINATED or SUSPENDED)",
)
REF_BENEFIT_START_MISSING = define(
    "REF_BENEFIT_START_MISSING",
    "缺少 {year} 年度居民医保待遇开始日期，无法判断是否退费",
    "the benefit start of resident year {year} is not given; the refund cannot be decided",
)
REF_BAD_YEAR = define("REF_BAD_YEAR", "年度无效：{value}", "invalid year {value!r}")
REF_TO_HEIRS = define(
    "REF_TO_HEIRS",
    "参保人已死亡：退费由合法继承人申请，支付给继承人，不划入个人账户",
    "the person has died: the refund is paid to the lawful heirs on their application, not to the account",
)



class RefundChannel(StrEnum):
    PERSON = "PERSON"  # to the person who paid
    HEIRS = "HEIRS"  # to the lawful heirs, on application (E-07)
    ASSISTANCE_FUND = "ASSISTANCE_FUND"  # back to the medical-assistance fund, through the terminated relation's region
    PAYER = "PAYER"  # back to the paying body or account (unit, UI fund, government, finance, a relative's account)


class RelationAction(StrEnum):
    TERMINATED = "TERMINATED"
    SUSPENDED = "SUSPENDED"


@dataclass(frozen=True)
class RefundLine(Record):
    payer: PayerType
    amount: Decimal
    channel: RefundChannel
    region: str  # the region that pays it back
    month: YearMonth | None = None
    benefit_year: int | None = None


@dataclass(frozen=True)
class Refund(Record):
    _computed = ('total', 'months',)

    lines: tuple[RefundLine, ...] = ()
    on_application: bool = True

    @property
    def total(self) -> Decimal:
        return sum_lines(line.amount for line in self.lines)

    @property
    def months(self) -> tuple[YearMonth, ...]:
        return tuple(sorted({line.month for line in self.lines if line.month is not None}))

    def by_channel(self) -> dict[str, Decimal]:
        out: dict[str, list[Decimal]] = defaultdict(list)
        for line in self.lines:
            out[line.channel.value].append(line.amount)
        return {k: sum_lines(v) for k, v in sorted(out.items())}

    def by_payer(self) -> dict[str, Decimal]:
        out: dict[str, list[Decimal]] = defaultdict(list)
        for line in self.lines:
            out[line.payer.value].append(line.amount)
        return {k: sum_lines(v) for k, v in sorted(out.items())}


def _channel(payer: PayerType, deceased: bool) -> RefundChannel:
    if payer in (PayerType.INDIVIDUAL, PayerType.HEIR):
        return RefundChannel.HEIRS if deceased or payer is PayerType.HEIR else RefundChannel.PERSON
    if payer is PayerType.PERSONAL_ACCOUNT:
        return RefundChannel.HEIRS if deceased else RefundChannel.PAYER
    if payer is PayerType.MEDICAL_ASSISTANCE:
        return RefundChannel.ASSISTANCE_FUND
    return RefundChannel.PAYER


def _live(lines: Sequence[ContributionLine]) -> list[tuple[int, ContributionLine]]:
    """Lines with their input index, superseded corrections left out."""
    superseded = {c.supersedes for c in lines if c.supersedes}
    return [(i, c) for i, c in enumerate(lines) if c.key is None or c.key not in superseded]


def _collected(lines: Iterable[ContributionLine], period) -> dict[tuple[PayerType, object], Decimal]:
    """Net collected (payments minus earlier refunds) per payer and period."""
    out: dict[tuple[PayerType, object], Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        out[(line.payer, period(line))] += line.amount
    return out


def _refund_lines(
    collected: Mapping[tuple[PayerType, object], Decimal],
    region: str,
    deceased: bool,
    *,
    monthly: bool,
) -> tuple[RefundLine, ...]:
    out = []
    for (payer, period), amount in sorted(collected.items(), key=lambda kv: (str(kv[0][1]), kv[0][0].value)):
        if amount <= 0:
            continue  # nothing left to refund (already refunded)
        out.append(
            RefundLine(
                payer,
                amount,
                _channel(payer, deceased),
                region,
                month=period if monthly else None,
                benefit_year=None if monthly else period,
            )
        )
    return tuple(out)


# --- R-REF-001 / R-REF-002 --------------------------------------------------------------


def resident_refund(
    lines: Sequence[ContributionLine],
    benefit_start: date,
    event_date: date,
    policy: Policy,
    region: str,
    *,
    action: RelationAction | str = RelationAction.TERMINATED,
    deceased: bool = False,
) -> Decision[Refund]:
    """R-REF-001 / R-REF-002: refund of one resident relation's contribution for one benefit year.

    ``lines`` are that relation's lines for the year (all payers); ``benefit_start`` is the
    relation's benefit start for the year (from the timeline); ``event_date`` the day of the event
    that makes the relation extra (second payment, joining 310, joining 390 elsewhere); ``region`` is
    the region of the relation being ended, whose assistance channel returns assistance money.
    Fiscal subsidy lines are never refunded: they are deducted (R-RES-007).
    """
    try:
        action = RelationAction(str(action.value if isinstance(action, RelationAction) else action).upper())
    except ValueError:
        raise YibaoError(REF_BAD_ACTION, field="action", value=action) from None
    live = _live(lines)
    year = None
    for i, line in live:
        if line.benefit_year is None:
            raise YibaoError(REF_LINE_WITHOUT_YEAR, field=f"lines[{i}].benefit_year")
        if year is None:
            year = line.benefit_year
        elif line.benefit_year != year:
            raise YibaoError(REF_MIXED_YEARS, field=f"lines[{i}].benefit_year", first=year, other=line.benefit_year)
    subsidy = [c for _, c in live if c.payer is PayerType.FISCAL_SUBSIDY]
    paid = [c for _, c in live if c.payer is not PayerType.FISCAL_SUBSIDY]
    collected = _collected(paid, lambda c: c.benefit_year)
    notices = (Notice.of(REF_TO_HEIRS),) if deceased else ()
    subsidy_note_zh = "；财政补助不退而核减（R-RES-007）" if subsidy else ""
    subsidy_note_en = "; the fiscal subsidy is deducted, not refunded (R-RES-007)" if subsidy else ""

    if action is RelationAction.SUSPENDED:
        r = reason(
            "R-REF-002",
            f"{year} 年度居民医保参保关系暂停（未终止），个人缴费不予退还",
            f"the {year} resident relation is suspended, not terminated: no refund",
            citations=[policy.cite("S1", "二(五)")],
            event_date=event_date,
        )
        return Decision(Refund(), (r,), notices)

    if event_date < benefit_start:
        refund = Refund(_refund_lines(collected, region, deceased, monthly=False))
        r = reason(
            "R-REF-001",
            f"{event_date} 发生重复参保，早于 {year} 年度待遇开始日 {benefit_start}：终止该参保关系，申请后退还已缴 {refund.total}{subsidy_note_zh}",
            f"the duplicate arose on {event_date}, before the {year} benefit start {benefit_start}: the relation is terminated and "
            f"{refund.total} collected is refunded on application{subsidy_note_en}",
            citations=[policy.cite("S1", "二(五)"), policy.cite("S11", "二(5)")],
            event_date=event_date,
            benefit_start=benefit_start,
            by_channel=refund.by_channel(),
        )
        return Decision(refund, (r,), notices)

    indiv_p = policy.param(region, "refund.resident_after_start_individual", event_date)
    keep = {k: v for k, v in collected.items() if k[0] is PayerType.MEDICAL_ASSISTANCE or indiv_p.value}
    refund = Refund(_refund_lines(keep, region, deceased, monthly=False))
    assistance = sum_lines(v for k, v in collected.items() if k[0] is PayerType.MEDICAL_ASSISTANCE and v > 0)
    others = sum_lines(v for k, v in collected.items() if k[0] is not PayerType.MEDICAL_ASSISTANCE and v > 0)
    reasons: list[Reason] = [
        reason(
            "R-REF-002",
            f"{year} 年度待遇已于 {benefit_start} 开始（事件日 {event_date}）：医疗救助资助部分 {assistance} 经本统筹区 {region} 救助渠道退回；"
            f"其余缴费 {others} {'按省级规定退还' if indiv_p.value else '原则上不予退还'}{subsidy_note_zh}",
            f"the {year} benefit period started on {benefit_start} (event on {event_date}): the assistance-funded {assistance} goes back "
            f"through the assistance channel of region {region}; the other {others} is {'refunded under the provincial rule' if indiv_p.value else 'not refunded, in principle'}"
            f"{subsidy_note_en}",
            parameters=[indiv_p],
            citations=[policy.cite("S1", "二(五)")],
            event_date=event_date,
            benefit_start=benefit_start,
            by_channel=refund.by_channel(),
        )
    ]
    return Decision(refund, tuple(reasons), notices)


# --- R-REF-003 ---------------------------------------------------------------------------


def _monthly_lines(lines: Sequence[ContributionLine]) -> list[ContributionLine]:
    live = _live(lines)
    for i, line in live:
        if line.month is None:
            raise YibaoError(REF_LINE_WITHOUT_MONTH, field=f"lines[{i}].month")
    return [c for _, c in live]


def _check_year(year: object, field: str = "year") -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
        raise YibaoError(REF_BAD_YEAR, field=field, value=year)
    return year


def flexible_prepaid_refund(
    lines: Sequence[ContributionLine],
    first_unit_month: YearMonth,
    year: int,
    policy: Policy,
    region: str,
    *,
    on: date | None = None,
) -> Decision[Refund]:
    """R-REF-003: a flexible worker prepaid ``year`` and a unit then pays from ``first_unit_month``.

    Refunds, month by month and exactly as collected (E-11), every prepaid month of ``year`` from
    the first unit-paid month (A-11; ``refund.flexible_refund_from``) through December.
    """
    year = _check_year(year)
    monthly = _monthly_lines(lines)
    on = on or first_unit_month.first_day()
    from_p = policy.param(region, "refund.flexible_refund_from", on)
    start = first_unit_month + (1 if from_p.value == "MONTH_AFTER_FIRST_UNIT_MONTH" else 0)
    start = max(start, YearMonth(year, 1))
    december = YearMonth(year, 12)
    in_scope = [c for c in monthly if c.month.year == year and start <= c.month <= december]
    refund = Refund(_refund_lines(_collected(in_scope, lambda c: c.month), region, False, monthly=True))
    months = refund.months
    span_zh = f"{months[0]}–{months[-1]}（{len(months)} 个月）" if months else "无"
    span_en = f"{months[0]}..{months[-1]} ({len(months)} months)" if months else "none"
    r = reason(
        "R-REF-003",
        f"{year} 年已预缴灵活就业职工医保，单位自 {first_unit_month} 起缴费：退还 {span_zh} 按月实收金额 {refund.total}，须本人申请",
        f"{year} prepaid as a flexible worker; a unit pays from {first_unit_month}: months refunded {span_en}, "
        f"exactly as collected month by month, {refund.total}, on application",
        parameters=[from_p],
        citations=[policy.cite("S1", "二(五)")],
        first_unit_month=first_unit_month,
        months=list(months),
    )
    return Decision(refund, (r,))


# --- R-REF-004 ---------------------------------------------------------------------------


def lump_sum_death_refund(
    lines: Sequence[ContributionLine],
    benefit_start: date,
    death_date: date,
    policy: Policy,
    region: str,
) -> Decision[Refund]:
    """R-REF-004 (Luzhou): the lump sum is refunded to heirs when death is strictly before ``benefit_start``.

    ``lines`` are the lump-sum lines (33/40, and any earlier refund of them); ``benefit_start`` comes
    from the timeline (R-WAIT-009/010). Death on the start date or later: no refund (E-07).
    """
    live = _live(lines)
    for i, line in live:
        if line.kind not in (ContributionKind.RETIREMENT_BACKPAY, ContributionKind.LUMP_SUM, ContributionKind.REFUND):
            raise YibaoError(REF_NOT_LUMP_SUM, field=f"lines[{i}].kind", kind=line.kind.value)
    p = policy.param(region, "refund.lump_sum_death_before_start", death_date)
    collected = _collected([c for _, c in live], lambda c: None)
    notices = (Notice.of(REF_TO_HEIRS),)
    if not p.value:
        r = reason(
            "R-REF-004",
            f"本统筹区 {region} 无一次性缴费在等待期内死亡退费的规定：不退",
            f"region {region} has no rule refunding a lump sum on death during the waiting period: no refund",
            parameters=[p],
            death_date=death_date,
            benefit_start=benefit_start,
        )
        return Decision(Refund(), (r,), notices)
    if death_date < benefit_start:
        refund = Refund(_refund_lines(collected, region, True, monthly=False))
        r = reason(
            "R-REF-004",
            f"死亡日期 {death_date} 早于待遇开始日 {benefit_start}：一次性缴费 {refund.total} 退还继承人",
            f"death on {death_date}, before the benefit start {benefit_start}: the lump sum {refund.total} is refunded to the heirs",
            parameters=[p],
            citations=[policy.cite("S10", "第一项")],
            death_date=death_date,
            benefit_start=benefit_start,
        )
        return Decision(refund, (r,), notices)
    r = reason(
        "R-REF-004",
        f"死亡日期 {death_date} 不早于待遇开始日 {benefit_start}（已进入待遇期）：不退一次性缴费",
        f"death on {death_date}, on or after the benefit start {benefit_start}: the lump sum is not refunded",
        parameters=[p],
        citations=[policy.cite("S10", "第一项")],
        death_date=death_date,
        benefit_start=benefit_start,
    )
    return Decision(Refund(), (r,), notices)


# --- R-REF-005 ---------------------------------------------------------------------------


def death_refund(
    lines: Sequence[ContributionLine],
    death_date: date,
    policy: Policy,
    region: str,
    *,
    benefit_starts: Mapping[int, date] | None = None,
) -> Decision[Refund]:
    """R-REF-005 (A-12): refund to heirs after a participant's death.

    Monthly lines (employee, flexible prepayment): every month after the month of death, exactly as
    collected. Resident lines (benefit year Y): only when death is strictly before Y's benefit start
    (``benefit_starts[Y]``, from the timeline), unless ``refund.resident_after_start_on_death``.
    Lump sums naming no month are left to R-REF-004.
    """
    live = [c for _, c in _live(lines)]
    on_death_p = policy.param(region, "refund.on_death", death_date)
    notices = (Notice.of(REF_TO_HEIRS),)
    death_month = YearMonth.of(death_date)
    if not on_death_p.value:
        r = reason(
            "R-REF-005",
            f"本统筹区 {region} 未规定死亡退费：不退",
            f"region {region} has no death refund rule: no refund",
            parameters=[on_death_p],
            death_date=death_date,
        )
        return Decision(Refund(), (r,), notices)
    starts = dict(benefit_starts or {})
    monthly = [c for c in live if c.month is not None and c.month > death_month]
    month_refund = _refund_lines(_collected(monthly, lambda c: c.month), region, True, monthly=True)
    reasons: list[Reason] = []
    refunded_months = sorted({line.month for line in month_refund})
    reasons.append(
        reason(
            "R-REF-005",
            f"死亡日期 {death_date}：退还死亡当月 {death_month} 之后所属期已缴费用 {sum_lines(l.amount for l in month_refund)}"
            f"（{len(refunded_months)} 个月，按月实收）",
            f"death on {death_date}: contributions paid for months after {death_month} are refunded, "
            f"{sum_lines(l.amount for l in month_refund)} ({len(refunded_months)} months, as collected)",
            parameters=[on_death_p],
            citations=[policy.cite("S11", "二(5)")],
            death_date=death_date,
            months=refunded_months,
        )
    )
    year_lines: list[RefundLine] = []
    years = sorted({c.benefit_year for c in live if c.month is None and c.benefit_year is not None})
    after_p = policy.param(region, "refund.resident_after_start_on_death", death_date) if years else None
    for year in years:
        start = starts.get(year)
        if start is None:
            raise YibaoError(REF_BENEFIT_START_MISSING, field="benefit_starts", year=year)
        paid = [
            c for c in live
            if c.month is None and c.benefit_year == year and c.payer is not PayerType.FISCAL_SUBSIDY
        ]
        if death_date < start or after_p.value:
            refund_here = _refund_lines(_collected(paid, lambda c: c.benefit_year), region, True, monthly=False)
            year_lines.extend(refund_here)
            before = death_date < start
            reasons.append(
                reason(
                    "R-REF-005",
                    f"死亡日期 {death_date} {'早于' if before else '晚于'} {year} 年度居民医保待遇开始日 {start}："
                    f"退还 {sum_lines(l.amount for l in refund_here)}{'' if before else '（省级规定）'}",
                    f"death on {death_date} is {'before' if before else 'after'} the {year} resident benefit start {start}: "
                    f"{sum_lines(l.amount for l in refund_here)} refunded{'' if before else ' (provincial rule)'}",
                    parameters=[after_p],
                    citations=[policy.cite("S1", "二(五)"), policy.cite("S11", "二(5)")],
                    benefit_year=year,
                    benefit_start=start,
                )
            )
        else:
            reasons.append(
                reason(
                    "R-REF-005",
                    f"死亡日期 {death_date} 不早于 {year} 年度居民医保待遇开始日 {start}：不退",
                    f"death on {death_date} is on or after the {year} resident benefit start {start}: no refund",
                    parameters=[after_p],
                    citations=[policy.cite("S1", "二(五)")],
                    benefit_year=year,
                    benefit_start=start,
                )
            )
    return Decision(Refund(month_refund + tuple(year_lines)), tuple(reasons), notices)


# --- R-REF-006 ---------------------------------------------------------------------------


def true_up_applies(
    termination_date: date | None,
    publication_date: date,
    policy: Policy,
    region: str,
) -> Decision[bool]:
    """R-REF-006 / R-CONT-003 (A-10): is a base true-up (补差, either direction) made for this relation?

    In a region with ``refund.no_true_up_if_terminated_before_publication``, a relation terminated
    strictly before the publication date gets neither a true-up demand nor a refund of the
    difference. Terminated on the publication date or later, or still active: the true-up applies.
    """
    p = policy.param(region, "refund.no_true_up_if_terminated_before_publication", publication_date)
    if p.value and termination_date is not None and termination_date < publication_date:
        r = reason(
            "R-REF-006",
            f"参保关系于 {termination_date} 终止，早于上年度平均工资公布日 {publication_date}：单位和个人均不补差，也不退差",
            f"the relation ended on {termination_date}, before the average wage was published on {publication_date}: "
            "no true-up demand and no refund of the difference, for unit or individual",
            parameters=[p],
            citations=[policy.cite("S10", "第三项")],
            termination_date=termination_date,
            publication_date=publication_date,
        )
        return Decision(False, (r,))
    if termination_date is None:
        why_zh, why_en = "参保关系未终止", "the relation is not terminated"
    elif p.value:
        why_zh = f"参保关系于 {termination_date} 终止，不早于公布日 {publication_date}"
        why_en = f"the relation ended on {termination_date}, not before the publication on {publication_date}"
    else:
        why_zh, why_en = f"本统筹区 {region} 无终止免补差规定", f"region {region} has no exemption for terminated relations"
    r = reason(
        "R-REF-006",
        f"{why_zh}：按公布的平均工资补差（多退少补）",
        f"{why_en}: the true-up to the published average applies in either direction",
        parameters=[p],
        citations=[policy.cite("S10", "第三项")] if p.value else [],
        termination_date=termination_date,
        publication_date=publication_date,
    )
    return Decision(True, (r,))
