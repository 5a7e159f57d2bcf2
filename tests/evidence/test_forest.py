"""The one forest plot: study rows with a pooled diamond, or ratio estimates on a log axis."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from ldn_outcomes.evidence.forest import (
    MIN_TICK_GAP,
    RATIO_TICKS,
    ForestRow,
    _log_ticks,
    forest_plot,
    forest_svg,
)
from ldn_outcomes.evidence.meta import Effect
from ldn_outcomes.stats.random_effects import random_effects

SVG = "{http://www.w3.org/2000/svg}"


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_meta_analysis_plot_describes_every_study_and_the_pooled_estimate() -> None:
    yi, vi = [-0.5, 0.1, -0.3], [0.04, 0.09, 0.02]
    effects = [
        Effect(f"s{i}", f"Study {i}", "RR", y, v, "test")
        for i, (y, v) in enumerate(zip(yi, vi, strict=True))
    ]
    result = random_effects(yi, vi)
    root = ET.fromstring(forest_svg(effects, result, axis_label="log RR"))
    desc = root.find(f"{SVG}desc").text or ""
    assert all(f"Study {i}: {y:.2f}" in desc for i, y in enumerate(yi))
    assert f"Random effects ({result.method}): {result.estimate:.2f}" in desc
    assert f"weight {result.weights[0]:.1f}%" in desc
    assert len(root.findall(f"{SVG}polygon")) == 1  # the pooled diamond
    sizes = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert sizes.index(max(sizes)) == max(range(3), key=lambda i: result.weights[i])


def test_ratios_sit_on_a_log_axis_labelled_in_ratios() -> None:
    rows = [ForestRow("halved", 0.5, 0.4, 0.625), ForestRow("doubled", 2.0, 1.6, 2.5, warn=True)]
    root = ET.fromstring(forest_plot(rows, title="t", axis_label="ratio", null=1.0, log=True))
    squares = list(root.iter(f"{SVG}rect"))
    centres = [float(r.get("x")) + float(r.get("width")) / 2 for r in squares]
    null = float(
        next(line.get("x1") for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray"))
    )
    assert math.isclose(null - centres[0], centres[1] - null, abs_tol=0.2)  # 1/2 and 2 mirror
    assert squares[0].get("fill") != squares[1].get("fill")  # the warning stands out
    assert {"0.5", "1", "2"} <= set(_texts(root))
    assert "0.50 [0.40, 0.62]" in _texts(root)


def test_ratio_measures_are_drawn_as_ratios_on_a_log_axis() -> None:
    """The pooling works on log ratios; the plot shows the ratios themselves (dat.bcg-like
    numbers: log RR -0.89 is RR 0.41)."""
    effects = [
        Effect("a", "Trial A", "RR", math.log(0.41), 0.32, "reported"),
        Effect("b", "Trial B", "RR", math.log(1.2), 0.05, "reported"),
    ]
    result = random_effects([e.yi for e in effects], [e.vi for e in effects])
    svg = forest_svg(effects, result, axis_label="RR (log scale)", ratio=True)
    assert "Trial A: 0.41" in svg and "Trial B: 1.20" in svg
    assert f"{math.exp(result.estimate):.2f}" in svg
    assert ">-0.89<" not in svg and "0.41 [" in svg
    ET.fromstring(svg)


@given(st.floats(0.01, 5), st.floats(1.05, 200))
def test_ratio_ticks_are_spaced_and_inside_the_axis(low_ratio: float, factor: float) -> None:
    low, high = math.log(low_ratio), math.log(low_ratio * factor)
    ticks = _log_ticks(low, high)
    assert ticks == sorted(ticks) and len(ticks) >= 2
    logs = [math.log(t) for t in ticks]
    span = high - low
    assert all(low - 1e-6 * span <= x <= high + 1e-6 * span for x in logs)
    if set(ticks) <= set(RATIO_TICKS):
        gaps = [b - a for a, b in zip(logs[:-1], logs[1:], strict=True)]
        assert min(gaps) >= MIN_TICK_GAP * span - 1e-12


def test_phone_layout_keeps_every_label_whole_and_inside_the_chart() -> None:
    """Drawn 360 units wide for a phone: a long label wraps onto lines of its own (never cut),
    its numbers stay one text, and nothing starts or ends outside the chart."""
    from ldn_outcomes import svgcore

    long = "Naive relapse rate ratio of LDN users against everyone else in the registry"
    rows = [ForestRow(long, 0.62, 0.45, 0.85), ForestRow("Matched", 0.91, 0.7, 1.18)]
    svg = forest_plot(rows, title="t", axis_label="ratio (log scale)", null=1.0, log=True)
    root = ET.fromstring(svg)
    assert root.get("viewBox", "").split()[2] == str(svgcore.WIDTH)
    assert "chart-narrow" in (root.get("class") or "")
    texts = list(root.iter(f"{SVG}text"))
    assert all(t.get("font-size") in (None, str(svgcore.TEXT_SIZE)) for t in texts)
    label_lines = [t.text for t in texts if t.text and t.text.split()[0] in long.split()]
    assert " ".join(label_lines[:-1]).startswith("Naive relapse rate ratio of LDN users")
    assert long in " ".join(t.text or "" for t in texts)
    assert "0.62 [0.45, 0.85]" in _texts(root)
    for t in texts:
        x = float(t.get("x", 0))
        width = svgcore.text_width(t.text or "")
        anchor = t.get("text-anchor", "start")
        start = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        assert start >= -0.5 and start + width <= svgcore.WIDTH + 0.5, t.text
