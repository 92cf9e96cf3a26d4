"""Duplicate enrollment (重复参保) — SPEC §10 R-DUP-001…009, with R-RES-007 and R-REF-001…003; E-05, E-14.

Pure functions over the model's own facts (:class:`~yibao.model.Enrollment`,
:class:`~yibao.model.ContributionLine`), so the service, the CLI and the batch engine share one
definition:

* :func:`covered_days` — the days a relation is *normal* (status 1) **and** paid for (a paid
  contribution month, or a paid resident benefit year): the only days that can be duplicated.
* :func:`find_duplicates` — R-DUP-001: groups of core relations of one (merged, R-ID-005) person
  whose covered days overlap, within or across schemes and regions. Suspended relations and
  unpaid months are left out (E-05, R-SPEC-001); open ends extend forever (E-05).
* :func:`resolve_duplicate` — R-DUP-002…008 (summary R-DUP-009): which relation is kept, which is
  terminated or suspended and from when, the subsidy to deduct (R-RES-007, through
  :func:`yibao.rules.incentive.subsidy_deduction`), the refund due and its payer channel
  (R-REF-001…003, through :mod:`yibao.rules.refund`), and the notice to the other region. Where
  the rules leave the case open (SPEC §16 A-22, no known habitual residence, an assisted person
  who has not chosen yet, three relations at once) the outcome is ``MANUAL_REVIEW`` with a code.

Every step gives reasons with rule IDs and citations from the policy packs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Iterable, Mapping, Sequence

from yibao.codes import InsuStatus, Scheme
from yibao.dates import YearMonth
from yibao.errors import Notice, YibaoError, define
from yibao.explain import Decision, Reason, Record, reason
from yibao.model import ContributionLine, Enrollment, PayerType
from yibao.money import ZERO, round_fen, sum_lines
from yibao.policy import Policy
from yibao.rules.incentive import (
    DuplicateKind,
    SubsidyDeduction,
    continuous_months,
    subsidy_deduction,
)
from yibao.rules.refund import (
    Refund,
    RelationAction,
    flexible_prepaid_refund,
    resident_refund,
)

DUP_MANUAL_REVIEW = define(
    "DUP_MANUAL_REVIEW",
    "重复参保须人工复核：{why}",
    "the duplicate enrollment needs manual review: {why_en}",
)
DUP_REFUND_REGIONAL = define(
    "DUP_REFUND_REGIONAL",
    "被终止的职工医保参保关系 {relation} 在重叠月份的缴费，按统筹区 {region} 的退费规定办理",
    "contributions paid into the terminated employee relation {relation} for the overlapping months follow region {region}'s refund rules",
)
DUP_NOT_A_DUPLICATE = define(
    "DUP_NOT_A_DUPLICATE",
    "参保关系 {relations} 没有重叠的正常缴费期间，不构成重复参保",
    "relations {relations} have no overlapping paid days in normal status: not a duplicate",
)
DUP_BAD_GROUP = define(
    "DUP_BAD_GROUP",
    "重复参保组无效：{reason}",
    "invalid duplicate group: {reason}",
)

END_OF_TIME = date(9999, 12, 31)  # an open end (E-05): the relation extends to "forever"


class DupKind(StrEnum):
    EMPLOYEE_EMPLOYEE = "EMPLOYEE_EMPLOYEE"  # 制度内 310 + 310
    RESIDENT_RESIDENT = "RESIDENT_RESIDENT"  # 制度内 390 + 390
    CROSS_SCHEME = "CROSS_SCHEME"  # 跨制度 310 + 390
    MULTIPLE = "MULTIPLE"  # three or more relations at once


class Outcome(StrEnum):
    RESOLVED = "RESOLVED"
    MANUAL_REVIEW = "MANUAL_REVIEW"


class StudentCause(StrEnum):
    SCHOOL_ENTRY = "SCHOOL_ENTRY"  # 入学导致的重复参保 (R-DUP-004 ex. 1)
    JOB = "JOB"  # 就业导致的重复参保 (R-DUP-004 ex. 2)


Interval = tuple[date, date]  # closed [start, end] (SPEC §0.2)


@dataclass(frozen=True)
class DuplicateContext(Record):
    """What the rules need to know about the person beyond the relations: the places the R-DUP
    priorities name. ``None`` means not known — the case then goes to manual review where it matters."""

    detected_on: date
    employment_region: str | None = None  # 就业地 (R-DUP-002)
    habitual_residence_region: str | None = None  # 常住地 (R-DUP-003)
    study_region: str | None = None  # 学籍地 (R-DUP-004)
    student_cause: StudentCause | None = None
    employee_part_time: bool = False  # 310 from part-time / temporary flexible work (R-DUP-006)
    assisted_both: bool = False  # 医疗救助资助 in both places (R-DUP-007)
    assist_choice_region: str | None = None  # the relation the assisted person keeps
    assist_choice_commitment_id: str | None = None  # 书面承诺 filed by the region given up
    benefit_starts: Mapping[tuple[str, int], date] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Overlap(Record):
    first: str
    second: str
    start: date
    end: date  # END_OF_TIME when both are open and paid on (E-05)
    days: int


@dataclass(frozen=True)
class DuplicateGroup(Record):
    """R-DUP-001: relations of one person whose covered days overlap (a connected group)."""

    person_id: str
    relation_ids: tuple[str, ...]
    kind: DupKind
    overlaps: tuple[Overlap, ...]

    @property
    def start(self) -> date:
        return min(o.start for o in self.overlaps)

    @property
    def end(self) -> date:
        return max(o.end for o in self.overlaps)


@dataclass(frozen=True)
class RelationChange(Record):
    relation_id: str
    region: str
    action: RelationAction  # TERMINATED (status 4) or SUSPENDED (status 2)
    effective: date  # the first day in the new status


@dataclass(frozen=True)
class RegionNotice(Record):
    """The request sent through the national platform to the region of the relation given up."""

    from_region: str
    to_region: str
    relation_id: str
    action: RelationAction
    effective: date


@dataclass(frozen=True)
class Resolution(Record):
    _computed = ("subsidy_total", "refund_total")

    person_id: str
    kind: DupKind
    outcome: Outcome
    rule_id: str  # the R-DUP rule that decided the case
    kept: str | None
    changes: tuple[RelationChange, ...] = ()
    deductions: tuple[SubsidyDeduction, ...] = ()
    refund: Refund = Refund()
    region_notices: tuple[RegionNotice, ...] = ()
    overlap_start: date | None = None
    overlap_end: date | None = None
    review_code: str | None = None
    relations: tuple[str, ...] = ()  # the group's relations

    @property
    def subsidy_total(self) -> Decimal:
        return sum_lines(d.amount for d in self.deductions if d.deduct)

    @property
    def refund_total(self) -> Decimal:
        return self.refund.total


# --- R-DUP-001: what a relation covers ----------------------------------------------------


def _normal_intervals(rel: Enrollment) -> list[Interval]:
    """Days of the relation's period in status 1, from its status history."""
    end = rel.end or END_OF_TIME
    if end < rel.start:
        return []
    out: list[Interval] = []
    current_start: date | None = rel.start  # a relation starts normal
    for change in sorted(rel.status_changes, key=lambda c: c.effective):
        if change.effective > end:
            break
        day = max(change.effective, rel.start)
        if change.status is InsuStatus.NORMAL:
            if current_start is None:
                current_start = day
        elif current_start is not None:
            if day > current_start:
                out.append((current_start, day - timedelta(days=1)))
            current_start = None
    if current_start is not None:
        out.append((current_start, end))
    return out


