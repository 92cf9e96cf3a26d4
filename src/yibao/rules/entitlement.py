"""The entitlement timeline (待遇享受期) — DESIGN §4, SPEC §8 (R-WAIT), §9 (R-RES-001…003), §13.

Input: one person's facts as known on a date K, and the policy. Output: a :class:`Timeline` —
benefit periods per relation with the reasons for their start and end, the month grid behind
them, the actions a clerk should take (suspend, restore, back-pay) and notices.

How it works, in order:

1. *Enrolled months* (参保月份) per relation: employee months with a payment known by K
   (refunds netted), plus the collection grace of Y-GRACE-001; resident benefit years from the
   month their cover can begin. Their union over all relations is the person's continuity
   (连续参保) used by every gap and switch rule.
2. *Employee runs*: maximal runs of consecutive enrolled months of one relation, processed in date
   order across relations, each given a benefit start by R-WAIT-001/002/003/004/005/011/012/013.
3. *Resident years*: each paid benefit year given a start by R-RES-001/002/003, R-WAIT-003/006/
   007/008/013.
4. *Status*: explicit suspensions and terminations (R-CODE-003) cut benefits; suspensions caused
   by short-term employee cover end by themselves when that cover ends (R-SPEC-001 ex. 2).
5. *Priority*: where an employee relation gives benefits, a resident relation's benefits pause
   (R-WAIT-003 A-01, R-SPEC-001/002, R-DUP-004/006/008); a suspend/restore action is proposed.
6. Death ends every period (E-07); relation end dates clip them.

Where several rules give a waiting period, the person gets the most favourable one
(Y-WAIT-001/002 in docs/decisions.md); together with the rest this makes coverage monotone in
knowledge: learning of a payment never removes coverage (a property test checks it).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Iterable

from yibao.codes import ContributionKind, InsuStatus, InsuType, Scheme
from yibao.dates import YearMonth, add_months, last_day_of_window, month_day, month_range
from yibao.errors import Notice, YibaoError, dedupe_notices, define
from yibao.explain import Citation, Decision, Reason, UsedParameter, reason
from yibao.model import (
    ASSISTANCE_GROUPS,
    ContributionLine,
    Enrollment,
    EventKind,
    PayerType,
    PersonFacts,
    PersonGroup,
)
from yibao.policy import Policy

OUTSIDE_WINDOW = define(
    "OUTSIDE_WINDOW",
    "{year} 年度居民医保缴费日期 {paid_on} 早于集中参保期（{window_start} 起），本统筹区不受理提前缴费",
    "the {year} resident payment on {paid_on} is before the collection window opens ({window_start}); this region does not accept it",
)
LONG_WAIT = define(
    "LONG_WAIT",
    "{year} 年度待遇等待期长达 {months} 个月（断保 {broken} 年，未设上限），请核实参保历史是否完整",
    "the {year} waiting period is {months} months ({broken} broken years, no cap); check that the enrollment history is complete",
)
NO_COVER_THIS_YEAR = define(
    "NO_COVER_THIS_YEAR",
    "{year} 年度缴费后的待遇开始日 {start} 已超出该年度，本次缴费不能获得 {year} 年度待遇，也不顺延至下一年度",
    "benefits for {year} would start on {start}, after the year ends: this payment buys no {year} cover and does not spill into the next year",
)
PAYMENT_AFTER_DEATH = define(
    "PAYMENT_AFTER_DEATH",
    "缴费 {paid_on}（费款所属期 {period}）在死亡日期 {death} 之后，且不是继承人结清生前欠费",
    "payment on {paid_on} (period {period}) is after the date of death {death} and is not an heir settling arrears before death",
)
DUPLICATE_ENROLLMENT = define(
    "DUPLICATE_ENROLLMENT",
    "参保关系 {first} 与 {second} 在 {start} 至 {end} 同时享受待遇，属于重复参保，应按 R-DUP 规则处理",
    "relations {first} and {second} both give benefits from {start} to {end}: a duplicate enrollment to resolve under R-DUP",
)
SUSPENSION_WITHOUT_EMPLOYEE_COVER = define(
    "SUSPENSION_WITHOUT_EMPLOYEE_COVER",
    "参保关系 {relation} 因短期就业暂停，但未见对应的职工医保缴费",
    "relation {relation} is suspended for short-term employment, but no employee-scheme contributions are on record",
)
NEWBORN_PAY_BOTH_YEARS = define(
    "NEWBORN_PAY_BOTH_YEARS",
    "新生儿登记期跨年，按本地规定应同时缴纳 {birth_year} 和 {next_year} 两个年度",
    "the newborn's window crosses the year end: the region expects both {birth_year} and {next_year} to be paid",
)
CONTINUATION_GAP = define(
    "CONTINUATION_GAP",
    "个人续保应从单位缴费的次月（{first} 之前）连续缴起，中间有未缴月份，按一般中断规定处理",
    "individual continuation should start the month after the last unit-paid month; unpaid months are left before {first}, so the ordinary interruption rules apply",
)
BAD_TIMELINE_INPUT = define(
    "BAD_TIMELINE_INPUT", "参保关系 {relation} 的数据不一致：{reason}", "relation {relation} is inconsistent: {reason}"
)

# Payers whose money counts as the person's resident contribution (the fiscal subsidy does not).
_RESIDENT_PAYERS = frozenset(
    {
        PayerType.INDIVIDUAL,
        PayerType.MEDICAL_ASSISTANCE,
        PayerType.GOVERNMENT,
        PayerType.PERSONAL_ACCOUNT,
        PayerType.HEIR,
        PayerType.UNIT,
    }
)
_END_OF_TIME = date(9999, 12, 30)  # open end; one day short of date.max so that "the day after" exists


class MonthKind(StrEnum):
    PAID = "PAID"  # paid on time
    BACKPAID = "BACKPAID"  # paid after the month ended (补缴)
    PROVISIONAL = "PROVISIONAL"  # not yet collected, within the collection grace (Y-GRACE-001)
    RESIDENT = "RESIDENT"  # inside a paid resident benefit year
    UNPAID = "UNPAID"


class ActionKind(StrEnum):
    SUSPEND = "SUSPEND"  # 暂停参保关系
    RESTORE = "RESTORE"  # 恢复参保关系
    BACKPAY = "BACKPAY"  # 补缴
    REVIEW = "REVIEW"  # 人工复核


@dataclass(frozen=True)
class MonthState:
    """One cell of the month grid (per relation and month)."""

    relation_id: str
    month: YearMonth
    kind: MonthKind
    paid_on: date | None
    waiting: bool  # enrolled but inside a waiting period
    covered_days: int  # days of this month on which this relation gives benefits
    continuous_months: int  # person-level consecutive enrolled months ending here

    @property
    def covered(self) -> bool:
        return self.covered_days > 0


@dataclass(frozen=True)
class BenefitPeriod:
    """A closed interval of days on which one relation gives benefits; ``end=None`` is open-ended."""

    relation_id: str
    insutype: InsuType
    region: str
    start: date
    end: date | None
    start_reasons: tuple[Reason, ...]
    end_reasons: tuple[Reason, ...] = ()

    def contains(self, d: date) -> bool:
        return self.start <= d and (self.end is None or d <= self.end)


@dataclass(frozen=True)
class ProposedAction:
    kind: ActionKind
    relation_id: str
    effective: date
    reason: Reason
    months: tuple[YearMonth, ...] = ()


@dataclass(frozen=True)
class StartDecision:
    """Why one run of employee months or one resident year starts giving benefits when it does."""

    relation_id: str
    first_month: YearMonth  # first enrolled month of the run (or of the resident year's cover)
    last_month: YearMonth
    benefit_start: date | None  # None: this run or year gives no benefits
    decision: Decision[date | None]
    benefit_year: int | None = None


@dataclass(frozen=True)
class Timeline:
    person_id: str
    as_known_on: date | None
    periods: tuple[BenefitPeriod, ...]
    months: tuple[MonthState, ...]
    starts: tuple[StartDecision, ...]
    actions: tuple[ProposedAction, ...]
    notices: tuple[Notice, ...]

    def periods_on(self, d: date) -> tuple[BenefitPeriod, ...]:
        return tuple(p for p in self.periods if p.contains(d))

    def coverage_on(self, d: date) -> BenefitPeriod | None:
        """The relation that gives benefits on ``d`` (employee first), or None."""
        return _first_by_priority(self.periods_on(d))

    def covered(self, d: date) -> bool:
        return self.coverage_on(d) is not None

    def first_covered_day(self, relation_id: str | None = None, on_or_after: date = date.min) -> date | None:
        days = [
            max(p.start, on_or_after)
            for p in self.periods
            if (relation_id is None or p.relation_id == relation_id) and (p.end is None or p.end >= on_or_after)
        ]
        return min(days) if days else None


# --------------------------------------------------------------------------------------
# Internal structures
# --------------------------------------------------------------------------------------


@dataclass
class _Run:
    relation: Enrollment
    months: list[YearMonth]
    first_payer: PayerType | None
    continuation_event: date | None = None  # Luzhou R-WAIT-004: LABOUR_END date for a continuation segment
    continuation_first_paid_on: date | None = None

    @property
    def first(self) -> YearMonth:
        return self.months[0]

    @property
    def last(self) -> YearMonth:
        return self.months[-1]


@dataclass
class _RunResult:
    run: _Run
    start_month: YearMonth | None  # first month with benefits
    wait_months: int  # waiting period applied (for a restart)
    rule: str


@dataclass
class _ResidentYear:
    relation: Enrollment
    year: int
    first_paid_on: date
    lines: list[ContributionLine]
    cover_from_month: YearMonth  # first enrolled month of this year's cover
    newborn_in_window: bool = False
    student_entry: bool = False


class _Context:
    """Facts known on K, indexed for the rules."""

    def __init__(self, facts: PersonFacts, policy: Policy, as_known_on: date | None) -> None:
        self.facts = facts
        self.policy = policy
        self.k = as_known_on
        self.now_month = YearMonth.of(as_known_on) if as_known_on else None
        self.notices: list[Notice] = []
        self.actions: list[ProposedAction] = []
        self.enrollments = {e.relation_id: e for e in facts.enrollments}
        lines_by_relation: dict[str, list[ContributionLine]] = {}
        for line in facts.contributions:
            if line.relation_id not in self.enrollments:
                raise YibaoError(
                    BAD_TIMELINE_INPUT, field="contributions.relation_id", relation=line.relation_id, reason="unknown relation"
                )
            lines_by_relation.setdefault(line.relation_id, []).append(line)
        self.lines = lines_by_relation
        # person-level enrolled months: month index -> set of (scheme, relation_id)
        self.enrolled: dict[int, set[tuple[Scheme, str]]] = {}
        self._sorted_enrolled: list[int] | None = None
        self._streaks: dict[int, int] | None = None

    def param(self, region: str, key: str, on: date) -> UsedParameter:
        return self.policy.param(region, key, on)

    def cite(self, key: str, article: str | None = None) -> Citation:
        return self.policy.cite(key, article)

    def add_enrolled(self, month: YearMonth, scheme: Scheme, relation_id: str) -> None:
        self.enrolled.setdefault(month.index, set()).add((scheme, relation_id))
        self._sorted_enrolled = None
        self._streaks = None

    def sorted_enrolled(self) -> list[int]:
        if self._sorted_enrolled is None:
            self._sorted_enrolled = sorted(self.enrolled)
        return self._sorted_enrolled

    def last_enrolled_before(
        self,
        month: YearMonth,
        *,
        exclude: str | None = None,
        scheme: Scheme | None = None,
        exclude_year: tuple[str, int] | None = None,
        ignore: frozenset[tuple[str, int]] = frozenset(),
    ) -> YearMonth | None:
        """The latest enrolled month before ``month``; ``ignore`` leaves out (relation, month index) pairs."""
        idx = self.sorted_enrolled()
        pos = bisect.bisect_left(idx, month.index) - 1
        while pos >= 0:
            holders = self.enrolled[idx[pos]]
            ym = YearMonth.from_index(idx[pos])
            for s, rid in holders:
                if exclude is not None and rid == exclude and (exclude_year is None or ym.year == exclude_year[1]):
                    continue
                if (rid, idx[pos]) in ignore:
                    continue
                if scheme is not None and s is not scheme:
                    continue
                return ym
            pos -= 1
        return None

    def streak_ending(self, month: YearMonth) -> int:
        """Consecutive enrolled months (any scheme) ending at ``month`` inclusive."""
        if self._streaks is None:
            streaks: dict[int, int] = {}
            for i in self.sorted_enrolled():
                streaks[i] = streaks.get(i - 1, 0) + 1
            self._streaks = streaks
        return self._streaks.get(month.index, 0)

    def schemes_at(self, month: YearMonth, ignore: frozenset[tuple[str, int]] = frozenset()) -> set[Scheme]:
        return {s for s, rid in self.enrolled.get(month.index, ()) if (rid, month.index) not in ignore}

    def year_has_enrolment(self, year: int, *, exclude: tuple[str, int] | None = None) -> bool:
        for m in range(1, 13):
            for s, rid in self.enrolled.get(YearMonth(year, m).index, ()):
                if exclude and rid == exclude[0] and year == exclude[1]:
                    continue
                return True
        return False


# --------------------------------------------------------------------------------------
# Step 1: enrolled months
# --------------------------------------------------------------------------------------


def _employee_paid_months(ctx: _Context, rel: Enrollment) -> dict[YearMonth, tuple[date, PayerType, bool]]:
    """Months paid (net of refunds) → (first payment date, payer of that payment, back-paid?)."""
    net: dict[YearMonth, Decimal] = {}
    first: dict[YearMonth, ContributionLine] = {}
    for line in ctx.lines.get(rel.relation_id, []):
        if line.month is None:
            continue
        if line.fund is not None and line.fund.value.startswith("330"):
            continue  # a rider line does not make a basic contribution month
        net[line.month] = net.get(line.month, Decimal(0)) + line.amount
        if line.amount > 0 and (line.month not in first or line.paid_on < first[line.month].paid_on):
            first[line.month] = line
    out = {}
    for month, total in net.items():
        if total > 0 and month in first:
            line = first[month]
            backpaid = line.kind.is_backpay or line.paid_on > month.last_day()
            out[month] = (line.paid_on, line.payer, backpaid)
    return out


def _provisional_months(ctx: _Context, rel: Enrollment, paid: dict[YearMonth, tuple]) -> list[YearMonth]:
    """Y-GRACE-001: months after the last paid month, up to K's month, while collection is pending."""
    if ctx.now_month is None:
        return []
    past = [m for m in paid if m <= ctx.now_month]
    if not past:
        return []
    last = max(past)  # a prepaid future month must not cancel the grace of the current one
    behind = ctx.now_month - last
    if behind <= 0:
        return []
    grace = ctx.param(rel.region, "employee.collection_grace_months", ctx.now_month.first_day()).value
    if behind > grace:
        return []
    months = [m for m in month_range(last + 1, ctx.now_month) if m not in paid]
    k = ctx.k
    assert k is not None
    if rel.status_on(k) is not InsuStatus.NORMAL or (rel.end is not None and rel.end < ctx.now_month.first_day()):
        return []
    if ctx.facts.death_date is not None and ctx.facts.death_date < ctx.now_month.first_day():
        return []
    return months


