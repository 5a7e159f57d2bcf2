"""Operating characteristics on simulated patients (the issue's acceptance checks)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ldn_outcomes.analysis.nof1.power import (
    SimulationSettings,
    minimum_detectable_effect,
    simulate,
)
from ldn_outcomes.errors import InsufficientData


def not_above(rate: float, trials: int, nominal: float = 0.05) -> bool:
    """The rate is not significantly above nominal (one-sided exact binomial, 1% level)."""
    hits = round(rate * trials)
    return stats.binomtest(hits, trials, nominal, alternative="greater").pvalue > 0.01


def test_no_effect_rarely_concludes_likely_helps() -> None:
    result = simulate(pairs=3, effect=0.0, trials=500, seed=101)
    assert result.trials == 500
    assert result.likely_helps <= 0.05
    assert not_above(result.likely_helps, 500)
    assert not_above(result.paired_t_one_sided, 500)
    assert result.randomisation_one_sided == 0.0  # 3 pairs: smallest one-sided p is 0.125


@pytest.mark.slow
def test_no_effect_with_period_shifts_and_strong_autocorrelation() -> None:
    for settings in (SimulationSettings(between_period_sd=0.3), SimulationSettings(rho=0.8)):
        result = simulate(pairs=3, effect=0.0, trials=500, settings=settings, seed=102)
        assert not_above(result.likely_helps, 500)


def test_effect_of_one_mcid_is_usually_found_with_four_pairs() -> None:
    result = simulate(pairs=4, effect=-1.0, trials=200, seed=103)
    assert result.likely_helps > 0.6
    assert result.likely_worse == 0.0
    assert result.mean_estimate == pytest.approx(-1.0, abs=0.1)


def test_minimum_detectable_effect_with_independent_days(rng: np.random.Generator) -> None:
    baseline = rng.normal(6, 1.0, 400)
    result = minimum_detectable_effect(baseline, pairs=3, analysed_days=21)
    sd = baseline.std(ddof=1)
    # Independent days: var(period mean) = sd^2 / 21 (rho estimate near 0).
    expected = (stats.t.ppf(0.95, 2) + stats.t.ppf(0.8, 2)) * np.sqrt(2 * sd**2 / 21 / 3)
    assert result.effect == pytest.approx(expected, rel=0.15)
    assert abs(result.lag1_autocorrelation) < 0.15


def test_minimum_detectable_effect_needs_a_baseline() -> None:
    with pytest.raises(InsufficientData):
        minimum_detectable_effect(np.array([5.0] * 5), pairs=3, analysed_days=21)
