"""The true relapse-recovery hazard ratio is the limit for attacks like the registry's, not a
Cox fit on its few dozen attacks (``simulate/recovery_truth.py``).

A Cox fit on few events is biased (Heinze & Schemper 2001, Biometrics 57:114, doi
10.1111/j.0006-341x.2001.00114.x); the paired fit the truth used to be lay further from 1 than
its limit by an amount that shrank with the number of attacks. The tests measure that on
attacks drawn from the simulator's own model, check that the new truth does not
have it, and check the model of a treated attack against the simulator's treated attacks.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy import stats

from ldn_outcomes.analysis import AnalysisPlan
from ldn_outcomes.simulate import SimulationParams
from ldn_outcomes.simulate.cdw_truth import cox_two_groups
from ldn_outcomes.simulate.estimands import (
    ATTACK_MAX_DAYS,
    RECOVERY_CENSOR_DAYS,
    RELAPSE_YEARS,
    _first_starts,
)
from ldn_outcomes.simulate.history import History, simulate_history
from ldn_outcomes.simulate.recovery_truth import (
    engine_treated,
    recovery_days,
    recovery_hazard_ratio,
)
from ldn_outcomes.simulate.trace import TreatedAttacks

LOG_SD = SimulationParams().relapses.recovery_log_sd
MEDIANS = np.asarray(SimulationParams().relapses.recovery_median_days)
CENSOR = 730.0


def _attacks(rng: np.random.Generator, n: int, ratio: float = 0.7) -> TreatedAttacks:
    """Attacks of the simulator's model with an LDN start during them: the start day (1-90
    days after the onset) is drawn apart from the recovery, as the simulator's start follows
    the onset, not the recovery, and only attacks not recovered before it are kept."""
    median, untreated, start = np.zeros(0), np.zeros(0), np.zeros(0)
    while len(start) < n:
        m = rng.choice(MEDIANS, n, p=[0.5, 0.35, 0.15])
        days = np.ceil(m * np.exp(LOG_SD * rng.standard_normal(n)))
        s = 1.0 + np.floor(rng.random(n) * 90.0)
        going = days >= s
        median, untreated, start = (
            np.r_[median, m[going]],
            np.r_[untreated, days[going]],
            np.r_[start, s[going]],
        )
    median, untreated, start = median[:n], untreated[:n], start[:n]
    treated = start + np.ceil((untreated - start) * ratio)
    ids = np.arange(n)
    return TreatedAttacks(ids, start, start, untreated, treated, median, np.full(n, ratio))


def _paired_fit(a: TreatedAttacks) -> float:
    """The truth as it was: a Cox fit on the registry's own attacks with and without."""
    hr = cox_two_groups(
        np.minimum(a.untreated, CENSOR),
        a.untreated <= CENSOR,
        np.minimum(a.treated, CENSOR),
        a.treated <= CENSOR,
        entry0=a.start,
        entry1=a.start,
    )
    assert hr is not None
    return float(np.log(hr))


def test_a_fit_on_the_registrys_own_attacks_lies_further_from_one_than_its_limit() -> None:
    rng = np.random.default_rng(1)
    small = np.array([_paired_fit(_attacks(rng, 65)) for _ in range(300)])
    rng = np.random.default_rng(1)
    large = np.array([_paired_fit(_attacks(rng, 5000)) for _ in range(10)])
    # 0.384 against 0.350: the figures of the module docstring
    assert small.mean() - large.mean() > 0.02
    assert small.std() / np.sqrt(len(small)) < 0.003


def test_the_truth_of_a_few_dozen_attacks_is_the_limit_for_attacks_like_them() -> None:
    rng = np.random.default_rng(4)
    limit = _paired_fit(_attacks(rng, 20000))
    truths = [
        np.log(recovery_hazard_ratio(_attacks(rng, 65), LOG_SD, CENSOR, rng)) for _ in range(30)
    ]
    # the paired fit's excess at 65 attacks is about +0.035; the new truth has none of it
    assert np.mean(truths) == pytest.approx(limit, abs=0.008)


def test_no_effect_is_a_ratio_of_one_and_the_same_seed_the_same_truth() -> None:
    attacks = _attacks(np.random.default_rng(5), 40, ratio=1.0)
    assert recovery_hazard_ratio(attacks, LOG_SD, CENSOR, np.random.default_rng(1)) == 1.0
    attacks = _attacks(np.random.default_rng(5), 40)
    first = recovery_hazard_ratio(attacks, LOG_SD, CENSOR, np.random.default_rng(2))
    assert first == recovery_hazard_ratio(attacks, LOG_SD, CENSOR, np.random.default_rng(2))
    none = _attacks(np.random.default_rng(5), 0)
    assert recovery_hazard_ratio(none, LOG_SD, CENSOR, np.random.default_rng(3)) is None


