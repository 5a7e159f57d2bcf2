"""Forest plot as plain SVG text: no plotting library, no JavaScript, readable offline.

One forest plot for the whole package: the meta-analysis pages draw study effects with a pooled
diamond (:func:`forest_svg`), and the outcome report draws its ratio estimates through
:func:`forest_plot` too. Rows: a label, a square at the estimate (sized by the random-effects
weight when there is one), a line for the 95% CI and the numbers on the right; then the pooled
estimate as a diamond. A dashed line marks no effect. ``log=True`` takes ratios and spaces
them on a log axis labelled in ratios; otherwise the axis is linear in the values given (the
meta-analysis passes its analysis scale, which is the log scale for ratio measures).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from .. import svgcore
from ..stats.random_effects import MetaResult
from .meta import Effect

PLOT_W = 350
NUMBER_W = 190
ROW_H = 26
TOP = 34
MAX_LABEL = 64
#: Ratio ticks on a log axis, roundest first, in pairs symmetric around 1 (0.5 and 2, ...).
RATIO_TICKS = (1, 0.5, 2, 0.25, 4, 0.1, 10, 0.8, 1.25, 0.67, 1.5)
#: Smallest distance between two ratio ticks, as a share of the axis (about 40 px).
MIN_TICK_GAP = 0.1


@dataclass(frozen=True)
class ForestRow:
    """One line of the plot, in the units shown (ratios when the axis is ``log``)."""

    label: str
    estimate: float
    low: float
    high: float
    weight: float | None = None  # percent of the pooled total; sizes the square
    warn: bool = False  # drawn in the warning colour (e.g. its diagnostics failed)

    def text(self) -> str:
        weight = f" {self.weight:.1f}%" if self.weight is not None else ""
        return f"{self.estimate:.2f} [{self.low:.2f}, {self.high:.2f}]{weight}"


def forest_svg(
    effects: Sequence[Effect],
    result: MetaResult | None,
    *,
    axis_label: str = "effect",
    title: str | None = None,
    ratio: bool = False,
) -> str:
    """Study effects and the random-effects estimate. The meta-analysis works on the log
    scale for ratio measures; with ``ratio`` they are drawn back as ratios on a log axis, so
    the numbers a reader sees are risk, odds or hazard ratios, not their logarithms."""
    back = math.exp if ratio else float
    weights = result.weights if result else (None,) * len(effects)
    rows = [
        ForestRow(e.label, back(e.yi), back(e.ci[0]), back(e.ci[1]), weight=w)
        for e, w in zip(effects, weights, strict=True)
    ]
    pooled = (
        ForestRow(
            f"Random effects ({result.method})",
            back(result.estimate),
            back(result.ci_low),
            back(result.ci_high),
        )
        if result
        else None
    )
    return forest_plot(
        rows,
        title=title or "Forest plot",
        axis_label=axis_label,
        pooled=pooled,
        label_heading="Study",
        log=ratio,
        null=1.0 if ratio else 0.0,
    )


def forest_plot(
    rows: Sequence[ForestRow],
    *,
    title: str,
    axis_label: str,
    pooled: ForestRow | None = None,
    null: float = 0.0,
    log: bool = False,
    label_heading: str = "",
) -> str:
    """The plot as a standalone SVG of its own pixel size (pages cap it at their width)."""
    f = math.log if log else float
    everything = [*rows, *([pooled] if pooled else [])]
    low = min([f(r.low) for r in everything] + [f(null)])
    high = max([f(r.high) for r in everything] + [f(null)])
    pad = (high - low) * 0.1 or (0.1 if log else 1.0)
    low, high = low - pad, high + pad
    longest = max((min(len(r.label), MAX_LABEL) for r in everything), default=0)
    label_w = round(min(max(220, 16 + 6.2 * longest), 420))  # ~6.2 px a character at 12 px
    width = label_w + PLOT_W + NUMBER_W
    x = svgcore.linear(low, high, label_w, label_w + PLOT_W)
    bottom = TOP + ROW_H * (len(rows) + (2 if pooled else 0))
    axis_y = bottom + 6
    weighted = any(r.weight is not None for r in rows)
    body = [
        (
            f'<text x="8" y="18" font-weight="bold">{escape(label_heading)}</text>'
            if label_heading
            else ""
        ),
        f'<text x="{width - 8}" y="18" text-anchor="end" font-weight="bold">'
        f"Estimate [95% CI]{' weight' if weighted else ''}</text>",
        f'<line x1="{x(f(null)):.1f}" y1="{TOP - 6}" x2="{x(f(null)):.1f}" y2="{axis_y}" '
        f'stroke="{svgcore.TEXT}" stroke-dasharray="4 3"/>',
    ]
    for i, row in enumerate(rows):
        y = TOP + ROW_H * i + ROW_H / 2
        colour = svgcore.PALETTE[1] if row.warn else svgcore.PALETTE[0]
        size = 8 * math.sqrt(row.weight / 100) + 4 if row.weight is not None else 8
        body += [
            _label(row, y, width, bold=False),
            f'<line x1="{x(f(row.low)):.1f}" y1="{y:.1f}" x2="{x(f(row.high)):.1f}" '
            f'y2="{y:.1f}" stroke="{colour}" stroke-width="2"/>',
            f'<rect x="{x(f(row.estimate)) - size / 2:.1f}" y="{y - size / 2:.1f}" '
            f'width="{size:.1f}" height="{size:.1f}" fill="{colour}"/>',
        ]
    if pooled:
        y = bottom - ROW_H
        mid, left, right = x(f(pooled.estimate)), x(f(pooled.low)), x(f(pooled.high))
        body += [
            _label(pooled, y, width, bold=True),
            f'<polygon points="{left:.1f},{y:.1f} {mid:.1f},{y - 7:.1f} {right:.1f},{y:.1f} '
            f'{mid:.1f},{y + 7:.1f}" fill="{svgcore.PALETTE[1]}"/>',
        ]
    ticks = _log_ticks(low, high) if log else svgcore.nice_ticks(low, high)
    body.append(
        f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + PLOT_W}" y2="{axis_y}" '
        f'stroke="{svgcore.TEXT}"/>'
    )
    body += [
        f'<line x1="{x(f(t)):.1f}" y1="{axis_y}" x2="{x(f(t)):.1f}" y2="{axis_y + 5}" '
        f'stroke="{svgcore.TEXT}"/>'
        for t in ticks
    ]
    body += svgcore.x_labels([(x(f(t)), svgcore.fmt(t)) for t in ticks], axis_y + 18)
    body.append(
        f'<text x="{label_w + PLOT_W / 2:.1f}" y="{axis_y + 36}" text-anchor="middle">'
        f"{escape(axis_label)}</text>"
    )
    desc = "; ".join(
        f"{r.label}: {r.estimate:.2f} ({r.low:.2f} to {r.high:.2f})"
        + (f", weight {r.weight:.1f}%" if r.weight is not None else "")
        for r in everything
    )
    return svgcore.document(title, desc, body, width, axis_y + 54, fluid=False)


def _label(row: ForestRow, y: float, width: int, *, bold: bool) -> str:
    """The row's label on the left (shortened past 64 characters) and its numbers right."""
    label = row.label if len(row.label) <= MAX_LABEL else row.label[: MAX_LABEL - 1] + "…"
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="8" y="{y + 4:.1f}"{weight}>{escape(label)}</text>'
        f'<text x="{width - 8}" y="{y + 4:.1f}" text-anchor="end"{weight}>'
        f"{row.text()}</text>"
    )


def _log_ticks(low: float, high: float) -> list[float]:
    """Ratio ticks inside the (log-scale) range, taken in order of roundness (1, then halves
    and doubles, ...) and kept only at least ``MIN_TICK_GAP`` of the axis from those already
    kept, so labels never overlap; plain round ticks when the range is so narrow that fewer
    than three of the usual ratios fall inside it."""
    inside = [t for t in RATIO_TICKS if low <= math.log(t) <= high]
    if len(inside) < 3:
        return svgcore.nice_ticks(math.exp(low), math.exp(high))
    gap = MIN_TICK_GAP * (high - low)
    kept: list[float] = []
    for tick in sorted(inside, key=RATIO_TICKS.index):
        if all(abs(math.log(tick) - math.log(other)) >= gap for other in kept):
            kept.append(tick)
    return sorted(kept)
