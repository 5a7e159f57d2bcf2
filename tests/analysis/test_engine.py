"""End-to-end behaviour of ``run_all`` on synthetic registries with known truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ldn_outcomes.analysis import ANALYSES, AnalysisPlan, results_to_dict, run_all
from ldn_outcomes.analysis.data.cohorts import exposure_cohort
from ldn_outcomes.analysis.data.frames import prepare
from ldn_outcomes.analysis.matching.match import match_users
from ldn_outcomes.analysis.outcomes.labs import analyse_labs
from ldn_outcomes.analysis.results import AnalysisResult
from ldn_outcomes.errors import InsufficientData

from .synth import Truth, simulate


def test_run_all_has_every_analysis(null_results):
    assert set(ANALYSES) | {"diagnostics"} == set(null_results)
    for name, result in null_results.items():
        assert isinstance(result, AnalysisResult)
        assert result.plan_hash == AnalysisPlan().plan_hash, name


#: Analyses whose data this test registry does not hold (dose steps, timing switches, DMTs
#: beside LDN, T-cell counts): they must say what is missing (``test_claim_analyses``).
NOT_IN_TEST_REGISTRY = ("t_cells", "dose_timing", "dose_level", "combination", "after_stopping")


def test_claim_analyses_without_their_data_say_what_is_missing(null_results):
    for name in NOT_IN_TEST_REGISTRY:
        result = null_results[name]
        assert result.status in ("ok", "insufficient_data"), name
        assert result.status == "ok" or result.message, name


def test_json_has_method_population_estimate_ci_caveats(null_results):
    out = json.loads(json.dumps(results_to_dict(null_results)))
    for name in ANALYSES:
        if name in NOT_IN_TEST_REGISTRY:
            continue
        entry = out[name]
        assert entry["status"] in ("ok", "diagnostics_failed"), (name, entry["message"])
        for key in ("method", "population", "estimate", "ci", "caveats"):
            assert key in entry, (name, key)
        assert entry["population"]["n_patients"] > 0
        assert entry["ci"] is not None
    assert out["plan"]["hash"] == AnalysisPlan().plan_hash


def test_summary_is_a_frame(null_results):
    summary = null_results["relapses"].summary
    assert isinstance(summary, pd.DataFrame)
    assert {"label", "estimate", "ci_low", "ci_high"} <= set(summary.columns)


def test_naive_ratio_flatters_ldn_but_matched_does_not(null_results):
    """Null effect + self-selection: the headline contrast of the report."""
    relapses = null_results["relapses"]
    naive = relapses.estimate("naive before/after rate ratio (LDN users)")
    matched = relapses.headline
    assert "matched" in matched.label
    assert naive.ci_high < 1.0
    assert matched.ci_low <= 1.0 <= matched.ci_high


def test_balance_after_matching(null_results):
    matched = null_results["matched"]
    assert matched.estimates[0].value > 0.85  # share matched
    balance = pd.DataFrame(matched.details["balance"])
    assert (balance["smd_after"].abs() < 0.15).all()
    assert balance["smd_before"].abs().max() > balance["smd_after"].abs().max()


def test_true_relapse_effect_is_recovered():
    frames = simulate(
        3000, Truth(relapse_rate_ratio=0.5, start_rate=0.003, supplement_rate=0.003), seed=5
    )
    result = run_all(frames)["relapses"]
    head = result.headline
    assert "matched" in head.label
    assert head.ci_low < 0.5 < head.ci_high  # the true rate ratio (fixed seed)
    assert head.ci_high < 1.0


def test_true_fatigue_effect_is_recovered():
    frames = simulate(
        3000, Truth(fatigue_shift=-6.0, start_rate=0.003, supplement_rate=0.003), seed=6
    )
    head = run_all(frames)["symptoms"].headline
    assert "matched" in head.label
    assert head.ci_low < -6.0 + 1.5 and head.ci_high > -6.0 - 1.5
    assert head.ci_high < 0


def test_plan_hash_changes_with_options():
    assert AnalysisPlan().plan_hash != AnalysisPlan(matches_per_user=2).plan_hash
    assert AnalysisPlan().plan_hash == AnalysisPlan().plan_hash


def test_propensity_matching_option_runs(null_data):
    plan = AnalysisPlan(matching_method="propensity")
    matched = match_users(null_data, plan, exposure_cohort(null_data, plan))
    assert matched.method == "propensity"
    assert matched.n_matched > 0.6 * matched.n_users  # caliper 0.2 SD of the logit
    assert matched.balance["smd_after"].abs().max() < matched.balance["smd_before"].abs().max()


def test_too_few_users_gives_clear_messages():
    frames = simulate(300, Truth(start_rate=0.00001, supplement_rate=0.0), seed=3)
    n_users = frames["exposures"].query("drug_class == 'ldn'")["patient_id"].nunique()
    assert n_users < 5
    results = run_all(frames)
    for name in ("progression", "relapses", "symptoms", "matched"):
        assert results[name].status == "insufficient_data"
        assert "LDN users" in results[name].message or "no " in results[name].message
        assert results[name].estimates == []


def test_no_edss_says_so():
    frames = simulate(800, Truth(start_rate=0.004), seed=4)
    frames["edss"] = frames["edss"].iloc[0:0]
    results = run_all(frames)
    assert results["progression"].status == "insufficient_data"
    assert "EDSS" in results["progression"].message


def test_empty_registry_never_crashes():
    results = run_all({})
    assert all(r.status == "insufficient_data" for r in results.values())
    assert all(r.message for r in results.values())


def test_no_labs_says_no_data(null_frames):
    frames = dict(null_frames)
    frames["labs"] = frames["labs"].iloc[0:0]
    with pytest.raises(InsufficientData, match="no lab data"):
        analyse_labs(prepare(frames), AnalysisPlan())


def test_json_has_no_nan(null_results):
    text = json.dumps(results_to_dict(null_results, details=True), allow_nan=False)
    assert np.isfinite(len(text))


@pytest.mark.parametrize("name", ["progression", "relapse_recovery", "adverse_events", "labs"])
def test_each_result_has_caveats(null_results, name):
    assert null_results[name].caveats


@pytest.mark.parametrize("name", ["progression", "relapse_recovery"])
def test_compared_curves_carry_a_log_rank_test(null_results, name):
    tests = null_results[name].details["logrank"]
    assert tests and all(0 <= t["p_value"] <= 1 and t["chi2"] >= 0 for t in tests)
