"""Null-effect coverage of the matched analyses over many simulated registries.

With every effect null, the 95% CI of a matched estimate should contain the truth (ratio 1) in
93-97% of repetitions. A lean path (prepare, cohort, match, one model per outcome) keeps 200
registries of the project simulator within the time limit.

Measured (docs/analysis.md): the headline matched relapse rate ratio (rates after the start,
controls weighted 1/k) meets the target; the matched progression hazard ratio, as the engine
computes it (reference EDSS after the start, delayed entry, controls weighted 1/k), has a
small-sample floor (below). The ratio of
before/after rate ratios (difference in differences) does not (90.5% coverage, mean log ratio
-0.25: regression to the mean, people start after a transient relapse), which is why it is no
longer the headline.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from ldn_outcomes.analysis.data.cohorts import exposure_cohort
from ldn_outcomes.analysis.data.frames import prepare
from ldn_outcomes.analysis.matching.match import match_users
from ldn_outcomes.analysis.numerics.clusters import matched_cluster_columns
from ldn_outcomes.analysis.numerics.survival import cox_hazard_ratio
from ldn_outcomes.analysis.outcomes.progression import endpoints
from ldn_outcomes.analysis.outcomes.relapses import matched_after_ratio, windows
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.errors import InsufficientData
from ldn_outcomes.simulate import SimulationParams, simulate_registry

REPS = 200
PATIENTS = 600


@cache
def null_estimates() -> tuple[list, list]:
    plan = AnalysisPlan()
    relapse, progression = [], []
    for seed in range(REPS):
        registry = simulate_registry(
            SimulationParams(patients=PATIENTS, years=5, seed=50_000 + seed)
        )
        frames = dict(registry.frames)
        questionnaires = frames["questionnaires"]  # daily check-ins are not needed here
        frames["questionnaires"] = questionnaires[questionnaires["instrument_id"] != "checkin"]
        data = prepare(frames, plan)
        users = exposure_cohort(data, plan)
        try:
            matched = match_users(data, plan, users)
            relapse.append(
                matched_after_ratio(
                    windows(data, plan, matched.cohort, plan.pre_start_exclusion_days), plan
                )
            )
            ep = endpoints(data, plan, matched.cohort)
            ep = ep[ep["usable"]].assign(ldn=lambda f: (f["group"] == "ldn").astype(int))
            progression.append(
                cox_hazard_ratio(
                    ep,
                    duration="years",
                    event="event",
                    covariate="ldn",
                    cluster=matched_cluster_columns(plan.matched_se_clusters),
                    entry="entry",
                    weights="weight",
                    label="hr",
                )
            )
        except InsufficientData:
            continue
    return relapse, progression


def _coverage(estimates) -> float:
    return float(np.mean([e.ci_low <= 1.0 <= e.ci_high for e in estimates]))


#: Registries of 600 patients hold 10-20 confirmed worsenings in the matched comparison, and
#: there the Wald interval of a Cox ratio is a little narrow: over these 200 registries the
#: mean SE of the log ratio is 0.55 against an SD of 0.62, with the reference EDSS after the
#: start (coverage 92%) as with the one before it (93%). With the reference after the start the
#: interval is a little narrow at 10,000 patients too (mean SE 0.081 against a spread of 0.086
#: over 50 null registries, coverage 90%; docs/analysis.md, "Targets met and not met"): a gap
#: of about 6% in the SE that is open. The bench's registries of 3,000 and 10,000 patients are
#: where the 93-97% target is measured; here the bound is the one a 95% interval falls below
#: with probability under 1% (binomial, 200 registries: 0.95 - 2.33 x 0.0154 = 0.914), and the
#: mean log ratio must show no lean beyond 3 of its standard errors (about 0.13 here).
PROGRESSION_SMALL_SAMPLE_FLOOR = 0.91


@pytest.mark.slow
def test_null_coverage_of_matched_progression_hazard_ratio():
    _, progression = null_estimates()
    assert len(progression) >= 190
    coverage = _coverage(progression)
    assert PROGRESSION_SMALL_SAMPLE_FLOOR <= coverage <= 0.97, coverage
    log_ratios = np.log([e.value for e in progression])
    # no lean beyond chance: |mean log ratio| within 3 standard errors of the mean
    assert abs(log_ratios.mean()) < 3 * log_ratios.std() / np.sqrt(len(log_ratios))


@pytest.mark.slow
def test_null_coverage_of_matched_relapse_ratio():
    relapse, _ = null_estimates()
    assert len(relapse) >= 190
    coverage = _coverage(relapse)
    assert 0.93 <= coverage <= 0.97, coverage
