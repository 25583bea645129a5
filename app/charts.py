"""Charts drawn on the server as SVG (no chart library, no script; presentation attributes
only, so the CSP needs no inline styles)."""

from __future__ import annotations

from html import escape

PALETTE = ["#1d3557", "#0b5cad", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#6d597a", "#8d99ae"]


def stacked_bars(
    title: str, categories: list[str], series: dict[str, list[int]], width: int = 720, height: int = 260
) -> str:
    """Vertical stacked bars: one bar per category, one colour per series, with a legend below
    the bars (beside them, long names were cut off at the edge)."""
    left, right, top, bottom = 40, 16, 28, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    legend = _legend_layout(list(series), left, width - right)
    height += (max(y for _, _, y in legend) + 22) if legend else 0
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    peak = max([*totals, 1])
    bar_w = plot_w / max(len(categories), 1) * 0.7
    step = plot_w / max(len(categories), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>',
        f'<text x="{left}" y="18" font-size="14" font-weight="700" fill="#1b1f24">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#8c959f"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="10" text-anchor="end" fill="#57606a">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="10" text-anchor="end" fill="#57606a">0</text>',
    ]
    for i, category in enumerate(categories):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for n, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[n % len(PALETTE)]}">'
                f"<title>{escape(category)} · {escape(name)}: {value}</title></rect>"
            )
        if totals[i]:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" font-size="10" text-anchor="middle" '
                f'fill="#1b1f24">{totals[i]}</text>'
            )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" font-size="10" text-anchor="middle" '
            f'fill="#57606a">{escape(category)}</text>'
        )
    legend_top = top + plot_h + bottom
    for n, (name, x, y) in enumerate(legend):
        parts.append(
            f'<rect x="{x}" y="{legend_top + y}" width="10" height="10" fill="{PALETTE[n % len(PALETTE)]}"/>'
        )
        parts.append(
            f'<text x="{x + 15}" y="{legend_top + y + 9}" font-size="11" fill="#1b1f24">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


LEGEND_CHAR_WIDTH = 6.6  # px per character at font-size 11, generous for wide letters


def _legend_layout(names: list[str], left: float, right: float) -> list[tuple[str, float, float]]:
    """(name, x, y) of each legend item, in rows that wrap at the chart's width."""
    placed, x, y = [], left, 0.0
    for name in names:
        item = 15 + len(name) * LEGEND_CHAR_WIDTH + 18
        if x > left and x + item > right:
            x, y = left, y + 16
        placed.append((name, x, y))
        x += item
    return placed
