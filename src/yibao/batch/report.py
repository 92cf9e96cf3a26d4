"""The HTML summary of a dedup run: tables and inline SVG bar charts (no CDN — closed networks)."""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pyarrow as pa

from yibao.money import fmt

KIND_ZH = {
    "EMPLOYEE_EMPLOYEE": "职工+职工",
    "RESIDENT_RESIDENT": "居民+居民",
    "CROSS_SCHEME": "跨制度",
    "MULTIPLE": "多重",
}


def _bars(title: str, items: list[tuple[str, float, str]], colour: str = "#2b6cb0") -> str:
    """A horizontal bar chart as inline SVG: (label, value, shown value)."""
    if not items:
        return f"<h3>{html.escape(title)}</h3><p>无 / none</p>"
    width, row, label_w = 640, 22, 170
    top = max(v for _, v, _ in items) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{row * len(items) + 10}" role="img" aria-label="{html.escape(title)}">']
    for i, (label, value, shown) in enumerate(items):
        y = 5 + i * row
        w = int((width - label_w - 110) * value / top)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1)}" height="{row - 6}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + 15}" font-size="12">{html.escape(shown)}</text>')
    parts.append("</svg>")
    return f"<h3>{html.escape(title)}</h3>" + "".join(parts)


def summary_html(proposals: pa.Table, *, source: str, detected_on: date, population: int, seconds: float | None = None) -> str:
    rows = proposals.to_pylist()
    kinds = Counter(r["kind"] for r in rows)
    outcomes = Counter((r["rule_id"], r["outcome"]) for r in rows)
    regions: Counter[str] = Counter()
    subsidy: dict[str, Decimal] = defaultdict(Decimal)
    refund = Decimal("0")
    for r in rows:
        for rel_region in filter(None, (r["change_region"], r["notice_to"] if r["notice_to"] != r["change_region"] else None)):
            regions[rel_region] += 1
        if r["subsidy_region"]:
            subsidy[r["subsidy_region"]] += r["subsidy_total"]
        refund += r["refund_total"] or 0
    total_subsidy = sum(subsidy.values(), Decimal("0"))
    manual = sum(1 for r in rows if r["outcome"] == "MANUAL_REVIEW")
    top_regions = regions.most_common(20)
    top_subsidy = sorted(subsidy.items(), key=lambda kv: -kv[1])[:20]
    timing = f"，用时 {seconds:.1f} 秒 / {seconds:.1f} s" if seconds is not None else ""
    rule_rows = "".join(
        f"<tr><td>{html.escape(rule)}</td><td>{'人工复核 manual review' if outcome == 'MANUAL_REVIEW' else '自动处理 resolved'}</td><td>{n}</td></tr>"
        for (rule, outcome), n in sorted(outcomes.items())
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>重复参保核查 / duplicate enrollment report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:900px}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px}}</style></head>
<body>
<h1>重复参保核查 / duplicate enrollment report</h1>
<p>数据来源 / source: {html.escape(source)}；核查日期 / detected on: {detected_on.isoformat()}{timing}</p>
<table>
<tr><th>参保关系总数 / relations scanned</th><td>{population:,}</td></tr>
<tr><th>重复参保组 / duplicate groups</th><td>{len(rows):,}</td></tr>
<tr><th>须人工复核 / manual review</th><td>{manual:,}</td></tr>
<tr><th>应核减财政补助 / subsidy to deduct</th><td>{fmt(total_subsidy)}</td></tr>
<tr><th>应退个人缴费（申请后）/ refunds due on application</th><td>{fmt(refund)}</td></tr>
</table>
{_bars("按类型 / duplicates by kind", [(f"{KIND_ZH.get(k, k)} {k}", n, f"{n:,}") for k, n in kinds.most_common()])}
{_bars("按统筹区（被终止或暂停的关系）/ duplicates by region (relation given up)", [(k, n, f"{n:,}") for k, n in top_regions], "#2f855a")}
{_bars("按统筹区应核减补助 / subsidy at stake by region", [(k, float(v), fmt(v)) for k, v in top_subsidy], "#c05621")}
<h3>按规则 / by rule</h3>
<table><tr><th>规则 rule</th><th>结果 outcome</th><th>组数 groups</th></tr>{rule_rows}</table>
<p>每条处理建议附规则编号和政策依据，见 proposals 文件的 reasons 列 / every proposal carries its rule IDs and citations (column reasons).</p>
</body></html>
"""
