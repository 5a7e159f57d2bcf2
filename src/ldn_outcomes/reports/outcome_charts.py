"""Small inline-SVG charts for the outcome report: survival curves, trajectories, balance dots,
and the forest plot of ratio estimates (drawn by :mod:`ldn_outcomes.evidence.forest`). No
JavaScript, no external files; every chart has a <title> and a <desc> (:mod:`ldn_outcomes.svgcore`
builds the wrapper, ticks and axes)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from xml.sax.saxutils import escape

from .. import svgcore
from ..evidence.forest import ForestRow, forest_plot
from ..svgcore import PALETTE, TEXT, nice_ticks

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 160, 24, 40
Scale = Callable[[float], float]


def _axes(
    x: Scale,
    y: Scale,
    xt: Sequence[float],
    yt: Sequence[float],
    xlabel: str,
    ylabel: str,
    height: int = HEIGHT,
) -> list[str]:
    """Grid and tick labels on both axes, the x label below and the y label turned upright."""
    out = svgcore.y_grid(yt, y, LEFT, WIDTH - RIGHT)
    out += svgcore.x_labels([(x(v), svgcore.fmt(v)) for v in xt], height - BOTTOM + 16)
    middle = TOP + (height - TOP - BOTTOM) / 2
    out.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{height - 6}" text-anchor="middle" '
        f'fill="{TEXT}">{escape(xlabel)}</text>'
    )
    out.append(
        f'<text x="14" y="{middle}" text-anchor="middle" fill="{TEXT}" '
        f'transform="rotate(-90 14 {middle})">{escape(ylabel)}</text>'
    )
    return out


def _legend(names: Sequence[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        y = TOP + 14 + i * 18
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{WIDTH - RIGHT + 10}" y="{y - 9}" width="12" height="4" '
            f'fill="{colour}"/><text x="{WIDTH - RIGHT + 28}" y="{y - 4}" '
            f'fill="{TEXT}">{escape(name[:24])}</text>'
        )
    return out


def survival_chart(
    curves: Mapping[str, Sequence[Sequence[float]]],
    title: str,
    xlabel: str = "years since start",
    ylabel: str = "share without the event",
    max_x: float | None = None,
) -> str:
    """Step curves with shaded 95% bands; points are [time, S, lower, upper]."""
    if not curves:
        return ""
    xmax = max_x or max((p[0] for pts in curves.values() for p in pts), default=1.0) or 1.0
    ymin = min((p[2] for pts in curves.values() for p in pts if p[2] == p[2]), default=0.0)
    ymin = max(0.0, math.floor(ymin * 10) / 10)
    x = svgcore.linear(0, xmax, LEFT, WIDTH - RIGHT)
    y = svgcore.linear(ymin, 1.0, HEIGHT - BOTTOM, TOP)
    body = _axes(x, y, nice_ticks(0, xmax), nice_ticks(ymin, 1.0), xlabel, ylabel)
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
    body += _legend(list(curves))
    return svgcore.document(title, "; ".join(summary), body, WIDTH, HEIGHT)


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
    x = svgcore.linear(min(xs), max(xs), LEFT, WIDTH - RIGHT)
    y = svgcore.linear(lo - pad, hi + pad, HEIGHT - BOTTOM, TOP)
    body = _axes(x, y, list(xs), nice_ticks(lo - pad, hi + pad), xlabel, ylabel)
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
    body += _legend(list(series))
    return svgcore.document(title, "; ".join(desc), body, WIDTH, HEIGHT)


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
    height = TOP + BOTTOM + 22 * len(rows) + 10
    left = 240
    top = max(max(abs(r["smd_before"] or 0), abs(r["smd_after"] or 0)) for r in rows)
    x_max = max(top, target) * 1.1
    x = svgcore.linear(0, x_max, left, WIDTH - 20)
    body = [
        f'<line x1="{x(target):.1f}" x2="{x(target):.1f}" y1="{TOP}" '
        f'y2="{height - BOTTOM}" stroke="{PALETTE[1]}" stroke-dasharray="4 3"/>'
    ]
    desc = []
    for i, r in enumerate(rows):
        yy = TOP + 14 + 22 * i
        before, after = r["smd_before"], r["smd_after"]
        body.append(f'<text x="8" y="{yy + 4}" fill="{TEXT}">{escape(r["label"])}</text>')
        if before is not None:
            body.append(
                f'<circle cx="{x(abs(before)):.1f}" cy="{yy}" r="5" fill="none" '
                f'stroke="{PALETTE[0]}"/>'
            )
        if after is not None:
            body.append(f'<circle cx="{x(abs(after)):.1f}" cy="{yy}" r="5" fill="{PALETTE[0]}"/>')
        desc.append(f"{r['label']}: {_smd_text(before)} before, {_smd_text(after)} after")
    body += svgcore.x_labels(
        [(x(t), svgcore.fmt(t)) for t in nice_ticks(0, x_max, 4)], height - BOTTOM + 16
    )
    body.append(
        f'<text x="{(left + WIDTH) / 2}" y="{height - 8}" text-anchor="middle" '
        f'fill="{TEXT}">|standardised mean difference|: open = before, filled = after; '
        f"dashed = {target:g}</text>"
    )
    return svgcore.document(title, "; ".join(desc), body, WIDTH, height)


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _smd_text(value: float | None) -> str:
    return "no data" if value is None else f"{abs(value):.2f}"