# --------------------------------------------------------------------------------------
# Step 2: employee runs
# --------------------------------------------------------------------------------------


def _split_runs(rel: Enrollment, months: list[YearMonth], payers: dict[YearMonth, PayerType]) -> list[_Run]:
    runs: list[_Run] = []
    for m in sorted(months):
        if runs and runs[-1].last + 1 == m:
            runs[-1].months.append(m)
        else:
            runs.append(_Run(rel, [m], payers.get(m)))
    return runs


def _split_for_continuation(ctx: _Context, runs: list[_Run], payers: dict[YearMonth, PayerType], paid_on: dict[YearMonth, date]) -> list[_Run]:
    """Luzhou R-WAIT-004: cut a run where individual continuation follows the end of employment."""
    labour_ends = ctx.facts.events_of(EventKind.LABOUR_END)
    if not labour_ends:
        return runs
    out: list[_Run] = []
    for run in runs:
        region = run.relation.region
        current = run
        for event in labour_ends:
            if event.region not in (None, region):
                continue
            if ctx.policy.get(region, "employee.continuation_window_months", event.on) is None:
                continue
            # first individually paid month after the last unit-paid month on or before the labour end
            unit_months = [m for m in current.months if payers.get(m) is PayerType.UNIT and m.first_day() <= event.on]
            if not unit_months:
                continue
            last_unit = max(unit_months)
            tail = [m for m in current.months if m > last_unit]
            if not tail or payers.get(tail[0]) is PayerType.UNIT:
                continue
            paid_tail = [paid_on[m] for m in tail if m in paid_on]
            if not paid_tail:
                continue
            head = [m for m in current.months if m <= last_unit]
            out.append(_Run(current.relation, head, current.first_payer))
            first_paid = min(paid_tail)
            current = _Run(current.relation, tail, payers.get(tail[0]), event.on, first_paid)
        out.append(current)
    return out


def _mark_continuations(ctx: _Context, runs: list[_Run], unit_months: set[YearMonth], paid_on: dict[YearMonth, date]) -> None:
    """Luzhou R-WAIT-004 where continuation is recorded as its own relation: mark the first run after
    unit-paid months when the labour relation ended in between."""
    labour_ends = ctx.facts.events_of(EventKind.LABOUR_END)
    if not labour_ends:
        return
    for run in runs:
        if run.continuation_event is not None or run.first_payer is PayerType.UNIT:
            continue
        L = ctx.last_enrolled_before(run.first, scheme=Scheme.EMPLOYEE)
        if L is None or L not in unit_months:
            continue
        for event in labour_ends:
            if ctx.policy.get(run.relation.region, "employee.continuation_window_months", event.on) is None:
                continue
            if event.region in (None, run.relation.region) and L.first_day() <= event.on <= run.first.last_day():
                run.continuation_event = event.on
                run.continuation_first_paid_on = min(paid_on[m] for m in run.months if m in paid_on)
                break


def _veteran_exempt(ctx: _Context, run: _Run, previous_runs: list[_RunResult]) -> date | None:
    """R-WAIT-012: the first employee enrollment after discharge or a military spouse's employment."""
    for event in ctx.facts.events_of(EventKind.DISCHARGED) + ctx.facts.events_of(EventKind.SPOUSE_EMPLOYED):
        if event.on > run.first.last_day():
            continue
        started_since = [r for r in previous_runs if r.run.first.first_day() > event.on or r.run.first == YearMonth.of(event.on)]
        if not started_since:
            return event.on
    return None


def _new_enrollee_wait(ctx: _Context, run: _Run) -> tuple[int, UsedParameter]:
    key = "employee.new_enrollee_wait_unit" if run.first_payer is PayerType.UNIT else "employee.new_enrollee_wait_individual"
    p = ctx.param(run.relation.region, key, run.first.first_day())
    return p.value, p


def _decide_employee_run(ctx: _Context, run: _Run, previous: list[_RunResult]) -> tuple[_RunResult, Decision[date | None]]:
    """The benefit start of one run of employee months: the rules that look at the run itself first
    (Luzhou continuation, veterans), then those that look at what came before it (:func:`_start_after`)."""
    region = run.relation.region
    S = run.first
    on = S.first_day()
    reasons: list[Reason] = []

    def result(start: YearMonth | None, wait: int, rule: str) -> tuple[_RunResult, Decision[date | None]]:
        value = start.first_day() if start is not None else None
        return _RunResult(run, start, wait, rule), Decision(value, tuple(reasons))

    # Luzhou continuation window (R-WAIT-004)
    if run.continuation_event is not None:
        window_p = ctx.param(region, "employee.continuation_window_months", run.continuation_event)
        retro_p = ctx.param(region, "employee.continuation_retro_gap", run.continuation_event)
        deadline = add_months(run.continuation_event, window_p.value)
        handled = run.continuation_first_paid_on or on
        L_before = ctx.last_enrolled_before(S, scheme=Scheme.EMPLOYEE)
        continuous = L_before is not None and L_before + 1 == S
        if handled <= deadline and not continuous:
            ctx.notices.append(Notice.of(CONTINUATION_GAP, field="contributions", first=str(S)))
        if handled <= deadline and continuous:
            start = S if retro_p.value else max(S, YearMonth.of(handled))
            reasons.append(
                reason(
                    "R-WAIT-004",
                    f"解除劳动关系（{run.continuation_event}）后于期限 {deadline} 内（{handled}）以个人身份续保，自续保缴费当月 {start} 起享受待遇",
                    f"individual continuation handled on {handled}, within the deadline {deadline} after the labour relation ended on {run.continuation_event}: benefits from the continuation payment month {start}",
                    parameters=[window_p, retro_p],
                    citations=[ctx.cite("S10", "第二项")],
                    labour_end=run.continuation_event,
                    handled_on=handled,
                    deadline=deadline,
                )
            )
            return result(start, 0, "R-WAIT-004")
        if handled > deadline:
            wait, wp = _new_enrollee_wait(ctx, _with_payer(run, PayerType.INDIVIDUAL))
            start = S + wait
            reasons.append(
                reason(
                    "R-WAIT-004",
                    f"续保办理日 {handled} 晚于期限 {deadline}，按新参保人员处理",
                    f"continuation handled on {handled}, after the deadline {deadline}: treated as a new enrollee",
                    parameters=[window_p],
                    citations=[ctx.cite("S10", "第二项")],
                    labour_end=run.continuation_event,
                    handled_on=handled,
                    deadline=deadline,
                )
            )
            reasons.append(_new_enrollee_reason(ctx, S, wait, wp, start))
            return result(start, wait, "R-WAIT-005")

    veteran_event = _veteran_exempt(ctx, run, previous)
    if veteran_event is not None:
        reasons.append(
            reason(
                "R-WAIT-012",
                f"退役军人或随军配偶就业（{veteran_event}）后参保，不设待遇等待期，自 {S} 起享受待遇",
                f"enrolled after discharge or a military spouse's employment ({veteran_event}): no waiting period, benefits from {S}",
                citations=[ctx.cite("S1", "三(四)"), ctx.cite("S11")],
                event=veteran_event,
            )
        )
        return result(S, 0, "R-WAIT-012")

    return _start_after(ctx, run, previous, ctx.last_enrolled_before(S), frozenset())


