"""Server-side SVG charts: no JavaScript, no CDN, readable by screen readers.

Two charts, one small API::

    line_chart(series, shaded_periods, markers, title)  -> str   # symptoms over time
    step_chart(points, title, markers=..., shaded_periods=...) -> str   # EDSS steps

A ``Series`` is a name and (date, value) points; ``None`` values break the line (a blank
answer is not a zero). ``Period`` shades a date range (e.g. on LDN; ``stop=None`` means
ongoing); ``Marker`` draws a labelled vertical line (e.g. a relapse onset). Every chart carries
``<title>`` and a generated ``<desc>`` summarising the data, and uses presentation attributes
only (no inline styles), so a strict Content-Security-Policy does not break it
(:mod:`ldn_outcomes.svgcore` builds that wrapper, the ticks and the grid).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from .. import svgcore
from ..svgcore import PALETTE, TEXT, fmt

SHADE = "#dbe9f7"
#: Relapse marker: black, so it stands apart from every line (>= 3.1:1 against the palette
#: blue and orange, WCAG 2.2 SC 1.4.11) and is dashed and labelled, not told by colour alone.
MARKER = "#000000"
MAX_DOTS = 400


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[dt.date, float | None]]


@dataclass(frozen=True)
class Period:
    start: dt.date
    stop: dt.date | None = None
    label: str = ""


@dataclass(frozen=True)
class Marker:
    date: dt.date
    label: str = ""


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int = 48
    right: int = 16
    top: int = 28
    bottom: int = 36

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom


def _date_range(dates: list[dt.date]) -> tuple[dt.date, dt.date]:
    first, last = min(dates), max(dates)
    if first == last:
        first, last = first - dt.timedelta(days=1), last + dt.timedelta(days=1)
    return first, last


def _date_ticks(first: dt.date, last: dt.date) -> list[dt.date]:
    days = (last - first).days
    if days <= 62:
        step = max(days // 6, 1)
        return [first + dt.timedelta(days=i) for i in range(0, days + 1, step)]
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        day = dt.date(year, month, 1)
        if first <= day <= last:
            months.append(day)
        month += 1
        if month == 13:
            year, month = year + 1, 1
    stride = max(len(months) // 6, 1)
    return months[::stride] or [first, last]


class _Canvas:
    def __init__(
        self, title: str, frame: _Frame, first: dt.date, last: dt.date, y_low: float, y_high: float
    ) -> None:
        self.title, self.frame = title, frame
        self.first, self.last = first, last
        self.y_low, self.y_high = y_low, y_high
        self.y = svgcore.linear(y_low, y_high, frame.height - frame.bottom, frame.top)
        self.parts: list[str] = []

    def x(self, day: dt.date) -> float:
        span = (self.last - self.first).days or 1
        clipped = min(max(day, self.first), self.last)
        return self.frame.left + (clipped - self.first).days / span * self.frame.plot_w

    def axes(self, y_label: str) -> None:
        f = self.frame
        self.parts += svgcore.y_grid(
            svgcore.nice_ticks(self.y_low, self.y_high), self.y, f.left, f.width - f.right
        )
        short = (self.last - self.first).days <= 62
        self.parts += svgcore.x_labels(
            [
                (self.x(day), day.isoformat() if short else day.strftime("%b %Y"))
                for day in _date_ticks(self.first, self.last)
            ],
            f.height - f.bottom + 16,
        )
        if y_label:
            self.parts.append(
                f'<text x="{f.left}" y="{f.top - 10}" font-size="12" '
                f'fill="{TEXT}">{escape(y_label)}</text>'
            )
        bottom = f.height - f.bottom
        self.parts.append(
            f'<line x1="{f.left}" x2="{f.width - f.right}" y1="{bottom}" '
            f'y2="{bottom}" stroke="{TEXT}" stroke-width="1"/>'
        )

    def periods(self, periods: Sequence[Period]) -> None:
        f = self.frame
        for period in periods:
            stop = period.stop or self.last
            if stop < self.first or period.start > self.last:
                continue
            x0, x1 = self.x(period.start), self.x(stop)
            self.parts.append(
                f'<rect class="period" x="{x0:.1f}" y="{f.top}" width="{max(x1 - x0, 1):.1f}" '
                f'height="{f.plot_h}" fill="{SHADE}"><title>{escape(_period_text(period))}'
                f"</title></rect>"
            )

    def markers(self, markers: Sequence[Marker]) -> None:
        f = self.frame
        for marker in markers:
            if not self.first <= marker.date <= self.last:
                continue
            x = self.x(marker.date)
            text = f"{marker.label or 'event'} {marker.date.isoformat()}"
            self.parts.append(
                f'<g class="marker"><title>{escape(text)}</title>'
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.top}" y2="{f.height - f.bottom}" '
                f'stroke="{MARKER}" stroke-width="2" stroke-dasharray="4 3"/>'
                f'<path d="M{x - 5:.1f},{f.top - 8} L{x + 5:.1f},{f.top - 8} L{x:.1f},{f.top} Z" '
                f'fill="{MARKER}"/></g>'
            )

    def svg(self, desc: str, legend: list[tuple[str, str, str]]) -> str:
        f = self.frame
        items = []
        x = f.left + 48  # leave room for the y-axis label
        for kind, colour, name in legend:
            shape = (
                f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>'
                if kind == "box"
                else f'<line x1="{x}" x2="{x + 12}" y1="10" y2="10" stroke="{colour}" '
                f'stroke-width="3"/>'
            )
            items.append(
                shape + f'<text x="{x + 16}" y="14" font-size="12" fill="{TEXT}">'
                f"{escape(name)}</text>"
            )
            x += 28 + 7 * len(name)
        return svgcore.document(
            self.title,
            desc,
            [f'<g class="legend">{"".join(items)}</g>', *self.parts],
            f.width,
            f.height,
        )


def _period_text(period: Period) -> str:
    stop = period.stop.isoformat() if period.stop else "ongoing"
    return f"{period.label or 'period'}: {period.start.isoformat()} to {stop}"


def _describe(
    series: Sequence[Series], periods: Sequence[Period], markers: Sequence[Marker]
) -> str:
    parts = []
    for s in series:
        values = [(d, v) for d, v in s.points if v is not None]
        if not values:
            parts.append(f"{s.name}: no values.")
            continue
        values.sort()
        numbers = [v for _, v in values]
        parts.append(
            f"{s.name}: {len(values)} values from {values[0][0].isoformat()} to "
            f"{values[-1][0].isoformat()}, range {fmt(min(numbers))} to {fmt(max(numbers))}, "
            f"latest {fmt(values[-1][1])} on {values[-1][0].isoformat()}."
        )
    if periods:
        parts.append("Shaded: " + "; ".join(_period_text(p) for p in periods) + ".")
    if markers:
        parts.append(
            "Marked: "
            + "; ".join(f"{m.label or 'event'} {m.date.isoformat()}" for m in markers)
            + "."
        )
    return " ".join(parts)


def _all_dates(
    series: Sequence[Series], periods: Sequence[Period], markers: Sequence[Marker]
) -> list[dt.date]:
    dates = [d for s in series for d, v in s.points if v is not None]
    if not dates:
        dates = [m.date for m in markers] + [p.start for p in periods]
    return dates or [dt.date.today()]


def line_chart(
    series: Sequence[Series],
    shaded_periods: Sequence[Period] = (),
    markers: Sequence[Marker] = (),
    title: str = "Chart",
    *,
    y_range: tuple[float, float] | None = None,
    y_label: str = "",
    width: int = 720,
    height: int = 260,
) -> str:
    """Values over time as lines (dots too when there are few), with shaded periods and
    vertical markers. The x-axis spans the data; periods and markers are clipped to it."""
    first, last = _date_range(_all_dates(series, shaded_periods, markers))
    values = [v for s in series for _, v in s.points if v is not None]
    low, high = y_range or ((min(values), max(values)) if values else (0.0, 1.0))
    if high <= low:
        high = low + 1
    canvas = _Canvas(title, _Frame(width, height), first, last, low, high)
    canvas.periods(shaded_periods)
    canvas.axes(y_label)
    canvas.markers(markers)
    legend: list[tuple[str, str, str]] = []
    for index, s in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        legend.append(("line", colour, s.name))
        points = sorted(s.points, key=lambda p: p[0])
        runs: list[list[tuple[dt.date, float]]] = [[]]
        for day, value in points:
            if value is None:
                runs.append([])
            else:
                runs[-1].append((day, value))
        canvas.parts.append(f'<g class="series" data-name={quoteattr(s.name)}>')
        for run in runs:
            if len(run) > 1:
                coords = " ".join(f"{canvas.x(d):.1f},{canvas.y(v):.1f}" for d, v in run)
                canvas.parts.append(
                    f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
        present = [p for run in runs for p in run]
        shown = present if len(present) <= MAX_DOTS else present[-1:]
        for day, value in shown:
            canvas.parts.append(
                f'<circle class="point" data-date="{day.isoformat()}" data-value="{fmt(value)}" '
                f'cx="{canvas.x(day):.1f}" cy="{canvas.y(value):.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(s.name)} {day.isoformat()}: {fmt(value)}</title></circle>"
            )
        canvas.parts.append("</g>")
    if shaded_periods:
        legend.append(("box", SHADE, shaded_periods[0].label or "period"))
    if markers:
        legend.append(("line", MARKER, markers[0].label or "event"))
    return canvas.svg(_describe(series, shaded_periods, markers), legend)


def step_chart(
    points: Sequence[tuple[dt.date, float]],
    title: str,
    *,
    name: str = "EDSS",
    y_range: tuple[float, float] = (0.0, 10.0),
    markers: Sequence[Marker] = (),
    shaded_periods: Sequence[Period] = (),
    until: dt.date | None = None,
    width: int = 720,
    height: int = 220,
) -> str:
    """A score that holds until the next assessment (EDSS): horizontal steps, a dot per
    assessment. ``until`` extends the last step (default: the last assessment)."""
    ordered = sorted(points)
    dates = [d for d, _ in ordered] or _all_dates((), shaded_periods, markers)
    if until is not None:
        dates.append(until)
    first, last = _date_range(dates)
    canvas = _Canvas(title, _Frame(width, height), first, last, *y_range)
    canvas.periods(shaded_periods)
    canvas.axes(name)
    canvas.markers(markers)
    if ordered:
        path = [f"M{canvas.x(ordered[0][0]):.1f},{canvas.y(ordered[0][1]):.1f}"]
        for next_day, next_value in ordered[1:]:
            path.append(f"H{canvas.x(next_day):.1f}")
            path.append(f"V{canvas.y(next_value):.1f}")
        path.append(f"H{canvas.x(last):.1f}")
        canvas.parts.append(
            f'<path class="steps" d="{" ".join(path)}" fill="none" '
            f'stroke="{PALETTE[0]}" stroke-width="2"/>'
        )
        for day, value in ordered:
            canvas.parts.append(
                f'<circle class="point" data-date="{day.isoformat()}" data-value="{fmt(value)}" '
                f'cx="{canvas.x(day):.1f}" cy="{canvas.y(value):.1f}" r="4" '
                f'fill="{PALETTE[0]}"><title>{escape(name)} {day.isoformat()}: {fmt(value)}'
                f"</title></circle>"
            )
    legend = [("line", PALETTE[0], name)]
    if shaded_periods:
        legend.append(("box", SHADE, shaded_periods[0].label or "period"))
    if markers:
        legend.append(("line", MARKER, markers[0].label or "event"))
    return canvas.svg(_describe([Series(name, ordered)], shaded_periods, markers), legend)
