"""Building blocks shared by every SVG chart: "nice" axis ticks, a linear scale, axis labels and
the accessible ``<svg>`` wrapper (``<title>`` and ``<desc>``, no scripts, no external files).

Why a top-level module: the evidence layer (forest plots) and the reports layer (patient and
outcome charts) both draw charts, and evidence may not import reports. Like
:mod:`ldn_outcomes.errors`, this module stands outside the layers, and it imports nothing from
the project (standard library only), so any layer may import it without a cycle or a breach of
the layer contract. It holds plain string and number helpers, no chart of its own.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from xml.sax.saxutils import escape

#: Colour-blind-safe, >= 4.5:1 contrast on white (Okabe-Ito hues, darkened).
PALETTE = ("#0b5cad", "#a63d00", "#1f6f3f", "#6b3fa0", "#8a6d00")
TEXT = "#1b1f23"
GRID = "#d0d7de"
FONT = "system-ui, sans-serif"

#: Step multipliers per power of ten, doubled so that 2.5 stays an integer (2.5 = 5 / 2).
_STEPS_X2 = (2, 4, 5, 10, 20)


def fmt(value: float) -> str:
    """A tick or data value as a reader expects it: 0.5, 12, 1e+06 (no trailing zeros)."""
    return f"{value:g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) within
    ``[low, high]``: at least two when ``low < high``, one when they are equal.

    Each tick is computed as an exact integer ratio and rounded once, so labels read 0.3, not
    0.30000000000000004. Spans too small for the float precision of their magnitude fall back
    to the two end points rather than repeating a value.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"axis range must be finite, got {low!r} to {high!r}")
    if high < low:
        low, high = high, low
    if high == low:
        return [low]
    half = high / 2 - low / 2  # half the span: never overflows, even for -1e308 .. 1e308
    raw = half / max(count, 1) * 2
    ticks: list[float] = []
    if raw > 0 and math.isfinite(raw):
        exponent = math.floor(math.log10(raw))
        for double_m in _STEPS_X2:
            step = double_m / 2 * 10.0**exponent
            if step >= raw:
                ticks = _multiples(low, high, double_m, exponent, step, half * 2e-9)
                break
    return ticks if len(ticks) >= 2 else [low, high]


def _multiples(
    low: float, high: float, double_m: int, exponent: int, step: float, tolerance: float
) -> list[float]:
    """Multiples of ``double_m / 2 * 10**exponent`` in ``[low, high]``, each rounded once."""
    if step <= 0 or not math.isfinite(step):
        return []
    first, last = low / step, high / step
    if not (math.isfinite(first) and math.isfinite(last)):
        return []
    k_first, k_last = math.ceil(first - 1e-9), math.floor(last + 1e-9)
    if k_last - k_first > 1000:  # only when precision has run out; the caller falls back
        return []
    ticks: list[float] = []
    for k in range(k_first, k_last + 1):
        value = (
            k * double_m * 10**exponent / 2 if exponent >= 0 else k * double_m / (2 * 10**-exponent)
        )  # int / int: rounded exactly once
        if low - tolerance <= value <= high + tolerance and (not ticks or value > ticks[-1]):
            ticks.append(value)
    return ticks


def linear(
    domain_low: float, domain_high: float, range_a: float, range_b: float
) -> Callable[[float], float]:
    """Map data values onto pixels; a zero-width domain maps everything to ``range_a``."""
    span = (domain_high - domain_low) or 1.0
    return lambda value: range_a + (value - domain_low) / span * (range_b - range_a)


def y_grid(
    ticks: Iterable[float],
    y: Callable[[float], float],
    left: float,
    right: float,
    labels: Callable[[float], str] = fmt,
    font_size: float = 11,
) -> list[str]:
    """Horizontal grid lines across the plot, each labelled left of the plot."""
    out = []
    for tick in ticks:
        at = y(tick)
        out.append(
            f'<line x1="{left}" x2="{right}" y1="{at:.1f}" y2="{at:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{at + round(font_size * 0.36):.1f}" text-anchor="end" '
            f'font-size="{fmt(font_size)}" '
            f'fill="{TEXT}">{escape(labels(tick))}</text>'
        )
    return out


def x_labels(
    items: Iterable[tuple[float, str]], baseline: float, font_size: float = 11
) -> list[str]:
    """Tick labels centred under their x positions (already in pixels)."""
    return [
        f'<text x="{at:.1f}" y="{baseline}" text-anchor="middle" font-size="{fmt(font_size)}" '
        f'fill="{TEXT}">{escape(label)}</text>'
        for at, label in items
    ]


def document(
    title: str,
    desc: str,
    body: Sequence[str],
    width: float,
    height: float,
    *,
    fluid: bool = True,
    css_class: str = "chart",
) -> str:
    """A standalone ``<svg>``: ``role="img"`` labelled by its ``<title>`` and ``<desc>`` (what a
    screen reader announces), presentation attributes only so a strict Content-Security-Policy
    does not break it. ``fluid`` charts take the width of their container; the others keep
    their own pixel size (a file opened on its own). ``css_class`` lets a stylesheet size a
    family of charts (the narrow patient charts are capped on wide screens)."""
    ident = "chart-" + hashlib.sha1((title + desc).encode(), usedforsecurity=False).hexdigest()[:8]
    size = 'width="100%"' if fluid else f'width="{width}" height="{height}"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" role="img" '
        f'viewBox="0 0 {width} {height}" {size} aria-labelledby="{ident}-t {ident}-d" '
        f'font-family="{FONT}" font-size="12">'
        f'<title id="{ident}-t">{escape(title)}</title>'
        f'<desc id="{ident}-d">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )
