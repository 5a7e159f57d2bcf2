"""Shared chart pieces: round ticks for any finite range and an accessible standalone wrapper."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.svgcore import document, linear, nice_ticks

NS = {"svg": "http://www.w3.org/2000/svg"}
finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=600, deadline=None, derandomize=True)
@given(finite, finite, st.integers(2, 8))
def test_ticks_are_few_increasing_and_inside_the_range(a: float, b: float, count: int) -> None:
    low, high = min(a, b), max(a, b)
    ticks = nice_ticks(low, high, count)
    if low == high:
        assert ticks == [low]
        return
    assert 2 <= len(ticks) <= 10
    assert all(x < y for x, y in zip(ticks, ticks[1:], strict=False))
    margin = (high / 2 - low / 2) * 2e-6  # a millionth of the span, without overflowing
    assert low - margin <= ticks[0] and ticks[-1] <= high + margin


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (0, 0.3, [0, 0.1, 0.2, 0.3]),  # 0.3, not 0.30000000000000004
        (-2.3, 1.1, [-2, -1, 0, 1]),
        (31.45, 33.7, [31.5, 32, 32.5, 33, 33.5]),
        (0, 10, [0, 2, 4, 6, 8, 10]),
        (3, 3, [3]),
        (7, 2, [2, 3, 4, 5, 6, 7]),  # reversed ends are read as a range
    ],
)
def test_ticks_are_round_numbers(low: float, high: float, expected: list[float]) -> None:
    assert nice_ticks(low, high) == expected


def test_ticks_refuse_an_infinite_range() -> None:
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0, float("inf"))


def test_linear_scale_maps_ends_and_survives_a_zero_width_domain() -> None:
    y = linear(0, 10, 200, 20)  # screen y grows downwards
    assert (y(0), y(5), y(10)) == (200, 110, 20)
    assert linear(4, 4, 10, 90)(4) == 10


def test_document_is_standalone_and_labelled_for_screen_readers() -> None:
    svg = document("Fatigue <&>", "3 values", ['<circle cx="1" cy="1" r="1"/>'], 300, 100)
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("width") == "100%"
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert set(root.get("aria-labelledby", "").split()) == ids and len(ids) == 2
    assert root.find("svg:title", NS).text == "Fatigue <&>"
    assert root.find("svg:desc", NS).text == "3 values"
    assert "href" not in svg and "<script" not in svg and "style=" not in svg
    fixed = ET.fromstring(document("t", "d", [], 300, 100, fluid=False))
    assert (fixed.get("width"), fixed.get("height")) == ("300", "100")


def test_wrap_breaks_at_spaces_and_cuts_only_words_longer_than_a_line() -> None:
    from ldn_outcomes.svgcore import CHAR_W, wrap

    width = 10 * CHAR_W  # ten characters
    assert wrap("Naive relapse rate ratio", width) == ["Naive", "relapse", "rate ratio"]
    assert wrap("abcdefghijklmnop", width) == ["abcdefghij", "klmnop"]
    assert wrap("", width) == [""]
    assert all(len(line) <= 10 for line in wrap("one two three four five six seven", width))