def _start_after(
    ctx: _Context, run: _Run, previous: list[_RunResult], L: YearMonth | None, ignore: frozenset[tuple[str, int]]
) -> tuple[_RunResult, Decision[date | None]]:
    """The start of an employee run given ``L``, the last enrolled month before it (``ignore``d months left out)."""
    rel = run.relation
    region = rel.region
    S = run.first
    on = S.first_day()
    max_gap_p = ctx.param(region, "employee.max_gap_no_wait", on)
    max_gap = max_gap_p.value
    assistance = sorted(g.value for g in ctx.facts.groups_on(on) & ASSISTANCE_GROUPS)
    reasons: list[Reason] = []

    def result(start: YearMonth | None, wait: int, rule: str) -> tuple[_RunResult, Decision[date | None]]:
        value = start.first_day() if start is not None else None
        return _RunResult(run, start, wait, rule), Decision(value, tuple(reasons))

    if L is None:
        wait, wp = _new_enrollee_wait(ctx, run)
        start = S + wait
        reasons.append(_new_enrollee_reason(ctx, S, wait, wp, start))
        return result(start, wait, "R-WAIT-005")

    gap = S - L - 1
    prior_schemes = ctx.schemes_at(L, ignore)
    prev_emp = previous[-1] if previous else None
    if prev_emp is not None and prev_emp.run.last == L and _incomplete(prev_emp):
        # The previous employee run was still waiting when it ended: the wait continues or restarts.
        # Y-WAIT-003: never worse than if those waiting months had not been paid at all.
        primary = _continue_or_restart(ctx, run, prev_emp, L, gap, reasons, result)
        wasted = ignore | {(prev_emp.run.relation.relation_id, m.index) for m in prev_emp.run.months}
        alt = _start_after(ctx, run, previous[:-1], ctx.last_enrolled_before(S, ignore=wasted), wasted)
        if alt[0].start_month is not None and (primary[0].start_month is None or alt[0].start_month < primary[0].start_month):
            why = reason(
                "Y-WAIT-003",
                f"等待期内缴费后中断，不应比未缴这些月份更不利：不计 {prev_emp.run.first}–{L}，待遇自 {alt[0].start_month} 起",
                f"paying during a waiting period and then stopping must not leave the person worse off than not paying: without {prev_emp.run.first}–{L}, benefits from {alt[0].start_month}",
                citations=[ctx.cite("YIBAO", "Y-WAIT-003")],
            )
            return alt[0], Decision(alt[1].value, (*alt[1].reasons, why))
        return primary

    if Scheme.EMPLOYEE in prior_schemes:
        if assistance and gap > max_gap:
            reasons.append(_assistance_reason(ctx, S, assistance))
            return result(S, 0, "R-WAIT-013")
        return result(*_employee_gap_rule(ctx, run, L, gap, max_gap_p, reasons))

    # Prior coverage was resident only: a switch 390 → 310 (R-WAIT-003).
    if assistance:
        reasons.append(_assistance_reason(ctx, S, assistance))
        return result(S, 0, "R-WAIT-013")
    min_p = ctx.param(region, "switch.min_continuous_months", on)
    streak = ctx.streak_ending(L)
    if min_p.value is not None and streak >= min_p.value:
        if gap <= max_gap:
            reasons.append(
                reason(
                    "R-WAIT-003",
                    f"跨制度转换：此前连续参保 {streak} 个月（≥{min_p.value}），中断 {gap} 个月（≤{max_gap}），缴费后即享受待遇，自 {S} 起",
                    f"switch between schemes after {streak} continuous months (≥{min_p.value}) with a {gap}-month gap (≤{max_gap}): benefits at once from {S}",
                    parameters=[min_p, max_gap_p],
                    citations=[ctx.cite("S1", "二(三)"), ctx.cite("S2")],
                    continuous_months=streak,
                    gap_months=gap,
                )
            )
            if gap > 0:
                _backpay_action(ctx, rel, L, S, gap, "R-WAIT-003")
            return result(S, 0, "R-WAIT-003")
        wait_p = ctx.param(region, "switch.wait_months", on)
        start = S + wait_p.value
        reasons.append(
            reason(
                "R-WAIT-003",
                f"跨制度转换：此前连续参保 {streak} 个月，中断 {gap} 个月（>{max_gap}），等待期 {wait_p.value} 个月，待遇自 {start} 起；原参保关系在新待遇开始之日暂停",
                f"switch between schemes after {streak} continuous months with a {gap}-month gap (>{max_gap}): waiting {wait_p.value} months, benefits from {start}; the original relation is suspended when they start",
                parameters=[min_p, max_gap_p, wait_p],
                citations=[ctx.cite("S1", "二(三)")],
                continuous_months=streak,
                gap_months=gap,
            )
        )
        # Y-WAIT-002: never worse than the ordinary employee rules.
        wait = wait_p.value
        alt_start, alt_wait, alt_reasons = _ordinary_employee_start(ctx, run, previous, ignore)
        if alt_start is not None and alt_start < start:
            reasons.extend(alt_reasons)
            start, wait = alt_start, alt_wait
            reasons.append(_favourable_reason(ctx, start))
        _suspend_old_relations(ctx, run.relation, L, start.first_day(), "R-WAIT-003")
        return result(start, wait, "R-WAIT-003")

    if min_p.value is None:
        start, wait, alt_reasons = _ordinary_employee_start(ctx, run, previous, ignore)
        reasons.extend(alt_reasons)
        return result(start, wait, alt_reasons[0].rule_id)
    reasons.append(
        reason(
            "R-WAIT-003",
            f"此前连续参保 {streak} 个月，不足 {min_p.value} 个月，不适用跨制度转换免等待规定，按职工医保一般规定处理",
            f"only {streak} continuous months before the switch (< {min_p.value}): the switching rule does not apply; ordinary employee rules do",
            parameters=[min_p],
            citations=[ctx.cite("S1", "二(三)")],
            continuous_months=streak,
        )
    )
    start, wait, alt_reasons = _ordinary_employee_start(ctx, run, previous, ignore)
    reasons.extend(alt_reasons)
    return result(start, wait, alt_reasons[0].rule_id)


def _continue_or_restart(ctx: _Context, run: _Run, prev_emp: _RunResult, L: YearMonth, gap: int, reasons: list[Reason], result):
    """R-WAIT-002: an unfinished waiting period continues across a transfer (gap 0) or restarts after a break."""
    S = run.first
    if gap == 0:
        start = prev_emp.start_month
        reasons.append(
            reason(
                prev_emp.rule,
                f"上一段缴费（{prev_emp.run.first}–{L}）的等待期尚未届满，在本参保关系连续缴费，等待期继续，待遇自 {start} 起",
                f"the waiting period of the previous run ({prev_emp.run.first}–{L}) had not ended; contributions continue here, so it continues: benefits from {start}",
                citations=[ctx.cite("S2")],
            )
        )
        return result(start, prev_emp.wait_months, prev_emp.rule)
    wait = prev_emp.wait_months
    start = S + wait
    reasons.append(
        reason(
            "R-WAIT-002",
            f"等待期内（{prev_emp.run.first} 起）缴费中断 {gap} 个月，等待期自重新缴费月 {S} 重新计算 {wait} 个月，待遇自 {start} 起",
            f"contributions stopped for {gap} month(s) during the waiting period begun {prev_emp.run.first}; it restarts at the resumption {S}: {wait} months, benefits from {start}",
            citations=[ctx.cite("S2"), ctx.cite("S1", "二(三)")],
            resumed=S,
            gap_months=gap,
        )
    )
    return result(start, wait, "R-WAIT-002")


def _with_payer(run: _Run, payer: PayerType) -> _Run:
    return _Run(run.relation, run.months, payer)


def _incomplete(prev: _RunResult) -> bool:
    return prev.start_month is None or prev.start_month > prev.run.last


def _ordinary_employee_start(
    ctx: _Context, run: _Run, previous: list[_RunResult], ignore: frozenset[tuple[str, int]] = frozenset()
) -> tuple[YearMonth | None, int, list[Reason]]:
    """Employee-only continuity (when a switch does not qualify): the same rules from the last employee month."""
    L310 = ctx.last_enrolled_before(run.first, scheme=Scheme.EMPLOYEE, ignore=ignore)
    res, decision = _start_after(ctx, run, previous, L310, ignore)
    return res.start_month, res.wait_months, list(decision.reasons)