def test_the_draws_follow_the_simulators_rule() -> None:
    """Without the effect never before the start day; with it, the remaining days times the
    ratio from the start day, or from the onset for a start on the onset day."""
    rng = np.random.default_rng(7)
    start = np.r_[np.zeros(200), np.full(200, 5.0), np.full(200, 60.0)]
    median = np.full(600, 30.0)
    ratio = np.linspace(0.4, 1.2, 600)
    untreated, treated = recovery_days(start, median, ratio, LOG_SD, rng)
    assert (untreated >= np.maximum(start, 1)).all()
    later = start > 0
    np.testing.assert_array_equal(
        treated[later], start[later] + np.ceil((untreated[later] - start[later]) * ratio[later])
    )
    # from the onset: ceil(D * ratio), at most one day from ceil(ceil(D) * ratio)
    gap = np.ceil(untreated[~later] * ratio[~later]) - treated[~later]
    assert ((gap >= 0) & (gap <= 1)).all()


@cache
def _history(seed: int) -> History:
    params = SimulationParams(patients=4000, years=6, seed=seed).replace(
        effects__relapse_recovery_ratio=0.7, effects__heterogeneity_sd=0.3
    )
    return simulate_history(params, record=False, trace=True)


def test_the_tracer_keeps_each_treated_attacks_patient_severity_and_ratio() -> None:
    h = _history(21)
    a = h.traced.attack_days()
    assert len(a.start) >= 60
    assert set(np.unique(a.median)) <= set(MEDIANS)
    assert (a.untreated >= a.start).all()  # not recovered before the start day
    # the patient's own ratio (it varies: heterogeneity_sd 0.3)
    np.testing.assert_array_equal(a.ratio, h.cohort.effect_recovery[a.patient])
    assert a.ratio.std() > 0.05
    later = a.start > 0
    np.testing.assert_array_equal(
        a.treated[later],
        a.start[later] + np.ceil((a.untreated[later] - a.start[later]) * a.ratio[later]),
    )


def test_the_truth_counts_the_attacks_the_engine_counts() -> None:
    """The patient's first course only (a restart during an attack is not the engine's treated
    attack under ``attack_course="first"``), at most 90 days after the onset."""
    h = _history(21)
    a = h.traced.attack_days()
    first = _first_starts(h)
    kept = engine_treated(a, first, ATTACK_MAX_DAYS)
    assert 0 < len(kept.start) < len(a.start)  # seed 21: 4 of 98 started after 90 days
    assert (first[kept.patient] == kept.start_day).all()
    assert kept.start.max() <= ATTACK_MAX_DAYS
    left_out = (first[a.patient] != a.start_day) | (a.start > ATTACK_MAX_DAYS)
    assert left_out.sum() == len(a.start) - len(kept.start)


def test_the_model_of_a_treated_attack_matches_the_simulators_treated_attacks() -> None:
    """Given severity and start day, the simulator's treated attacks recover without the effect
    as the truth draws them (log-normal, not recovered before the start day): within each
    severity the randomised probability integral transform of each attack's days is uniform
    (Kolmogorov-Smirnov, Bonferroni over the three). A selection the truth did not model (e.g.
    starts that depend on how long the attack will last), or medians attached to the wrong
    attacks (p < 1e-4 for two severities when shuffled), would show here."""
    pits, medians = [], []
    rng = np.random.default_rng(6)
    for seed in (21, 22, 23):
        a = _history(seed).traced.attack_days()

        def cdf(days: np.ndarray, a: TreatedAttacks = a) -> np.ndarray:
            with np.errstate(divide="ignore"):
                return stats.norm.cdf((np.log(days) - np.log(a.median)) / LOG_SD)

        floor = cdf(np.maximum(a.start - 1, 0))
        low, high = cdf(a.untreated - 1), cdf(a.untreated)
        pits.append((low + rng.random(len(low)) * (high - low) - floor) / (1 - floor))
        medians.append(a.median)
    pit, median = np.concatenate(pits), np.concatenate(medians)
    for value in MEDIANS:
        assert (median == value).sum() >= 40
        assert stats.kstest(pit[median == value], "uniform").pvalue > 0.01 / len(MEDIANS)


def test_the_truths_windows_are_the_engines_defaults() -> None:
    """The simulator may not import the engine (layers), so it repeats the default plan's
    windows; a change to one must change the other."""
    plan = AnalysisPlan()
    assert plan.attack_max_days == ATTACK_MAX_DAYS
    assert plan.recovery_max_days == RECOVERY_CENSOR_DAYS
    assert plan.relapse_window_years == RELAPSE_YEARS
    assert plan.attack_course == "first"  # ``engine_treated`` keeps first courses only
