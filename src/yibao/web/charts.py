"""Small server-rendered SVG charts for the dashboard (no JavaScript chart library)."""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ("#1565c0", "#2e7d32", "#f9a825", "#c62828", "#6a1b9a", "#00838f", "#8d6e63")


def bars(items: list[tuple[str, int]], *, title: str, width: int = 560, colour: str | None = None) -> Markup:
    """A horizontal bar chart: one labelled bar per (label, value)."""
    row, label_w = 26, 250
    height = 30 + row * max(len(items), 1)
    top = max((v for _, v in items), default=0) or 1
    parts = [f'<text x="0" y="16" class="chart-title">{escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 26 + i * row
        w = (width - label_w - 60) * value / top
        fill = colour or PALETTE[i % len(PALETTE)]
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" class="chart-label" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 8}" fill="{fill}"><title>{escape(label)}: {value}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="chart-value">{value}</text>')
    if not items:
        parts.append(f'<text x="{label_w}" y="44" class="chart-label">—</text>')
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">{"".join(parts)}</svg>'
    )


__all__ = ["bars"]