def _employee_gap_rule(
    ctx: _Context, run: _Run, L: YearMonth, gap: int, max_gap_p: UsedParameter, reasons: list[Reason]
) -> tuple[YearMonth, int, str]:
    """R-WAIT-001/002/011 for a run that follows employee-scheme months; appends its reasons."""
    rel = run.relation
    S = run.first
    on = S.first_day()
    max_gap = max_gap_p.value
    if gap == 0:
        reasons.append(
            reason(
                "R-WAIT-001",
                f"连续缴费（上一缴费月 {L}），无中断，待遇连续，自 {S} 起",
                f"contributions continue from {L} with no interruption: benefits continue from {S}",
                parameters=[max_gap_p],
                citations=[ctx.cite("S2")],
                last_paid=L,
                resumed=S,
            )
        )
        return S, 0, "R-WAIT-001"
    if gap <= max_gap:
        reasons.append(
            reason(
                "R-WAIT-001",
                f"中断缴费 {gap} 个月（{L + 1}–{S - 1}，≤{max_gap}），可按规定补缴，不设待遇等待期，自 {S} 起享受待遇；补缴后中断期间的费用可追溯报销",
                f"interrupted for {gap} month(s) ({L + 1}–{S - 1}, ≤{max_gap}): they may be back-paid with no waiting period; benefits from {S}, and once back-paid the gap is covered retroactively",
                parameters=[max_gap_p],
                citations=[ctx.cite("S2"), ctx.cite("S11")],
                last_paid=L,
                resumed=S,
                gap_months=gap,
            )
        )
        _backpay_action(ctx, rel, L, S, gap, "R-WAIT-001")
        return S, 0, "R-WAIT-001"
    flex_p = ctx.param(rel.region, "employee.flexible_gap_as_new_enrollee", on)
    if rel.is_flexible and flex_p.value:
        wait_p = ctx.param(rel.region, "employee.new_enrollee_wait_individual", on)
        start = S + wait_p.value
        reasons.append(
            reason(
                "R-WAIT-011",
                f"灵活就业人员中断缴费 {gap} 个月（>{max_gap}），按新参保人员处理，等待期 {wait_p.value} 个月，待遇自 {start} 起",
                f"flexible worker interrupted for {gap} months (>{max_gap}): treated as a new enrollee, waiting {wait_p.value} months, benefits from {start}",
                parameters=[max_gap_p, flex_p, wait_p],
                citations=[ctx.cite("S11")],
                last_paid=L,
                resumed=S,
                gap_months=gap,
            )
        )
        return start, wait_p.value, "R-WAIT-011"
    wait_p = ctx.param(rel.region, "employee.gap_wait_months", on)
    wait = wait_p.value
    new_wait, new_p = _new_enrollee_wait(ctx, run)
    reasons.append(
        reason(
            "R-WAIT-002",
            f"中断缴费 {gap} 个月（>{max_gap}），重新缴费后设 {wait} 个月待遇等待期，等待期内须连续缴费",
            f"interrupted for {gap} months (>{max_gap}): a {wait}-month waiting period after resuming, with contributions kept continuous during it",
            parameters=[max_gap_p, wait_p],
            citations=[ctx.cite("S2"), ctx.cite("S1", "二(三)")],
            last_paid=L,
            resumed=S,
            gap_months=gap,
        )
    )
    if new_wait < wait:
        wait = new_wait
        reasons.append(
            reason(
                "Y-WAIT-001",
                f"中断后重新参保的等待期不长于同一渠道新参保人员（{new_wait} 个月）",
                f"a re-enrollee after an interruption waits no longer than a first-time enrollee through the same channel ({new_wait} months)",
                parameters=[new_p],
                citations=[ctx.cite("YIBAO", "Y-WAIT-001")],
            )
        )
    start = S + wait
    reasons.append(
        reason(
            "R-WAIT-002",
            f"待遇自 {start} 起（重新缴费月 {S} 加 {wait} 个月）",
            f"benefits from {start} (resumption {S} plus {wait} months)",
        )
    )
    return start, wait, "R-WAIT-002"


def _new_enrollee_reason(ctx: _Context, S: YearMonth, wait: int, wp: UsedParameter, start: YearMonth) -> Reason:
    channel_zh = "单位" if wp.key.endswith("unit") else "个人（灵活就业）"
    channel_en = "a unit" if wp.key.endswith("unit") else "an individual (flexible) channel"
    return reason(
        "R-WAIT-005",
        f"新参保（首次缴费月 {S}，{channel_zh}），等待期 {wait} 个月，待遇自 {start} 起",
        f"new enrollee (first month {S}, through {channel_en}): waiting {wait} months, benefits from {start}",
        parameters=[wp],
        citations=[ctx.cite("S11")],
        first_month=S,
    )


def _assistance_reason(ctx: _Context, S: YearMonth, groups: list[str]) -> Reason:
    return reason(
        "R-WAIT-013",
        f"医疗救助对象（{', '.join(groups)}）跨制度或跨统筹区转换，不设待遇等待期，缴费后即享受，自 {S} 起",
        f"medical-assistance population ({', '.join(groups)}) switching or transferring: no waiting period, benefits once paid, from {S}",
        citations=[ctx.cite("S1", "三(一)")],
        groups=groups,
    )


def _favourable_reason(ctx: _Context, start) -> Reason:
    return reason(
        "Y-WAIT-002",
        f"多项规定均适用时按对参保人最有利的结果：待遇自 {start} 起",
        f"where several rules apply, the person gets the most favourable: benefits from {start}",
        citations=[ctx.cite("YIBAO", "Y-WAIT-002")],
    )


def _backpay_action(ctx: _Context, rel: Enrollment, L: YearMonth, S: YearMonth, gap: int, rule: str) -> None:
    months = tuple(month_range(L + 1, S - 1))
    ctx.actions.append(
        ProposedAction(
            ActionKind.BACKPAY,
            rel.relation_id,
            S.first_day(),
            reason(
                rule,
                f"可补缴中断月份 {months[0]}–{months[-1]}（{gap} 个月），补缴后追溯享受待遇",
                f"the interrupted months {months[0]}–{months[-1]} ({gap}) may be back-paid, with retroactive cover once paid",
                citations=[ctx.cite("S2")],
            ),
            months,
        )
    )


def _suspend_old_relations(ctx: _Context, new: Enrollment, L: YearMonth, start: date, rule: str) -> None:
    """The relation of the other scheme that held month L is suspended on the day the new one's benefits
    start: A-01 for a switch (R-WAIT-003, behind the flag ``switch.suspend_old_at_new_start``), and the
    assistance population's switch (R-WAIT-013)."""
    parameters: list[UsedParameter] = []
    if rule == "R-WAIT-003":
        flag = ctx.param(new.region, "switch.suspend_old_at_new_start", start)
        if not flag.value:
            return
        parameters.append(flag)
    for scheme, rid in ctx.enrolled.get(L.index, ()):
        old = ctx.enrollments[rid]
        if rid == new.relation_id or old.scheme is new.scheme or (old.end is not None and old.end < start):
            continue
        if old.status_on(start) is InsuStatus.NORMAL:
            ctx.actions.append(
                ProposedAction(
                    ActionKind.SUSPEND,
                    rid,
                    start,
                    reason(
                        rule,
                        f"新参保关系 {new.relation_id} 自 {start} 享受待遇，原参保关系 {rid} 应同日暂停",
                        f"the new relation {new.relation_id} gives benefits from {start}; the original relation {rid} should be suspended that day",
                        parameters=parameters,
                        citations=[ctx.cite("S1", "二(三)" if rule == "R-WAIT-003" else "三(一)")],
                    ),
                )
            )


# --------------------------------------------------------------------------------------
# Step 3: resident years
# --------------------------------------------------------------------------------------


def _resident_years(ctx: _Context, rel: Enrollment) -> list[_ResidentYear]:
    by_year: dict[int, list[ContributionLine]] = {}
    for line in ctx.lines.get(rel.relation_id, []):
        if line.benefit_year is None:
            continue
        by_year.setdefault(line.benefit_year, []).append(line)
    out = []
    birth = ctx.facts.birth_date
    for year, lines in sorted(by_year.items()):
        person_lines = [l for l in lines if l.payer in _RESIDENT_PAYERS]
        net = sum((l.amount for l in person_lines), Decimal(0))
        positive = [l for l in person_lines if l.amount > 0]
        if not positive or net <= 0:
            continue
        first_paid = min(l.paid_on for l in positive)
        newborn = _newborn_in_window(ctx, rel, year, first_paid)
        if first_paid > date(year, 12, 31) and not newborn:
            continue  # paid after the year ended: a repair of a broken year (R-WAIT-007), not cover
        student = _student_entry(ctx, rel, year, first_paid)
        if newborn and birth is not None:
            cover_from = YearMonth.of(max(birth, date(year, 1, 1)))
        elif student is not None:
            cover_from = YearMonth.of(student)
        elif first_paid < date(year, 1, 1):
            cover_from = YearMonth(year, 1)
        else:
            cover_from = YearMonth.of(first_paid)
        out.append(_ResidentYear(rel, year, first_paid, lines, cover_from, newborn, student is not None))
    return out


def _newborn_in_window(ctx: _Context, rel: Enrollment, year: int, paid_on: date) -> bool:
    birth = ctx.facts.birth_date
    if birth is None or year not in (birth.year, birth.year + 1) or paid_on < birth:
        return False
    on = birth
    days = ctx.param(rel.region, "newborn.window_days", on).value
    day1 = ctx.param(rel.region, "newborn.count_birth_day_as_day_1", on).value
    return paid_on <= last_day_of_window(birth, days, count_start_day=day1)


def _student_entry(ctx: _Context, rel: Enrollment, year: int, paid_on: date) -> date | None:
    """R-RES-002: the day an entry-year student at the place of study is covered from, if it applies."""
    for g in ctx.facts.groups:
        if g.group is not PersonGroup.STUDENT or g.start.year != year - 1:
            continue
        if g.region is not None and g.region != rel.region:
            continue
        cover_from = ctx.policy.get(rel.region, "student.entry_cover_from", date(year, 1, 1))
        if cover_from is None:
            return None
        window_start = month_day(year - 1, ctx.param(rel.region, "resident.window_start", date(year, 1, 1)).value)
        window_end = month_day(year - 1, ctx.param(rel.region, "resident.window_end", date(year, 1, 1)).value)
        if window_start <= paid_on <= window_end:
            return month_day(year - 1, cover_from)
    return None


def _broken_years(ctx: _Context, rel: Enrollment, year: int) -> tuple[int, list[int], UsedParameter]:
    """R-WAIT-007: consecutive benefit years with no coverage in any scheme right before ``year``."""
    floor_p = ctx.param(rel.region, "resident.broken_years_count_from", date(year, 1, 1))
    floor = floor_p.value
    if floor is None:
        birth = ctx.facts.birth_date
        floor = birth.year + 1 if birth is not None else year - 50
    broken: list[int] = []
    y = year - 1
    while y >= floor and not ctx.year_has_enrolment(y, exclude=(rel.relation_id, year)):
        broken.append(y)
        y -= 1
    return len(broken), broken, floor_p


def _repaired_years(ctx: _Context, broken: list[int]) -> list[int]:
    """Broken years back-paid after they ended (修复)."""
    years = set()
    for lines in ctx.lines.values():
        for line in lines:
            if line.benefit_year in broken and line.amount > 0 and line.paid_on > date(line.benefit_year, 12, 31):
                if line.payer in _RESIDENT_PAYERS:
                    years.add(line.benefit_year)
    return sorted(years)


