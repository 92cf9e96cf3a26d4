"""The person's years as one SVG picture: paid months, gaps, back-payments, waiting periods, benefit
periods per relation, status changes — each segment linked to the reasons behind it.

Drawn on the server from the rules' :class:`~yibao.rules.entitlement.Timeline` (no JavaScript chart
library). Every segment that carries a decision has ``data-explain="<id>"``; the page holds the
reasons of that id in a hidden block (:class:`Explanation`) that ``static/console.js`` shows on hover,
focus or click. Segments also carry an SVG ``<title>`` (the browser's own tooltip).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from markupsafe import Markup, escape

from yibao.codes import InsuStatus
from yibao.dates import YearMonth
from yibao.explain import Reason
from yibao.model import PersonFacts
from yibao.rules.entitlement import ActionKind, MonthKind, Timeline

LEFT, WIDTH, TOP = 170, 880, 34
LANE = 58  # height of one relation's lane
MAX_YEARS = 30

MONTH_COLOURS = {
    MonthKind.PAID: "#4caf50",
    MonthKind.BACKPAID: "#ff9800",
    MonthKind.PROVISIONAL: "#90caf9",
    MonthKind.RESIDENT: "#26a69a",
    MonthKind.UNPAID: "#e0e0e0",
}
STATUS_COLOURS = {InsuStatus.NORMAL: "#2e7d32", InsuStatus.SUSPENDED: "#f9a825", InsuStatus.TERMINATED: "#c62828"}


@dataclass
class Explanation:
    """What one segment means: a title and the reasons (rule, message, citations) behind it."""

    id: str
    title: str
    reasons: tuple[Reason, ...] = ()
    lines: tuple[str, ...] = ()  # plain facts, for segments without a rule decision


@dataclass
class Picture:
    svg: Markup
    explanations: list[Explanation] = field(default_factory=list)
    first_year: int = 0
    last_year: int = 0


def _span(facts: PersonFacts, t: Timeline, on: date, today: date) -> tuple[int, int]:
    years = [e.start.year for e in facts.enrollments] + [m.month.year for m in t.months] + [on.year, today.year]
    years += [p.start.year for p in t.periods]
    first, last = min(years), max(on.year, today.year, max((m.month.year for m in t.months), default=today.year))
    first = max(first, last - MAX_YEARS + 1)
    return first, last


def draw(
    facts: PersonFacts,
    t: Timeline,
    *,
    on: date,
    as_known_on: date,
    today: date,
    _: Callable[..., str],
    label: Callable[[str, str], str],
) -> Picture:
    """The picture of ``t`` (the timeline of ``facts`` as known on ``as_known_on``), with ``on`` marked.

    ``_`` translates; ``label(table, code)`` names a code in the page's language.
    """
    first, last = _span(facts, t, on, today)
    begin, end = date(first, 1, 1), date(last + 1, 1, 1)
    total = (end - begin).days
    per_year = WIDTH / (last - first + 1)

    def x(d: date) -> float:
        d = min(max(d, begin), end)
        return LEFT + (d - begin).days / total * WIDTH

    def month_x(m: YearMonth) -> tuple[float, float]:
        a = x(m.first_day())
        return a, max(x(m.last_day() + timedelta(days=1)) - a, 1.0)

    parts: list[str] = []
    explanations: list[Explanation] = []

    def explain(title: str, reasons: Iterable[Reason] = (), lines: Iterable[str] = ()) -> str:
        ex = Explanation(f"ex{len(explanations) + 1}", title, tuple(reasons), tuple(lines))
        explanations.append(ex)
        return ex.id

    def seg(x0: float, y: float, w: float, h: float, fill: str, tip: str, ex_id: str | None, cls: str = "seg", extra: str = "") -> None:
        attrs = f' data-explain="{ex_id}" tabindex="0" role="button"' if ex_id else ""
        parts.append(
            f'<rect class="{cls}" x="{x0:.1f}" y="{y:.1f}" width="{max(w, 1.5):.1f}" height="{h}" fill="{fill}"{attrs}{extra}>'
            f"<title>{escape(tip)}</title></rect>"
        )

    relations = sorted(facts.enrollments, key=lambda e: (e.start, e.relation_id))
    height = TOP + LANE * max(len(relations), 1) + 40
    # year grid and labels
    for i, year in enumerate(range(first, last + 1)):
        gx = LEFT + i * per_year
        parts.append(f'<line x1="{gx:.1f}" y1="{TOP - 6}" x2="{gx:.1f}" y2="{height - 30}" class="grid"/>')
        if per_year >= 28 or year % 5 == 0 or year == last:
            parts.append(f'<text x="{gx + per_year / 2:.1f}" y="{TOP - 12}" class="year">{year}</text>')

    months_by_rel: dict[str, list] = {}
    for m in t.months:
        months_by_rel.setdefault(m.relation_id, []).append(m)
    starts_by_rel: dict[str, list] = {}
    for s in t.starts:
        starts_by_rel.setdefault(s.relation_id, []).append(s)

    for lane, rel in enumerate(relations):
        y0 = TOP + lane * LANE
        name = label("insutype", rel.insutype.value)
        parts.append(f'<text x="8" y="{y0 + 16}" class="lane">{escape(rel.relation_id)}</text>')
        parts.append(f'<text x="8" y="{y0 + 31}" class="lane-sub">{escape(name)} · {escape(rel.region)}</text>')
        # month cells, merged into runs of one kind
        runs: list[list] = []
        for m in sorted(months_by_rel.get(rel.relation_id, []), key=lambda m: m.month):
            if runs and runs[-1][0].kind is m.kind and runs[-1][-1].month + 1 == m.month and runs[-1][0].waiting == m.waiting:
                runs[-1].append(m)
            else:
                runs.append([m])
        for run in runs:
            kind = run[0].kind
            a, _w = month_x(run[0].month)
            b, wb = month_x(run[-1].month)
            span = f"{run[0].month}" if len(run) == 1 else f"{run[0].month} — {run[-1].month}"
            kind_name = _(MONTH_KIND_ZH[kind])
            paid = sorted({m.paid_on for m in run if m.paid_on is not None})
            facts_lines = [f"{_('费款所属期')}: {span}", f"{_('状态')}: {kind_name}"]
            if paid:
                facts_lines.append(f"{_('缴费日期')}: " + ", ".join(d.isoformat() for d in paid[:6]) + (" …" if len(paid) > 6 else ""))
            if run[0].waiting:
                facts_lines.append(_("处于待遇等待期"))
            ex_id = explain(f"{kind_name} {span}", lines=facts_lines)
            seg(a, y0 + 4, b + wb - a, 14, MONTH_COLOURS[kind], f"{kind_name} {span}", ex_id, cls=f"seg month {kind.value.lower()}")
        # waiting periods and start decisions
        for s in starts_by_rel.get(rel.relation_id, []):
            first_day = s.first_month.first_day()
            if s.benefit_start is not None and s.benefit_start > first_day:
                title = _("待遇等待期 {start} 至 {end}", start=first_day.isoformat(), end=(s.benefit_start - timedelta(days=1)).isoformat())
                seg(x(first_day), y0 + 22, x(s.benefit_start) - x(first_day), 10, "url(#waiting)", title, explain(title, s.decision.reasons), cls="seg waiting")
            elif s.benefit_start is None:
                title = _("{first} 起的缴费未产生待遇", first=str(s.first_month))
                a, _w = month_x(s.first_month)
                b, wb = month_x(s.last_month)
                seg(a, y0 + 22, b + wb - a, 10, "url(#waiting)", title, explain(title, s.decision.reasons), cls="seg waiting none")
        # benefit periods
        for p in (p for p in t.periods if p.relation_id == rel.relation_id):
            stop = p.end or end - timedelta(days=1)
            title = _("待遇享受期 {start} 至 {end}", start=p.start.isoformat(), end=p.end.isoformat() if p.end else _("持续"))
            seg(x(p.start), y0 + 34, x(stop + timedelta(days=1)) - x(p.start), 10, "#1565c0", title, explain(title, (*p.start_reasons, *p.end_reasons)), cls="seg period")
        # proposed back-payments (gaps to close)
        for act in (a for a in t.actions if a.relation_id == rel.relation_id and a.kind is ActionKind.BACKPAY and a.months):
            ms = sorted(act.months)
            a, _w = month_x(ms[0])
            b, wb = month_x(ms[-1])
            title = _("可补缴 {first} 至 {last}", first=str(ms[0]), last=str(ms[-1]))
            seg(a, y0 + 3, b + wb - a, 16, "none", title, explain(title, (act.reason,)), cls="seg gap", extra=' stroke="#c62828" stroke-width="1.5" stroke-dasharray="3 2"')
        # status changes
        for c in sorted(rel.status_changes, key=lambda c: c.effective):
            cx = x(c.effective)
            colour = STATUS_COLOURS.get(c.status, "#555")
            status = label("insu_status", c.status.value)
            title = _("{day} 参保状态变为 {status}", day=c.effective.isoformat(), status=status)
            lines = [f"{_('原因')}: {_(STATUS_REASON_ZH.get(c.reason.value, c.reason.value))}"]
            if c.note:
                lines.append(f"{_('备注')}: {c.note}")
            if c.recorded_on:
                lines.append(f"{_('登记日期')}: {c.recorded_on.isoformat()} {c.recorded_by}")
            ex_id = explain(title, lines=lines)
            parts.append(
                f'<path class="seg status" d="M{cx:.1f},{y0 + 46} l-6,9 h12 z" fill="{colour}" data-explain="{ex_id}" tabindex="0" role="button">'
                f"<title>{escape(title)}</title></path>"
            )
        if rel.end is not None:
            parts.append(f'<line x1="{x(rel.end):.1f}" y1="{y0}" x2="{x(rel.end):.1f}" y2="{y0 + 46}" class="rel-end"/>')

    # the days asked about
    for day, cls, text in ((as_known_on, "known", _("已知截至 {day}", day=as_known_on.isoformat())), (on, "on", _("查询日 {day}", day=on.isoformat()))):
        if begin <= day < end:
            dx = x(day)
            parts.append(f'<line x1="{dx:.1f}" y1="{TOP - 4}" x2="{dx:.1f}" y2="{height - 30}" class="mark {cls}"/>')
    legend = [
        (MONTH_COLOURS[MonthKind.PAID], _("按时缴费")),
        (MONTH_COLOURS[MonthKind.BACKPAID], _("补缴")),
        (MONTH_COLOURS[MonthKind.RESIDENT], _("居民医保年度")),
        (MONTH_COLOURS[MonthKind.PROVISIONAL], _("征收宽限期内")),
        (MONTH_COLOURS[MonthKind.UNPAID], _("未缴（断缴）")),
        ("url(#waiting)", _("等待期")),
        ("#1565c0", _("待遇享受期")),
    ]
    lx = LEFT
    for colour, text in legend:
        parts.append(f'<rect x="{lx}" y="{height - 20}" width="12" height="10" fill="{colour}" class="legend"/>')
        parts.append(f'<text x="{lx + 16}" y="{height - 11}" class="legend-text">{escape(text)}</text>')
        lx += 16 + 13 * len(text) + 14
    if not relations:
        parts.append(f'<text x="{LEFT}" y="{TOP + 20}" class="lane-sub">{escape(_("尚无参保关系"))}</text>')
    defs = (
        '<defs><pattern id="waiting" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#ffe0b2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#ef6c00" stroke-width="3"/></pattern></defs>'
    )
    title = escape(_("参保时间线"))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {LEFT + WIDTH + 10} {height}" '
        f'width="{LEFT + WIDTH + 10}" height="{height}" role="img" aria-label="{title}">{defs}{"".join(parts)}</svg>'
    )
    return Picture(Markup(svg), explanations, first, last)


MONTH_KIND_ZH = {
    MonthKind.PAID: "按时缴费",
    MonthKind.BACKPAID: "补缴",
    MonthKind.PROVISIONAL: "征收宽限期内",
    MonthKind.RESIDENT: "居民医保年度",
    MonthKind.UNPAID: "未缴（断缴）",
}

STATUS_REASON_ZH = {
    "ENROLLMENT": "参保登记",
    "DUPLICATE_CLEANUP": "重复参保清理",
    "SEASONAL_EMPLOYMENT": "短期就业",
    "FLEXIBLE_DUPLICATE": "灵活就业重复参保",
    "LAND_LOST_FARMER_EMPLOYED": "被征地农民就业",
    "STUDENT_EMPLOYED": "学生就业",
    "SCHEME_SWITCH": "险种转换",
    "ASSISTANCE_SWITCH": "救助对象转换",
    "TRANSFER_OUT": "转出",
    "EMPLOYMENT_ENDED": "劳动关系终止",
    "DEATH": "死亡",
    "EMIGRATION": "出国定居",
    "RESTORE": "恢复",
    "OTHER": "其他",
}

__all__ = ["MONTH_KIND_ZH", "STATUS_REASON_ZH", "Explanation", "Picture", "draw"]
