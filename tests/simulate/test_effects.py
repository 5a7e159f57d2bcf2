"""Injected effects show up in the raw records; the negative control has none.

Each comparison runs the same seed with and without the effect: the random numbers are shared
(common random numbers), so the difference is the effect plus a little noise. Tolerances are
four standard errors computed from the simulated data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ldn_outcomes.simulate import SimulatedRegistry, SimulationParams, simulate_registry

from .conftest import BUSY

END = pd.Timestamp(BUSY.end_date)


def covered(events: pd.DataFrame, date_column: str, exposures: pd.DataFrame) -> np.ndarray:
    """Whether each event's date lies within one of its patient's exposures."""
    merged = events.reset_index().merge(exposures, on="patient_id", how="inner")
    stop = merged.stop_date.fillna(END)
    inside = (merged[date_column] >= merged.start_date) & (merged[date_column] <= stop)
    hit = merged.loc[inside, "index"].unique()
    return events.index.isin(hit)


def ldn_exposures(registry: SimulatedRegistry, drug_class: str = "ldn") -> pd.DataFrame:
    exposures = registry.frames["exposures"]
    return exposures[exposures.drug_class == drug_class][["patient_id", "start_date", "stop_date"]]


def years_on(registry: SimulatedRegistry, drug_class: str = "ldn") -> float:
    truth = pd.DataFrame(registry.truth["patients"]).set_index("patient_id")
    exposures = ldn_exposures(registry, drug_class)
    exit_date = pd.to_datetime(truth.exit_date.reindex(exposures.patient_id)).to_numpy()
    stop = exposures.stop_date.fillna(pd.Series(exit_date, index=exposures.index))
    return float(((stop - exposures.start_date).dt.days + 1).sum() / 365.25)


def on_ldn_relapses(registry: SimulatedRegistry) -> pd.DataFrame:
    relapses = registry.frames["relapses"]
    true = relapses[relapses.lasted_24h & ~relapses.fever_or_infection]
    return true[covered(true, "onset_date", ldn_exposures(registry))]


@pytest.fixture(scope="module")
def null_run(busy_registry: SimulatedRegistry) -> SimulatedRegistry:
    return busy_registry


def test_relapse_rate_ratio_shows_in_the_records(null_run: SimulatedRegistry) -> None:
    treated = simulate_registry(BUSY.replace(effects__relapse_rate_ratio=0.5))
    counts = [len(on_ldn_relapses(r)) for r in (null_run, treated)]
    rates = [c / years_on(r) for c, r in zip(counts, (null_run, treated), strict=True)]
    log_ratio = np.log(rates[1] / rates[0])
    se = np.sqrt(1 / counts[0] + 1 / counts[1])
    assert min(counts) > 50
    assert abs(log_ratio - np.log(0.5)) < 4 * se, (rates, counts)
    # The latent tallies agree with the records.
    truth = pd.DataFrame(treated.truth["patients"])
    assert truth.true_relapses_on_ldn.sum() == counts[1]


def test_progression_hazard_ratio_shows_in_the_truth(null_run: SimulatedRegistry) -> None:
    treated = simulate_registry(BUSY.replace(effects__progression_hazard_ratio=0.5))
    rates, counts = [], []
    for registry in (null_run, treated):
        truth = pd.DataFrame(registry.truth["patients"])
        counts.append(truth.pira_events_on_ldn.sum())
        rates.append(counts[-1] / truth.years_on_ldn.sum())
        assert abs(truth.years_on_ldn.sum() - years_on(registry)) < 1e-6 * years_on(registry) + 1
    se = np.sqrt(1 / counts[0] + 1 / counts[1])
    assert abs(np.log(rates[1] / rates[0]) - np.log(0.5)) < 4 * se, (rates, counts)


def mfis_on_ldn(registry: SimulatedRegistry) -> pd.Series:
    q = registry.frames["questionnaires"]
    mfis = q[q.instrument_id == "mfis"]
    return mfis[covered(mfis, "date", ldn_exposures(registry))].total


def test_fatigue_effect_shows_in_mfis_answers(null_run: SimulatedRegistry) -> None:
    effect = -8.0
    treated = simulate_registry(BUSY.replace(effects__fatigue_points=effect))
    before, after = mfis_on_ldn(null_run), mfis_on_ldn(treated)
    se = np.hypot(before.std() / np.sqrt(before.size), after.std() / np.sqrt(after.size))
    assert abs((after.mean() - before.mean()) - effect) < 4 * se, (after.mean(), before.mean())


def test_recovery_ratio_shows_in_relapse_durations(null_run: SimulatedRegistry) -> None:
    treated = simulate_registry(BUSY.replace(effects__relapse_recovery_ratio=0.5))
    durations = []
    for registry in (null_run, treated):
        on = on_ldn_relapses(registry).dropna(subset=["recovery_date"])
        durations.append((on.recovery_date - on.onset_date).dt.days.to_numpy(float))
    means = [d.mean() for d in durations]
    se = np.sqrt(sum((d.std() / d.mean()) ** 2 / d.size for d in durations))
    # Recovery is rounded up to whole days, which adds up to one day to each duration.
    assert abs(np.log(means[1] / means[0]) - np.log(0.5)) < 4 * se + 0.03, means


def starts_after_relapse(registry: SimulatedRegistry, drug_class: str) -> np.ndarray:
    relapses = registry.frames["relapses"]
    true = relapses[relapses.lasted_24h & ~relapses.fever_or_infection]
    starts = ldn_exposures(registry, drug_class).groupby("patient_id").start_date.min()
    merged = starts.rename("start").reset_index().merge(true, on="patient_id", how="left")
    gap = (merged.start - merged.onset_date).dt.days
    near = merged.assign(near=gap.between(0, 62)).groupby("patient_id").near.any()
    return near.to_numpy()


def test_negative_control_is_started_for_the_same_reasons(null_run: SimulatedRegistry) -> None:
    ldn = starts_after_relapse(null_run, "ldn")
    supplement = starts_after_relapse(null_run, "supplement")
    p1, p2 = ldn.mean(), supplement.mean()
    se = np.sqrt(p1 * (1 - p1) / ldn.size + p2 * (1 - p2) / supplement.size)
    assert abs(p1 - p2) < 4 * se
    assert min(p1, p2) > 0.05  # far above chance: a relapse in a given 2-month window is rare


def test_negative_control_has_no_effect() -> None:
    """Giving LDN a large effect leaves the supplement's on-treatment relapse rate unchanged
    relative to the null run beyond what its overlap with LDN explains: with LDN uptake off,
    the supplement's rate is identical with and without the LDN knob."""
    quiet = BUSY.replace(uptake__base_start_per_year=0.0)
    runs = [simulate_registry(quiet.replace(effects__relapse_rate_ratio=rr)) for rr in (1.0, 0.3)]
    assert runs[0].frames["relapses"].equals(runs[1].frames["relapses"])
    assert len(ldn_exposures(runs[0], "supplement")) > 200