def paid_periods(rel: Enrollment, lines: Iterable[ContributionLine]) -> tuple[frozenset[YearMonth], frozenset[int]]:
    """Contribution months and resident benefit years of ``rel`` with money collected (net > 0).

    Refunds and corrections net out; a resident year counts the person's own contribution (any payer
    but the fiscal subsidy, which is not a payment by or for the person: R-CONT-008).
    """
    months: dict[YearMonth, Decimal] = {}
    years: dict[int, Decimal] = {}
    own = [c for c in lines if c.relation_id == rel.relation_id]
    superseded = {c.supersedes for c in own if c.supersedes}
    for c in own:
        if c.key is not None and c.key in superseded:
            continue
        if c.month is not None:
            months[c.month] = months.get(c.month, ZERO) + c.amount
        elif c.benefit_year is not None and c.payer is not PayerType.FISCAL_SUBSIDY:
            years[c.benefit_year] = years.get(c.benefit_year, ZERO) + c.amount
    return frozenset(m for m, v in months.items() if v > 0), frozenset(y for y, v in years.items() if v > 0)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with touching or overlapping intervals joined."""
    out: list[Interval] = []
    for s, e in sorted(intervals):
        if out and (out[-1][1] >= END_OF_TIME or s <= out[-1][1] + timedelta(days=1)):
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s <= e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def covered_days(rel: Enrollment, lines: Iterable[ContributionLine]) -> list[Interval]:
    """R-DUP-001: the closed day intervals on which ``rel`` is normal and paid for.

    An employee month covers its calendar days; a resident benefit year covers 1 Jan – 31 Dec; both
    clipped to the relation's period (open end = forever, E-05) and to its status-1 days (a
    suspended relation is not a duplicate, E-05 / R-SPEC-001). A relation at status 1 without
    money is a data-quality problem, not a duplicate.
    """
    months, years = paid_periods(rel, lines)
    paid: list[Interval] = [(m.first_day(), m.last_day()) for m in months]
    paid += [(date(y, 1, 1), date(y, 12, 31)) for y in years]
    return _intersect(_merge(_intersect(_merge(paid), [(rel.start, rel.end or END_OF_TIME)])), _normal_intervals(rel))


def _scheme(rel: Enrollment) -> Scheme | None:
    return rel.scheme if rel.insutype.is_core else None


def _kind(relations: Sequence[Enrollment]) -> DupKind:
    if len(relations) > 2:
        return DupKind.MULTIPLE
    schemes = {_scheme(r) for r in relations}
    if schemes == {Scheme.EMPLOYEE}:
        return DupKind.EMPLOYEE_EMPLOYEE
    if schemes == {Scheme.RESIDENT}:
        return DupKind.RESIDENT_RESIDENT
    return DupKind.CROSS_SCHEME


def overlap_of(a: Enrollment, b: Enrollment, lines: Sequence[ContributionLine]) -> Overlap | None:
    """The overlap of two relations' covered days (closed intervals: [a.s, a.e] and [b.s, b.e]
    overlap when a.s ≤ b.e and b.s ≤ a.e — 2025-12-31 and 2026-01-01 do not, E-05)."""
    return _overlap(a.relation_id, covered_days(a, lines), b.relation_id, covered_days(b, lines))


def _overlap(a: str, cover_a: Sequence[Interval], b: str, cover_b: Sequence[Interval]) -> Overlap | None:
    common = _intersect(cover_a, cover_b)
    if not common:
        return None
    days = sum(((min(e, date(9999, 12, 30)) - s).days + 1) for s, e in common)
    first, second = sorted((a, b))
    return Overlap(first, second, common[0][0], common[-1][1], days)


def find_duplicates(
    person_id: str, relations: Sequence[Enrollment], lines: Sequence[ContributionLine]
) -> tuple[DuplicateGroup, ...]:
    """R-DUP-001: the duplicate groups of one merged person (R-ID-005), within or across schemes
    and regions. Riders (320, 330, 392 …) follow their base relation and are left out (R-ENR-002)."""
    core = sorted((r for r in relations if _scheme(r) is not None), key=lambda r: r.relation_id)
    own: dict[str, list[ContributionLine]] = {r.relation_id: [] for r in core}
    for c in lines:
        if c.relation_id in own:
            own[c.relation_id].append(c)
    cover = {r.relation_id: covered_days(r, own[r.relation_id]) for r in core}
    pairs: list[Overlap] = []
    for i, a in enumerate(core):
        for b in core[i + 1 :]:
            o = _overlap(a.relation_id, cover[a.relation_id], b.relation_id, cover[b.relation_id])
            if o is not None:
                pairs.append(o)
    parent = {r.relation_id: r.relation_id for r in core}

    def root(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    for o in pairs:
        ra, rb = root(o.first), root(o.second)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    by_root: dict[str, list[Overlap]] = {}
    for o in pairs:
        by_root.setdefault(root(o.first), []).append(o)
    index = {r.relation_id: r for r in core}
    out = []
    for overlaps in by_root.values():
        ids = tuple(sorted({x for o in overlaps for x in (o.first, o.second)}))
        out.append(DuplicateGroup(person_id, ids, _kind([index[i] for i in ids]), tuple(overlaps)))
    return tuple(sorted(out, key=lambda g: g.relation_ids))


# --- R-DUP-002…008 -----------------------------------------------------------------------


def _cite(policy: Policy):
    return [policy.cite("S1", "二(四)")]


def _manual(
    group: DuplicateGroup, rule_id: str, why_zh: str, why_en: str, policy: Policy, *,
    kept: str | None = None, changes: tuple[RelationChange, ...] = (), extra: Sequence[Reason] = (),
) -> Decision[Resolution]:
    r = reason(rule_id, f"须人工复核：{why_zh}", f"manual review: {why_en}", citations=_cite(policy), relations=list(group.relation_ids))
    res = Resolution(
        group.person_id, group.kind, Outcome.MANUAL_REVIEW, rule_id, kept, changes,
        overlap_start=group.start, overlap_end=group.end, review_code=DUP_MANUAL_REVIEW, relations=group.relation_ids,
    )
    return Decision(res, (*extra, r), (Notice.of(DUP_MANUAL_REVIEW, why=why_zh, why_en=why_en),))


def _years(rel: Enrollment, lines: Sequence[ContributionLine], start: date, end: date) -> list[int]:
    """Paid resident years of ``rel`` that meet the overlap [start, end]."""
    _, years = paid_periods(rel, lines)
    return sorted(y for y in years if date(y, 1, 1) <= end and start <= date(y, 12, 31))


def _subsidy_levels(rel: Enrollment, lines: Sequence[ContributionLine], year: int, policy: Policy) -> tuple[Decimal | dict[str, Decimal], list]:
    """The year's fiscal subsidy of the relation: as recorded (each line a level), else the region's standard."""
    recorded = [c for c in lines if c.relation_id == rel.relation_id and c.benefit_year == year and c.payer is PayerType.FISCAL_SUBSIDY]
    if recorded:
        levels: dict[str, Decimal] = {}
        for i, c in enumerate(recorded):
            levels[c.key or f"line{i + 1}"] = c.amount
        total = sum(levels.values(), ZERO)
        return (total if total >= 0 else ZERO), []
    p = policy.param(rel.region, "contribution.resident.subsidy", date(year, 1, 1))
    return round_fen(Decimal(p.value or 0)), [p]


def _deduct(
    kind: DuplicateKind, rel: Enrollment, lines: Sequence[ContributionLine], years: list[int], policy: Policy, **kw
) -> tuple[list[SubsidyDeduction], list[Reason]]:
    out, reasons = [], []
    for year in years:
        amount, params = _subsidy_levels(rel, lines, year, policy)
        d = subsidy_deduction(kind, year, amount, policy, rel.region, **kw)
        out.append(d.value)
        reasons.extend(d.reasons)
        if params:
            reasons.append(reason(
                "R-RES-007", f"{year} 年度财政补助未见明细，按统筹区标准 {amount} 核减",
                f"no {year} subsidy lines are recorded: the region's standard {amount} is deducted", parameters=params,
            ))
    return out, reasons


def _resident_refunds(
    rel: Enrollment, lines: Sequence[ContributionLine], years: list[int], ctx: DuplicateContext,
    action: RelationAction, policy: Policy,
) -> tuple[Refund, list[Reason]]:
    refund_lines, reasons = [], []
    for year in years:
        year_lines = [c for c in lines if c.relation_id == rel.relation_id and c.benefit_year == year and c.month is None]
        start = ctx.benefit_starts.get((rel.relation_id, year)) or max(date(year, 1, 1), rel.start)
        d = resident_refund(year_lines, start, ctx.detected_on, policy, rel.region, action=action)
        refund_lines.extend(d.value.lines)
        reasons.extend(d.reasons)
    return Refund(tuple(refund_lines)), reasons


def _notice(kept: Enrollment, other: Enrollment, change: RelationChange) -> tuple[RegionNotice, ...]:
    if kept.region == other.region:
        return ()
    return (RegionNotice(kept.region, other.region, other.relation_id, change.action, change.effective),)


def _done(
    group: DuplicateGroup, rule_id: str, kept: Enrollment, other: Enrollment, action: RelationAction,
    reasons: list[Reason], *, deductions: Sequence[SubsidyDeduction] = (), refund: Refund = Refund(),
    notices: Sequence[Notice] = (),
) -> Decision[Resolution]:
    change = RelationChange(other.relation_id, other.region, action, group.start)
    res = Resolution(
        group.person_id, group.kind, Outcome.RESOLVED, rule_id, kept.relation_id, (change,), tuple(deductions),
        refund, _notice(kept, other, change), group.start, group.end, relations=group.relation_ids,
    )
    return Decision(res, tuple(reasons), tuple(notices))


def _employee_months(relations: Sequence[Enrollment], lines: Sequence[ContributionLine], on: date) -> int:
    """Consecutive paid 310 months (all employee relations) ending at the last paid month not after
    the detection month — "≥ 12 months continuous" is inclusive (E-14)."""
    months: set[YearMonth] = set()
    for r in relations:
        if _scheme(r) is Scheme.EMPLOYEE:
            months |= paid_periods(r, lines)[0]
    upto = [m for m in months if m <= YearMonth.of(on)]
    return continuous_months(months, max(upto)) if upto else 0


def resolve_duplicate(
    group: DuplicateGroup,
    relations: Sequence[Enrollment],
    lines: Sequence[ContributionLine],
    ctx: DuplicateContext,
    policy: Policy,
) -> Decision[Resolution]:
    """R-DUP-002…008 (table R-DUP-009) for one duplicate group found by :func:`find_duplicates`.

    ``relations`` are the person's relations (at least those of the group; other employee relations
    count toward the 12 continuous months of R-DUP-005), ``lines`` their contribution lines.
    The other relation is terminated or suspended from the first overlapping day.
    """
    index = {r.relation_id: r for r in relations}
    missing = [i for i in group.relation_ids if i not in index]
    if missing:
        raise YibaoError(DUP_BAD_GROUP, field="relations", reason=f"relations {missing} are not given")
    members = [index[i] for i in group.relation_ids]
    if not group.overlaps:
        raise YibaoError(DUP_NOT_A_DUPLICATE, field="relations", relations=", ".join(group.relation_ids))
    found = reason(
        "R-DUP-001",
        f"同一人员的参保关系 {'、'.join(group.relation_ids)} 自 {group.start} 起均为正常参保且已缴费，构成重复参保（{_kind_zh(group.kind)}）",
        f"relations {', '.join(group.relation_ids)} of the same person are all normal and paid from {group.start}: "
        f"a duplicate enrollment ({group.kind.value})",
        citations=_cite(policy),
        start=group.start,
        end="open" if group.end >= END_OF_TIME else group.end,
    )
    if group.kind is DupKind.MULTIPLE:
        return _manual(group, "R-DUP-008", "三个及以上参保关系同时重复，规则未规定处理顺序", "three or more relations overlap; the rules give no order", policy, extra=[found])
    if group.kind is DupKind.EMPLOYEE_EMPLOYEE:
        return _employee_pair(group, members, lines, ctx, policy, found)
    if group.kind is DupKind.RESIDENT_RESIDENT:
        return _resident_pair(group, members, lines, ctx, policy, found)
    return _cross_scheme(group, members, relations, lines, ctx, policy, found)


def _kind_zh(kind: DupKind) -> str:
    return {
        DupKind.EMPLOYEE_EMPLOYEE: "职工医保制度内",
        DupKind.RESIDENT_RESIDENT: "居民医保制度内",
        DupKind.CROSS_SCHEME: "跨制度",
        DupKind.MULTIPLE: "多重",
    }[kind]


def _employee_pair(group, members, lines, ctx: DuplicateContext, policy, found) -> Decision[Resolution]:
    """R-DUP-002: keep the place of employment, terminate the other; R-REF-003 for a flexible prepayer."""
    a, b = members
    in_place = [r for r in members if ctx.employment_region is not None and r.region == ctx.employment_region]
    unit = [r for r in members if not r.psn_type.is_flexible]
    if len(in_place) == 1:
        kept, how_zh, how_en = in_place[0], f"就业地 {ctx.employment_region}", f"the place of employment {ctx.employment_region}"
    elif len(in_place) == 0 and ctx.employment_region is None and len(unit) == 1:
        kept, how_zh, how_en = unit[0], "单位参保所在地（就业地）", "the unit relation (the place of employment)"
    else:
        return _manual(group, "R-DUP-002", "两个职工医保参保关系，无法确定就业地", "two employee relations and the place of employment is not known", policy, extra=[found])
    other = b if kept is a else a
    reasons = [found, reason(
        "R-DUP-002",
        f"职工医保重复参保：保留{how_zh}的参保关系 {kept.relation_id}，终止 {other.relation_id}（{other.region}）自 {group.start} 起",
        f"two employee relations: keep {kept.relation_id} in {how_en}; terminate {other.relation_id} ({other.region}) from {group.start}",
        citations=_cite(policy),
    )]
    notices: list[Notice] = []
    refund = Refund()
    if other.psn_type.is_flexible:
        refund_lines = []
        first = YearMonth.of(group.start)
        months, _ = paid_periods(other, lines)
        last = max(months) if months else first
        for year in range(first.year, last.year + 1):
            own = [c for c in lines if c.relation_id == other.relation_id and c.month is not None]
            d = flexible_prepaid_refund(own, first if year == first.year else YearMonth(year, 1), year, policy, other.region)
            refund_lines.extend(d.value.lines)
            reasons.extend(d.reasons)
        refund = Refund(tuple(refund_lines))
    else:
        notices.append(Notice.of(DUP_REFUND_REGIONAL, relation=other.relation_id, region=other.region))
    return _done(group, "R-DUP-002", kept, other, RelationAction.TERMINATED, reasons, refund=refund, notices=notices)


def _terminate_resident(
    group, members, kept: Enrollment, lines, ctx: DuplicateContext, policy, found, rule_id: str, why: tuple[str, str],
    *, student_entry_year: bool = False, citations=None, **facts,
) -> Decision[Resolution]:
    """Keep ``kept``; terminate the other resident relation with its years' subsidy deduction
    (R-RES-007) and refund (R-REF-001/002). ``why`` — the rule's own sentence (zh, en)."""
    other = members[1] if kept is members[0] else members[0]
    years = _years(other, lines, group.start, group.end)
    deductions, d_reasons = _deduct(DuplicateKind.RESIDENT_RESIDENT, other, lines, years, policy, student_entry_year=student_entry_year)
    refund, r_reasons = _resident_refunds(other, lines, years, ctx, RelationAction.TERMINATED, policy)
    zh, en = why
    decided = reason(
        rule_id,
        zh.format(kept=kept, other=other, start=group.start),
        en.format(kept=kept, other=other, start=group.start),
        citations=citations or _cite(policy),
        **facts,
    )
    return _done(group, rule_id, kept, other, RelationAction.TERMINATED, [found, decided, *d_reasons, *r_reasons],
                 deductions=deductions, refund=refund)


