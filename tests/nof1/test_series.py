"""Random-effects pooling against published reference values."""

from __future__ import annotations

import numpy as np
import pytest

from ldn_outcomes.analysis.nof1.series import PatientEffect, pool
from ldn_outcomes.errors import InsufficientData, ValidationFailed

# BCG vaccine trials (Colditz et al. 1994, JAMA 271:698-702) as dat.bcg in R's metafor:
# tpos, tneg, cpos, cneg.
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


def bcg_effects() -> list[PatientEffect]:
    a, b, c, d = BCG.T
    yi = np.log((a / (a + b)) / (c / (c + d)))
    vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    return [
        PatientEffect(f"T{i}", f"P{i}", "fatigue_nrs", float(y), float(np.sqrt(v)), 3)
        for i, (y, v) in enumerate(zip(yi, vi, strict=True))
    ]


def test_dersimonian_laird_matches_metafor() -> None:
    # metafor: rma(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg,
    # data = dat.bcg, method = "DL") -> estimate -0.7141, se 0.1787, 95% CI -1.0644 to -0.3638,
    # tau^2 = 0.3088, I^2 = 92.12% (Viechtbauer 2010, J Stat Softw 36(3), and its manual).
    result = pool(bcg_effects(), "dl")
    assert result.mean_effect == pytest.approx(-0.7141, abs=1e-4)
    assert result.standard_error == pytest.approx(0.1787, abs=1e-4)
    assert result.ci_low == pytest.approx(-1.0644, abs=1e-4)
    assert result.ci_high == pytest.approx(-0.3638, abs=1e-4)
    assert result.tau2 == pytest.approx(0.3088, abs=1e-4)
    assert result.i2 == pytest.approx(92.12, abs=1e-2)  # percent, as everywhere
    assert result.trials == 13
    assert result.prediction_low < result.ci_low < result.ci_high < result.prediction_high


def test_dl_by_the_formula_on_a_small_series() -> None:
    """DerSimonian & Laird 1986 (Control Clin Trials 7:177-188), written out."""
    y = np.array([-1.2, -0.3, 0.4, -0.9])
    se = np.array([0.5, 0.4, 0.6, 0.3])
    effects = [PatientEffect(f"T{i}", f"P{i}", "fatigue_nrs", y[i], se[i], 3) for i in range(4)]
    w = 1 / se**2
    fixed = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - fixed) ** 2)
    tau2 = max(0.0, (q - 3) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    w_star = 1 / (se**2 + tau2)
    expected = np.sum(w_star * y) / np.sum(w_star)
    result = pool(effects)
    assert result.tau2 == pytest.approx(tau2, rel=1e-10)
    assert result.mean_effect == pytest.approx(expected, rel=1e-10)
    assert result.standard_error == pytest.approx(np.sqrt(1 / np.sum(w_star)), rel=1e-10)
    assert result.q == pytest.approx(q, rel=1e-10)


def test_bad_series_are_refused() -> None:
    one = bcg_effects()[:1]
    with pytest.raises(InsufficientData):
        pool(one)
    mixed = bcg_effects()[:2] + [PatientEffect("X", "PX", "sleep_nrs", 0.1, 0.2, 3)]
    with pytest.raises(ValidationFailed):
        pool(mixed)
    with pytest.raises(ValidationFailed):
        pool(bcg_effects(), "ml")


def test_reml_is_metafors_default_estimate() -> None:
    # metafor rma(yi, vi, data = dat) (REML): tau² 0.3132, estimate -0.7145 (as in
    # tests/stats/test_random_effects.py, which cites the printed output).
    result = pool(bcg_effects(), "reml")
    assert result.tau2 == pytest.approx(0.3132, abs=1e-4)
    assert result.mean_effect == pytest.approx(-0.7145, abs=1e-4)


def test_trials_that_agree_more_than_chance_are_pooled_with_tau2_zero() -> None:
    """Regression: this series gave tau² -0.174, SE 0.056 (should be 0.186), I² -14248% and a
    NaN prediction interval, because the negative moment estimate of tau² was kept."""
    effects = [-0.50, -0.55, -0.45, -0.52, -0.48]
    ses = [0.40, 0.50, 0.45, 0.35, 0.42]
    series = [
        PatientEffect(f"T{i}", f"P{i}", "fatigue_nrs", e, s, 3)
        for i, (e, s) in enumerate(zip(effects, ses, strict=True))
    ]
    for method in ("dl", "pm", "reml"):
        result = pool(series, method)
        assert result.tau2 == 0
        assert result.standard_error == pytest.approx(0.186, abs=5e-4)
        assert result.i2 == 0
        data = result.as_dict()
        low, high = data["prediction_interval"]
        assert np.isfinite(low) and low < result.ci_low < result.ci_high < high
