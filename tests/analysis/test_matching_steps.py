"""The named steps of ``match_users``, each checked for the rule it exists to keep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from ldn_outcomes.analysis.matching.trajectories import DrugCourses
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


def test_dmt_exact_matching_balances_it_and_the_default_shows_the_imbalance() -> None:
    """The simulator's people on a DMT start LDN less often. With ``exact_match_dmt`` users
    and controls agree on it; without (the default) the balance table shows the controls more
    often on one (docs/analysis.md, "DMT matched")."""
    from ldn_outcomes.analysis.data.frames import prepare
    from ldn_outcomes.simulate import SimulationParams, simulate_registry

    data = prepare(simulate_registry(SimulationParams(patients=3000, years=6, seed=5)).frames, PLAN)
    cohort = exposure_cohort(data, PLAN)
    exact = match_users(data, AnalysisPlan(exact_match_dmt=True), cohort)
    row = exact.balance.set_index("covariate").loc["on_dmt"]
    assert abs(row["smd_after"]) < 1e-12 and row["smd_before"] < 0
    loose = match_users(data, PLAN, cohort).balance.set_index("covariate").loc["on_dmt"]
    assert loose["smd_before"] < -0.1 and loose["smd_after"] < -0.1


_course = st.tuples(
    st.integers(0, 3),
    st.integers(0, 60),
    st.one_of(st.none(), st.integers(0, 40)),
)


@settings(max_examples=200, deadline=None)
@given(
    courses=st.lists(_course, max_size=8),
    queries=st.lists(st.tuples(st.integers(0, 3), st.integers(-5, 110)), min_size=1, max_size=30),
)
def test_on_a_drug_that_day_is_any_course_covering_it(courses, queries) -> None:
    """Merged courses (overlapping, touching, open-ended) answer as the raw courses do:
    start <= day < stop, no stop = still on it."""
    from types import SimpleNamespace

    exposures = pd.DataFrame(
        {
            "code": [c for c, _, _ in courses],
            "drug_class": "dmt",
            "start": [float(s) for _, s, _ in courses],
            "stop": [np.nan if d is None else float(s + d) for _, s, d in courses],
        }
    )
    data = SimpleNamespace(exposures=exposures)
    codes = np.array([c for c, _ in queries])
    days = np.array([float(d) for _, d in queries])
    got = DrugCourses.of(data, "dmt").on(codes, days)  # type: ignore[arg-type]
    expected = [
        float(any(cc == c and s <= d and (stop is None or s + stop > d) for cc, s, stop in courses))
        for c, d in queries
    ]
    assert got.tolist() == expected


def test_the_matched_controls_depend_on_the_seed_only_when_candidates_are_drawn(
    null_data,
) -> None:
    """By default at most ``candidate_pool_per_user`` candidates per user are drawn at random,
    so another seed matches other controls; with None every candidate is searched and the seed
    changes nothing (docs/analysis.md, "The analysis seed")."""
    users = exposure_cohort(null_data, PLAN)

    def controls(plan: AnalysisPlan) -> pd.DataFrame:
        cohort = match_users(null_data, plan, users).cohort
        control = cohort[cohort["group"] == "control"]
        return control[["match_id", "code", "index_day"]].reset_index(drop=True)

    assert PLAN.candidate_pool_per_user == 60
    drawn = [controls(PLAN.with_options(seed=seed)) for seed in (1, 2)]
    assert len(drawn[0]) > 0 and not drawn[0].equals(drawn[1])
    every = PLAN.with_options(candidate_pool_per_user=None)
    first = controls(every)
    pd.testing.assert_frame_equal(first, controls(every.with_options(seed=PLAN.seed + 1)))
    assert not first.equals(drawn[0])
