"""The one random-effects meta-analysis against metafor's published results for dat.bcg.

Data: dat.bcg (Colditz et al. 1994, JAMA 271:698), 13 BCG vaccine trials, as shipped with
metafor/metadat: tpos, tneg (vaccinated: TB / no TB), cpos, cneg (not vaccinated). The counts
are printed by ``print(dat.bcg)`` (e.g. https://shixiangwang.github.io/home/cn/post/2019-11-20-use-metafor)
and agree with the Stata ``metan`` listing of the same trials (cases/total per arm).

Expected values, log risk ratios (``escalc(measure="RR")``):
* DerSimonian–Laird: metafor's own test file
  wviechtb/metafor tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r
  (commit d6da65eee91004b9ef7060409a88f80834c2e4f3): estimate -0.7141, CI [-1.0644, -0.3638],
  z -3.9952, tau² 0.3088, I² 92.1173; FE Q 152.2330. H² 12.6861 from
  tests/testthat/test_misc_confint.r (``confint(res)$random[4,]``).
* REML (``rma(yi, vi, data=dat)``; metafor's default), printed output quoted in the RoBMA
  vignette "Bayesian Meta-Analysis" (CRAN, stat.ethz.ch mirror) and in the course page
  https://cttir.github.io/courses/course3_design_causal/labs/lab_week4_session2_slides.html:
  tau² 0.3132 (SE 0.1664), I² 92.22%, H² 12.86, Q(df = 12) 152.2330,
  estimate -0.7145, se 0.1798, z -3.9744, CI [-1.0669, -0.3622].
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from ldn_outcomes.errors import InsufficientData, ValidationFailed
from ldn_outcomes.stats.random_effects import generalised_q, random_effects

BCG = np.array(
    [
        [4, 119, 11, 128],
        [6, 300, 29, 274],
        [3, 228, 11, 209],
        [62, 13536, 248, 12619],
        [33, 5036, 47, 5761],
        [180, 1361, 372, 1079],
        [8, 2537, 10, 619],
        [505, 87886, 499, 87892],
        [29, 7470, 45, 7232],
        [17, 1699, 65, 1600],
        [186, 50448, 141, 27197],
        [5, 2493, 3, 2338],
        [27, 16886, 29, 17825],
    ],
    dtype=float,
)


def bcg_log_rr() -> tuple[np.ndarray, np.ndarray]:
    """escalc(measure="RR"): yi = log((a/n1)/(c/n2)), vi = 1/a - 1/n1 + 1/c - 1/n2."""
    a, b, c, d = BCG.T
    n1, n2 = a + b, c + d
    return np.log((a / n1) / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2


def test_reml_reproduces_metafor_dat_bcg() -> None:
    yi, vi = bcg_log_rr()
    result = random_effects(yi, vi, method="REML")
    assert result.converged
    assert round(result.estimate, 4) == -0.7145
    assert round(result.se, 4) == 0.1798
    assert round(result.z, 4) == -3.9744
    assert round(result.ci_low, 4) == -1.0669
    assert round(result.ci_high, 4) == -0.3622
    assert round(result.tau2, 4) == 0.3132
    assert round(result.tau2_se, 4) == 0.1664
    assert round(result.i2, 2) == 92.22
    assert round(result.h2, 2) == 12.86
    assert round(result.q, 4) == 152.2330
    assert result.q_df == 12
    assert result.p < 1e-4 and result.q_p < 1e-4


def test_dersimonian_laird_reproduces_metafor_dat_bcg() -> None:
    yi, vi = bcg_log_rr()
    result = random_effects(yi, vi, method="DL")
    assert round(result.estimate, 4) == -0.7141
    assert round(result.ci_low, 4) == -1.0644
    assert round(result.ci_high, 4) == -0.3638
    assert round(result.z, 4) == -3.9952
    assert round(result.tau2, 4) == 0.3088
    assert round(result.i2, 4) == 92.1173
    assert round(result.h2, 4) == 12.6861
    assert round(result.q, 4) == 152.2330
    # exp(estimate, CI) as in metafor's predict(res, transf=exp): 0.4896 [0.3449, 0.6950]
    assert [round(math.exp(v), 4) for v in (result.estimate, result.ci_low, result.ci_high)] == [
        0.4896,
        0.3449,
        0.6950,
    ]


def test_weights_sum_to_100_and_prediction_interval_contains_ci() -> None:
    yi, vi = bcg_log_rr()
    result = random_effects(yi, vi)
    assert sum(result.weights) == pytest.approx(100)
    assert result.pi_low < result.ci_low < result.ci_high < result.pi_high


def test_refuses_bad_input_with_named_problems() -> None:
    with pytest.raises(InsufficientData):
        random_effects([0.1], [0.01])
    with pytest.raises(ValidationFailed) as caught:
        random_effects([0.1, float("nan")], [0.01, 0.0])
    fields = {p.field for p in caught.value.problems}
    assert fields == {"yi", "vi"}
    with pytest.raises(ValidationFailed):
        random_effects([0.1, 0.2], [0.01, 0.02], method="ML")


effects = st.lists(
    st.tuples(st.floats(-3, 3, allow_nan=False), st.floats(0.001, 2, allow_nan=False)),
    min_size=2,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(effects, st.randoms(use_true_random=False))
def test_properties_of_every_estimator(pairs: list[tuple[float, float]], rnd) -> None:
    yi = np.array([p[0] for p in pairs])
    vi = np.array([p[1] for p in pairs])
    order = list(range(len(pairs)))
    rnd.shuffle(order)
    for method in ("REML", "DL", "PM"):
        result = random_effects(yi, vi, method=method)
        assert result.tau2 >= 0
        assert 0 <= result.i2 <= 100
        assert min(yi) - 1e-9 <= result.estimate <= max(yi) + 1e-9
        assert result.ci_low <= result.estimate <= result.ci_high
        if result.pi_low is not None:
            assert result.pi_low <= result.ci_low and result.ci_high <= result.pi_high
        assert result.method == method or result.fallback_reason
        # the order of studies does not matter
        again = random_effects(yi[order], vi[order], method=method)
        assert again.estimate == pytest.approx(result.estimate, abs=1e-8)
        assert again.tau2 == pytest.approx(result.tau2, abs=1e-8)
        assert again.i2 == pytest.approx(result.i2, abs=1e-6)
    dl = random_effects(yi, vi, method="DL")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        reference = combine_effects(yi, vi, method_re="dl")
    if reference.tau2 > 0:  # statsmodels 0.15 does not truncate a negative DL tau² at 0
        assert dl.estimate == pytest.approx(reference.mean_effect_re)
        assert dl.se == pytest.approx(reference.sd_eff_w_re)
    else:
        assert dl.tau2 == 0


def test_nearly_identical_effects_do_not_overflow() -> None:
    """Found by hypothesis: Q ~ 1e-322 made statsmodels' H² overflow (a warning, an error here)."""
    for method in ("REML", "DL", "PM"):
        result = random_effects([0.0, 1.2675904768254707e-161], [1.0, 1.0], method=method)
        assert result.tau2 == 0 and result.i2 == 0


