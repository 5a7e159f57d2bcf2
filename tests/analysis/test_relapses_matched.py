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

from ldn_outcomes.analysis.data.cohorts import exposure_cohort
from ldn_outcomes.analysis.matching.match import match_users
from ldn_outcomes.analysis.matching.trajectories import count_in
from ldn_outcomes.analysis.numerics.ratemodels import rate_ratio
from ldn_outcomes.analysis.outcomes.relapses import (
    matched_after_ratio,
    matched_ratio,
    weighted_rate_ratio,
    windows,
)
from ldn_outcomes.analysis.plan import AnalysisPlan


def _matched_frame(rng: np.random.Generator, users: int, weights_vary: bool) -> pd.DataFrame:
    """A windows()-shaped frame: each user with 1-3 controls weighted 1/k, two periods."""
    rows = []
    for match_id in range(users):
        k = int(rng.integers(1, 4)) if weights_vary else 1
        members = [(1, 1.0)] + [(0, 1.0 / k)] * k
        for ldn, weight in members:
            for post in (0, 1):
                rows.append(
                    {
                        "code": len(rows),
                        "match_id": match_id,
                        "ldn": ldn,
                        "weight": weight,
                        "post": post,
                        "count": int(rng.poisson(0.6)),
                        "years": float(rng.uniform(0.3, 2.0)),
                    }
                )
    return pd.DataFrame(rows)


def _rate(frame: pd.DataFrame) -> float:
    return float(
        (frame["count"] * frame["weight"]).sum() / (frame["years"] * frame["weight"]).sum()
    )


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
    ref = rate_ratio(
        after["count"].to_numpy(float),
        x,
        after["years"].to_numpy(),
        after["match_id"].to_numpy(),
        1,
        "u",
    )
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
        counts = np.minimum(
            count_in(rel, "onset", codes, days - hi, days - lo), plan.relapse_exact_cap
        )
        frame = cohort.assign(n=counts)
        users = frame[frame["group"] == "ldn"].set_index("match_id")["n"]
        controls = frame[frame["group"] == "control"]
        assert (controls["n"].to_numpy() == users.loc[controls["match_id"]].to_numpy()).all()
        lo = hi
    assert matched.n_matched > 0


def _confounded_frame(seed: int, users: int = 400) -> pd.DataFrame:
    """Matched sets whose users had more relapses before the start (a lasting tendency that
    one year of matching did not balance) and no effect of LDN: the rate after the start
    depends on the history only, exp(0.6 per earlier relapse)."""
    rng = np.random.default_rng(seed)
    rows = []
    for match_id in range(users):
        for ldn, weight in [(1, 1.0), (0, 0.5), (0, 0.5)]:
            history = min(int(rng.poisson(1.2 if ldn else 0.4)), 2)
            years = float(rng.uniform(0.5, 2.0))
            count = int(rng.poisson(years * 0.3 * np.exp(0.6 * history)))
            for post in (0, 1):
                rows.append(
                    {
                        "code": len(rows),
                        "match_id": match_id,
                        "ldn": ldn,
                        "weight": weight,
                        "post": post,
                        "count": count if post else 0,
                        "years": years,
                        "history_90_365": float(history),
                        "history_years": 1.0,
                    }
                )
    return pd.DataFrame(rows)


def test_history_adjustment_removes_the_confounding_it_models():
    frame = _confounded_frame(11)
    plan = AnalysisPlan()
    crude = matched_after_ratio(frame, plan, adjust=False)
    adjusted = matched_after_ratio(frame, plan)
    assert crude.ci_low > 1.1  # the unadjusted ratio shows harm that is not there
    assert adjusted.ci_low < 1.0 < adjusted.ci_high
    assert abs(np.log(adjusted.value)) < 0.1
    assert "adjusted for relapse history" in adjusted.note
    # the constant history_years column is dropped, not a singular design
    assert "adjusted" not in crude.note


def test_windows_carry_the_history_covariates(null_data):
    plan = AnalysisPlan()
    matched = match_users(null_data, plan, exposure_cohort(null_data, plan))
    win = windows(null_data, plan, matched.cohort, plan.pre_start_exclusion_days)
    names = ["history_0_90", "history_90_365", "history_365_730", "history_years"]
    assert [c for c in win.columns if c.startswith("history_")] == names
    assert win[names[:3]].to_numpy().max() <= plan.relapse_exact_cap
    # the first window counts relapses with onset in [start - 90, start), capped, per row
    cohort = matched.cohort
    keep = cohort.set_index(["code", "match_id"])["index_day"]
    rel = null_data.relapses
    checked = 0
    for row in win[win["post"] == 1].head(200).itertuples():
        day = float(keep.loc[(row.code, row.match_id)])
        onsets = rel.loc[rel["code"] == row.code, "onset"]
        expected = min(int(((onsets >= day - 90) & (onsets < day)).sum()), plan.relapse_exact_cap)
        assert row.history_0_90 == expected
        checked += expected > 0
    assert checked > 0  # some rows do have recent relapses
    none = windows(null_data, AnalysisPlan(relapse_adjust_bins_days=()), matched.cohort, 90)
    assert not [c for c in none.columns if c.startswith("history_")]


@pytest.mark.parametrize(
    ("model", "design", "expected"),
    [
        ("poisson_gee", "after", (0.9340475162844261, 0.5345783859586215, 1.6320240129286407)),
        ("negbin", "after", (0.9281427817843729, 0.5304213726844067, 1.6240842992783857)),
        ("poisson_gee", "did", (1.8608189968313245, 0.770612381685488, 4.493371014095068)),
        ("negbin", "did", (1.8666941089219053, 0.7675467397601066, 4.539849778233475)),
    ],
)
def test_weighted_ratios_are_unchanged_now_that_rate_ratio_is_their_one_home(
    model: str, design: str, expected: tuple[float, float, float]
) -> None:
    """The figures the separate weighted fit gave before it became ``rate_ratio(weights=)``
    (same frame, seed 11): one home, the same numbers."""
    frame = _matched_frame(np.random.default_rng(11), 40, weights_vary=True)
    if design == "after":
        frame = frame[frame["post"] == 1]
        x = np.column_stack([np.ones(len(frame)), frame["ldn"].to_numpy()])
        column = 1
    else:
        post, ldn = frame["post"].to_numpy(), frame["ldn"].to_numpy()
        x = np.column_stack([np.ones(len(frame)), post, ldn, post * ldn])
        column = 3
    est = weighted_rate_ratio(frame, x, column, "w", AnalysisPlan(relapse_model=model))
    assert (est.value, est.ci_low, est.ci_high) == pytest.approx(expected, rel=1e-9)
    assert est.n == 40
