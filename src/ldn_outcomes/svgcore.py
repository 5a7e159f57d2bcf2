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

#: Every chart is drawn for a phone first: ``WIDTH`` user units wide with ``TEXT_SIZE`` text, so
#: that on a 390 px phone (about 374 px of content) its text renders at 13 px or more; on a wide
#: screen the stylesheet stops charts of class ``NARROW`` at 30rem, so the text stays near 17 px.
WIDTH = 360
TEXT_SIZE = 13
#: Approximate advance of one character of TEXT_SIZE text, to lay out labels without a renderer
#: (system-ui averages about 0.55 em; 0.6 leaves room).
CHAR_W = 0.6 * TEXT_SIZE
#: Height of one line of chart text (legend rows, wrapped labels).
LINE = 18
NARROW = "chart chart-narrow"

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


def text_width(text: str, size: float = TEXT_SIZE) -> float:
    """Approximate width of ``text`` at ``size`` in user units (no renderer on the server)."""
    return len(text) * CHAR_W * size / TEXT_SIZE


def wrap(text: str, width: float, size: float = TEXT_SIZE) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width``; a word longer than a line
    is cut into pieces that fit. Always at least one line."""
    most = max(int(width // (CHAR_W * size / TEXT_SIZE)), 1)
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > most:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:most])
            word = word[most:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= most:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current or not lines:
        lines.append(current)
    return lines


def text_lines(
    lines: Sequence[str], x: float, y: float, *, anchor: str = "start", bold: bool = False
) -> str:
    """Lines of TEXT_SIZE text, the first baseline at ``y`` and each next one LINE lower."""
    weight = ' font-weight="bold"' if bold else ""
    return "".join(
        f'<text x="{x:.1f}" y="{y + LINE * i:.1f}" text-anchor="{anchor}" '
        f'font-size="{TEXT_SIZE}" fill="{TEXT}"{weight}>{escape(line)}</text>'
        for i, line in enumerate(lines)
    )


#: A legend item: its kind (``"line"`` or ``"box"``), colour and name.
LegendItem = tuple[str, str, str]


def legend_rows(
    items: Sequence[LegendItem], width: float
) -> list[list[tuple[float, str, str, str]]]:
    """Lay legend items left to right, starting a new row when the next would not fit; each
    placed item is ``(x, kind, colour, name)``."""
    rows: list[list[tuple[float, str, str, str]]] = [[]]
    x = 0.0
    for kind, colour, name in items:
        item_w = 18 + text_width(name)
        if rows[-1] and x + item_w > width:
            rows.append([])
            x = 0.0
        rows[-1].append((x, kind, colour, name))
        x += item_w + 12
    return [row for row in rows if row]


def legend(rows: Sequence[Sequence[tuple[float, str, str, str]]], top: float = 0) -> str:
    """The legend laid out by :func:`legend_rows`, one LINE per row from ``top``: a swatch (a
    thick line or a box) and the name in words beside it."""
    items = []
    for index, row in enumerate(rows):
        middle = top + LINE * index + 10
        for x, kind, colour, name in row:
            shape = (
                f'<rect x="{x:.1f}" y="{middle - 6}" width="12" height="12" '
                f'fill="{colour}" stroke="{TEXT}" stroke-width="0.5"/>'
                if kind == "box"
                else f'<line x1="{x:.1f}" x2="{x + 14:.1f}" y1="{middle}" y2="{middle}" '
                f'stroke="{colour}" stroke-width="3"/>'
            )
            items.append(
                shape + f'<text x="{x + 18:.1f}" y="{middle + 5}" font-size="{TEXT_SIZE}" '
                f'fill="{TEXT}">{escape(name)}</text>'
            )
    return f'<g class="legend">{"".join(items)}</g>'


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
    font_size: float = TEXT_SIZE,
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
    items: Iterable[tuple[float, str]], baseline: float, font_size: float = TEXT_SIZE
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
