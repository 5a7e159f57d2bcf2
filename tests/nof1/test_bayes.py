"""The Bayesian model against known answers."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from ldn_outcomes.analysis.nof1.bayes import Prior, design_matrix, fit


def _trial(rng: np.random.Generator, rho: float, effect: float, days: int = 168):
    noise = np.zeros(days)
    noise[0] = rng.normal(0, 1 / np.sqrt(1 - rho**2))
    for t in range(1, days):
        noise[t] = rho * noise[t - 1] + rng.normal()
    day = np.arange(days)
    ldn = ((day // 28) % 2).astype(float)
    keep = (day % 28) >= 7
    return day[keep], ldn[keep], (5 + effect * ldn + noise)[keep], (day // 28)[keep]


def test_rho_zero_reference_prior_reproduces_ols(rng: np.random.Generator) -> None:
    """Known answer: with rho = 0 and p(beta, sigma^2) ∝ 1/sigma^2, the posterior of the
    effect is Student-t(n - p) centred on the OLS estimate with the OLS standard error
    (e.g. Gelman et al., Bayesian Data Analysis, 3rd ed., section 14.2)."""
    day, ldn, y, _ = _trial(rng, 0.0, -0.8)
    posterior = fit(day, ldn, y, Prior(rho_grid=(0.0,), reference=True))
    ols = sm.OLS(y, design_matrix(day, ldn)).fit()
    assert posterior.loc[0] == pytest.approx(ols.params[2], rel=1e-10)
    assert posterior.scale[0] == pytest.approx(ols.bse[2], rel=1e-10)
    assert posterior.df[0] == ols.df_resid
    for threshold in (-1.0, -0.5, 0.0):
        expected = stats.t.cdf((threshold - ols.params[2]) / ols.bse[2], ols.df_resid)
        assert posterior.cdf(threshold) == pytest.approx(expected, rel=1e-9)
    low, high = posterior.interval(0.95)
    ols_low, ols_high = ols.conf_int(0.05)[2]
    assert (low, high) == (pytest.approx(ols_low, abs=1e-8), pytest.approx(ols_high, abs=1e-8))


def test_fixed_rho_matches_feasible_gls_with_known_rho(rng: np.random.Generator) -> None:
    """With rho fixed (no gaps) the reference posterior centre is the GLS estimate."""
    rho = 0.6
    days = 200
    noise = np.zeros(days)
    for t in range(1, days):
        noise[t] = rho * noise[t - 1] + rng.normal()
    day = np.arange(days)
    ldn = ((day // 25) % 2).astype(float)
    y = 5 - ldn + noise
    x = design_matrix(day, ldn)
    covariance = rho ** np.abs(np.subtract.outer(day, day)) / (1 - rho**2)
    gls = sm.GLS(y, x, sigma=covariance).fit()
    posterior = fit(day, ldn, y, Prior(rho_grid=(rho,), reference=True))
    assert posterior.loc[0] == pytest.approx(gls.params[2], rel=1e-8)
    assert posterior.scale[0] == pytest.approx(gls.bse[2], rel=1e-8)


def test_autocorrelation_and_effect_are_recovered(rng: np.random.Generator) -> None:
    day, ldn, y, period = _trial(rng, 0.6, -1.0, days=1680)
    posterior = fit(day, ldn, y, period=period)
    assert posterior.rho_mean == pytest.approx(0.6, abs=0.08)
    low, high = posterior.interval(0.95)
    assert low < -1.0 < high
    assert posterior.p_benefit(0.0, lower_is_better=True) > 0.99


def test_probabilities_are_consistent(rng: np.random.Generator) -> None:
    day, ldn, y, period = _trial(rng, 0.4, -0.5)
    posterior = fit(day, ldn, y, period=period)
    p_any = posterior.p_benefit(0.0, True)
    p_mcid = posterior.p_benefit(1.0, True)
    assert 0 <= p_mcid <= p_any <= 1
    assert posterior.p_harm(0.0, True) == pytest.approx(1 - p_any)
    # Direction: for a higher-is-better outcome, benefit means a positive difference.
    assert posterior.p_benefit(0.0, False) == pytest.approx(1 - p_any)


def test_period_shifts_widen_the_interval(rng: np.random.Generator) -> None:
    day, ldn, y, period = _trial(rng, 0.3, -0.5)
    narrow = fit(day, ldn, y, Prior(period_sd_ratios=(0.0,)))
    wide = fit(day, ldn, y, period=period)
    assert np.diff(wide.interval())[0] > np.diff(narrow.interval())[0]
