"""The calibration run's verdict against its targets, with what chance alone would give."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldn_outcomes.reports.calibration_targets import (
    CHANCE_BEYOND_BIAS,
    chance_outside_band,
    in_band,
    verdicts,
)


def _binomial_outside(n: int, p: float = 0.95) -> float:
    """The same probability summed term by term from the binomial formula (math.comb), for
    comparison with scipy's distribution function."""
    inside = sum(
        math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1) if 0.93 <= k / n <= 0.97
    )
    return 1.0 - inside


@pytest.mark.parametrize("registries", [20, 100, 150, 300, 600, 1200])
def test_chance_outside_band_is_the_binomial_sum(registries: int) -> None:
    assert chance_outside_band(registries) == pytest.approx(_binomial_outside(registries), abs=1e-9)


def test_chance_figures_a_reader_can_check() -> None:
    # 150 registries: 140 to 145 covered are in the band; P(X <= 139) + P(X >= 146) with
    # X ~ Binomial(150, 0.95) is about a quarter (normal approximation: 2 * P(Z > 1.12) = 0.26)
    assert 0.2 < chance_outside_band(150) < 0.3
    # 2 * P(Z > 2) = 0.0455 (standard normal)
    assert abs(CHANCE_BEYOND_BIAS - 0.0455) < 1e-4
    # more registries, smaller chance of leaving the band
    assert chance_outside_band(1200) < chance_outside_band(300) < chance_outside_band(150)


@given(st.integers(1, 2000), st.data())
def test_in_band_is_the_band(registries: int, data: st.DataObject) -> None:
    covered = data.draw(st.integers(0, registries))
    assert in_band(covered, registries) == (0.93 - 1e-12 <= covered / registries <= 0.97 + 1e-12)


def _row(headline, scenario, patients, registries, covered, bias_se, missed=0, flagged=0):
    return {
        "headline": headline,
        "scenario": scenario,
        "patients": patients,
        "registries": registries,
        "coverage": covered / registries,
        "bias_over_se": bias_se,
        "missed": missed,
        "flagged_of_missed": flagged,
    }


def test_verdicts_count_each_target_and_name_the_misses() -> None:
    summary = [
        _row("relapses", "null", 3000, 300, 285, 0.4),
        _row("relapses", "effect", 3000, 300, 278, -2.3),  # 92.7%: out; leaning
        _row("fatigue", "null", 3000, 300, 291, 1.9),  # 97.0%: in (ends included)
        _row("fatigue", "effect", 10000, 150, 146, math.nan),  # 97.3%: out; no SE: not met
        _row("relapses", "confounded", 3000, 300, 200, 9.0, missed=100, flagged=80),
        _row("fatigue", "confounded", 3000, 300, 250, 5.0, missed=50, flagged=39),
        _row("spasm", "confounded", 3000, 300, 300, 0.0, missed=0, flagged=0),  # nothing missed
    ]
    coverage, bias, flags = verdicts(summary)
    assert (coverage.met, coverage.cells) == (2, 4)
    assert coverage.misses == ["relapses effect 3,000: 92.7%", "fatigue effect 10,000: 97.3%"]
    assert coverage.chance_misses == pytest.approx(
        3 * chance_outside_band(300) + chance_outside_band(150)
    )
    assert (bias.met, bias.cells) == (2, 4)
    assert bias.chance_misses == pytest.approx(4 * CHANCE_BEYOND_BIAS)
    assert (flags.met, flags.cells, flags.chance_misses) == (1, 2, None)
    assert flags.misses == ["fatigue confounded 3,000: 39 of 50"]
    assert "met in 2 of 4 cells; a calibrated method would miss about" in coverage.line()
    only_large = verdicts(summary, {10000})
    assert (only_large[0].met, only_large[0].cells) == (0, 1)


def test_a_cell_without_registries_is_refused() -> None:
    with pytest.raises(ValueError, match="registries must be at least 1"):
        chance_outside_band(0)