def _decide_resident_year(ctx: _Context, ry: _ResidentYear) -> Decision[date | None]:
    rel = ry.relation
    region = rel.region
    Y = ry.year
    p = ry.first_paid_on
    year_start, year_end = date(Y, 1, 1), date(Y, 12, 31)
    on = year_start
    reasons: list[Reason] = []
    notices: list[Notice] = []
    birth = ctx.facts.birth_date

    def done(start: date | None) -> Decision[date | None]:
        if start is not None and start > year_end:
            notices.append(Notice.of(NO_COVER_THIS_YEAR, field="paid_on", year=Y, start=start.isoformat()))
            reasons.append(
                reason(
                    "R-WAIT-006",
                    f"待遇开始日 {start} 晚于 {Y} 年度结束，本次缴费不能获得 {Y} 年度待遇（不顺延）",
                    f"the start {start} falls after {Y} ends: no {Y} cover from this payment (it does not spill over)",
                    citations=[ctx.cite("S3", "二(二)")],
                )
            )
            start = None
        return Decision(start, tuple(reasons), tuple(notices))

    # Newborns (R-RES-003)
    if birth is not None and Y in (birth.year, birth.year + 1) and p >= birth and (p - birth).days <= 366:
        days_p = ctx.param(region, "newborn.window_days", birth)
        day1_p = ctx.param(region, "newborn.count_birth_day_as_day_1", birth)
        last = last_day_of_window(birth, days_p.value, count_start_day=day1_p.value)
        if ry.newborn_in_window:
            start = max(birth, year_start)
            reasons.append(
                reason(
                    "R-RES-003",
                    f"新生儿出生于 {birth}，于登记期限 {last} 内（{p}）参保缴费，自 {start} 起享受待遇，不设等待期",
                    f"newborn born {birth}, registered and paid on {p}, within the window ending {last}: covered from {start} with no waiting period",
                    parameters=[days_p, day1_p],
                    citations=[ctx.cite("S1", "三(三)"), ctx.cite("S20")],
                    birth_date=birth,
                    window_last_day=last,
                )
            )
            if last.year > birth.year and Y == birth.year:
                opt = ctx.param(region, "newborn.year_end_option", birth)
                paid_next = any(l.benefit_year == birth.year + 1 for l in ctx.lines.get(rel.relation_id, []))
                if opt.value == "PAY_BOTH" and not paid_next:
                    notices.append(Notice.of(NEWBORN_PAY_BOTH_YEARS, field="benefit_year", birth_year=birth.year, next_year=birth.year + 1))
            return done(start)
        if Y == birth.year or (Y == birth.year + 1 and p <= year_end):
            rule_p = ctx.param(region, "newborn.late_rule", birth)
            if rule_p.value == "NEXT_MONTH_AFTER_PAYMENT":
                start = (YearMonth.of(p) + 1).first_day()
            else:
                start = add_months(p, ctx.param(region, "resident.fixed_wait_months", on).value)
            start = max(start, year_start)
            reasons.append(
                reason(
                    "R-RES-003",
                    f"新生儿出生于 {birth}，超过登记期限 {last} 才参保（{p}），按本地规定（{rule_p.value}）自 {start} 起享受待遇",
                    f"newborn born {birth} registered on {p}, after the window ended {last}: under the local rule ({rule_p.value}) covered from {start}",
                    parameters=[days_p, day1_p, rule_p],
                    citations=[ctx.cite("S1", "三(三)"), ctx.cite("S20")],
                    birth_date=birth,
                    window_last_day=last,
                )
            )
            return done(start)

    # Entry-year students at the place of study (R-RES-002)
    if ry.student_entry:
        start = ry.cover_from_month.first_day()
        cover_p = ctx.param(region, "student.entry_cover_from", on)
        reasons.append(
            reason(
                "R-RES-002",
                f"新入学学生在学籍地集中参保期内缴纳 {Y} 年度（{p}），自入学当年 {start} 起至 {year_end} 享受待遇",
                f"a new student paid {Y} at the place of study in the window ({p}): covered from {start} in the entry year to {year_end}",
                parameters=[cover_p],
                citations=[ctx.cite("S1", "三(二)"), ctx.cite("S19")],
            )
        )
        return done(start)

    window_start_p = ctx.param(region, "resident.window_start", on)
    window_end_p = ctx.param(region, "resident.window_end", on)
    ext_p = ctx.param(region, "resident.extension_end", on)
    prepay_p = ctx.param(region, "resident.accept_prepay_outside_window", on)
    window_start = month_day(Y - 1, window_start_p.value)
    window_end = month_day(Y - 1, window_end_p.value)
    ext_end = month_day(Y, ext_p.value) if ext_p.value else None
    in_window = window_start <= p <= window_end
    in_extension = ext_end is not None and year_start <= p <= ext_end
    early = p < window_start
    if early and not prepay_p.value:
        notices.append(
            Notice.of(OUTSIDE_WINDOW, field="paid_on", year=Y, paid_on=p.isoformat(), window_start=window_start.isoformat())
        )
    on_time = in_window or in_extension or early
    window_params = [window_start_p, window_end_p, ext_p]
    resume = YearMonth.of(max(p, year_start))
    L = ctx.last_enrolled_before(resume, exclude=rel.relation_id, exclude_year=(rel.relation_id, Y))
    continuous = ctx.year_has_enrolment(Y - 1, exclude=(rel.relation_id, Y)) and YearMonth(Y - 1, 12).index in ctx.enrolled
    anchor_date = max(p, year_start)

    candidates: list[tuple[date, list[Reason]]] = []

    # Exempt groups (R-WAIT-008, R-WAIT-013)
    exempt_p = ctx.param(region, "resident.wait_exempt_groups", on)
    groups = ctx.facts.groups_on(p) | ctx.facts.groups_on(anchor_date)
    exempt = sorted(g.value for g in groups if g.value in exempt_p.value)
    if exempt:
        rule = "R-WAIT-013" if set(exempt) & {g.value for g in ASSISTANCE_GROUPS} and L is not None and Scheme.EMPLOYEE in ctx.schemes_at(L) else "R-WAIT-008"
        candidates.append(
            (
                anchor_date,
                [
                    reason(
                        rule,
                        f"属于免等待期人员（{', '.join(exempt)}），缴费后即享受待遇，自 {anchor_date} 起",
                        f"in a group exempt from waiting periods ({', '.join(exempt)}): covered once paid, from {anchor_date}",
                        parameters=[exempt_p],
                        citations=[ctx.cite("S3", "二(二)"), ctx.cite("S1", "三(一)")],
                        groups=exempt,
                    )
                ],
            )
        )

    # Switch 310 → 390 after ≥ 24 continuous months (R-WAIT-003, A-02)
    override_p = ctx.param(region, "switch.overrides_resident_wait", on)
    if override_p.value and L is not None and Scheme.EMPLOYEE in ctx.schemes_at(L):
        min_p = ctx.param(region, "switch.min_continuous_months", on)
        max_gap_p = ctx.param(region, "employee.max_gap_no_wait", on)
        streak = ctx.streak_ending(L)
        gap = resume - L - 1
        if min_p.value is not None and streak >= min_p.value:
            if gap <= max_gap_p.value:
                candidates.append(
                    (
                        anchor_date,
                        [
                            reason(
                                "R-WAIT-003",
                                f"由职工医保转入居民医保：此前连续参保 {streak} 个月（≥{min_p.value}），中断 {gap} 个月（≤{max_gap_p.value}），缴费后即享受待遇，不设居民固定等待期，自 {anchor_date} 起",
                                f"switch from the employee scheme after {streak} continuous months (≥{min_p.value}) with a {gap}-month gap (≤{max_gap_p.value}): covered once paid, without the resident fixed waiting period, from {anchor_date}",
                                parameters=[min_p, max_gap_p, override_p],
                                citations=[ctx.cite("S1", "二(三)"), ctx.cite("S2")],
                                continuous_months=streak,
                                gap_months=gap,
                            )
                        ],
                    )
                )
            else:
                wait_p = ctx.param(region, "switch.wait_months", on)
                start = add_months(anchor_date, wait_p.value)
                candidates.append(
                    (
                        start,
                        [
                            reason(
                                "R-WAIT-003",
                                f"由职工医保转入居民医保：连续参保 {streak} 个月，中断 {gap} 个月（>{max_gap_p.value}），等待期 {wait_p.value} 个月，自 {start} 起",
                                f"switch from the employee scheme after {streak} continuous months with a {gap}-month gap (>{max_gap_p.value}): waiting {wait_p.value} months, from {start}",
                                parameters=[min_p, max_gap_p, wait_p, override_p],
                                citations=[ctx.cite("S1", "二(三)")],
                            )
                        ],
                    )
                )

    # Ordinary resident rules (R-RES-001, R-WAIT-006, R-WAIT-007)
    if on_time and continuous:
        start = year_start if p < year_start else p
        if in_extension:
            why_zh, why_en, rule = f"于延长缴费期（至 {ext_end}）内缴费（{p}），视同按时参保，自缴费之日起享受待遇", f"paid on {p} in the extension period (to {ext_end}): on time, covered from the payment date", "R-WAIT-006"
        else:
            why_zh, why_en, rule = f"于集中参保期（{window_start}–{window_end}）缴纳 {Y} 年度（{p}），连续参保，自 {start} 起享受 {Y} 年度待遇", f"paid {Y} on {p} in the collection window ({window_start}–{window_end}) and continuously insured: covered from {start}", "R-RES-001"
        candidates.append(
            (start, [reason(rule, why_zh, why_en, parameters=window_params, citations=[ctx.cite("S1", "三(二)"), ctx.cite("S3", "二(二)")], paid_on=p)])
        )
    else:
        fixed_p = ctx.param(region, "resident.fixed_wait_months", on)
        wait = fixed_p.value
        ordinary: list[Reason] = []
        situation_zh = "未在集中参保期内参保" if not on_time else "未连续参保"
        situation_en = "paid outside the collection window" if not on_time else "not continuously insured"
        if not on_time and continuous is False:
            situation_zh, situation_en = "未在集中参保期内参保且未连续参保", "paid outside the window and not continuously insured"
        fixed_zh = f"固定待遇等待期 {fixed_p.value} 个月" if fixed_p.value else f"{Y} 年度未设固定待遇等待期"
        fixed_en = f"fixed waiting period of {fixed_p.value} months" if fixed_p.value else f"no fixed waiting period for {Y}"
        ordinary.append(
            reason(
                "R-WAIT-006",
                f"{situation_zh}，{fixed_zh}",
                f"{situation_en}: {fixed_en}",
                parameters=[fixed_p, *window_params],
                citations=[ctx.cite("S3", "二(二)")],
                paid_on=p,
            )
        )
        first_year_p = ctx.param(region, "resident.variable_wait_first_year", on)
        if not continuous and Y >= first_year_p.value:
            n, broken, floor_p = _broken_years(ctx, rel, Y)
            if n > 0:
                offset_p = ctx.param(region, "resident.variable_offset", on)
                repair_p = ctx.param(region, "resident.repair_months_per_year", on)
                threshold_p = ctx.param(region, "resident.floor_threshold_years", on)
                floor_months_p = ctx.param(region, "resident.floor_months", on)
                cap_p = ctx.param(region, "resident.wait_cap_months", on)
                variable = max(0, n - offset_p.value)
                repaired = _repaired_years(ctx, broken)
                after_repair = max(0, variable - len(repaired) * repair_p.value)
                wait = fixed_p.value + after_repair
                floor_applied = n >= threshold_p.value and wait < floor_months_p.value
                if n >= threshold_p.value:
                    wait = max(wait, floor_months_p.value)
                capped = cap_p.value is not None and wait > cap_p.value
                if capped:
                    wait = cap_p.value
                if wait > 12:
                    notices.append(Notice.of(LONG_WAIT, field="contributions", year=Y, months=wait, broken=n))
                ordinary.append(
                    reason(
                        "R-WAIT-007",
                        f"此前连续断保 {n} 年（{broken[-1]}–{broken[0]}），变动等待期 {variable} 个月；已补缴修复 {len(repaired)} 年，修复后 {after_repair} 个月"
                        + ("；断保满4年，等待期不少于下限" if floor_applied else "")
                        + (f"；上限 {cap_p.value} 个月" if capped else "")
                        + f"；合计等待期 {wait} 个月",
                        f"{n} consecutive broken year(s) ({broken[-1]}–{broken[0]}): variable part {variable} month(s); {len(repaired)} year(s) repaired, {after_repair} left"
                        + ("; the floor applies after long breaks" if floor_applied else "")
                        + (f"; capped at {cap_p.value}" if capped else "")
                        + f"; total waiting {wait} months",
                        parameters=[first_year_p, offset_p, repair_p, threshold_p, floor_months_p, cap_p, floor_p],
                        citations=[ctx.cite("S3", "二(二)")],
                        broken_years=broken,
                        repaired_years=repaired,
                    )
                )
        anchor_p = ctx.param(region, "resident.wait_anchor", on)
        gran_p = ctx.param(region, "resident.wait_granularity", on)
        anchor = anchor_date if anchor_p.value == "MAX_PAYMENT_YEAR_START" else p
        start = add_months(anchor, wait)
        if gran_p.value == "MONTH" and start.day != 1:
            start = (YearMonth.of(start) + 1).first_day()
        ordinary.append(
            reason(
                "R-WAIT-006",
                f"等待期自 {anchor} 起算 {wait} 个月，待遇自 {start} 起",
                f"the waiting period runs {wait} months from {anchor}: covered from {start}",
                parameters=[anchor_p, gran_p],
                citations=[ctx.cite("YIBAO", "A-04")],
            )
        )
        candidates.append((start, ordinary))

    best_start, best_reasons = min(candidates, key=lambda c: c[0])
    reasons.extend(best_reasons)
    if L is not None and {r.rule_id for r in best_reasons} & {"R-WAIT-003", "R-WAIT-013"}:
        _suspend_old_relations(ctx, rel, L, best_start, best_reasons[0].rule_id)
    if len(candidates) > 1 and any(c[0] > best_start for c in candidates):
        reasons.append(_favourable_reason(ctx, best_start))
    return done(best_start)


