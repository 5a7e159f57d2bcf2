"""The named steps of ``match_users``, each checked for the rule it exists to keep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ldn_outcomes.analysis.data.cohorts import exposure_cohort
from ldn_outcomes.analysis.matching.candidates import (
    NO_HISTORY,
    candidate_snapshots,
    eligible_users,
    fill_missing_duration,
    users_at_start,
)
from ldn_outcomes.analysis.matching.match import match_users
from ldn_outcomes.analysis.matching.nearest import matching_space, nearest_within_calipers
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.errors import InsufficientData

PLAN = AnalysisPlan()


@pytest.fixture(scope="module")
def steps(null_data):
    users, _ = users_at_start(null_data, PLAN, exposure_cohort(null_data, PLAN))
    eligible = eligible_users(users)
    rng = np.random.default_rng(PLAN.seed)
    exposed_from = null_data.patients["ldn_start"].to_numpy()
    cands = candidate_snapshots(null_data, PLAN, eligible, exposed_from, rng)
    fill_missing_duration(eligible, cands)
    return users, eligible, cands, exposed_from


def test_index_dates_are_on_the_grid_and_users_without_history_say_why(steps) -> None:
    users, eligible, _, _ = steps
    assert (users["grid"] % PLAN.grid_days == 0).all()
    assert (users["reason"].isin(["", NO_HISTORY])).all()
    assert len(eligible) == int((users["reason"] == "").sum()) > 0
    with pytest.raises(InsufficientData, match="EDSS score in the 12 months"):
        eligible_users(users[users["reason"] != ""].assign(edss_0=np.nan))


def test_pseudo_starts_are_never_after_the_candidates_own_start(steps) -> None:
    _, eligible, cands, exposed_from = steps
    assert len(cands) > len(eligible)
    own = exposed_from[cands["code"].to_numpy().astype(np.int64)]
    assert not (own <= cands["grid"].to_numpy()).any()
    assert set(cands["grid"]) <= set(eligible["grid"])


def test_matches_respect_block_calipers_and_k(steps) -> None:
    _, eligible, cands, _ = steps
    fu, fc, caliper = matching_space(eligible, cands, PLAN, None, None)
    uidx, cidx = nearest_within_calipers(eligible, cands, fu, fc, caliper, PLAN)
    assert len(uidx) == len(cidx) > 0
    assert np.bincount(uidx).max() <= PLAN.matches_per_user
    pairs = pd.DataFrame({"u": uidx, "c": cidx})
    u, c = eligible.iloc[pairs["u"]], cands.iloc[pairs["c"]]
    for column in ("phenotype", "grid", "relapse_stratum"):
        assert (u[column].to_numpy() == c[column].to_numpy()).all(), column
    assert (u["code"].to_numpy() != c["code"].to_numpy()).all()
    assert (np.abs(u["age"].to_numpy() - c["age"].to_numpy()) <= PLAN.caliper_age_years).all()
    assert (np.abs(fu[uidx] - fc[cidx]).sum(axis=1) <= caliper + 1e-9).all()


def test_propensity_space_needs_a_fitted_model(steps) -> None:
    _, eligible, cands, _ = steps
    with pytest.raises(InsufficientData, match="fitted propensity model"):
        matching_space(eligible, cands, AnalysisPlan(matching_method="propensity"), None, None)


def test_controls_weigh_one_user_in_all(null_data) -> None:
    matched = match_users(null_data, PLAN, exposure_cohort(null_data, PLAN))
    controls = matched.cohort[matched.cohort["group"] == "control"]
    per_set = controls.groupby("match_id")["weight"].sum()
    assert np.allclose(per_set.to_numpy(), 1.0)
    assert matched.n_matched == controls["match_id"].nunique()
