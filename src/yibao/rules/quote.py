"""What to pay on a date, and what it buys: the answer to "what must X pay (and back-pay) to be covered".

For each active core relation the quote lists the months or benefit year owed — with each fund
line's amount from the contribution rules — then *simulates* the payment (the lines recorded on
the pay-on date) and reads the benefit start from the timeline. So the quote and ``explain``
can never disagree: they are the same rules.

* Employee (310): unpaid months since the last paid month up to the pay-on month. A gap of at most
  ``employee.max_gap_no_wait`` past months is back-paid (R-WAIT-001, kind 31); a longer gap is not
  offered (back-paying it does not shorten the waiting period, R-WAIT-002), only the current month.
* Resident (390): next year inside the collection window (R-RES-001), else the current year if
  unpaid; a newborn inside the window pays the birth year (and the next, R-RES-003 A-13).
* Retirees owe no basic contribution (R-RET-003).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from yibao.codes import ContributionKind, InsuStatus, Scheme
from yibao.dates import YearMonth, last_day_of_window, month_day, month_range
from yibao.errors import Notice, YibaoError, dedupe_notices, define
from yibao.explain import Decision, Reason, jsonable, reason
from yibao.model import ContributionLine, Enrollment, PayerType, PersonFacts
from yibao.money import ZERO, sum_lines
from yibao.policy import Policy
from yibao.rules.contribution import DueLine, employee_month_due, resident_year_due
from yibao.rules.entitlement import build_timeline, check_resident_payment

NOTHING_TO_QUOTE = define(
    "NOTHING_TO_QUOTE",
    "{pay_on} 没有处于正常参保状态、需要缴费的参保关系",
    "no relation in normal status needs a payment on {pay_on}",
)
GAP_TOO_LONG_TO_REPAIR = define(
    "GAP_TOO_LONG_TO_REPAIR",
    "参保关系 {relation} 已中断 {gap} 个月（超过 {max_gap} 个月），补缴不能免除等待期，本报价只含当月",
    "relation {relation} has been interrupted for {gap} months (more than {max_gap}); back-paying does not remove the waiting period, so only the current month is quoted",
)
RESIDENT_WHILE_EMPLOYED = define(
    "RESIDENT_WHILE_EMPLOYED",
    "参保人有正常的职工医保关系 {employee}，不再为居民医保关系 {relation} 报价（同一时期只保留一个基本医保关系）",
    "the person has an active employee relation {employee}; resident relation {relation} is not quoted (one core relation at a time)",
)
YEAR_ALREADY_PAID = define(
    "YEAR_ALREADY_PAID",
    "参保关系 {relation} 的 {year} 年度已缴费",
    "relation {relation} is already paid for {year}",
)


@dataclass(frozen=True)
class QuoteItem:
    """One relation's part of a quote."""

    relation_id: str
    insutype: str
    region: str
    months: tuple[YearMonth, ...]  # contribution months (employee)
    benefit_years: tuple[int, ...]  # benefit years (resident)
    backpay_months: tuple[YearMonth, ...]
    lines: tuple[DueLine, ...]
    periods: tuple[YearMonth | int, ...]  # the contribution month or benefit year of each line, aligned with ``lines``
    total: Decimal
    person_pays: Decimal  # the part the person pays (individual, or both shares for a flexible worker)
    benefit_start: date | None  # first covered day of this relation on or after the earliest quoted month
    retroactive_from: date | None  # the earliest day before the pay-on date that the payment covers
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict:
        return {
            "relation_id": self.relation_id,
            "insutype": self.insutype,
            "region": self.region,
            "months": [str(m) for m in self.months],
            "benefit_years": list(self.benefit_years),
            "backpay_months": [str(m) for m in self.backpay_months],
            "lines": [{**jsonable(l), "period": str(p)} for l, p in zip(self.lines, self.periods)],
            "total": format(self.total, "f"),
            "person_pays": format(self.person_pays, "f"),
            "benefit_start": self.benefit_start.isoformat() if self.benefit_start else None,
            "retroactive_from": self.retroactive_from.isoformat() if self.retroactive_from else None,
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(frozen=True)
class Quote:
    pay_on: date
    items: tuple[QuoteItem, ...]
    total: Decimal
    person_pays: Decimal

    def to_dict(self) -> dict:
        return {
            "pay_on": self.pay_on.isoformat(),
            "items": [i.to_dict() for i in self.items],
            "total": format(self.total, "f"),
            "person_pays": format(self.person_pays, "f"),
        }


def _paid_months(facts: PersonFacts, relation_id: str) -> set[YearMonth]:
    net: dict[YearMonth, Decimal] = {}
    for line in facts.contributions:
        if line.relation_id == relation_id and line.month is not None and not (line.fund and line.fund.value.startswith("330")):
            net[line.month] = net.get(line.month, ZERO) + line.amount
    return {m for m, total in net.items() if total > 0}


def _paid_years(facts: PersonFacts, relation_id: str) -> set[int]:
    net: dict[int, Decimal] = {}
    for line in facts.contributions:
        if line.relation_id == relation_id and line.benefit_year is not None and line.payer is not PayerType.FISCAL_SUBSIDY:
            net[line.benefit_year] = net.get(line.benefit_year, ZERO) + line.amount
    return {y for y, total in net.items() if total > 0}


def _active(rel: Enrollment, pay_on: date, *, employed: bool = False) -> bool:
    """Normal on the pay-on date — or suspended only for short employment that has ended (Y-RESTORE-001)."""
    if rel.end is not None and rel.end < pay_on:
        return False
    day = max(pay_on, rel.start)
    status = rel.status_on(day)
    if status is InsuStatus.NORMAL:
        return True
    if status is InsuStatus.SUSPENDED and not employed:
        last = max((c for c in rel.status_changes if c.effective <= day), key=lambda c: c.effective)
        return last.reason.restores_when_employee_cover_ends
    return False


def _person_share(lines: tuple[DueLine, ...], flexible: bool) -> Decimal:
    if flexible:
        return sum_lines(l.amount for l in lines if l.payer in (PayerType.INDIVIDUAL, PayerType.UNIT))
    return sum_lines(l.amount for l in lines if l.payer is PayerType.INDIVIDUAL)


def _employee_item(facts: PersonFacts, policy: Policy, rel: Enrollment, pay_on: date, notices: list[Notice]):
    current = YearMonth.of(pay_on)
    paid = _paid_months(facts, rel.relation_id)
    past_paid = [m for m in paid if m < current]
    first_owed = max(past_paid) + 1 if past_paid else YearMonth.of(rel.start)
    if current in paid:
        future = [m for m in month_range(current, current + 12) if m not in paid]
        if not future:
            return None
        first_owed = current = future[0]
    max_gap = policy.value(rel.region, "employee.max_gap_no_wait", current.first_day())
    behind = [m for m in month_range(first_owed, current - 1) if m not in paid] if first_owed < current else []
    reasons: list[Reason] = []
    if len(behind) > max_gap and past_paid:
        notices.append(Notice.of(GAP_TOO_LONG_TO_REPAIR, field="pay_on", relation=rel.relation_id, gap=len(behind), max_gap=max_gap))
        behind = []
    elif not past_paid:
        behind = []  # a first enrollment starts with the current month
    elif behind:
        reasons.append(
            reason(
                "R-WAIT-001",
                f"中断 {len(behind)} 个月（≤{max_gap}），补缴 {behind[0]}–{behind[-1]} 后不设等待期并追溯享受待遇",
                f"interrupted for {len(behind)} month(s) (≤{max_gap}): back-paying {behind[0]}–{behind[-1]} keeps continuity, with no waiting period and retroactive cover",
                citations=[policy.cite("S2")],
            )
        )
    months = (*behind, current)
    groups = facts.groups_on(pay_on)
    due_lines: list[DueLine] = []
    periods: list[YearMonth | int] = []
    simulated: list[ContributionLine] = []
    for m in months:
        due = employee_month_due(rel, m, policy, groups=groups, as_of=pay_on)
        reasons.extend(r for r in due.reasons if r not in reasons)
        notices.extend(due.notices)
        kind = ContributionKind.INTERRUPTION_BACKPAY if m in behind else ContributionKind.REGULAR
        for line in due.value.lines:
            due_lines.append(line)
            periods.append(m)
            simulated.append(ContributionLine(rel.relation_id, kind, line.payer, pay_on, line.amount, month=m, base=line.base, recorded_on=pay_on))
    if not simulated:  # e.g. no wage declared: still simulate a payment to show what it would buy
        simulated = [ContributionLine(rel.relation_id, ContributionKind.REGULAR, PayerType.INDIVIDUAL, pay_on, Decimal("0.01"), month=m, recorded_on=pay_on) for m in months]
    return months, tuple(behind), (), tuple(due_lines), tuple(periods), simulated, reasons


def _resident_years(facts: PersonFacts, policy: Policy, rel: Enrollment, pay_on: date) -> list[int]:
    paid = _paid_years(facts, rel.relation_id)
    birth = facts.birth_date
    if birth is not None and birth.year >= pay_on.year - 1 and pay_on >= birth:
        window_days = policy.value(rel.region, "newborn.window_days", birth)
        day1 = policy.value(rel.region, "newborn.count_birth_day_as_day_1", birth)
        if pay_on <= last_day_of_window(birth, window_days, count_start_day=day1):
            years = [birth.year]
            if pay_on.year > birth.year and policy.value(rel.region, "newborn.year_end_option", birth) == "PAY_BOTH":
                years.append(pay_on.year)
            return [y for y in years if y not in paid]
    next_year = pay_on.year + 1
    on = date(next_year, 1, 1)
    window_start = month_day(pay_on.year, policy.value(rel.region, "resident.window_start", on))
    window_end = month_day(pay_on.year, policy.value(rel.region, "resident.window_end", on))
    years = []
    if pay_on.year not in paid and pay_on < window_start:
        years.append(pay_on.year)
    if window_start <= pay_on <= window_end:
        if next_year not in paid:
            years.append(next_year)
    elif pay_on.year in paid and policy.value(rel.region, "resident.accept_prepay_outside_window", on) and next_year not in paid:
        years.append(next_year)
    if not years and pay_on.year not in paid and pay_on > window_end:
        years.append(pay_on.year)  # late in the year: the person should know it buys nothing (E-08)
    return years


def _resident_item(facts: PersonFacts, policy: Policy, rel: Enrollment, pay_on: date, notices: list[Notice]):
    years = _resident_years(facts, policy, rel, pay_on)
    if not years:
        return None
    groups = facts.groups_on(pay_on)
    due_lines: list[DueLine] = []
    periods: list[YearMonth | int] = []
    simulated: list[ContributionLine] = []
    reasons: list[Reason] = []
    for year in years:
        if year > pay_on.year:
            check_resident_payment(policy, rel.region, year, pay_on)
        due = resident_year_due(year, policy, rel.region, groups=groups)
        reasons.extend(due.reasons)
        notices.extend(due.notices)
        for line in due.value.lines:
            due_lines.append(line)
            periods.append(year)
            simulated.append(ContributionLine(rel.relation_id, ContributionKind.REGULAR, line.payer, pay_on, line.amount, benefit_year=year, recorded_on=pay_on))
    return (), (), tuple(years), tuple(due_lines), tuple(periods), simulated, reasons


def quote(facts: PersonFacts, policy: Policy, pay_on: date, *, as_known_on: date | None = None) -> Decision[Quote]:
    """What to pay on ``pay_on`` for each active core relation, and from when benefits start if paid.

    ``as_known_on`` (default: ``pay_on``) is what the agency knows when it quotes; a clerk quoting
    today for a past or future date knows everything recorded up to today.
    """
    k = max(as_known_on or pay_on, pay_on)
    known = facts.known_on(k)
    if known.death_date is not None and known.death_date < pay_on:
        from yibao.rules.entitlement import PAYMENT_AFTER_DEATH

        raise YibaoError(PAYMENT_AFTER_DEATH, field="pay_on", paid_on=pay_on.isoformat(), period="-", death=known.death_date.isoformat())
    notices: list[Notice] = []
    items: list[QuoteItem] = []
    employee_active = [r for r in known.enrollments if r.scheme is Scheme.EMPLOYEE and _active(r, pay_on)]
    for rel in known.enrollments:
        if rel.scheme is None or not _active(rel, pay_on, employed=bool(employee_active)):
            continue
        if rel.psn_type.is_retired:
            continue
        if rel.scheme is Scheme.RESIDENT and employee_active:
            # R-ENR-002: one core relation at a time; while employed, the resident relation is not sold again.
            notices.append(Notice.of(RESIDENT_WHILE_EMPLOYED, field="pay_on", relation=rel.relation_id, employee=employee_active[0].relation_id))
            continue
        built = (_employee_item if rel.scheme is Scheme.EMPLOYEE else _resident_item)(known, policy, rel, pay_on, notices)
        if built is None:
            if rel.scheme is Scheme.RESIDENT:
                notices.append(Notice.of(YEAR_ALREADY_PAID, field="pay_on", relation=rel.relation_id, year=pay_on.year))
            continue
        months, backpay, years, lines, periods, simulated, reasons = built
        after = replace(known, contributions=known.contributions + tuple(simulated))
        timeline = build_timeline(after, policy, k)
        earliest = min([m.first_day() for m in months] + [date(y, 1, 1) for y in years])
        start = timeline.first_covered_day(rel.relation_id, on_or_after=earliest)
        retro = start if start is not None and start < pay_on else None
        decisions = [
            s for s in timeline.starts
            if s.relation_id == rel.relation_id and ((s.benefit_year in years) if years else (s.first_month <= months[-1] <= s.last_month))
        ]
        for s in decisions:
            reasons.extend(s.decision.reasons)
            notices.extend(s.decision.notices)
        total = sum_lines(l.amount for l in lines)
        items.append(
            QuoteItem(
                rel.relation_id,
                rel.insutype.value,
                rel.region,
                tuple(months),
                tuple(years),
                tuple(backpay),
                lines,
                periods,
                total,
                _person_share(lines, rel.is_flexible),
                start,
                retro,
                tuple(reasons),
            )
        )
    if not items:
        raise YibaoError(NOTHING_TO_QUOTE, field="pay_on", pay_on=pay_on.isoformat())
    total = sum_lines(i.total for i in items)
    person = sum_lines(i.person_pays for i in items)
    return Decision(Quote(pay_on, tuple(items), total, person), (), tuple(dedupe_notices(notices)))