# --------------------------------------------------------------------------------------
# Steps 4–6: status, priority, death → benefit periods
# --------------------------------------------------------------------------------------

_Interval = tuple[date, date]  # inclusive; _END_OF_TIME for open


def _subtract(intervals: list[_Interval], cut: _Interval) -> list[_Interval]:
    out = []
    cs, ce = cut
    for s, e in intervals:
        if ce < s or cs > e:
            out.append((s, e))
            continue
        if s < cs:
            out.append((s, cs - timedelta(days=1)))
        if ce < e:
            out.append((ce + timedelta(days=1), e))
    return out


def _merge(intervals: Iterable[_Interval]) -> list[_Interval]:
    out: list[_Interval] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _status_cuts(ctx: _Context, rel: Enrollment, employee_enrolled: list[YearMonth]) -> list[tuple[_Interval, Reason]]:
    """Intervals on which an explicit status (suspended, terminated) stops benefits."""
    cuts: list[tuple[_Interval, Reason]] = []
    changes = sorted(rel.status_changes, key=lambda c: c.effective)
    for i, change in enumerate(changes):
        if change.status is InsuStatus.TERMINATED:
            cuts.append(
                (
                    (change.effective, _END_OF_TIME),
                    reason(
                        "R-CODE-003",
                        f"参保关系自 {change.effective} 终止（{change.reason.value}），终止后不可恢复",
                        f"relation terminated from {change.effective} ({change.reason.value}); a terminated relation is final",
                        citations=[ctx.cite("S6"), ctx.cite("S11")],
                    ),
                )
            )
            break
        if change.status is not InsuStatus.SUSPENDED:
            continue
        explicit_end = next((c.effective for c in changes[i + 1 :] if c.status is not InsuStatus.SUSPENDED), None)
        end = explicit_end - timedelta(days=1) if explicit_end else _END_OF_TIME
        why = reason(
            "R-CODE-003",
            f"参保关系自 {change.effective} 暂停（{change.reason.value}），暂停期间不享受待遇",
            f"relation suspended from {change.effective} ({change.reason.value}); no benefits while suspended",
            citations=[ctx.cite("S6")],
        )
        if change.reason.restores_when_employee_cover_ends:
            derived = _employee_cover_end(ctx, change.effective, employee_enrolled)
            if derived is None and explicit_end is None:
                ctx.notices.append(Notice.of(SUSPENSION_WITHOUT_EMPLOYEE_COVER, field="status_changes", relation=rel.relation_id))
            elif derived is not None and derived < end:
                end = derived
                restore_day = derived + timedelta(days=1)
                why = reason(
                    "R-SPEC-001",
                    f"短期就业期间暂停居民医保待遇（{change.effective} 起）；职工医保缴费于 {YearMonth.of(derived)} 后停止，居民医保自 {restore_day} 恢复，不设等待期",
                    f"resident benefits paused for short-term employment from {change.effective}; employee contributions stopped after {YearMonth.of(derived)}, so they are restored from {restore_day} with no waiting period",
                    citations=[ctx.cite("S1", "三(五)")],
                )
                if rel.status_on(restore_day) is InsuStatus.SUSPENDED:
                    ctx.actions.append(ProposedAction(ActionKind.RESTORE, rel.relation_id, restore_day, why))
        cuts.append(((change.effective, end), why))
    return cuts


def _employee_cover_end(ctx: _Context, since: date, employee_enrolled: list[YearMonth]) -> date | None:
    """Last day of the run of employee enrolled months that starts at or after ``since`` (if it ended)."""
    months = sorted(m for m in employee_enrolled if m >= YearMonth.of(since))
    if not months:
        return None
    last = months[0]
    for m in months[1:]:
        if m == last + 1:
            last = m
        else:
            break
    if ctx.now_month is not None and ctx.now_month <= last:
        return None  # still running as known on K
    return last.last_day()


def _retiree_from(ctx: _Context, rel: Enrollment) -> date | None:
    """The day a 310 relation becomes a retiree relation: a retired psn_type, or a RETIRED event."""
    if rel.psn_type.is_retired:
        return rel.start
    for event in ctx.facts.events_of(EventKind.RETIRED):
        if event.region in (None, rel.region) and event.on >= rel.start:
            return event.on
    return None


_LUMP_SUM_KINDS = (ContributionKind.LUMP_SUM, ContributionKind.RETIREMENT_BACKPAY)


def _decide_retiree(ctx: _Context, rel: Enrollment, retiree_from: date) -> Decision[date | None]:
    """R-RET-003 (retirees pay nothing and keep benefits), R-RET-002 / R-WAIT-009 / R-WAIT-010 (lump sums)."""
    lump = [l for l in ctx.lines.get(rel.relation_id, []) if l.kind in _LUMP_SUM_KINDS and l.amount > 0 and l.month is None]
    if not lump:
        return Decision(
            retiree_from,
            (
                reason(
                    "R-RET-003",
                    f"已办理退休（{retiree_from} 起），不再缴纳基本医疗保险费，继续享受退休人员待遇",
                    f"retired from {retiree_from}: no further basic contributions, retiree benefits continue",
                    citations=[ctx.cite("S5", "第二十七条"), ctx.cite("S17")],
                    retired_on=retiree_from,
                ),
            ),
        )
    line = min(lump, key=lambda l: l.paid_on)
    p = line.paid_on
    offset_p = ctx.param(rel.region, "retiree_lump_sum.wait_offset_months", p)
    reasons: list[Reason] = []
    if line.legacy_benefit_start is not None:
        start = line.legacy_benefit_start
        reasons.append(
            reason(
                "R-WAIT-010",
                f"迁移数据载明原规定下的待遇开始日 {start}（清算日 {p}）",
                f"migrated data gives the start under the earlier rule: {start} (settled on {p})",
                citations=[ctx.cite("S10", "第四项")],
                legacy_benefit_start=start,
            )
        )
    elif offset_p.value is None:
        start = max(p, retiree_from)
        reasons.append(
            reason(
                "R-RET-002",
                f"一次性缴费（趸缴）于 {p} 补足缴费年限，自缴费之日起享受退休人员待遇",
                f"the lump sum paid on {p} completes the minimum years: retiree benefits from the payment date",
                parameters=[offset_p],
                citations=[ctx.cite("S11"), ctx.cite("S17")],
                paid_on=p,
            )
        )
    else:
        start = (YearMonth.of(p) + offset_p.value).first_day()
        reasons.append(
            reason(
                "R-WAIT-009",
                f"已领取养老金人员于 {p} 一次性清算职工医保缴费年限，待遇自缴费当月加 {offset_p.value} 个月的1日即 {start} 起",
                f"a pensioner settled employee-scheme years by lump sum on {p}: benefits from day 1 of the payment month plus {offset_p.value} months, {start}",
                parameters=[offset_p],
                citations=[ctx.cite("S10", "第一项")],
                paid_on=p,
            )
        )
    # The transitional rule (R-WAIT-010) is read as in force on the original start date.
    cutoff_p = ctx.param(rel.region, "retiree_lump_sum.transition_cutoff", max(p, start))
    if cutoff_p.value is not None and p < cutoff_p.value:
        latest_p = ctx.param(rel.region, "retiree_lump_sum.transition_latest_start", max(p, start))
        original = start
        latest = latest_p.value
        if latest is not None:
            new_start = latest if original > latest - timedelta(days=1) else original
            reasons.append(
                reason(
                    "R-WAIT-010",
                    f"{cutoff_p.value} 前办结的清算（{p}），原待遇开始日 {original}"
                    + (f" 晚于 {latest - timedelta(days=1)}，统一自 {latest} 起" if new_start != original else "，不晚于过渡日期，维持不变"),
                    f"settled on {p}, before {cutoff_p.value}: original start {original}"
                    + (f" is after {latest - timedelta(days=1)}, so it becomes {latest}" if new_start != original else ", not after the transitional date, is kept"),
                    parameters=[cutoff_p, latest_p],
                    citations=[ctx.cite("S10", "第四项")],
                    legacy_benefit_start=original,
                )
            )
            start = new_start
    return Decision(start, tuple(reasons))


