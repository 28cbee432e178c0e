"""Inline SVG charts drawn on the server: no JavaScript library, readable without scripts.

Each chart is a `<figure>` with an `<svg role="img">` whose `<title>` names it, and a
`data-value` on every bar, so the browser test reads the numbers the page shows.
"""

from __future__ import annotations

from html import escape
from typing import Any

_ROW = 26
_LABEL_W = 240
_BAR_W = 320


def _short(label: str, limit: int = 34) -> str:
    """A label that fits the label column: its end (where model versions differ)."""
    return label if len(label) <= limit else "…" + label[-(limit - 1) :]


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
            f'<text x="{_LABEL_W - 6}" y="{y + 15}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(_short(label))}</text>"
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


def dashboard_charts(board: Any, t: Any) -> list[str]:
    """The dashboard's charts, from the same `Dashboard` that `GET /v1/dashboard` returns."""
    teams = sorted(set(board.open_by_team))
    out = [
        bar_chart(
            t("SLA compliance"),
            [("%", board.sla_compliance_pct or 0.0)],
            maximum=100.0,
            unit="%",
            chart_id="sla",
        ),
        bar_chart(
            t("SLA compliance over time"),
            [(d.day.strftime("%m-%d"), d.compliance_pct) for d in board.sla_by_day],
            maximum=100.0,
            unit="%",
            chart_id="sla-days",
        ),
        bar_chart(
            t("Open tickets by team"),
            [(team, board.open_by_team[team]) for team in teams],
            chart_id="backlog",
        ),
        bar_chart(
            t("Breached, open"), [(t("Breached, open"), board.breached_open)], chart_id="breached"
        ),
        bar_chart(
            t("Agent load against capacity"),
            [(a.id, a.load) for a in board.agents],
            marks=[a.capacity for a in board.agents],
            chart_id="load",
        ),
        bar_chart(
            t("Auto-reply outcomes"),
            [
                (t("sent"), board.auto_replies_sent),
                (t("resolved"), board.auto_replies_resolved),
                (t("reopened"), board.auto_replies_reopened),
                (t("no answer"), board.auto_replies_no_answer),
            ],
            chart_id="autoreply",
        ),
        bar_chart(
            t("CSAT"),
            [
                (t("sent"), board.csat_sent),
                (t("answered"), board.csat_answered),
                (t("average"), board.csat_average or 0.0),
                (t("follow-ups"), board.csat_followups),
            ],
            chart_id="csat",
        ),
    ]
    heads = []
    for version in board.model_health.versions if board.model_health else []:
        for head in version.heads:
            if head.acceptance_rate is not None:
                label = f"{version.model_version} · {head.head}"
                heads.append((label, round(100 * head.acceptance_rate, 2)))
    out.append(
        bar_chart(
            t("Acceptance rate per head"), heads, maximum=100.0, unit="%", chart_id="acceptance"
        )
    )
    return out
