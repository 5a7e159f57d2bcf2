"""The matched progression hazard ratio is stratified by being on a DMT at the (pseudo-)start.

Without it, the matched users (less often on a DMT, which lowers the relapse rate) had more
relapse-associated worsening than their controls without any effect of LDN
(docs/analysis.md, "Progression: the lean was relapse-associated worsening").
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from ldn_outcomes.analysis import AnalysisPlan
from ldn_outcomes.analysis.data.cohorts import exposure_cohort
from ldn_outcomes.analysis.data.frames import prepare
from ldn_outcomes.analysis.matching.match import match_users
from ldn_outcomes.analysis.numerics.fastcox import cox_one_covariate
from ldn_outcomes.analysis.outcomes.progression import (
    HAZARD_RATIO_KEY,
    analyse_progression,
    endpoints,
    method,
    on_dmt_at,
)
from ldn_outcomes.simulate import SimulationParams, simulate_registry


@pytest.fixture(scope="module")
def matched_registry():
    registry = simulate_registry(SimulationParams(patients=2000, years=6.0, seed=4242))
    plan = AnalysisPlan()
    data = prepare(registry.frames, plan)
    users = exposure_cohort(data, plan)
    return data, plan, users, match_users(data, plan, users)


def test_the_hazard_ratio_is_the_stratified_cox_fit(matched_registry) -> None:
    data, plan, users, matched = matched_registry
    estimate = analyse_progression(data, plan, users, matched).find(HAZARD_RATIO_KEY)
    rows = endpoints(data, plan, matched.cohort)
    rows = rows[rows["usable"]]
    on_dmt = on_dmt_at(data, rows["code"], rows["index_day"])
    # both strata hold users and controls, so the strata change the fit
    ldn = (rows["group"] == "ldn").to_numpy()
    assert {0, 1} <= set(on_dmt[ldn]) and {0, 1} <= set(on_dmt[~ldn])
    args = (
        rows["years"].to_numpy(),
        rows["event"].to_numpy(),
        ldn.astype(float),
        rows[["match_id", "code"]].to_numpy(),
        rows["entry"].to_numpy(),
    )
    beta, se = cox_one_covariate(*args, weights=rows["weight"].to_numpy(), strata=on_dmt)
    assert np.log(estimate.value) == pytest.approx(beta, abs=1e-9)
    assert np.log(estimate.ci_high / estimate.ci_low) / (2 * 1.959964) == pytest.approx(se)
    pooled, _ = cox_one_covariate(*args, weights=rows["weight"].to_numpy())
    assert abs(pooled - beta) > 1e-4
    assert "stratified by being on a disease-modifying drug" in method(plan)


def test_the_option_off_fits_one_baseline_hazard(matched_registry) -> None:
    data, plan, users, matched = matched_registry
    off = dataclasses.replace(plan, cdw_strata_dmt=False)
    estimate = analyse_progression(data, off, users, matched).find(HAZARD_RATIO_KEY)
    rows = endpoints(data, off, matched.cohort)
    rows = rows[rows["usable"]]
    beta, _ = cox_one_covariate(
        rows["years"].to_numpy(),
        rows["event"].to_numpy(),
        (rows["group"] == "ldn").to_numpy(dtype=float),
        rows[["match_id", "code"]].to_numpy(),
        rows["entry"].to_numpy(),
        weights=rows["weight"].to_numpy(),
    )
    assert np.log(estimate.value) == pytest.approx(beta, abs=1e-9)
    assert "stratified" not in method(off)
    assert off.plan_hash != plan.plan_hash


def test_on_dmt_at_reads_the_courses_on_that_day(matched_registry) -> None:
    data = matched_registry[0]
    dmt = data.exposures[data.exposures["drug_class"] == "dmt"].dropna(subset=["start"])
    single = dmt.groupby("code").filter(lambda rows: len(rows) == 1)
    stopped = single[single["stop"].notna()]
    assert len(stopped), "the simulator records DMT courses that stop"
    course = stopped.iloc[0]
    start, stop = float(course["start"]), float(course["stop"])
    days = pd.Series([start - 1, start, (start + stop) // 2, stop, stop + 1])
    flags = on_dmt_at(data, pd.Series([int(course["code"])] * len(days)), days)
    # on from the start day; the stop day is the first day off (``DrugCourses.on``)
    assert flags.tolist() == [0, 1, 1, 0, 0]
