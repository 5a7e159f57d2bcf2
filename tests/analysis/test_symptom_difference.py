"""The matched difference in symptom change: with the baseline score as a covariate (ANCOVA,
the default) a baseline gap between users and controls does not read as an effect.

Vickers & Altman (BMJ 2001;323:1123, doi 10.1136/bmj.323.7321.1123): when baseline scores
differ between groups a change-score analysis over-estimates the effect (regression to the
mean) and an analysis of covariance does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from ldn_outcomes.analysis.numerics.clusters import MATCH_SET
from ldn_outcomes.analysis.outcomes.symptoms import HISTORY_COLUMNS, _difference
from ldn_outcomes.analysis.plan import AnalysisPlan


def _plan(adjust_baseline: bool = True, adjust_history: bool = False) -> AnalysisPlan:
    return AnalysisPlan(
        symptom_adjust_baseline=adjust_baseline,
        symptom_adjust_history=adjust_history,
        matched_se_clusters=MATCH_SET,
    )


def _people_selected_at_a_high_score(seed: int, n: int = 6000, effect: float = 0.0):
    """Latent level L ~ N(50, 10); two scores L + N(0, 6). Users are chosen more often when
    their first score is high (they start at a peak), so their baseline scores sit above the
    controls' while their latent levels differ less."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(50.0, 10.0, n)
    m0 = latent + rng.normal(0.0, 6.0, n)
    ldn = (rng.random(n) < 1 / (1 + np.exp(-(m0 - 55.0) / 5.0))).astype(int)
    m12 = latent + rng.normal(0.0, 6.0, n) + effect * ldn
    return pd.DataFrame(
        {
            "ldn": ldn,
            "m0": m0,
            "m12": m12,
            "weight": np.where(ldn == 1, 1.0, 1 / 3),
            "match_id": np.arange(n) // 4,
        }
    )


@pytest.mark.parametrize("effect", [0.0, -4.0])
def test_ancova_recovers_the_effect_where_change_scores_lean(effect: float) -> None:
    part = _people_selected_at_a_high_score(7, effect=effect)
    adjusted, lo, hi = _difference(part, "m12", 0.05, _plan(adjust_baseline=True))
    change, *_ = _difference(part, "m12", 0.05, _plan(adjust_baseline=False))
    assert lo <= effect <= hi
    # the change-score difference reads the regression to the mean as a benefit
    assert change < effect - 2.0


def test_ancova_equals_the_follow_up_score_regression() -> None:
    """Change from baseline on group and baseline has the same group coefficient as the
    follow-up score on group and baseline (the baseline's slope absorbs the difference)."""
    part = _people_selected_at_a_high_score(11, n=800)
    adjusted, lo, hi = _difference(part, "m12", 0.05, _plan(adjust_baseline=True))
    x = sm.add_constant(part[["ldn", "m0"]].to_numpy(float))
    fit = sm.WLS(part["m12"].to_numpy(), x, weights=part["weight"].to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": part["match_id"].to_numpy()}
    )
    assert adjusted == pytest.approx(fit.params[1], rel=1e-9)
    assert (lo, hi) == pytest.approx(tuple(fit.conf_int(0.05)[1]), rel=1e-9)


def test_earlier_scores_take_out_what_one_baseline_cannot():
    """People start for their usual level (a latent trait), not for one score: the baseline
    alone adjusts for the trait only as far as one noisy score measures it (reliability
    100/136), so the users' higher trait persists as a false harm; four earlier scores as
    well measure it far better (100/107.2), and the lean shrinks to about a third."""
    rng = np.random.default_rng(5)
    n = 8000
    latent = rng.normal(50.0, 10.0, n)
    ldn = (rng.random(n) < 1 / (1 + np.exp(-(latent - 50.0) / 5.0))).astype(int)
    frame = pd.DataFrame(
        {
            "ldn": ldn,
            "m0": latent + rng.normal(0.0, 6.0, n),
            "m12": latent + rng.normal(0.0, 6.0, n) - 3.0 * ldn,
            "weight": 1.0,
            "match_id": np.arange(n),
        }
    )
    for column in HISTORY_COLUMNS:
        frame[column] = latent + rng.normal(0.0, 6.0, n)
    baseline_only, *_ = _difference(frame, "m12", 0.05, _plan())
    with_history, *_ = _difference(frame, "m12", 0.05, _plan(adjust_history=True))
    assert baseline_only + 3.0 > 1.5
    # lean +4.6 with the baseline alone, +1.5 with the earlier scores (seeds 5-7 alike)
    assert abs(with_history + 3.0) < 0.4 * (baseline_only + 3.0)
