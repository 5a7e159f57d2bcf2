"""Small inline-SVG charts for the outcome report: survival curves, trajectories, balance dots,
and the forest plot of ratio estimates (drawn by :mod:`ldn_outcomes.evidence.forest`). No
JavaScript, no external files; every chart has a <title> and a <desc> (:mod:`ldn_outcomes.svgcore`
builds the wrapper, ticks and axes).

Drawn for a phone first, as the patient charts are (``svgcore.WIDTH`` units wide with 13-unit
text, capped on wide screens by the ``chart-narrow`` class): the legend sits in rows above the
plot, the y-axis title above the axis, and the balance chart names each characteristic on a
line of its own above its dots, so no text has to shrink to fit beside the plot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from xml.sax.saxutils import escape

from .. import svgcore
from ..evidence.forest import ForestRow, forest_plot
from ..svgcore import PALETTE, TEXT, nice_ticks

WIDTH = svgcore.WIDTH
#: Height of the plot area of the survival and trajectory charts.
PLOT_H = 170
LEFT, RIGHT = 46, 14  # room for tick labels such as 0.95 at 13 units
#: Below the plot: the tick labels, then the axis title.
BOTTOM = svgcore.TEXT_SIZE + 4 + svgcore.LINE + 8
LINE = svgcore.LINE
Scale = Callable[[float], float]


def _colours(names: Sequence[str]) -> list[svgcore.LegendItem]:
    return [("line", PALETTE[i % len(PALETTE)], name) for i, name in enumerate(names)]


def _frame(names: Sequence[str]) -> tuple[str, float, float]:
    """The legend rows above the plot: the legend's SVG, the y of the axis title and the top
    of the plot."""
    rows = svgcore.legend_rows(_colours(names), WIDTH)
    title_y = LINE * len(rows) + svgcore.TEXT_SIZE + 1
    return svgcore.legend(rows), title_y, title_y + 12


def _axes(
    x: Scale,
    y: Scale,
    xt: Sequence[float],
    yt: Sequence[float],
    xlabel: str,
    ylabel: str,
    top: float,
    title_y: float,
) -> list[str]:
    """Grid and tick labels on both axes, the y title above the axis and the x title below."""
    bottom = top + PLOT_H
    out = svgcore.y_grid(yt, y, LEFT, WIDTH - RIGHT)
    half = svgcore.CHAR_W * 2
    out += svgcore.x_labels(
        [(min(max(x(v), half), WIDTH - half), svgcore.fmt(v)) for v in xt],
        bottom + svgcore.TEXT_SIZE + 4,
    )
    out.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}" '
        f'stroke="{TEXT}" stroke-width="1"/>'
    )
    out.append(
        svgcore.text_lines(
            [xlabel],
            (LEFT + WIDTH - RIGHT) / 2,
            bottom + svgcore.TEXT_SIZE + 4 + LINE,
            anchor="middle",
        )
    )
    out.append(f'<g class="axis-title">{svgcore.text_lines([ylabel], 0, title_y)}</g>')
    return out


def survival_chart(
    curves: Mapping[str, Sequence[Sequence[float]]],
    title: str,
    xlabel: str = "years since start",
    ylabel: str = "share without the event",
    max_x: float | None = None,
) -> str:
    """Step curves with shaded 95% bands; points are [time, S, lower, upper, ...] (the
    counts ``curve_points`` adds after them are not drawn)."""
    if not curves:
        return ""
    xmax = max_x or max((p[0] for pts in curves.values() for p in pts), default=1.0) or 1.0
    ymin = min((p[2] for pts in curves.values() for p in pts if p[2] == p[2]), default=0.0)
    ymin = max(0.0, min(math.floor(ymin * 10) / 10, 0.9))  # an axis, even when all stay at 1
    legend, title_y, top = _frame(list(curves))
    x = svgcore.linear(0, xmax, LEFT, WIDTH - RIGHT)
    y = svgcore.linear(ymin, 1.0, top + PLOT_H, top)
    body = [legend]
    body += _axes(x, y, nice_ticks(0, xmax), nice_ticks(ymin, 1.0, 4), xlabel, ylabel, top, title_y)
    summary = []
    for i, (name, points) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        pts = [p for p in points if p[0] <= xmax]
        line, upper, lower = [], [], []
        for k, p in enumerate(pts):
            nxt = pts[k + 1][0] if k + 1 < len(pts) else xmax
            line += [(p[0], p[1]), (nxt, p[1])]
            if p[2] == p[2] and p[3] == p[3]:
                upper += [(p[0], p[3]), (nxt, p[3])]
                lower += [(p[0], p[2]), (nxt, p[2])]
        if upper:
            band = upper + lower[::-1]
            body.append(
                '<polygon fill="'
                + colour
                + '" fill-opacity="0.12" points="'
                + " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in band)
                + '"/>'
            )
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
            + " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in line)
            + '"/>'
        )
        summary.append(f"{name}: {pts[-1][1]:.0%} at {pts[-1][0]:.1f}")
    return _document(title, "; ".join(summary), body, top + PLOT_H + BOTTOM)


def forest_chart(
    rows: Sequence[Mapping],
    title: str,
    null: float = 1.0,
    log: bool = True,
    xlabel: str = "ratio (log scale); 1 = no difference",
) -> str:
    """One row per estimate: dict(label, value, ci=[lo, hi], warn=bool), drawn by the one
    forest plot of the package. Rows without a usable estimate or interval are left out."""

    def usable(v: float | None) -> bool:
        return v is not None and math.isfinite(v) and (v > 0 or not log)

    shown = [
        ForestRow(r["label"], r["value"], r["ci"][0], r["ci"][1], warn=bool(r.get("warn")))
        for r in rows
        if all(usable(v) for v in (r.get("value"), *r["ci"]))
    ]
    if not shown:
        return ""
    return forest_plot(shown, title=title, axis_label=xlabel, null=null, log=log)


def line_chart(
    series: Mapping[str, Sequence[float | None]],
    xs: Sequence[float],
    title: str,
    xlabel: str,
    ylabel: str,
) -> str:
    values = [v for vs in series.values() for v in vs if v is not None and v == v]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.15 or 1.0
    legend, title_y, top = _frame(list(series))
    x = svgcore.linear(min(xs), max(xs), LEFT, WIDTH - RIGHT)
    y = svgcore.linear(lo - pad, hi + pad, top + PLOT_H, top)
    body = [legend]
    body += _axes(x, y, _spaced(xs), nice_ticks(lo - pad, hi + pad), xlabel, ylabel, top, title_y)
    desc = []
    for i, (name, vs) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        pts = [(a, b) for a, b in zip(xs, vs, strict=False) if b is not None and b == b]
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
            + " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in pts)
            + '"/>'
        )
        body += [f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="3" fill="{colour}"/>' for a, b in pts]
        desc.append(f"{name}: " + ", ".join(f"{b:.1f}" for _, b in pts))
    return _document(title, "; ".join(desc), body, top + PLOT_H + BOTTOM)


def balance_chart(rows: Sequence[Mapping], target: float, title: str) -> str:
    """Absolute standardised mean differences before (open) and after (filled) matching.

    A difference that could not be computed (nobody matched, no spread) is not drawn and is
    named "no data"; with none at all the chart is replaced by that sentence."""
    rows = [
        {**r, "smd_before": _finite(r.get("smd_before")), "smd_after": _finite(r.get("smd_after"))}
        for r in rows
    ]
    rows = [r for r in rows if r["smd_before"] is not None or r["smd_after"] is not None]
    if not rows:
        return f'<p class="small">{escape(title)}: no data (nobody could be compared).</p>'
    top = max(max(abs(r["smd_before"] or 0), abs(r["smd_after"] or 0)) for r in rows)
    x_max = max(top, target) * 1.1
    x = svgcore.linear(0, x_max, 12, WIDTH - 14)
    body: list[str] = []
    desc = []
    y = 0.0
    for r in rows:  # each characteristic: its name on a line of its own, its dots below
        lines = svgcore.wrap(str(r["label"]), WIDTH)
        body.append(svgcore.text_lines(lines, 0, y + svgcore.TEXT_SIZE))
        dots = y + LINE * len(lines) + 8
        before, after = r["smd_before"], r["smd_after"]
        body.append(
            f'<line x1="12" x2="{WIDTH - 14}" y1="{dots}" y2="{dots}" stroke="{svgcore.GRID}"/>'
            f'<line x1="{x(target):.1f}" x2="{x(target):.1f}" y1="{dots - 9}" y2="{dots + 9}" '
            f'stroke="{PALETTE[1]}" stroke-dasharray="4 3"/>'
        )
        if before is not None:
            body.append(
                f'<circle cx="{x(abs(before)):.1f}" cy="{dots}" r="5" fill="none" '
                f'stroke="{PALETTE[0]}" stroke-width="1.5"/>'
            )
        if after is not None:
            body.append(f'<circle cx="{x(abs(after)):.1f}" cy="{dots}" r="5" fill="{PALETTE[0]}"/>')
        desc.append(f"{r['label']}: {_smd_text(before)} before, {_smd_text(after)} after")
        y = dots + 12
    body += svgcore.x_labels(
        [(x(t), svgcore.fmt(t)) for t in nice_ticks(0, x_max, 4)], y + svgcore.TEXT_SIZE + 4
    )
    note = svgcore.wrap(
        f"|standardised mean difference|: open = before, filled = after; dashed = {target:g}",
        WIDTH,
    )
    body.append(svgcore.text_lines(note, 0, y + svgcore.TEXT_SIZE + 4 + LINE))
    height = y + svgcore.TEXT_SIZE + 4 + LINE * len(note) + 8
    return _document(title, "; ".join(desc), body, height)


def _document(title: str, desc: str, body: Sequence[str], height: float) -> str:
    return svgcore.document(title, desc, body, WIDTH, round(height), css_class=svgcore.NARROW)


def _spaced(xs: Sequence[float]) -> list[float]:
    """The x values to label: every one when they fit side by side, else every second,
    third, ... (the data points are drawn all the same)."""
    values = sorted(set(xs))
    widest = max((svgcore.text_width(svgcore.fmt(v)) for v in values), default=0) + 10
    room = max(int((WIDTH - LEFT - RIGHT) // widest), 2)
    stride = max(-(-len(values) // room), 1)
    return values[::stride]


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _smd_text(value: float | None) -> str:
    return "no data" if value is None else f"{abs(value):.2f}"