def _resident_pair(group, members, lines, ctx: DuplicateContext, policy, found) -> Decision[Resolution]:
    """R-DUP-003 habitual residence / R-DUP-004 place of study / R-DUP-007 assisted person's choice."""
    # R-DUP-004: a student's duplicate caused by starting school → keep the place of study, no deduction.
    study = [r for r in members if ctx.study_region is not None and r.region == ctx.study_region]
    if ctx.student_cause is StudentCause.SCHOOL_ENTRY and len(study) == 1:
        return _terminate_resident(
            group, members, study[0], lines, ctx, policy, found, "R-DUP-004",
            ("学生入学导致重复参保：保留学籍地 {kept.region} 的参保关系 {kept.relation_id}，由学籍地经全国平台通知生源地 {other.region} 终止 {other.relation_id}",
             "a student's duplicate caused by starting school: keep {kept.relation_id} at the place of study {kept.region}; "
             "the school region asks {other.region} through the national platform to terminate {other.relation_id}"),
            student_entry_year=True, citations=[*_cite(policy), policy.cite("S1", "三(二)")],
        )
    # R-DUP-007: medical assistance paid in both places → the person chooses, with a written commitment.
    if ctx.assisted_both:
        chosen = [r for r in members if ctx.assist_choice_region is not None and r.region == ctx.assist_choice_region]
        if len(chosen) != 1 or not ctx.assist_choice_commitment_id:
            return _manual(
                group, "R-DUP-007", "救助对象两地均资助参保，须本人选择保留的参保关系并签署书面承诺",
                "an assisted person subsidised in both places must choose the relation to keep and sign a written commitment", policy, extra=[found],
            )
        commitment = ctx.assist_choice_commitment_id.replace("{", "{{").replace("}", "}}")
        return _terminate_resident(
            group, members, chosen[0], lines, ctx, policy, found, "R-DUP-007",
            (f"救助对象经本人同意保留 {{kept.region}} 的参保关系 {{kept.relation_id}}，书面承诺 {commitment} 由 {{other.region}} 留存备案，终止 {{other.relation_id}}",
             f"with the assisted person's consent {{kept.relation_id}} in {{kept.region}} is kept; written commitment "
             f"{commitment} is filed by {{other.region}}; {{other.relation_id}} is terminated"),
            assist_choice_commitment_id=commitment,
        )
    # R-DUP-003: keep the habitual residence.
    home = [r for r in members if ctx.habitual_residence_region is not None and r.region == ctx.habitual_residence_region]
    if len(home) == 2:  # both in the same region (paid twice): keep the earlier enrolment (Y-DUP-002)
        home = [min(members, key=lambda r: (r.start, r.relation_id))]
    if len(home) != 1:
        return _manual(group, "R-DUP-003", "两个居民医保参保关系，无法确定常住地", "two resident relations and the habitual residence is not known", policy, extra=[found])
    return _terminate_resident(
        group, members, home[0], lines, ctx, policy, found, "R-DUP-003",
        ("居民医保重复参保：保留常住地 {kept.region} 的参保关系 {kept.relation_id}，终止 {other.region} 的 {other.relation_id} 自 {start} 起",
         "two resident relations: keep {kept.relation_id} at the habitual residence {kept.region}; terminate {other.relation_id} "
         "in {other.region} from {start}"),
    )


