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

The charts are drawn for a phone first: 360 user units wide with 13-unit text, so that on a
390 px screen (about 374 px of content) every label renders at 13 px or more; the stylesheet
caps their width on wide screens (class ``chart chart-narrow``). The legend wraps onto rows of
its own above the axis title, and shaded periods and markers carry their label in words.
A series with ``weekly=True`` is drawn as its weekly means (:func:`weekly_means`) with the
daily values faint behind.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from xml.sax.saxutils import escape, quoteattr

from .. import svgcore
from ..svgcore import PALETTE, TEXT, fmt

SHADE = "#dbe9f7"
#: Relapse marker: black, so it stands apart from every line (>= 3.1:1 against the palette
#: blue and orange, WCAG 2.2 SC 1.4.11) and is dashed and labelled, not told by colour alone.
MARKER = "#000000"
MAX_DOTS = 400
#: Text size and width in user units, shared by every chart (:mod:`ldn_outcomes.svgcore`).
FONT_SIZE = svgcore.TEXT_SIZE
WIDTH = svgcore.WIDTH
ROW = svgcore.LINE
FAINT = "0.35"
#: Weekly means get a dot each only over a half year or less (more would hide the line).
MAX_WEEK_DOTS = 26


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[dt.date, float | None]]
    #: Draw weekly means as the line, with the daily values faint behind.
    weekly: bool = False


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
class WeeklyMean:
    """The mean of the values present in one Monday-to-Sunday week (blanks are left out)."""

    week_start: dt.date
    mean: float
    days: int

    @property
    def middle(self) -> dt.date:
        """Where the mean is plotted: the Thursday, the middle of its week."""
        return self.week_start + dt.timedelta(days=3)


def weekly_means(points: Sequence[tuple[dt.date, float | None]]) -> list[WeeklyMean]:
    """Mean per calendar week (Monday start) of the present values, in date order; a week with
    no value has no mean (a blank answer is not a zero). Several values on one day all count."""
    weeks: dict[dt.date, list[float]] = {}
    for day, value in points:
        if value is not None:
            weeks.setdefault(day - dt.timedelta(days=day.weekday()), []).append(value)
    return [WeeklyMean(start, fmean(vals), len(vals)) for start, vals in sorted(weeks.items())]


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int = 34
    right: int = 12
    top: int = 28
    bottom: int = 30

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


def _date_ticks(first: dt.date, last: dt.date, most: int = 6) -> list[dt.date]:
    """At most ``most`` tick dates: days for two months or less, else first days of months."""
    most = max(most, 2)
    days = (last - first).days
    if days <= 62:
        step = max(math.ceil(days / (most - 1)), 1)
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
    stride = max(math.ceil(len(months) / most), 1)
    return months[::stride] or [first, last]


def _frame(
    width: int, height: int, legend: Sequence[svgcore.LegendItem], labelled: bool
) -> tuple[_Frame, list[list[tuple]]]:
    """The plot frame below the legend rows, the axis title row and (when periods or markers
    are drawn) the row of their labels; ``height`` is the height of the plot area itself."""
    rows = svgcore.legend_rows(legend, width)
    top = ROW * len(rows) + ROW + (ROW if labelled else 0) + 6
    frame = _Frame(width, top + height + _Frame.bottom, top=top)
    return frame, rows