def _run_end(ctx: _Context, run: _Run) -> date:
    """Last covered day of a run; open-ended while the relation is active and paid up to K's month (§0.2)."""
    rel = run.relation
    k = ctx.k
    if (
        k is not None
        and ctx.now_month is not None
        and run.last >= ctx.now_month
        and rel.status_on(k) is InsuStatus.NORMAL
        and (rel.end is None or rel.end >= k)
    ):
        return _END_OF_TIME
    return run.last.last_day()


def check_resident_payment(policy: Policy, region: str, year: int, paid_on: date) -> None:
    """R-RES-001: reject a next-year payment made before the window opens, where the region does so."""
    on = date(year, 1, 1)
    window_start = month_day(year - 1, policy.value(region, "resident.window_start", on))
    if paid_on < window_start and not policy.value(region, "resident.accept_prepay_outside_window", on):
        raise YibaoError(OUTSIDE_WINDOW, field="paid_on", year=year, paid_on=paid_on.isoformat(), window_start=window_start.isoformat())


def build_timeline(facts: PersonFacts, policy: Policy, as_known_on: date | None = None, *, month_grid: bool = True) -> Timeline:
    """The benefit timeline of one person as known on ``as_known_on`` (None: everything recorded).

    ``month_grid=False`` leaves ``Timeline.months`` (the per-relation month cells shown by ``explain``)
    empty: for callers that need only the periods, starts, actions and notices, which do not depend
    on it (the batch timelines; it is about 40 % of the work)."""
    known = facts.known_on(as_known_on)
    ctx = _Context(known, policy, as_known_on)
    for rel in known.enrollments:
        policy.check_region(rel.region, field=f"enrollments[{rel.relation_id}].region")
        if rel.end is not None and rel.end < rel.start:
            raise YibaoError(BAD_TIMELINE_INPUT, field="enrollments.end", relation=rel.relation_id, reason="end before start")

    employee = [r for r in known.enrollments if r.scheme is Scheme.EMPLOYEE]
    resident = [r for r in known.enrollments if r.scheme is Scheme.RESIDENT]

    # Step 1: employee months
    month_info: dict[str, dict[YearMonth, tuple[date | None, PayerType | None, MonthKind]]] = {}
    runs: list[_Run] = []
    retiree_starts: dict[str, date] = {}
    unit_months: set[YearMonth] = set()
    all_paid_on: dict[YearMonth, date] = {}
    for rel in employee:
        retiree_from = _retiree_from(ctx, rel)
        if retiree_from is not None:
            retiree_starts[rel.relation_id] = retiree_from
        paid = _employee_paid_months(ctx, rel)
        if retiree_from is not None:
            paid = {m: v for m, v in paid.items() if m < YearMonth.of(retiree_from)}
        info: dict[YearMonth, tuple[date | None, PayerType | None, MonthKind]] = {
            m: (d, payer, MonthKind.BACKPAID if back else MonthKind.PAID) for m, (d, payer, back) in paid.items()
        }
        for m in ([] if retiree_from is not None else _provisional_months(ctx, rel, paid)):
            info[m] = (None, None, MonthKind.PROVISIONAL)
        if known.death_date is not None:
            for m in [m for m in info if m.first_day() > known.death_date]:
                paid_on = info[m][0]
                ctx.notices.append(
                    Notice.of(PAYMENT_AFTER_DEATH, field="contributions", paid_on=str(paid_on), period=str(m), death=known.death_date.isoformat())
                )
                del info[m]
        month_info[rel.relation_id] = info
        for m in info:
            ctx.add_enrolled(m, Scheme.EMPLOYEE, rel.relation_id)
        payers = {m: v[1] for m, v in info.items() if v[1] is not None}
        paid_on = {m: v[0] for m, v in info.items() if v[0] is not None}
        unit_months.update(m for m, payer in payers.items() if payer is PayerType.UNIT)
        all_paid_on.update(paid_on)
        rel_runs = _split_runs(rel, list(info), payers)
        runs.extend(_split_for_continuation(ctx, rel_runs, payers, paid_on))

    # Retirees: enrolled from their start (R-RET-003) up to K, without payments.
    retiree_decisions: dict[str, Decision[date | None]] = {}
    for rid, retiree_from in retiree_starts.items():
        rel = ctx.enrollments[rid]
        decision = _decide_retiree(ctx, rel, retiree_from)
        retiree_decisions[rid] = decision
        if decision.value is not None:
            horizon = ctx.now_month or YearMonth.of(max(decision.value, retiree_from))
            last = YearMonth.of(rel.end) if rel.end else horizon
            if known.death_date is not None:
                last = min(last, YearMonth.of(known.death_date))
            for m in month_range(YearMonth.of(decision.value), max(last, YearMonth.of(decision.value))):
                ctx.add_enrolled(m, Scheme.EMPLOYEE, rid)
    _mark_continuations(ctx, runs, unit_months, all_paid_on)

    # Step 1b: resident years (their enrolled months count for continuity)
    resident_years: list[_ResidentYear] = []
    for rel in resident:
        for ry in _resident_years(ctx, rel):
            if known.death_date is not None and ry.first_paid_on > known.death_date:
                ctx.notices.append(
                    Notice.of(PAYMENT_AFTER_DEATH, field="contributions", paid_on=str(ry.first_paid_on), period=str(ry.year), death=known.death_date.isoformat())
                )
                continue
            resident_years.append(ry)
            for m in month_range(ry.cover_from_month, YearMonth(ry.year, 12)):
                ctx.add_enrolled(m, Scheme.RESIDENT, rel.relation_id)

    # Step 2: employee runs in date order
    starts: list[StartDecision] = []
    results: list[_RunResult] = []
    raw: dict[str, list[tuple[_Interval, tuple[Reason, ...]]]] = {}
    for run in sorted(runs, key=lambda r: (r.first, r.relation.relation_id)):
        previous = [r for r in results if r.run.last < run.first]
        res, decision = _decide_employee_run(ctx, run, previous)
        results.append(res)
        start_day = res.start_month.first_day() if res.start_month is not None and res.start_month <= run.last else None
        starts.append(StartDecision(run.relation.relation_id, run.first, run.last, start_day, decision))
        if start_day is not None:
            raw.setdefault(run.relation.relation_id, []).append(((start_day, _run_end(ctx, run)), decision.reasons))

    for rid, decision in retiree_decisions.items():
        start_day = decision.value
        rel = ctx.enrollments[rid]
        starts.append(StartDecision(rid, YearMonth.of(start_day or rel.start), ctx.now_month or YearMonth.of(start_day or rel.start), start_day, decision))
        if start_day is not None:
            raw.setdefault(rid, []).append(((start_day, _END_OF_TIME), decision.reasons))

    # Step 3: resident years
    for ry in resident_years:
        decision = _decide_resident_year(ctx, ry)
        starts.append(
            StartDecision(ry.relation.relation_id, ry.cover_from_month, YearMonth(ry.year, 12), decision.value, decision, ry.year)
        )
        ctx.notices.extend(decision.notices)
        if decision.value is not None:
            raw.setdefault(ry.relation.relation_id, []).append(((decision.value, date(ry.year, 12, 31)), decision.reasons))

    # Steps 4–6
    employee_enrolled = sorted({m for info in month_info.values() for m in info})
    periods: list[BenefitPeriod] = []
    pieces: dict[str, list[tuple[_Interval, tuple[Reason, ...], tuple[Reason, ...]]]] = {}
    for rel in known.enrollments:
        items = raw.get(rel.relation_id, [])
        cuts = _status_cuts(ctx, rel, employee_enrolled)
        if rel.end is not None:
            cuts.append(((rel.end + timedelta(days=1), _END_OF_TIME), reason("R-CODE-003", f"参保关系于 {rel.end} 结束", f"the relation ended on {rel.end}")))
        if known.death_date is not None:
            cuts.append(
                (
                    (known.death_date + timedelta(days=1), _END_OF_TIME),
                    reason(
                        "R-ACCT-006",
                        f"参保人于 {known.death_date} 死亡，待遇至当日止",
                        f"the person died on {known.death_date}; benefits end that day",
                        citations=[ctx.cite("S11")],
                    ),
                )
            )
        out = []
        for (s, e), why in items:
            parts: list[tuple[_Interval, tuple[Reason, ...]]] = [((s, e), ())]
            for cut, cut_reason in cuts:
                nxt = []
                for (ps, pe), ends in parts:
                    sub = _subtract([(ps, pe)], cut)
                    for q in sub:
                        touched = q[1] < pe and q[1] + timedelta(days=1) == cut[0]
                        nxt.append((q, ends + ((cut_reason,) if touched else ())))
                parts = nxt
            for interval, ends in parts:
                out.append((interval, why, ends))
        pieces[rel.relation_id] = out

    # Priority: employee benefits pause resident benefits on the same days.
    employee_days = _merge(iv for rel in employee for iv, _, _ in pieces.get(rel.relation_id, []))
    for rel in resident:
        new_items = []
        for (s, e), why, ends in pieces.get(rel.relation_id, []):
            parts = [(s, e)]
            for cut in employee_days:
                if cut[1] < s or cut[0] > e:
                    continue
                parts = _subtract(parts, cut)
                _priority_actions(ctx, rel, cut, (s, e), known)
            for q in parts:
                extra = ()
                if q[1] < e:
                    extra = (
                        reason(
                            "R-SPEC-001",
                            f"职工医保自 {q[1] + timedelta(days=1)} 起享受待遇，居民医保待遇暂停",
                            f"employee-scheme benefits start on {q[1] + timedelta(days=1)}; resident benefits pause",
                            citations=[ctx.cite("S1", "三(五)"), ctx.cite("S1", "二(三)")],
                        ),
                    )
                new_items.append((q, why, ends + extra))
        pieces[rel.relation_id] = new_items

    for rel in known.enrollments:
        merged = _merge_pieces(pieces.get(rel.relation_id, []))
        for (s, e), why, ends in merged:
            if s > e:
                continue
            periods.append(BenefitPeriod(rel.relation_id, rel.insutype, rel.region, s, None if e == _END_OF_TIME else e, why, ends))

    periods.sort(key=lambda p: (p.start, p.relation_id))
    _duplicate_notices(ctx, periods, resident_years)
    months = _month_grid(ctx, known, month_info, resident_years, periods, results) if month_grid else ()
    return Timeline(
        known.person_id,
        as_known_on,
        tuple(periods),
        months,
        tuple(starts),
        tuple(_dedupe_actions(ctx.actions)),
        tuple(dedupe_notices(ctx.notices)),
    )