def test_identical_studies_have_no_heterogeneity() -> None:
    result = random_effects([0.5, 0.5, 0.5], [0.1, 0.2, 0.3])
    assert result.tau2 == 0
    assert result.i2 == 0
    assert result.estimate == pytest.approx(0.5)


def test_paule_mandel_solves_its_estimating_equation_and_agrees_with_statsmodels() -> None:
    """Paule & Mandel: generalised Q(tau²) = k - 1. statsmodels' iterative PM
    (``combine_effects(method_re="pm")``) stops at a looser tolerance, hence rel 1e-4."""
    yi, vi = bcg_log_rr()
    result = random_effects(yi, vi, method="PM")
    assert generalised_q(yi, vi, result.tau2) == pytest.approx(len(yi) - 1, rel=1e-9)
    reference = combine_effects(yi, vi, method_re="pm")
    assert result.tau2 == pytest.approx(reference.tau2, rel=1e-4)
    assert result.estimate == pytest.approx(reference.mean_effect_re, rel=1e-4)
    assert result.tau2_se is None and result.method == "PM"


def test_prediction_interval_is_higgins_thompson_spiegelhalter() -> None:
    """HTS 2009 (J R Stat Soc A 172:137, eq. 6): mu ± t_{k-2} sqrt(tau² + SE²), from k = 3."""
    yi, vi = bcg_log_rr()
    result = random_effects(yi, vi)
    half = stats.t.ppf(0.975, 11) * math.sqrt(0.3132 + 0.1798**2)  # metafor's REML values
    assert result.pi_low == pytest.approx(-0.7145 - half, abs=2e-3)
    assert result.pi_high == pytest.approx(-0.7145 + half, abs=2e-3)
    assert random_effects(yi[:2], vi[:2]).pi_low is None  # not defined for two studies