def test_heterogeneity_spreads_the_patient_effects() -> None:
    params = SimulationParams(patients=3000, years=1, seed=4).replace(
        effects__relapse_rate_ratio=0.7, effects__fatigue_points=-6.0, effects__heterogeneity_sd=0.4
    )
    truth = pd.DataFrame(simulate_registry(params).truth["patients"])
    log_rr = np.log(truth.effect_relapse_rate_ratio)
    n = log_rr.size
    assert abs(log_rr.std() - 0.4) < 4 * 0.4 / np.sqrt(2 * n)
    assert abs(log_rr.mean() - np.log(0.7)) < 4 * 0.4 / np.sqrt(n)
    fatigue = truth.effect_fatigue_mfis_points
    assert abs(fatigue.mean() + 6.0) < 4 * fatigue.std() / np.sqrt(n)


def test_ldn_is_started_at_fatigue_peaks() -> None:
    """Self-selection in the raw check-ins (default uptake, everyone checking in): in the 60
    days before their first LDN start, starters report more fatigue than they do on average,
    so a naive before/after comparison would show improvement (regression to the mean)."""
    registry = simulate_registry(
        SimulationParams(patients=4000, years=4, seed=8).replace(reporting__checkin_user_share=1.0)
    )
    q = registry.frames["questionnaires"]
    checkins = q[q.instrument_id == "checkin"]
    checkins = checkins.assign(fatigue=checkins.answers.map(lambda a: a[0]))
    first = ldn_exposures(registry).groupby("patient_id").start_date.min().rename("start")
    merged = checkins.merge(first, left_on="patient_id", right_index=True)
    before = merged[
        (merged.date < merged.start) & (merged.date >= merged.start - pd.Timedelta(days=60))
    ]
    usual = merged.groupby("patient_id").fatigue.mean()
    peak = before.groupby("patient_id").fatigue.mean()
    paired = (peak - usual.reindex(peak.index)).dropna()
    assert paired.size > 30
    assert paired.mean() > 4 * paired.std() / np.sqrt(paired.size), paired.describe()


def test_an_answer_carries_the_effect_only_after_a_dose() -> None:
    """The month's latent fatigue carries LDN's effect for the share of the month on LDN; an
    answer carries it only after a (bedtime) dose: none before the start or on the start day
    (the engine's baseline is the last answer on or before the start), all of it from the day
    after the start to the day after the stop."""
    from ldn_outcomes.simulate.cohort import draw_cohort, month_boundaries
    from ldn_outcomes.simulate.courses import Courses
    from ldn_outcomes.simulate.observe import Recorder

    params = SimulationParams(patients=6, years=1, seed=3).replace(effects__fatigue_points=-8.0)
    bounds = month_boundaries(params)
    rng = np.random.default_rng(0)
    cohort = draw_cohort(params, rng, bounds)
    recorder = Recorder(params, cohort, rng, int(bounds[-1]))
    d0, d1 = int(bounds[1]), int(bounds[2])  # a whole month of the simulation
    start, stop = d0 + 9, d0 + 19
    ldn = Courses(6)
    ldn.start[:] = [-1, start, start, start, start, start]
    ldn.stop[:] = [-1, -1, -1, stop, stop, -1]
    # the share of the month on LDN as the monthly loop computes it
    on_share = ldn.days_on(np.full(6, d0), d1 - 1) / (d1 - d0)
    effect = cohort.effect_fatigue_points / params.fatigue.mfis_sd
    monthly = 0.3 + on_share * effect
    day = np.array([start + 5, start - 1, start, stop + 2, stop + 1, start + 5])
    level = recorder._fatigue_on_day(monthly, on_share, ldn, np.arange(6), day)
    # never on LDN; before the start; on the start day; two days after the stop (no dose the
    # night before); the day after the stop (the stop day's dose); on LDN
    expected = [0.3, 0.3, 0.3, 0.3, 0.3 + effect[4], 0.3 + effect[5]]
    assert level == pytest.approx(expected)
    # the same shift, day by day over the month, as the check-ins' answering odds use it
    days = d0 + np.arange(d1 - d0)
    grid = recorder._effect_shift(on_share, ldn, np.arange(6)[:, None], days[None, :])
    for person in range(6):
        one_by_one = recorder._fatigue_on_day(
            monthly, on_share, ldn, np.full(days.size, person), days
        )
        assert monthly[person] + grid[person] == pytest.approx(one_by_one)