def _merge_pieces(items):
    """Join adjacent pieces of one relation (e.g. consecutive resident years) into one period."""
    out: list = []
    for (s, e), why, ends in sorted(items, key=lambda x: x[0]):
        if out and s == out[-1][0][1] + timedelta(days=1) and not out[-1][2]:
            (ps, _), pwhy, _ = out[-1]
            out[-1] = ((ps, e), pwhy + tuple(r for r in why if r not in pwhy), ends)
        else:
            out.append(((s, e), why, ends))
    return out


def _priority_actions(ctx: _Context, rel: Enrollment, cut: _Interval, year: _Interval, facts: PersonFacts) -> None:
    start = max(cut[0], year[0])
    if rel.status_on(start) is InsuStatus.NORMAL:
        day_before = start - timedelta(days=1)
        rule = "R-DUP-004" if any(g.group is PersonGroup.STUDENT and (g.active_on(start) or g.active_on(day_before)) for g in facts.groups) else "R-SPEC-001"
        if any(g.group is PersonGroup.LAND_LOST_FARMER and g.active_on(start) for g in facts.groups):
            rule = "R-SPEC-002"
        ctx.actions.append(
            ProposedAction(
                ActionKind.SUSPEND,
                rel.relation_id,
                start,
                reason(
                    rule,
                    f"职工医保自 {start} 起享受待遇，居民医保关系 {rel.relation_id} 应同日暂停（不终止）",
                    f"employee-scheme benefits start on {start}; resident relation {rel.relation_id} should be suspended (not terminated) that day",
                    citations=[ctx.cite("S1", "三(五)")],
                ),
            )
        )
    if cut[1] < year[1]:
        restore = cut[1] + timedelta(days=1)
        ctx.actions.append(
            ProposedAction(
                ActionKind.RESTORE,
                rel.relation_id,
                restore,
                reason(
                    "R-SPEC-001",
                    f"职工医保待遇于 {cut[1]} 结束，居民医保关系 {rel.relation_id} 自 {restore} 恢复，当年剩余期间不设等待期",
                    f"employee-scheme benefits ended on {cut[1]}; resident relation {rel.relation_id} is restored from {restore} for the rest of the paid year, with no waiting period",
                    citations=[ctx.cite("S1", "三(五)")],
                ),
            )
        )


def _duplicate_notices(ctx: _Context, periods: list[BenefitPeriod], resident_years: list[_ResidentYear]) -> None:
    student_years = {(ry.relation.relation_id, ry.year) for ry in resident_years if ry.student_entry}
    for i, a in enumerate(periods):
        for b in periods[i + 1 :]:
            if a.relation_id == b.relation_id:
                continue
            a_end = a.end or _END_OF_TIME
            b_end = b.end or _END_OF_TIME
            if b.start > a_end or a.start > b_end:
                continue
            start, end = max(a.start, b.start), min(a_end, b_end)
            if any((p.relation_id, end.year) in student_years or (p.relation_id, end.year + 1) in student_years for p in (a, b)):
                continue  # entry-year student overlap is allowed (R-RES-002)
            ctx.notices.append(
                Notice.of(
                    DUPLICATE_ENROLLMENT,
                    field="enrollments",
                    first=a.relation_id,
                    second=b.relation_id,
                    start=start.isoformat(),
                    end="open" if end == _END_OF_TIME else end.isoformat(),
                )
            )


def _month_grid(ctx, known, month_info, resident_years, periods, results) -> tuple[MonthState, ...]:
    covered: dict[tuple[str, int], int] = {}
    for p in periods:
        end = p.end or (ctx.k if ctx.k else p.start)
        end = max(end, p.start)
        first, last = YearMonth.of(p.start), YearMonth.of(end)
        for m in month_range(first, last):
            s = max(p.start, m.first_day())
            e = min(end, m.last_day())
            covered[(p.relation_id, m.index)] = covered.get((p.relation_id, m.index), 0) + (e - s).days + 1
    waiting: set[tuple[str, int]] = set()
    for r in results:
        for m in r.run.months:
            if r.start_month is None or m < r.start_month:
                waiting.add((r.run.relation.relation_id, m.index))
    cells: list[MonthState] = []
    for rid, info in month_info.items():
        rel = ctx.enrollments[rid]
        first = YearMonth.of(rel.start)
        last_candidates = [m for m in info] + ([ctx.now_month] if ctx.now_month else [])
        last = max(last_candidates) if last_candidates else first
        if rel.end is not None:
            last = min(last, YearMonth.of(rel.end))
        for m in month_range(min(first, min(info) if info else first), last):
            paid_on, payer, kind = info.get(m, (None, None, MonthKind.UNPAID))
            cells.append(
                MonthState(rid, m, kind, paid_on, (rid, m.index) in waiting, covered.get((rid, m.index), 0), ctx.streak_ending(m) if kind is not MonthKind.UNPAID else 0)
            )
    for ry in resident_years:
        rid = ry.relation.relation_id
        for m in month_range(ry.cover_from_month, YearMonth(ry.year, 12)):
            days = covered.get((rid, m.index), 0)
            cells.append(MonthState(rid, m, MonthKind.RESIDENT, ry.first_paid_on, days == 0, days, ctx.streak_ending(m)))
    cells.sort(key=lambda c: (c.relation_id, c.month))
    return tuple(cells)


def _dedupe_actions(actions: list[ProposedAction]) -> list[ProposedAction]:
    seen = set()
    out = []
    for a in sorted(actions, key=lambda a: (a.effective, a.relation_id, a.kind)):
        key = (a.kind, a.relation_id, a.effective)
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


# --------------------------------------------------------------------------------------
# Convenience answers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """The answer to "is X covered on D (as known on K), under which relation, and why"."""

    on: date
    covered: bool
    relation_id: str | None
    insutype: InsuType | None
    region: str | None
    period: BenefitPeriod | None


def coverage_on(facts: PersonFacts, policy: Policy, on: date, as_known_on: date | None = None) -> Decision[Coverage]:
    """Is the person covered on ``on``, as known on ``as_known_on``, under which relation, and why."""
    return answer_coverage(build_timeline(facts, policy, as_known_on), on)


@dataclass(frozen=True)
class StartWindow:
    """The months a start decision spoke for, and its reasons (what "why not covered" cites)."""

    first_month: YearMonth
    last_month: YearMonth
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class CoverageIndex:
    """What answering "is X covered on D" needs from a timeline, small enough to store per person.

    ``stable_through`` is the last as-known-on day on which, with no new facts, the timeline gives
    this same index (see :func:`knowledge_stable_through`); ``None`` when ``as_known_on`` is None.
    """

    person_id: str
    as_known_on: date | None
    stable_through: date | None
    periods: tuple[BenefitPeriod, ...]
    starts: tuple[StartWindow, ...]
    notices: tuple[Notice, ...]

    def coverage_on(self, d: date) -> BenefitPeriod | None:
        """The relation that gives benefits on ``d`` (employee first), or None."""
        return _first_by_priority([p for p in self.periods if p.contains(d)])


def _first_by_priority(found: Iterable[BenefitPeriod]) -> BenefitPeriod | None:
    """Employee benefits before resident ones (Y-PRIORITY-001), then the earliest start."""
    return min(found, key=lambda p: (p.insutype is not InsuType.EMPLOYEE_BASIC, p.start), default=None)


def coverage_index(timeline: Timeline, stable_through: date | None = None) -> CoverageIndex:
    starts = tuple(StartWindow(s.first_month, s.last_month, s.decision.reasons) for s in timeline.starts)
    return CoverageIndex(timeline.person_id, timeline.as_known_on, stable_through, timeline.periods, starts, timeline.notices)


def knowledge_stable_through(facts: PersonFacts, k: date) -> date:
    """The last day K' ≥ ``k`` such that the timeline as known on K' equals the one as known on ``k``
    as long as no fact is added or superseded (the coverage projection's validity; property-tested).

    The timeline reads K through its month (collection grace, open-ended periods: the month's last
    day), through the relations' status on K and their start and end days, and through which facts
    are known by K (a fact dated after K becomes known on that day).
    """
    limit = YearMonth.of(k).last_day()

    def before(day: date | None) -> None:
        nonlocal limit
        if day is not None and day > k:
            limit = min(limit, day - timedelta(days=1))

    for e in facts.enrollments:
        before(e.recorded_on or e.start)
        before(e.start)
        if e.end is not None:
            before(e.end + timedelta(days=1))
        for s in e.status_changes:
            before(s.recorded_on or s.effective)
            before(s.effective)
    for c in facts.contributions:
        before(c.recorded_on or c.paid_on)
    for g in facts.groups:
        before(g.recorded_on or g.start)
    for ev in facts.events:
        before(ev.recorded_on or ev.on)
    for sp in facts.service_periods:
        before(sp.recorded_on)
    if facts.death_date is not None:
        before(facts.death_recorded_on or facts.death_date)
    return limit


def answer_coverage(timeline: Timeline | CoverageIndex, on: date) -> Decision[Coverage]:
    """The same answer from a timeline already built, or from its stored :class:`CoverageIndex`."""
    index = timeline if isinstance(timeline, CoverageIndex) else coverage_index(timeline)
    period = index.coverage_on(on)
    if period is None:
        why = _why_not_covered(index, on)
        return Decision(Coverage(on, False, None, None, None, None), why, index.notices)
    status_zh = f"{on} 在参保关系 {period.relation_id}（{period.insutype.value}，统筹区 {period.region}）的待遇享受期 {period.start}–{period.end or '至今'} 内"
    status_en = f"{on} is inside the benefit period {period.start}–{period.end or 'open'} of relation {period.relation_id} ({period.insutype.value}, region {period.region})"
    head = reason("Y-TIMELINE", status_zh, status_en)
    return Decision(Coverage(on, True, period.relation_id, period.insutype, period.region, period), (head, *period.start_reasons), index.notices)


def _why_not_covered(index: CoverageIndex, on: date) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    for p in index.periods:
        if p.end is not None and p.end < on and p.end >= on - timedelta(days=400):
            reasons.extend(p.end_reasons)
    for s in index.starts:
        if s.first_month <= YearMonth.of(on) <= s.last_month:
            reasons.extend(s.reasons)
    if not reasons:
        reasons.append(reason("Y-TIMELINE", f"{on} 没有已缴费且已过等待期的参保关系", f"no relation is paid and past its waiting period on {on}"))
    return tuple(reasons)