class _Canvas:
    def __init__(
        self, title: str, frame: _Frame, first: dt.date, last: dt.date, y_low: float, y_high: float
    ) -> None:
        self.title, self.frame = title, frame
        self.first, self.last = first, last
        self.y_low, self.y_high = y_low, y_high
        self.y = svgcore.linear(y_low, y_high, frame.height - frame.bottom, frame.top)
        self.parts: list[str] = []
        self.labels: list[tuple[float, str]] = []  # (x, text) of period and marker names

    def x(self, day: dt.date) -> float:
        span = (self.last - self.first).days or 1
        clipped = min(max(day, self.first), self.last)
        return self.frame.left + (clipped - self.first).days / span * self.frame.plot_w

    def axes(self, y_label: str, title_row: float) -> None:
        f = self.frame
        self.parts += svgcore.y_grid(
            svgcore.nice_ticks(self.y_low, self.y_high),
            self.y,
            f.left,
            f.width - f.right,
            font_size=FONT_SIZE,
        )
        short = (self.last - self.first).days <= 62
        label_w = svgcore.text_width("30 Sep" if short else "Sep 2025")
        ticks = _date_ticks(self.first, self.last, int(f.plot_w // (label_w + 14)))
        half = label_w / 2
        self.parts += svgcore.x_labels(
            [
                (
                    min(max(self.x(day), half), f.width - half),
                    f"{day.day} {day:%b}" if short else day.strftime("%b %Y"),
                )
                for day in ticks
            ],
            f.height - f.bottom + FONT_SIZE + 4,
            font_size=FONT_SIZE,
        )
        if y_label:
            self.parts.append(
                f'<text class="axis-title" x="0" y="{title_row}" font-size="{FONT_SIZE}" '
                f'fill="{TEXT}">{escape(y_label)}</text>'
            )
        bottom = f.height - f.bottom
        self.parts.append(
            f'<line x1="{f.left}" x2="{f.width - f.right}" y1="{bottom}" '
            f'y2="{bottom}" stroke="{TEXT}" stroke-width="1"/>'
        )

    def _label(self, x: float, text: str) -> None:
        """Queue a period or marker name, drawn in words just above the plot by :meth:`svg`."""
        self.labels.append((x, text))

    def _placed_labels(self) -> list[str]:
        """The queued labels left to right; one that would overlap the previous label or run
        off the chart is left out (its ``<title>`` and the legend still name it)."""
        out, end = [], -math.inf
        for x, text in sorted(self.labels):
            right = x + svgcore.text_width(text)
            if x < end + 6 or right > self.frame.width:
                continue
            end = right
            out.append(
                f'<text class="label" x="{x:.1f}" y="{self.frame.top - 5}" '
                f'font-size="{FONT_SIZE}" fill="{TEXT}">{escape(text)}</text>'
            )
        return out

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
            self._label(max(x0, f.left), period.label or "period")

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
            self._label(x + 7, marker.label or "event")

    def svg(self, desc: str, rows: list[list[tuple]]) -> str:
        return svgcore.document(
            self.title,
            desc,
            [
                svgcore.legend(rows),
                *self.parts,
                f'<g class="labels">{"".join(self._placed_labels())}</g>',
            ],
            self.frame.width,
            self.frame.height,
            css_class=svgcore.NARROW,
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


def _legend_extras(
    periods: Sequence[Period], markers: Sequence[Marker]
) -> list[tuple[str, str, str]]:
    extras = []
    if periods:
        extras.append(("box", SHADE, periods[0].label or "period"))
    if markers:
        extras.append(("line", MARKER, markers[0].label or "event"))
    return extras


def _runs(points: Sequence[tuple[dt.date, float | None]]) -> list[list[tuple[dt.date, float]]]:
    """Stretches of present values in date order; a blank starts a new stretch."""
    runs: list[list[tuple[dt.date, float]]] = [[]]
    for day, value in sorted(points, key=lambda p: p[0]):
        if value is None:
            runs.append([])
        else:
            runs[-1].append((day, value))
    return runs


def _weekly_runs(means: list[WeeklyMean]) -> list[list[tuple[dt.date, float]]]:
    """Weekly means as stretches; a week without a value breaks the line."""
    runs: list[list[tuple[dt.date, float]]] = [[]]
    for week in means:
        if runs[-1] and (week.middle - runs[-1][-1][0]).days > 7:
            runs.append([])
        runs[-1].append((week.middle, week.mean))
    return runs


def _draw_series(canvas: _Canvas, s: Series, colour: str) -> None:
    runs = _runs(s.points)
    faint = ' stroke-opacity="0.25"' if s.weekly else ""
    dot_faint = f' fill-opacity="{FAINT}"' if s.weekly else ""
    canvas.parts.append(f'<g class="series" data-name={quoteattr(s.name)}>')
    for run in runs:
        if len(run) > 1:
            coords = " ".join(f"{canvas.x(d):.1f},{canvas.y(v):.1f}" for d, v in run)
            canvas.parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                f'stroke-width="{1 if s.weekly else 2}"{faint}/>'
            )
    present = [p for run in runs for p in run]
    shown = present if len(present) <= MAX_DOTS else present[-1:]
    for day, value in shown:
        canvas.parts.append(
            f'<circle class="point" data-date="{day.isoformat()}" data-value="{fmt(value)}" '
            f'cx="{canvas.x(day):.1f}" cy="{canvas.y(value):.1f}" '
            f'r="{2.5 if s.weekly else 3.5}" fill="{colour}"{dot_faint}>'
            f"<title>{escape(s.name)} {day.isoformat()}: {fmt(value)}</title></circle>"
        )
    if s.weekly:
        means = weekly_means(s.points)
        for run in _weekly_runs(means):
            if len(run) > 1:
                coords = " ".join(f"{canvas.x(d):.1f},{canvas.y(v):.1f}" for d, v in run)
                canvas.parts.append(
                    f'<polyline class="weekly" points="{coords}" fill="none" '
                    f'stroke="{colour}" stroke-width="3"/>'
                )
        if len(means) <= MAX_WEEK_DOTS:
            for week in means:
                canvas.parts.append(
                    f'<circle class="week" data-week="{week.week_start.isoformat()}" '
                    f'data-value="{week.mean:.2f}" cx="{canvas.x(week.middle):.1f}" '
                    f'cy="{canvas.y(week.mean):.1f}" r="3" fill="{colour}">'
                    f"<title>{escape(s.name)}, week of {week.week_start.isoformat()}: mean "
                    f"{week.mean:.1f} of {week.days} day(s)</title></circle>"
                )
    canvas.parts.append("</g>")


def line_chart(
    series: Sequence[Series],
    shaded_periods: Sequence[Period] = (),
    markers: Sequence[Marker] = (),
    title: str = "Chart",
    *,
    y_range: tuple[float, float] | None = None,
    y_label: str = "",
    width: int = WIDTH,
    height: int = 170,
) -> str:
    """Values over time as lines (dots too when there are few), with shaded periods and
    vertical markers. The x-axis spans the data; periods and markers are clipped to it.
    ``height`` is the height of the plot area; the legend rows come on top of it."""
    first, last = _date_range(_all_dates(series, shaded_periods, markers))
    values = [v for s in series for _, v in s.points if v is not None]
    low, high = y_range or ((min(values), max(values)) if values else (0.0, 1.0))
    if high <= low:
        high = low + 1
    legend = [
        ("line", PALETTE[i % len(PALETTE)], f"{s.name}, weekly mean" if s.weekly else s.name)
        for i, s in enumerate(series)
    ] + _legend_extras(shaded_periods, markers)
    frame, rows = _frame(width, height, legend, bool(shaded_periods or markers))
    canvas = _Canvas(title, frame, first, last, low, high)
    canvas.periods(shaded_periods)
    canvas.axes(y_label, ROW * len(rows) + FONT_SIZE + 1)
    canvas.markers(markers)
    for index, s in enumerate(series):
        _draw_series(canvas, s, PALETTE[index % len(PALETTE)])
    return canvas.svg(_describe(series, shaded_periods, markers), rows)


def step_chart(
    points: Sequence[tuple[dt.date, float]],
    title: str,
    *,
    name: str = "EDSS",
    y_range: tuple[float, float] = (0.0, 10.0),
    markers: Sequence[Marker] = (),
    shaded_periods: Sequence[Period] = (),
    until: dt.date | None = None,
    width: int = WIDTH,
    height: int = 140,
) -> str:
    """A score that holds until the next assessment (EDSS): horizontal steps, a dot per
    assessment. ``until`` extends the last step (default: the last assessment)."""
    ordered = sorted(points)
    dates = [d for d, _ in ordered] or _all_dates((), shaded_periods, markers)
    if until is not None:
        dates.append(until)
    first, last = _date_range(dates)
    legend = [("line", PALETTE[0], name), *_legend_extras(shaded_periods, markers)]
    frame, rows = _frame(width, height, legend, bool(shaded_periods or markers))
    canvas = _Canvas(title, frame, first, last, *y_range)
    canvas.periods(shaded_periods)
    canvas.axes(name, ROW * len(rows) + FONT_SIZE + 1)
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
    return canvas.svg(_describe([Series(name, ordered)], shaded_periods, markers), rows)
