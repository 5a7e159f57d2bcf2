"""The vectorised one-covariate Cox fit agrees with statsmodels PHReg (Breslow ties)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg

from ldn_outcomes.analysis.numerics.fastcox import cox_one_covariate


def _cohort(rng, n_sets=400, truncate=False):
    sets = np.repeat(np.arange(n_sets), 4)
    x = np.tile([1.0, 0.0, 0.0, 0.0], n_sets)
    frailty = np.repeat(rng.gamma(2.0, 0.5, n_sets), 4)
    t = np.round(rng.exponential(1 / (0.3 * frailty * np.where(x == 1, 0.7, 1.0))), 1) + 0.1
    c = np.round(rng.uniform(0.5, 6, t.size), 1)
    time, event = np.minimum(t, c), t <= c
    # entries off the event-time grid: R's (start, stop] risk sets and PHReg then agree
    entry = (
        np.where(rng.random(t.size) < 0.3, np.round(np.minimum(time * 0.5, 1.0), 1) + 0.05, 0.0)
        if truncate
        else np.zeros_like(time)
    )
    entry = np.minimum(entry, time - 0.01)
    return time, event, x, sets, entry


@pytest.mark.parametrize("truncate", [False, True])
def test_matches_phreg_breslow(rng, truncate):
    time, event, x, sets, entry = _cohort(rng, truncate=truncate)
    beta, se = cox_one_covariate(time, event, x, sets, entry)
    ref = PHReg(time, x[:, None], status=event.astype(float), entry=entry, ties="breslow").fit(
        groups=sets
    )
    assert beta == pytest.approx(float(ref.params[0]), abs=1e-7)
    assert se == pytest.approx(float(ref.bse[0]), rel=1e-4)


def test_model_based_when_no_groups_is_close_to_naive(rng):
    time, event, x, _, _ = _cohort(rng)
    beta, se = cox_one_covariate(time, event, x)
    ref = PHReg(time, x[:, None], status=event.astype(float), ties="breslow").fit()
    assert beta == pytest.approx(float(ref.params[0]), abs=1e-7)
    assert se == pytest.approx(float(ref.bse[0]), rel=0.15)  # sandwich vs model-based


def test_case_weights_agree_with_lifelines_weighted_robust_fit() -> None:
    """1/k weights of matched controls (no tied times, so Breslow = Efron): estimate and
    cluster-robust SE as lifelines ``CoxPHFitter(weights_col=..., cluster_col=...)``."""
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(17)
    n = 600
    x = (rng.random(n) < 0.3).astype(float)
    time = rng.exponential(1.0 / np.exp(0.4 * x))
    event = rng.random(n) < 0.7
    weights = np.where(x == 1, 1.0, 1.0 / rng.integers(1, 4, n))
    groups = rng.integers(0, 200, n)
    beta, se = cox_one_covariate(time, event, x, groups, weights=weights)
    frame = pd.DataFrame({"t": time, "e": event, "x": x, "w": weights, "g": groups})
    fitter = CoxPHFitter().fit(frame, "t", "e", weights_col="w", cluster_col="g", robust=True)
    assert beta == pytest.approx(float(fitter.params_["x"]), rel=1e-6)
    assert se == pytest.approx(float(fitter.standard_errors_["x"]), rel=1e-4)


@pytest.mark.parametrize("truncate", [False, True])
def test_stratified_matches_phreg(rng, truncate):
    """A baseline hazard per stratum (R ``coxph(... + strata(s))``): estimate and robust SE as
    statsmodels ``PHReg(strata=...)``, with and without delayed entry."""
    time, event, x, sets, entry = _cohort(rng, truncate=truncate)
    stratum = np.repeat(rng.integers(0, 2, len(time) // 4), 4)
    # the second stratum's hazard is twice the first's
    time = np.where(stratum == 1, np.round(time / 2, 1) + 0.1, time)
    entry = np.minimum(entry, time - 0.01)
    beta, se = cox_one_covariate(time, event, x, sets, entry, strata=stratum)
    ref = PHReg(
        time, x[:, None], status=event.astype(float), entry=entry, strata=stratum, ties="breslow"
    ).fit(groups=sets)
    assert beta == pytest.approx(float(ref.params[0]), abs=1e-7)
    assert se == pytest.approx(float(ref.bse[0]), rel=1e-4)
    pooled, _ = cox_one_covariate(time, event, x, sets, entry)
    assert abs(pooled - beta) > 1e-4  # the strata change the fit: the test can fail


def test_stratified_weighted_agrees_with_lifelines() -> None:
    """Case weights, one-way clusters and strata together, as lifelines
    ``CoxPHFitter(strata=..., weights_col=..., cluster_col=...)`` (no tied times)."""
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(23)
    n = 800
    x = (rng.random(n) < 0.3).astype(float)
    stratum = (rng.random(n) < 0.5).astype(int)
    time = rng.exponential(1.0 / np.exp(0.3 * x + 0.8 * stratum))
    event = rng.random(n) < 0.7
    weights = np.where(x == 1, 1.0, 1.0 / rng.integers(1, 4, n))
    groups = rng.integers(0, 250, n)
    beta, se = cox_one_covariate(time, event, x, groups, weights=weights, strata=stratum)
    frame = pd.DataFrame({"t": time, "e": event, "x": x, "w": weights, "g": groups, "s": stratum})
    fitter = CoxPHFitter().fit(
        frame, "t", "e", weights_col="w", cluster_col="g", strata=["s"], robust=True
    )
    assert beta == pytest.approx(float(fitter.params_["x"]), rel=1e-6)
    assert se == pytest.approx(float(fitter.standard_errors_["x"]), rel=1e-4)


def test_a_row_without_a_stratum_is_refused(rng) -> None:
    """A missing stratum would drop its rows from every risk set without a word."""
    time, event, x, sets, _ = _cohort(rng, n_sets=20)
    stratum = np.where(np.arange(len(time)) == 3, np.nan, 1.0)
    with pytest.raises(ValueError, match="stratum"):
        cox_one_covariate(time, event, x, sets, strata=stratum)
