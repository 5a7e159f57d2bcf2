"""Negative binomial rate model against R ``MASS::glm.nb`` on the quine data (MASS::quine).

Data: ``data/quine.csv`` (Venables & Ripley's MASS data set; 146 children, days absent).
Expected: ``glm.nb(Days ~ Eth + Age + Lrn, data = quine)``: Theta 1.272,
2 x log-likelihood -1093.401; (Intercept) 2.9351 (0.2017), EthN -0.5627 (0.1535),
AgeF1 -0.4703 (0.2363), AgeF2 0.1009 (0.2363), AgeF3 0.3591 (0.2452), LrnSL 0.2848 (0.1848);
and ``glm.nb(Days ~ Eth + Age)``: Theta 1.249, (Intercept) 3.0382 (0.1957), EthN -0.5611
(0.1547). The same R output appears in two independent public R transcripts (course notes
kept in public GitHub repositories), which agree to every printed digit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy.stats import chi2
from statsmodels.stats.rates import confint_poisson

from ldn_outcomes.analysis.numerics.ratemodels import negbin_glm, rate_ratio

QUINE = Path(__file__).parent / "data" / "quine.csv"


def _design(formula: str):
    data = pd.read_csv(QUINE)
    model = smf.poisson(formula, data)
    return model.endog, model.exog, list(model.exog_names)


def test_quine_has_146_children():
    assert len(pd.read_csv(QUINE)) == 146


def test_negbin_matches_glm_nb_eth_age_lrn():
    y, x, names = _design("Days ~ Eth + Age + Lrn")
    fit, alpha = negbin_glm(y, x)
    assert 1 / alpha == pytest.approx(1.272, abs=5e-4)
    expected = {
        "Intercept": (2.9351, 0.2017),
        "Eth[T.N]": (-0.5627, 0.1535),
        "Age[T.F1]": (-0.4703, 0.2363),
        "Age[T.F2]": (0.1009, 0.2363),
        "Age[T.F3]": (0.3591, 0.2452),
        "Lrn[T.SL]": (0.2848, 0.1848),
    }
    for name, (coef, se) in expected.items():
        i = names.index(name)
        assert fit.params[i] == pytest.approx(coef, abs=5e-5)
        assert fit.bse[i] == pytest.approx(se, abs=5e-5)
    assert 2 * fit.llf == pytest.approx(-1093.401, abs=5e-3)


def test_negbin_matches_glm_nb_eth_age():
    y, x, names = _design("Days ~ Eth + Age")
    fit, alpha = negbin_glm(y, x)
    assert 1 / alpha == pytest.approx(1.249, abs=5e-4)
    assert fit.params[names.index("Intercept")] == pytest.approx(3.0382, abs=5e-5)
    assert fit.bse[names.index("Eth[T.N]")] == pytest.approx(0.1547, abs=5e-5)


def test_rate_ratio_negbin_route_gives_exp_coefficient():
    y, x, names = _design("Days ~ Eth + Age + Lrn")
    est = rate_ratio(
        y, x, np.ones(len(y)), np.arange(len(y)), names.index("Eth[T.N]"), "EthN", model="negbin"
    )
    assert est.value == pytest.approx(np.exp(-0.5627), rel=1e-4)
    assert est.ci_low < est.value < est.ci_high


def test_negbin_without_overdispersion_is_poisson():
    """Counts of 0 and 1 drive the ML dispersion to about 0 (exactly 0 in a small simulated
    registry, where the NB2 deviance then divided by zero): the fit is NB2's limit, Poisson."""
    gen = np.random.default_rng(4)
    offset = gen.normal(-0.5, 0.8, 100)
    exog = np.column_stack([np.ones(100), gen.random(100) < 0.46]).astype(float)
    endog = (gen.random(100) < 0.2).astype(float)
    groups = np.arange(100)
    fit, alpha = negbin_glm(endog, exog, offset, groups)
    poisson = sm.GLM(endog, exog, family=sm.families.Poisson(), offset=offset).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    assert alpha == 0.0
    np.testing.assert_allclose(fit.params, poisson.params, rtol=1e-12)
    np.testing.assert_allclose(fit.bse, poisson.bse, rtol=1e-12)
    years = np.exp(offset)
    estimate = rate_ratio(endog, exog, years, groups, 1, "rate ratio", model="negbin")
    assert np.isfinite(estimate.value) and estimate.ci_low < estimate.value < estimate.ci_high


def test_poisson_gee_rate_ratio_recovers_a_known_ratio(rng):
    n = 4000
    years = rng.uniform(0.5, 2.0, size=2 * n)
    post = np.r_[np.zeros(n), np.ones(n)]
    counts = rng.poisson(0.5 * years * np.where(post == 1, 0.6, 1.0))
    x = np.column_stack([np.ones(2 * n), post])
    est = rate_ratio(counts.astype(float), x, years, np.tile(np.arange(n), 2), 1, "rr")
    assert est.ci_low < 0.6 < est.ci_high


@pytest.mark.parametrize("count", [0, 1, 5, 20])
def test_exact_poisson_interval_is_garwood(count):
    # Garwood (1936): chi2(a/2, 2k)/2 and chi2(1-a/2, 2k+2)/2. For k=0 the upper limit solves
    # exp(-mu) = 0.025: mu = -ln 0.025 = 3.6889; for k=1 the lower solves 1-exp(-mu) = 0.025.
    lo, hi = confint_poisson(count, 1.0, method="exact-c")
    assert hi == pytest.approx(chi2.ppf(0.975, 2 * count + 2) / 2, rel=1e-9)
    assert lo == pytest.approx(0 if count == 0 else chi2.ppf(0.025, 2 * count) / 2, abs=1e-9)
    if count == 0:
        assert hi == pytest.approx(-np.log(0.025), rel=1e-9)
    if count == 1:
        assert lo == pytest.approx(-np.log(0.975), rel=1e-9)
