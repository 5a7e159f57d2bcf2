"""SVG charts: valid XML, accessible title and description, data points where expected."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from ldn_outcomes.reports.svg import (
    Marker,
    Period,
    Series,
    line_chart,
    step_chart,
    weekly_means,
)

NS = {"svg": "http://www.w3.org/2000/svg"}
D0 = dt.date(2025, 1, 1)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def test_line_chart_is_accessible_and_shows_periods_markers_and_points() -> None:
    svg = line_chart(
        [Series("Fatigue", [(day(i), float(i % 11)) for i in range(30)] + [(day(30), None)])],
        [Period(day(5), day(15), "on LDN")],
        [Marker(day(20), "relapse")],
        "Fatigue <&> spasms",
        y_range=(0, 10),
    )
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    labelled = root.get("aria-labelledby", "").split()
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert set(labelled) <= ids
    assert root.find("svg:title", NS).text == "Fatigue <&> spasms"
    desc = root.find("svg:desc", NS).text
    assert "30 values" in desc and "on LDN: 2025-01-06 to 2025-01-16" in desc
    assert "relapse 2025-01-21" in desc
    assert len(root.findall(".//svg:rect[@class='period']", NS)) == 1
    assert len(root.findall(".//svg:g[@class='marker']", NS)) == 1
    points = root.findall(".//svg:circle[@class='point']", NS)
    assert len(points) == 30 and points[-1].get("data-date") == "2025-01-30"
    assert "style=" not in svg  # presentation attributes only (CSP without unsafe-inline)


def test_blank_values_break_the_line() -> None:
    svg = line_chart(
        [Series("s", [(day(0), 1.0), (day(1), 2.0), (day(2), None), (day(3), 3.0), (day(4), 4.0)])],
        title="t",
    )
    root = ET.fromstring(svg)
    assert len(root.findall(".//svg:polyline", NS)) == 2


def test_empty_chart_still_renders() -> None:
    root = ET.fromstring(line_chart([Series("s", [])], title="nothing yet"))
    assert "no values" in root.find("svg:desc", NS).text


def test_step_chart_holds_each_score_until_the_next() -> None:
    svg = step_chart([(day(0), 2.0), (day(100), 3.5)], "EDSS", until=day(200))
    root = ET.fromstring(svg)
    path = root.find(".//svg:path[@class='steps']", NS).get("d")
    assert path.count("H") == 2 and path.count("V") == 1
    values = [c.get("data-value") for c in root.findall(".//svg:circle", NS)]
    assert values == ["2", "3.5"]


def test_many_points_only_mark_the_latest() -> None:
    svg = line_chart([Series("s", [(day(i), 5.0) for i in range(1000)])], title="t")
    root = ET.fromstring(svg)
    assert len(root.findall(".//svg:circle", NS)) == 1


def test_weekly_means_by_hand() -> None:
    # 2025-01-06 is a Monday: days 5..11 are one week, days 12..18 the next.
    points = [
        (day(4), 9.0),  # Sunday 2025-01-05: the week before
        (day(5), 2.0),
        (day(6), None),  # a blank answer is left out, not counted as 0
        (day(7), 4.0),
        (day(11), 6.0),  # Sunday: still the same week
        (day(12), 1.0),
        (day(12), 3.0),  # two answers on one day both count
    ]
    means = weekly_means(points)
    assert [(m.week_start, m.mean, m.days) for m in means] == [
        (dt.date(2024, 12, 30), 9.0, 1),
        (dt.date(2025, 1, 6), 4.0, 3),
        (dt.date(2025, 1, 13), 2.0, 2),
    ]
    assert means[1].middle == dt.date(2025, 1, 9)  # plotted on the Thursday


@given(
    st.lists(
        st.tuples(
            st.dates(dt.date(2020, 1, 1), dt.date(2026, 12, 31)),
            st.one_of(st.none(), st.integers(0, 10).map(float)),
        ),
        max_size=200,
    )
)
def test_weekly_means_agree_with_a_direct_count(points: list) -> None:
    means = weekly_means(points)
    present = [(d, v) for d, v in points if v is not None]
    assert sum(m.days for m in means) == len(present)
    assert [m.week_start for m in means] == sorted({m.week_start for m in means})
    for m in means:
        assert m.week_start.weekday() == 0
        week = [v for d, v in present if m.week_start <= d < m.week_start + dt.timedelta(7)]
        assert m.days == len(week) and abs(m.mean - sum(week) / len(week)) < 1e-9


def _texts(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//svg:text", NS)


def test_weekly_series_draws_the_means_over_faint_days() -> None:
    points = [(day(i), float(i % 5)) for i in range(5, 40)]
    root = ET.fromstring(line_chart([Series("Fatigue", points, weekly=True)], title="t"))
    weeks = root.findall(".//svg:circle[@class='week']", NS)
    assert [float(c.get("data-value")) for c in weeks] == [
        round(m.mean, 2) for m in weekly_means(points)
    ]
    assert root.find(".//svg:polyline[@class='weekly']", NS).get("stroke-width") == "3"
    daily = root.findall(".//svg:circle[@class='point']", NS)
    assert len(daily) == 35 and all(c.get("fill-opacity") == "0.35" for c in daily)
    assert "Fatigue, weekly mean" in [t.text for t in _texts(root)]


def test_legend_sits_above_the_axis_title_and_labels_name_periods_and_relapses() -> None:
    svg = line_chart(
        [
            Series("Fatigue", [(day(i), 5.0) for i in range(400)], weekly=True),
            Series("Spasms", [(day(i), 3.0) for i in range(400)], weekly=True),
        ],
        [Period(day(50), None, "on LDN")],
        [Marker(day(200), "relapse"), Marker(day(203), "relapse")],
        "t",
        y_range=(0, 10),
        y_label="0 = none, 10 = worst",
    )
    root = ET.fromstring(svg)
    width = float(root.get("viewBox").split()[2])
    legend_ys = [float(t.get("y")) for t in root.findall(".//svg:g[@class='legend']/svg:text", NS)]
    title = root.find(".//svg:text[@class='axis-title']", NS)
    assert max(legend_ys) + 13 <= float(title.get("y"))  # a whole text line apart
    labels = [t.text for t in root.findall(".//svg:text[@class='label']", NS)]
    assert labels == ["on LDN", "relapse"]  # the second relapse label would overlap: left out
    for text in _texts(root):  # every label inside the chart, every size readable
        assert float(text.get("font-size", "13")) >= 13
        if text.get("text-anchor") == "middle":
            half = len(text.text) * 0.6 * 13 / 2
            assert half <= float(text.get("x")) <= width - half
    assert width == 360


def test_labels_are_placed_left_to_right_whatever_the_drawing_order() -> None:
    # periods are drawn before markers; a relapse left of the period keeps its label
    svg = step_chart(
        [(day(0), 2.0)],
        "EDSS",
        markers=[Marker(day(100), "relapse")],
        shaded_periods=[Period(day(500), None, "on LDN")],
        until=day(900),
    )
    labels = ET.fromstring(svg).findall(".//svg:text[@class='label']", NS)
    assert [t.text for t in labels] == ["relapse", "on LDN"]
