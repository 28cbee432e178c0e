"""Inline SVG charts drawn on the server: no JavaScript library, readable without scripts.

Each chart is a `<figure>` with an `<svg role="img">` whose `<title>` names it, and a
`data-value` on every bar, so the browser test reads the numbers the page shows.
"""

from __future__ import annotations

from html import escape

_ROW = 26
_LABEL_W = 240
_BAR_W = 320


def _fmt(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def bar_chart(
    title: str,
    bars: list[tuple[str, float]],
    *,
    maximum: float | None = None,
    unit: str = "",
    marks: list[float | None] | None = None,
    chart_id: str = "",
) -> str:
    """Horizontal bars, one a row, labelled with their value. `marks` draws a tick per
    bar (an agent's capacity against their load); `maximum` fixes the scale (100 for %)."""
    top = max([maximum or 0.0, *(v for _, v in bars), *(m or 0.0 for m in marks or [])]) or 1.0
    height = _ROW * max(len(bars), 1) + 8
    width = _LABEL_W + _BAR_W + 70
    parts = [
        f'<figure class="chart" id="{escape(chart_id)}"><figcaption>{escape(title)}</figcaption>',
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    if not bars:
        parts.append('<text x="4" y="18" class="empty">—</text>')
    for i, (label, value) in enumerate(bars):
        y = 4 + i * _ROW
        length = _BAR_W * value / top
        parts.append(
            f'<text x="{_LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{_LABEL_W}" y="{y + 3}" width="{length:.1f}" height="16" '
            f'data-label="{escape(label)}" data-value="{_fmt(value)}"/>'
            f'<text x="{_LABEL_W + length + 4:.1f}" y="{y + 15}">{_fmt(value)}{escape(unit)}</text>'
        )
        mark = (marks or [])[i] if i < len(marks or []) else None
        if mark is not None:
            x = _LABEL_W + _BAR_W * mark / top
            parts.append(
                f'<line class="mark" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 22}" '
                f'data-value="{_fmt(mark)}"/>'
            )
    parts.append("</svg></figure>")
    return "".join(parts)
