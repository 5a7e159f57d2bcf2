"""Forest plot as plain SVG text: no plotting library, no JavaScript, readable offline.

Rows: one per study (square sized by its random-effects weight, line = 95% CI), then the pooled
estimate as a diamond. The axis is the analysis scale (log scale for ratio measures); a dashed
line marks no effect (0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from .meta import Effect, MetaResult

WIDTH = 760
LABEL_W = 220
NUMBER_W = 190
ROW_H = 26
TOP = 34


def forest_svg(
    effects: Sequence[Effect], result: MetaResult | None, *, axis_label: str = "effect",
    title: str | None = None,
) -> str:
    rows = len(effects) + (2 if result else 0)
    height = TOP + ROW_H * rows + 60
    lows = [e.ci[0] for e in effects] + ([result.ci_low] if result else []) + [0.0]
    highs = [e.ci[1] for e in effects] + ([result.ci_high] if result else []) + [0.0]
    low, high = min(lows), max(highs)
    pad = (high - low) * 0.08 or 1.0
    low, high = low - pad, high + pad
    plot_left, plot_right = LABEL_W, WIDTH - NUMBER_W

    def x(value: float) -> float:
        return plot_left + (value - low) / (high - low) * (plot_right - plot_left)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title or 'Forest plot')}</title>",
        f'<text x="8" y="18" font-weight="bold">Study</text>'
        f'<text x="{WIDTH - 8}" y="18" text-anchor="end" font-weight="bold">'
        f"Estimate [95% CI]{' weight' if result else ''}</text>",
    ]
    weights = result.weights if result else (None,) * len(effects)
    for row, (effect, weight) in enumerate(zip(effects, weights, strict=True)):
        y = TOP + ROW_H * row + ROW_H / 2
        ci_low, ci_high = effect.ci
        size = 4 + (8 * math.sqrt(weight / 100) if weight else 2)
        number = f"{effect.yi:.2f} [{ci_low:.2f}, {ci_high:.2f}]"
        if weight is not None:
            number += f" {weight:.1f}%"
        parts += [
            f'<text x="8" y="{y + 4:.1f}">{escape(effect.label)}</text>',
            f'<line x1="{x(ci_low):.1f}" y1="{y:.1f}" x2="{x(ci_high):.1f}" y2="{y:.1f}" '
            'stroke="#222" stroke-width="1.5"/>',
            f'<rect x="{x(effect.yi) - size / 2:.1f}" y="{y - size / 2:.1f}" width="{size:.1f}" '
            f'height="{size:.1f}" fill="#1f4e79"/>',
            f'<text x="{WIDTH - 8}" y="{y + 4:.1f}" text-anchor="end">{number}</text>',
        ]
    bottom = TOP + ROW_H * len(effects)
    if result:
        y = bottom + ROW_H
        points = [(x(result.ci_low), y), (x(result.estimate), y - 7),
                  (x(result.ci_high), y), (x(result.estimate), y + 7)]
        parts += [
            f'<text x="8" y="{y + 4:.1f}" font-weight="bold">Random effects ({result.method})'
            "</text>",
            '<polygon points="' + " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            + '" fill="#b03a2e"/>',
            f'<text x="{WIDTH - 8}" y="{y + 4:.1f}" text-anchor="end" font-weight="bold">'
            f"{result.estimate:.2f} [{result.ci_low:.2f}, {result.ci_high:.2f}]</text>",
        ]
        bottom = y + ROW_H
    axis_y = bottom + 6
    parts += [
        f'<line x1="{x(0):.1f}" y1="{TOP - 6}" x2="{x(0):.1f}" y2="{axis_y}" stroke="#888" '
        'stroke-dasharray="4 3"/>',
        f'<line x1="{plot_left}" y1="{axis_y}" x2="{plot_right}" y2="{axis_y}" stroke="#222"/>',
    ]
    for tick in _ticks(low, high):
        parts += [
            f'<line x1="{x(tick):.1f}" y1="{axis_y}" x2="{x(tick):.1f}" y2="{axis_y + 5}" '
            'stroke="#222"/>',
            f'<text x="{x(tick):.1f}" y="{axis_y + 18}" text-anchor="middle">{tick:g}</text>',
        ]
    parts += [
        f'<text x="{(plot_left + plot_right) / 2:.1f}" y="{axis_y + 36}" text-anchor="middle">'
        f"{escape(axis_label)}</text>",
        "</svg>",
    ]
    return "\n".join(parts)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw),
               default=magnitude * 10)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + 1e-12:
        ticks.append(round(value, 10))
        value += step
    return ticks
