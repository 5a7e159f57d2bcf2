"""SVG charts: valid XML, accessible title and description, data points where expected."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from ldn_outcomes.reports.svg import Marker, Period, Series, line_chart, step_chart

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
