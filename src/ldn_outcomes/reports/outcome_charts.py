"""Small inline-SVG charts for the outcome report: survival curves, forest plots, trajectories,
balance dots. No JavaScript, no external files; every chart has a <title> and a <desc>."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

PALETTE = ("#0b5cad", "#a63d00", "#1f6f3f", "#6b3fa0", "#8a6d00")
GRID = "#d0d7de"
TEXT = "#1b1f23"
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 160, 24, 40


def _svg(title: str, desc: str, body: list[str], height: int = HEIGHT) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" role="img" font-family="sans-serif" font-size="12">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>" + "".join(body)
            + "</svg>")


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * step:
            step *= m
            break
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def _axes(x, y, xt, yt, xlabel: str, ylabel: str, height: int = HEIGHT) -> list[str]:
    out = []
    for v in yt:
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="{GRID}"/><text x="{LEFT - 6}" y="{y(v) + 4:.1f}" '
                   f'text-anchor="end" fill="{TEXT}">{v:g}</text>')
    for v in xt:
        out.append(f'<text x="{x(v):.1f}" y="{height - BOTTOM + 16}" text-anchor="middle" '
                   f'fill="{TEXT}">{v:g}</text>')
    out.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{height - 6}" text-anchor="middle" '
               f'fill="{TEXT}">{escape(xlabel)}</text>')
    out.append(f'<text x="14" y="{TOP + (height - TOP - BOTTOM) / 2}" text-anchor="middle" '
               f'fill="{TEXT}" transform="rotate(-90 14 {TOP + (height - TOP - BOTTOM) / 2})">'
               f"{escape(ylabel)}</text>")
    return out


def _legend(names: Sequence[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        y = TOP + 14 + i * 18
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{WIDTH - RIGHT + 10}" y="{y - 9}" width="12" height="4" '
                   f'fill="{colour}"/><text x="{WIDTH - RIGHT + 28}" y="{y - 4}" '
                   f'fill="{TEXT}">{escape(name[:24])}</text>')
    return out


def survival_chart(curves: Mapping[str, Sequence[Sequence[float]]], title: str,
                   xlabel: str = "years since start", ylabel: str = "share without the event",
                   max_x: float | None = None) -> str:
    """Step curves with shaded 95% bands; points are [time, S, lower, upper]."""
    if not curves:
        return ""
    xmax = max_x or max((p[0] for pts in curves.values() for p in pts), default=1.0) or 1.0
    ymin = min((p[2] for pts in curves.values() for p in pts if p[2] == p[2]), default=0.0)
    ymin = max(0.0, math.floor(ymin * 10) / 10)
    x = _scale(0, xmax, LEFT, WIDTH - RIGHT)
    y = _scale(ymin, 1.0, HEIGHT - BOTTOM, TOP)
    body = _axes(x, y, _ticks(0, xmax), _ticks(ymin, 1.0), xlabel, ylabel)
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
            body.append('<polygon fill="' + colour + '" fill-opacity="0.12" points="' + " ".join(
                f"{x(a):.1f},{y(b):.1f}" for a, b in band) + '"/>')
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="' + " ".join(
            f"{x(a):.1f},{y(b):.1f}" for a, b in line) + '"/>')
        summary.append(f"{name}: {pts[-1][1]:.0%} at {pts[-1][0]:.1f}")
    body += _legend(list(curves))
    return _svg(title, "; ".join(summary), body)


def forest_chart(rows: Sequence[Mapping], title: str, null: float = 1.0, log: bool = True,
                 xlabel: str = "ratio (log scale); 1 = no difference") -> str:
    """One row per estimate: dict(label, value, ci=[lo, hi], warn=bool)."""
    rows = [r for r in rows if r.get("value") is not None and r["ci"][0] is not None
            and r["ci"][1] is not None]
    if not rows:
        return ""
    height = TOP + BOTTOM + 26 * len(rows) + 10
    left = 390
    f = (lambda v: math.log(v)) if log else (lambda v: v)
    lo = min(min(f(r["ci"][0]) for r in rows), f(null))
    hi = max(max(f(r["ci"][1]) for r in rows), f(null))
    pad = (hi - lo) * 0.1 or 0.1
    x = _scale(lo - pad, hi + pad, left, WIDTH - 20)
    body = [f'<line x1="{x(f(null)):.1f}" x2="{x(f(null)):.1f}" y1="{TOP}" '
            f'y2="{height - BOTTOM}" stroke="{TEXT}" stroke-dasharray="4 3"/>']
    desc = []
    for i, r in enumerate(rows):
        yy = TOP + 16 + 26 * i
        colour = PALETTE[1] if r.get("warn") else PALETTE[0]
        a, b, v = x(f(r["ci"][0])), x(f(r["ci"][1])), x(f(r["value"]))
        label = r["label"] if len(r["label"]) <= 64 else r["label"][:63] + "…"
        body.append(f'<text x="8" y="{yy + 4}" fill="{TEXT}" font-size="11">'
                    f"{escape(label)}</text>")
        body.append(f'<line x1="{a:.1f}" x2="{b:.1f}" y1="{yy}" y2="{yy}" stroke="{colour}" '
                    'stroke-width="2"/>')
        body.append(f'<rect x="{v - 4:.1f}" y="{yy - 4}" width="8" height="8" fill="{colour}"/>')
        desc.append(f'{r["label"]}: {r["value"]:.2f} ({r["ci"][0]:.2f} to {r["ci"][1]:.2f})')
    ticks = [0.25, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 4] if log else _ticks(lo - pad, hi + pad)
    for t in ticks:
        if (lo - pad) <= f(t) <= (hi + pad):
            body.append(f'<text x="{x(f(t)):.1f}" y="{height - BOTTOM + 16}" '
                        f'text-anchor="middle" fill="{TEXT}">{t:g}</text>')
    body.append(f'<text x="{(left + WIDTH) / 2}" y="{height - 8}" text-anchor="middle" '
                f'fill="{TEXT}">{escape(xlabel)}</text>')
    return _svg(title, "; ".join(desc), body, height)


def line_chart(series: Mapping[str, Sequence[float | None]], xs: Sequence[float], title: str,
               xlabel: str, ylabel: str) -> str:
    values = [v for vs in series.values() for v in vs if v is not None and v == v]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.15 or 1.0
    x = _scale(min(xs), max(xs), LEFT, WIDTH - RIGHT)
    y = _scale(lo - pad, hi + pad, HEIGHT - BOTTOM, TOP)
    body = _axes(x, y, list(xs), _ticks(lo - pad, hi + pad), xlabel, ylabel)
    desc = []
    for i, (name, vs) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        pts = [(a, b) for a, b in zip(xs, vs, strict=False) if b is not None and b == b]
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="' + " ".join(
            f"{x(a):.1f},{y(b):.1f}" for a, b in pts) + '"/>')
        body += [f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="3" fill="{colour}"/>'
                 for a, b in pts]
        desc.append(f"{name}: " + ", ".join(f"{b:.1f}" for _, b in pts))
    body += _legend(list(series))
    return _svg(title, "; ".join(desc), body)


def balance_chart(rows: Sequence[Mapping], target: float, title: str) -> str:
    """Absolute standardised mean differences before (open) and after (filled) matching."""
    rows = [r for r in rows if r.get("smd_before") is not None]
    if not rows:
        return ""
    height = TOP + BOTTOM + 22 * len(rows) + 10
    left = 240
    top = max(max(abs(r["smd_before"] or 0), abs(r["smd_after"] or 0)) for r in rows)
    x = _scale(0, max(top, target) * 1.1, left, WIDTH - 20)
    body = [f'<line x1="{x(target):.1f}" x2="{x(target):.1f}" y1="{TOP}" '
            f'y2="{height - BOTTOM}" stroke="{PALETTE[1]}" stroke-dasharray="4 3"/>']
    desc = []
    for i, r in enumerate(rows):
        yy = TOP + 14 + 22 * i
        before, after = abs(r["smd_before"] or 0), abs(r["smd_after"] or 0)
        body.append(f'<text x="8" y="{yy + 4}" fill="{TEXT}">{escape(r["label"])}</text>')
        body.append(f'<circle cx="{x(before):.1f}" cy="{yy}" r="5" fill="none" '
                    f'stroke="{PALETTE[0]}"/>')
        body.append(f'<circle cx="{x(after):.1f}" cy="{yy}" r="5" fill="{PALETTE[0]}"/>')
        desc.append(f'{r["label"]}: {before:.2f} before, {after:.2f} after')
    for t in _ticks(0, max(top, target) * 1.1, 4):
        body.append(f'<text x="{x(t):.1f}" y="{height - BOTTOM + 16}" text-anchor="middle" '
                    f'fill="{TEXT}">{t:g}</text>')
    body.append(f'<text x="{(left + WIDTH) / 2}" y="{height - 8}" text-anchor="middle" '
                f'fill="{TEXT}">|standardised mean difference|: open = before, filled = after; '
                f'dashed = {target:g}</text>')
    return _svg(title, "; ".join(desc), body, height)
