"""Claims the registry can now test: dose timing and level within person, side effects with a
DMT, symptoms after stopping, T-cell fold-change by LOINC code.

Each statistic against a published reference value, then each analysis on a small simulated
registry with known truth (``claim_registry``), with and without an effect.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ldn_outcomes.analysis.outcomes.combination import analyse_combination, poisson_rate_ratio
from ldn_outcomes.analysis.outcomes.dosing import analyse_dose_level, analyse_dose_timing
from ldn_outcomes.analysis.outcomes.stopping import analyse_after_stopping, wilson_share
from ldn_outcomes.analysis.outcomes.tcells import analyse_t_cells
from ldn_outcomes.analysis.outcomes.within_person import paired_t
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.errors import InsufficientData

from .claim_registry import ClaimTruth, claim_registry

#: 99.9% intervals for the known-truth checks: each misses the truth 1 time in 1,000 by chance,
#: so a failure points at a bias, not at an unlucky seed.
PLAN = AnalysisPlan(alpha=0.001)
N = 300


def test_paired_t_matches_r_on_student_sleep_data():
    # R: t.test(extra ~ group, data = sleep, paired = TRUE) (Cushny & Peebles data as used
    # by Student 1908): mean difference -1.58, 95% CI -2.4598858 to -0.7001142.
    group1 = np.array([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])
    group2 = np.array([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])
    mean, low, high = paired_t(group1 - group2, 0.05)
    assert mean == pytest.approx(-1.58)
    assert (low, high) == pytest.approx((-2.4598858, -0.7001142), abs=1e-7)


def test_poisson_rate_ratio_matches_rothman():
    # Rothman, Epidemiology: An Introduction (2nd ed.), Table 9-2 (Feychting et al.): cancer in
    # 136 of 22,050 person-years among the blind vs 1,709 of 127,650; IRR 0.46, 90% CI 0.40 to
    # 0.53 (https://ebrary.net/72033/health/example_confidence_limits_incidence_rate_difference_incidence_rate_ratio).
    est = poisson_rate_ratio(
        np.array([136, 1709]), np.array([22050.0, 127650.0]), np.array([1, 0]), 0.10, "x", "k"
    )
    assert round(est.value, 2) == 0.46
    assert (round(est.ci_low, 2), round(est.ci_high, 2)) == (0.40, 0.53)


@pytest.mark.parametrize(
    ("events", "total", "low", "high"),
    # Newcombe 1998, "Two-sided confidence intervals for the single proportion", Stat Med
    # 17:857-872,
    # Table I, method 3 (Wilson score interval).
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_share_matches_newcombe(events, total, low, high):
    est = wilson_share(events, total, 0.05, "x", "k")
    assert (round(est.ci_low, 4), round(est.ci_high, 4)) == (low, high)


def _covers(estimate, value):
    return estimate.ci_low <= value <= estimate.ci_high


@pytest.fixture(scope="module")
def effect_data():
    truth = ClaimTruth(
        night_minus_morning=-3.0,
        high_minus_low_dose=0.8,
        dmt_rate_ratio=2.0,
        after_stop_rate_ratio=3.0,
        after_stop_fatigue=4.0,
        t_cell_fold=1.5,
        ae_per_year=6.0,
    )
    return truth, claim_registry(N, truth, seed=5)


@pytest.fixture(scope="module")
def null_data():
    return claim_registry(N, ClaimTruth(), seed=6)


def test_dose_timing_recovers_the_planted_difference(effect_data, null_data):
    truth, data = effect_data
    head = analyse_dose_timing(data, PLAN).find("dose_timing:mfis")
    assert head is not None and _covers(head, truth.night_minus_morning) and head.ci_high < 0
    null = analyse_dose_timing(null_data, PLAN).find("dose_timing:mfis")
    assert null is not None and _covers(null, 0.0)


def test_dose_level_recovers_the_planted_difference(effect_data, null_data):
    truth, data = effect_data
    result = analyse_dose_level(data, PLAN)
    assert result.headline.key == "dose_level:nrs-spasticity"
    assert _covers(result.headline, truth.high_minus_low_dose) and result.headline.ci_low > 0
    assert any("confounding by indication" in c for c in result.caveats)
    assert _covers(analyse_dose_level(null_data, PLAN).headline, 0.0)


def test_combination_rate_ratio(effect_data, null_data):
    truth, data = effect_data
    result = analyse_combination(data, PLAN)
    assert result.headline.key == "combination:negbin"
    assert _covers(result.headline, truth.dmt_rate_ratio) and result.headline.ci_low > 1
    assert _covers(result.find("combination:poisson"), truth.dmt_rate_ratio)
    assert _covers(analyse_combination(null_data, PLAN).headline, 1.0)


def test_after_stopping(effect_data, null_data):
    truth, data = effect_data
    result = analyse_after_stopping(data, PLAN)
    ratio = result.find("after_stopping:rate_ratio")
    assert _covers(ratio, truth.after_stop_rate_ratio) and ratio.ci_low > 1
    # Stopping also ends the timing effect for those taking it at bedtime before the stop.
    last = data.exposures[(data.exposures["start"] == 400) & data.exposures["stop"].notna()]
    at_night = float((last["time_of_day"] == "bedtime").mean())
    change = truth.after_stop_fatigue - truth.night_minus_morning * at_night
    assert _covers(result.find("after_stopping:mfis"), change)
    # Share with any event within 14 days: 1 - exp(-rate * 14 days) for Poisson events.
    share = 1 - math.exp(-truth.ae_per_year * truth.after_stop_rate_ratio * 14 / 365.25)
    assert _covers(result.headline, share)
    null = analyse_after_stopping(null_data, PLAN)
    assert _covers(null.find("after_stopping:rate_ratio"), 1.0)
    assert _covers(null.find("after_stopping:mfis"), 0.0)


def test_t_cells_by_loinc_code_not_first_lab(effect_data, null_data):
    truth, data = effect_data
    result = analyse_t_cells(data, PLAN)
    # The lymphocyte count (26474-7) is recorded first; the headline is still CD3 (8122-4).
    assert [e.key for e in result.estimates] == [
        "t_cells:8122-4",
        "t_cells:24467-3",
        "t_cells:14135-8",
    ]
    assert all(_covers(e, truth.t_cell_fold) for e in result.estimates)
    assert "outside the interval" in result.headline.note
    assert all(_covers(e, 1.0) for e in analyse_t_cells(null_data, PLAN).estimates)


def test_without_the_data_each_says_what_is_missing(null_data):
    bare = claim_registry(20, ClaimTruth(), seed=7)
    bare.exposures["time_of_day"] = "unknown"
    bare.exposures["dose_mg"] = 4.5
    bare.exposures = bare.exposures[bare.exposures["drug_class"] == "ldn"]
    bare.labs = bare.labs[bare.labs["loinc"] == "26474-7"]
    bare.patients["follow_end"] = 699.0
    for analyse, words in [
        (analyse_dose_timing, "time of day"),
        (analyse_dose_level, "dose"),
        (analyse_combination, "DMT"),
        (analyse_after_stopping, "stop dates"),
        (analyse_t_cells, "LOINC"),
    ]:
        with pytest.raises(InsufficientData, match=words):
            analyse(bare, PLAN)


def test_t_cells_with_one_code_never_recorded_says_so(null_data):
    """One CD3 count in the whole registry (a clinic entering its first lab): the CD4 and CD8
    pairs are missing, not an error (this made /figures/audits answer 500)."""
    import dataclasses

    from ldn_outcomes.analysis.outcomes.labs import paired_values

    only_cd3 = null_data.labs[null_data.labs["loinc"] == "8122-4"].head(1)
    before, after = paired_values(only_cd3.iloc[0:0], np.array(["p1"]), np.array([0.0]), PLAN)
    assert len(before) == len(after) == 0
    with pytest.raises(InsufficientData, match="pairs"):
        analyse_t_cells(dataclasses.replace(null_data, labs=only_cd3), PLAN)


@pytest.fixture(scope="module")
def simulator_data():
    from ldn_outcomes.analysis.data.frames import prepare
    from ldn_outcomes.simulate import SimulationParams, simulate_registry

    registry = simulate_registry(SimulationParams(patients=2000, years=5, seed=7))
    return prepare(registry.frames, AnalysisPlan())


def test_no_withdrawal_found_on_the_simulator_which_models_none(simulator_data):
    # The project simulator reports side effects only in the first 15 days of an LDN start
    # (vivid dreams, insomnia) and models no withdrawal: nobody may have one after stopping.
    result = analyse_after_stopping(simulator_data, AnalysisPlan())
    assert result.population["n_patients"] >= 20
    assert result.headline.value == 0.0 and result.headline.ci_high < 0.1
    assert math.isnan(result.find("after_stopping:rate_ratio").value)


def test_the_simulator_holds_no_data_for_timing_switches_or_t_cells(simulator_data):
    # It gives each person one time of day for LDN, 3 mg only for two weeks of titration, and
    # no lymphocyte subsets: the analyses say what is missing rather than a number.
    for analyse in (analyse_dose_timing, analyse_dose_level, analyse_t_cells):
        with pytest.raises(InsufficientData):
            analyse(simulator_data, AnalysisPlan())
