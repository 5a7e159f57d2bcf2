"""Forest plot as plain SVG text: no plotting library, no JavaScript, readable offline.

One forest plot for the whole package: the meta-analysis pages draw study effects with a pooled
diamond (:func:`forest_svg`), and the outcome report draws its ratio estimates through
:func:`forest_plot` too. Drawn for a phone first (``svgcore.WIDTH`` units, 13-unit text, capped
on wide screens by the ``chart-narrow`` class): each row is its label above the plot (wrapped,
never cut), the numbers at the right end of the label's last line (or on a line of their own
when they do not fit), and below them a square at the estimate (sized by the random-effects
weight when there is one) on a line for the 95% CI across the full width; then the pooled
estimate as a diamond. A dashed line marks no effect. ``log=True`` takes ratios and spaces
them on a log axis labelled in ratios; otherwise the axis is linear in the values given (the
meta-analysis passes its analysis scale, which is the log scale for ratio measures).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .. import svgcore
from ..stats.random_effects import MetaResult
from .meta import Effect, ratio_from_log

WIDTH = svgcore.WIDTH
#: The plot runs across the chart, inset so the end tick labels stay inside it.
PLOT_LEFT, PLOT_RIGHT = 16, svgcore.WIDTH - 16
LINE = svgcore.LINE
#: Height of a row's graphic (its CI line and square) below its label.
MARK_H = 18
#: Ratio ticks on a log axis, roundest first, in pairs symmetric around 1 (0.5 and 2, ...).
RATIO_TICKS = (1, 0.5, 2, 0.25, 4, 0.1, 10, 0.8, 1.25, 0.67, 1.5)
#: Smallest distance between two ratio ticks, as a share of the axis (about 40 units, room for
#: two labels such as "0.25" and "0.5" at 13 units).
MIN_TICK_GAP = 0.12


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
    weights = result.weights if result else (None,) * len(effects)
    rows = [
        row
        for e, w in zip(effects, weights, strict=True)
        if (row := _row(e.label, (e.yi, *e.ci), ratio, weight=w)) is not None
    ]
    # A bound beyond what a float holds as a ratio is left out of the picture (the pooled
    # report names it, on the log scale) rather than drawn at a made-up place.
    pooled = (
        _row(
            f"Random effects ({result.method})",
            (result.estimate, result.ci_low, result.ci_high),
            ratio,
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


def _row(
    label: str, values: tuple[float, float, float], ratio: bool, weight: float | None = None
) -> ForestRow | None:
    """A row on the drawn scale (ratios for ratio measures); None when a ratio is beyond a
    float."""
    if not ratio:
        return ForestRow(label, *values, weight=weight)
    shown = [ratio_from_log(v) for v in values]
    if any(v is None or v == 0 for v in shown):
        return None
    estimate, low, high = (float(v) for v in shown if v is not None)
    return ForestRow(label, estimate, low, high, weight=weight)


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
    """The plot as an SVG that takes the width of its container (pages cap it at 30rem)."""
    f = math.log if log else float
    everything = [*rows, *([pooled] if pooled else [])]
    low = min([f(r.low) for r in everything] + [f(null)])
    high = max([f(r.high) for r in everything] + [f(null)])
    pad = (high - low) * 0.1 or (0.1 if log else 1.0)
    low, high = low - pad, high + pad
    x = svgcore.linear(low, high, PLOT_LEFT, PLOT_RIGHT)
    weighted = any(r.weight is not None for r in rows)
    heading = f"Estimate [95% CI]{' weight' if weighted else ''}"
    body = [svgcore.text_lines([heading], WIDTH, svgcore.TEXT_SIZE, anchor="end", bold=True)]
    if label_heading and svgcore.text_width(label_heading + heading) + 12 <= WIDTH:
        body.append(svgcore.text_lines([label_heading], 0, svgcore.TEXT_SIZE, bold=True))
    y = LINE + 8.0
    marks: list[tuple[float, float]] = []  # the vertical extent of each row's marks
    for row in rows:
        colour = svgcore.PALETTE[1] if row.warn else svgcore.PALETTE[0]
        text, y = _label(row, y, bold=False)
        size = 8 * math.sqrt(row.weight / 100) + 4 if row.weight is not None else 8
        middle = y + MARK_H / 2
        marks.append((y - 2, y + MARK_H + 2))
        body += [
            text,
            f'<line x1="{x(f(row.low)):.1f}" y1="{middle:.1f}" x2="{x(f(row.high)):.1f}" '
            f'y2="{middle:.1f}" stroke="{colour}" stroke-width="2"/>',
            f'<rect x="{x(f(row.estimate)) - size / 2:.1f}" y="{middle - size / 2:.1f}" '
            f'width="{size:.1f}" height="{size:.1f}" fill="{colour}"/>',
        ]
        y += MARK_H + 6
    if pooled:
        y += 6
        text, y = _label(pooled, y, bold=True)
        middle = y + MARK_H / 2
        marks.append((y - 2, y + MARK_H + 2))
        mid, left, right = x(f(pooled.estimate)), x(f(pooled.low)), x(f(pooled.high))
        body += [
            text,
            f'<polygon points="{left:.1f},{middle:.1f} {mid:.1f},{middle - 7:.1f} '
            f'{right:.1f},{middle:.1f} {mid:.1f},{middle + 7:.1f}" fill="{svgcore.PALETTE[1]}"/>',
        ]
        y += MARK_H + 6
    marks.append((y - 6, y + 2))
    axis_y = y + 2
    null_x = x(f(null))
    body.insert(  # no effect: dashed, beside each row's marks (never through its text)
        0,
        "".join(
            f'<line x1="{null_x:.1f}" y1="{top:.1f}" x2="{null_x:.1f}" y2="{bottom:.1f}" '
            f'stroke="{svgcore.TEXT}" stroke-dasharray="4 3"/>'
            for top, bottom in marks
        ),
    )
    ticks = _log_ticks(low, high) if log else svgcore.nice_ticks(low, high)
    body.append(
        f'<line x1="{PLOT_LEFT}" y1="{axis_y:.1f}" x2="{PLOT_RIGHT}" y2="{axis_y:.1f}" '
        f'stroke="{svgcore.TEXT}"/>'
    )
    body += [
        f'<line x1="{x(f(t)):.1f}" y1="{axis_y:.1f}" x2="{x(f(t)):.1f}" y2="{axis_y + 5:.1f}" '
        f'stroke="{svgcore.TEXT}"/>'
        for t in ticks
    ]
    body += svgcore.x_labels([(x(f(t)), svgcore.fmt(t)) for t in ticks], axis_y + 19)
    axis_lines = svgcore.wrap(axis_label, WIDTH)
    body.append(svgcore.text_lines(axis_lines, WIDTH / 2, axis_y + 19 + LINE, anchor="middle"))
    desc = "; ".join(
        f"{r.label}: {r.estimate:.2f} ({r.low:.2f} to {r.high:.2f})"
        + (f", weight {r.weight:.1f}%" if r.weight is not None else "")
        for r in everything
    )
    height = axis_y + 19 + LINE * len(axis_lines) + 8
    return svgcore.document(title, desc, body, WIDTH, round(height), css_class=svgcore.NARROW)


def _label(row: ForestRow, top: float, *, bold: bool) -> tuple[str, float]:
    """The row's label across the chart (wrapped, never cut) and its numbers at the right end
    of the last line, or on a line of their own when they do not fit there; returns the SVG
    and the y below the text."""
    lines = svgcore.wrap(row.label, WIDTH)
    numbers = row.text()
    baseline = top + svgcore.TEXT_SIZE
    text = svgcore.text_lines(lines, 0, baseline, bold=bold)
    last = baseline + LINE * (len(lines) - 1)
    if svgcore.text_width(lines[-1]) + 12 + svgcore.text_width(numbers) > WIDTH:
        last += LINE
        lines.append(numbers)
    text += svgcore.text_lines([numbers], WIDTH, last, anchor="end", bold=bold)
    return text, top + LINE * len(lines) + 2


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