def test_trials_that_agree_more_than_chance_give_tau2_zero_not_negative() -> None:
    """Regression: the n-of-1 series kept the negative moment estimate here (tau² -0.174,
    SE 0.056, I² -14248%, a NaN prediction interval). With tau² = 0 the SE is the fixed-effect
    one, sqrt(1 / sum(1 / se²)) = 0.186."""
    effects = [-0.50, -0.55, -0.45, -0.52, -0.48]
    ses = np.array([0.40, 0.50, 0.45, 0.35, 0.42])
    for method in ("REML", "DL", "PM"):
        result = random_effects(effects, ses**2, method=method)
        assert result.tau2 == 0 and result.i2 == 0
        assert result.se == pytest.approx(0.186, abs=5e-4)
        assert result.se == pytest.approx(math.sqrt(1 / np.sum(1 / ses**2)))
        assert result.pi_low is not None and result.pi_high is not None
        assert math.isfinite(result.pi_low) and result.pi_low < result.pi_high


# Found by a seeded random search: full Fisher-scoring steps oscillate between two values here.
OSCILLATING = (
    [-0.266485, 0.134459, 0.433638, -0.941354, 0.14524, 0.699196],
    [3.202443, 0.715735, 1.391019, 0.002496, 1.815073, 3.379193],
)
# ... and here no step length settles, so the result falls back to Paule-Mandel.
NOT_CONVERGING = (
    [0.777546, -2.144367, 0.343225, -0.130283, 3.267602],
    [0.065811, 3.24921, 2.809266, 2.719269, 1.779674],
)


def _restricted_loglik(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    w = 1 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    return float(-0.5 * (np.sum(np.log(v + tau2)) + np.log(np.sum(w)) + np.sum(w * (y - mu) ** 2)))


def test_reml_with_shorter_steps_reaches_the_likelihood_maximum() -> None:
    y, v = (np.array(x) for x in OSCILLATING)
    result = random_effects(y, v, method="REML")
    assert result.converged and result.method == "REML" and result.fallback_reason is None
    assert result.iterations > 100  # the full-step attempt failed first
    grid = np.linspace(0, 3, 30001)
    best = grid[np.argmax([_restricted_loglik(t, y, v) for t in grid])]
    assert result.tau2 == pytest.approx(best, abs=2e-4)


def test_reml_that_does_not_converge_falls_back_to_paule_mandel_and_says_so() -> None:
    y, v = NOT_CONVERGING
    result = random_effects(y, v, method="REML")
    assert not result.converged
    assert result.requested_method == "REML" and result.method == "PM"
    assert result.fallback_reason and "did not converge" in result.fallback_reason
    assert "Paule-Mandel" in result.fallback_reason
    assert result.tau2 == random_effects(y, v, method="PM").tau2
    assert result.as_dict()["fallback_reason"] == result.fallback_reason
    forced = random_effects(*bcg_log_rr(), method="REML", max_iter=1)
    assert forced.method == "PM" and forced.fallback_reason
