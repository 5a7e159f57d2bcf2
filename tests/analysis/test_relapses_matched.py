"""The matched relapse comparison: weighted rate ratios and exact matching on relapse history.

Reference values: a Poisson model whose design is saturated in the groups compared (a
group indicator, or group x period) reproduces each cell's observed rate, sum(y) / sum(t), and
with prior weights the weighted rate, sum(w y) / sum(w t): its score equations are
sum over the cell of w (y - t exp(eta)) = 0 (McCullagh & Nelder, Generalized Linear Models,
2nd ed. 1989, section 2.5 and chapter 6). So the weighted rate ratio has a closed form that
the fit must reproduce.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.analysis.cohorts import exposure_cohort
from ldn_outcomes.analysis.matching import match_users
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.analysis.ratemodels import rate_ratio
from ldn_outcomes.analysis.relapses import (
    matched_after_ratio,
    matched_ratio,
    weighted_rate_ratio,
    windows,
)
from ldn_outcomes.analysis.trajectories import count_in


def _matched_frame(rng: np.random.Generator, users: int, weights_vary: bool) -> pd.DataFrame:
    """A windows()-shaped frame: each user with 1-3 controls weighted 1/k, two periods."""
    rows = []
    for match_id in range(users):
        k = int(rng.integers(1, 4)) if weights_vary else 1
        members = [(1, 1.0)] + [(0, 1.0 / k)] * k
        for ldn, weight in members:
            for post in (0, 1):
                rows.append({"code": len(rows), "match_id": match_id, "ldn": ldn,
                             "weight": weight, "post": post,
                             "count": int(rng.poisson(0.6)),
                             "years": float(rng.uniform(0.3, 2.0))})
    return pd.DataFrame(rows)


def _rate(frame: pd.DataFrame) -> float:
    return float((frame["count"] * frame["weight"]).sum() / (frame["years"]
                                                             * frame["weight"]).sum())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), negbin=st.booleans())
def test_after_ratio_is_the_weighted_rate_ratio(seed, negbin):
    frame = _matched_frame(np.random.default_rng(seed), 30, weights_vary=True)
    plan = AnalysisPlan(relapse_model="negbin" if negbin else "poisson_gee")
    est = matched_after_ratio(frame, plan)
    after = frame[frame["post"] == 1]
    if negbin:
        # NB2 weights observations by 1/(mu + alpha mu^2): no closed form; sanity only
        assert est.ci_low < est.value < est.ci_high
        return
    expected = _rate(after[after["ldn"] == 1]) / _rate(after[after["ldn"] == 0])
    assert est.value == pytest.approx(expected, rel=1e-8)
    assert est.ci_low < est.value < est.ci_high


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_ratio_of_rate_ratios_is_the_weighted_cell_ratio(seed):
    frame = _matched_frame(np.random.default_rng(seed), 30, weights_vary=True)
    est = matched_ratio(frame, AnalysisPlan(), "did")

    def cell(ldn: int, post: int) -> float:
        return _rate(frame[(frame["ldn"] == ldn) & (frame["post"] == post)])

    expected = (cell(1, 1) / cell(1, 0)) / (cell(0, 1) / cell(0, 0))
    assert est.value == pytest.approx(expected, rel=1e-8)


def test_unit_weights_agree_with_the_unweighted_model():
    """With one control per user the weighted fit is the tested ``rate_ratio`` (same sandwich,
    clustered on the match set)."""
    frame = _matched_frame(np.random.default_rng(3), 60, weights_vary=False)
    after = frame[frame["post"] == 1]
    x = np.column_stack([np.ones(len(after)), after["ldn"].to_numpy()])
    ours = weighted_rate_ratio(after, x, 1, "w", AnalysisPlan())
    ref = rate_ratio(after["count"].to_numpy(float), x, after["years"].to_numpy(),
                     after["match_id"].to_numpy(), 1, "u")
    assert ours.value == pytest.approx(ref.value, rel=1e-10)
    assert ours.ci_low == pytest.approx(ref.ci_low, rel=1e-10)
    assert ours.ci_high == pytest.approx(ref.ci_high, rel=1e-10)


def test_windows_carry_the_matching_weights(null_data):
    plan = AnalysisPlan()
    matched = match_users(null_data, plan, exposure_cohort(null_data, plan))
    win = windows(null_data, plan, matched.cohort, plan.pre_start_exclusion_days)
    assert set(win.loc[win["ldn"] == 1, "weight"]) == {1.0}
    # each user's controls weigh 1 in total
    controls = win[(win["ldn"] == 0) & (win["post"] == 1)]
    cohort_controls = matched.cohort[matched.cohort["group"] == "control"]
    assert controls["weight"].sum() <= cohort_controls["weight"].sum() + 1e-9
    assert np.allclose(cohort_controls.groupby("match_id")["weight"].sum(), 1.0)


def test_exact_relapse_history_matching(null_data):
    """With ``relapse_exact_bins_days`` every control has the user's coarsened relapse counts
    in each window before the (pseudo-)start (coarsened exact matching)."""
    plan = AnalysisPlan(relapse_exact_bins_days=(91, 182, 365))
    matched = match_users(null_data, plan, exposure_cohort(null_data, plan))
    cohort = matched.cohort
    rel = null_data.relapses
    codes, days = cohort["code"].to_numpy(), cohort["index_day"].to_numpy()
    lo = 0
    for hi in plan.relapse_exact_bins_days:
        counts = np.minimum(count_in(rel, "onset", codes, days - hi, days - lo),
                            plan.relapse_exact_cap)
        frame = cohort.assign(n=counts)
        users = frame[frame["group"] == "ldn"].set_index("match_id")["n"]
        controls = frame[frame["group"] == "control"]
        assert (controls["n"].to_numpy() == users.loc[controls["match_id"]].to_numpy()).all()
        lo = hi
    assert matched.n_matched > 0