def _cross_scheme(group, members, relations, lines, ctx: DuplicateContext, policy, found) -> Decision[Resolution]:
    """R-DUP-004 (student takes a job), R-DUP-006 (part-time), R-DUP-005 (≥ 12 months 310), R-DUP-008."""
    employee = next(r for r in members if _scheme(r) is Scheme.EMPLOYEE)
    resident = next(r for r in members if _scheme(r) is Scheme.RESIDENT)
    years = _years(resident, lines, group.start, group.end)
    if ctx.student_cause is StudentCause.JOB and (ctx.study_region is None or resident.region == ctx.study_region):
        reasons = [found, reason(
            "R-DUP-004",
            f"学生就业导致重复参保：保留职工医保 {employee.relation_id}，由就业地通知学籍地 {resident.region} 暂停（不终止）{resident.relation_id} 自 {group.start} 起",
            f"a student's duplicate caused by a job: keep the employee relation {employee.relation_id}; the employment region asks "
            f"{resident.region} to suspend (not terminate) {resident.relation_id} from {group.start}",
            citations=[*_cite(policy), policy.cite("S1", "三(二)")],
        )]
        refund, r_reasons = _resident_refunds(resident, lines, years, ctx, RelationAction.SUSPENDED, policy)
        return _done(group, "R-DUP-004", employee, resident, RelationAction.SUSPENDED, reasons + r_reasons, refund=refund)
    if ctx.employee_part_time:
        reasons = [found, reason(
            "R-DUP-006",
            f"因非全日制、临时性等灵活就业导致跨制度重复参保：保留可享受待遇的职工医保 {employee.relation_id}，暂停（不终止）居民医保 {resident.relation_id} 自 {group.start} 起",
            f"a cross-scheme duplicate from part-time or temporary flexible work: keep {employee.relation_id}, which gives benefits, "
            f"and suspend (not terminate) {resident.relation_id} from {group.start}",
            citations=_cite(policy),
        )]
        refund, r_reasons = _resident_refunds(resident, lines, years, ctx, RelationAction.SUSPENDED, policy)
        return _done(group, "R-DUP-006", employee, resident, RelationAction.SUSPENDED, reasons + r_reasons, refund=refund)
    months = _employee_months(relations, lines, ctx.detected_on)
    min_p = policy.param(resident.region, "incentive.duplicate_subsidy_min_employee_months", ctx.detected_on)
    normal = employee.status_on(ctx.detected_on) in (InsuStatus.NORMAL, InsuStatus.NOT_ENROLLED)
    if months >= min_p.value and normal:
        deductions, d_reasons = _deduct(
            DuplicateKind.CROSS_SCHEME, resident, lines, years, policy, employee_continuous_months=months, employee_payment_normal=True,
        )
        refund, r_reasons = _resident_refunds(resident, lines, years, ctx, RelationAction.TERMINATED, policy)
        reasons = [found, reason(
            "R-DUP-005",
            f"跨制度重复参保，职工医保连续参保 {months} 个月（不少于 {min_p.value} 个月，含）：保留职工医保 {employee.relation_id}，终止居民医保 {resident.relation_id} 自 {group.start} 起",
            f"cross-scheme duplicate with {months} continuous employee months (at least {min_p.value}, inclusive): keep "
            f"{employee.relation_id}, terminate {resident.relation_id} from {group.start}",
            parameters=[min_p],
            citations=_cite(policy),
            employee_continuous_months=months,
        ), *d_reasons, *r_reasons]
        return _done(group, "R-DUP-005", employee, resident, RelationAction.TERMINATED, reasons, deductions=deductions, refund=refund)
    # R-DUP-008: keep 310, suspend 390 for the rest of its year, no automatic deduction, manual review.
    action_p = policy.param(resident.region, "duplicate.unlisted_cross_scheme_action", ctx.detected_on)
    action = RelationAction(action_p.value)
    change = RelationChange(resident.relation_id, resident.region, action, group.start)
    proposal = reason(
        "R-DUP-008",
        f"跨制度重复参保，职工医保连续参保仅 {months} 个月（不足 {min_p.value} 个月）：建议保留职工医保 {employee.relation_id}（依法强制参保），"
        f"{'暂停' if action is RelationAction.SUSPENDED else '终止'}居民医保 {resident.relation_id} 自 {group.start} 起，不自动核减补助",
        f"cross-scheme duplicate with only {months} continuous employee months (fewer than {min_p.value}): keep {employee.relation_id} "
        f"(compulsory by law), {action.value.lower()} {resident.relation_id} from {group.start}; no automatic subsidy deduction",
        parameters=[min_p, action_p],
        citations=_cite(policy),
        employee_continuous_months=months,
    )
    return _manual(
        group, "R-DUP-008", f"职工医保连续参保不足 {min_p.value} 个月的跨制度重复参保（A-22）",
        f"a cross-scheme duplicate with fewer than {min_p.value} continuous employee months (A-22)", policy,
        kept=employee.relation_id, changes=(change,), extra=[found, proposal],
    )


def facts_fingerprint(relations: Sequence[Enrollment], lines: Sequence[ContributionLine], ctx: DuplicateContext) -> str:
    """A digest of the facts a decision is made on (the person's relations, status history, lines, and
    the places of the context; not the detection date): the same facts give the same fingerprint, so
    a dismissed case is proposed again only when its facts change."""
    rel_part = sorted(
        (r.relation_id, r.insutype.value, r.region, r.psn_type.value, r.start.toordinal(), r.end.toordinal() if r.end else 0,
         tuple(sorted((s.effective.toordinal(), s.status.value) for s in r.status_changes)))
        for r in relations
    )
    line_part = sorted(
        (c.relation_id, c.month.index if c.month else 0, c.benefit_year or 0, c.payer.value, str(c.amount), c.paid_on.toordinal())
        for c in lines
    )
    ctx_part = (
        ctx.employment_region, ctx.habitual_residence_region, ctx.study_region, ctx.student_cause, ctx.employee_part_time,
        ctx.assisted_both, ctx.assist_choice_region, ctx.assist_choice_commitment_id,
    )
    return hashlib.sha256(repr((rel_part, line_part, ctx_part)).encode()).hexdigest()[:32]


def resolve_person(
    person_id: str,
    relations: Sequence[Enrollment],
    lines: Sequence[ContributionLine],
    ctx: DuplicateContext,
    policy: Policy,
) -> tuple[Decision[Resolution], ...]:
    """Detection and resolution for one person: one decision per duplicate group."""
    return tuple(resolve_duplicate(g, relations, lines, ctx, policy) for g in find_duplicates(person_id, relations, lines))
