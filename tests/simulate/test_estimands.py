"""The true estimands: exactly null without an effect, the knob's size (diluted as the
intention-to-treat comparison dilutes it) with one, unchanged by unmeasured confounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg

from ldn_outcomes.simulate import SimulationParams, simulate_registry
from ldn_outcomes.simulate.cdw_truth import cox_two_groups

SMALL = SimulationParams(patients=1500, years=5, seed=21)


def _estimands(**changes) -> dict:
    return simulate_registry(SMALL.replace(**changes)).truth["estimands"]


def test_no_effect_means_every_estimand_is_exactly_null() -> None:
    truth = _estimands()
    for name in ("mfis", "fss", "nrs-fatigue", "nrs-spasticity"):
        assert truth[f"{name}_difference_12m"] == 0.0
    for name in ("relapse_rate_ratio", "progression_hazard_ratio", "negative_control_rate_ratio"):
        assert truth[name] == 1.0


def test_unmeasured_confounding_changes_no_true_effect() -> None:
    truth = _estimands(confounding__strength=1.0)
    assert truth["mfis_difference_12m"] == 0.0
    assert truth["relapse_rate_ratio"] == 1.0


def test_a_fatigue_effect_is_diluted_by_stopping_and_by_controls_starting() -> None:
    truth = _estimands(effects__fatigue_points=-6.0)
    assert -6.0 < truth["mfis_difference_12m"] < -3.0
    assert truth["nrs-spasticity_difference_12m"] == 0.0  # spasm does not follow fatigue
    assert truth["relapse_rate_ratio"] == 1.0


def test_a_relapse_effect_gives_a_ratio_between_the_knob_and_one() -> None:
    truth = _estimands(effects__relapse_rate_ratio=0.6, effects__progression_hazard_ratio=0.6)
    assert 0.6 < truth["relapse_rate_ratio"] < 0.9
    assert 0.6 < truth["progression_hazard_ratio"] < 0.95


def test_the_knob_leaves_the_registry_unchanged_when_off() -> None:
    a = simulate_registry(SimulationParams(patients=300, years=3, seed=4)).frames["relapses"]
    b = simulate_registry(
        SimulationParams(patients=300, years=3, seed=4).replace(confounding__strength=0.0)
    ).frames["relapses"]
    assert a.equals(b)


def test_two_group_cox_agrees_with_statsmodels_breslow() -> None:
    rng = np.random.default_rng(5)
    t0 = np.ceil(rng.lognormal(3.8, 0.5, 300))
    t1 = np.ceil(rng.lognormal(3.5, 0.5, 200))
    censor = 80.0
    ours = cox_two_groups(
        np.minimum(t0, censor), t0 <= censor, np.minimum(t1, censor), t1 <= censor
    )
    time = np.minimum(np.r_[t0, t1], censor)
    status = (np.r_[t0, t1] <= censor).astype(int)
    x = np.r_[np.zeros(300), np.ones(200)][:, None]
    reference = float(np.exp(PHReg(time, x, status=status, ties="breslow").fit().params[0]))
    assert ours == pytest.approx(reference, rel=1e-6)


def test_two_group_cox_with_delayed_entry_agrees_with_statsmodels() -> None:
    rng = np.random.default_rng(6)
    e0, e1 = rng.integers(0, 40, 300).astype(float), rng.integers(0, 40, 200).astype(float)
    t0 = e0 + np.ceil(rng.lognormal(3.8, 0.5, 300))
    t1 = e1 + np.ceil(rng.lognormal(3.5, 0.5, 200))
    censor = 120.0
    ours = cox_two_groups(
        np.minimum(t0, censor),
        t0 <= censor,
        np.minimum(t1, censor),
        t1 <= censor,
        entry0=e0,
        entry1=e1,
    )
    time = np.minimum(np.r_[t0, t1], censor)
    status = (np.r_[t0, t1] <= censor).astype(int)
    x = np.r_[np.zeros(300), np.ones(200)][:, None]
    model = PHReg(time, x, status=status, entry=np.r_[e0, e1], ties="breslow")
    assert ours == pytest.approx(float(np.exp(model.fit().params[0])), rel=1e-6)


def _one_user_design(start_day: int):
    """Months of 30 days; patient 0 starts LDN on ``start_day`` (in month 1) and halves their
    relapse rate from that day; patient 1, the risk set, never starts."""
    from types import SimpleNamespace

    from ldn_outcomes.simulate.estimands import _Design

    months = 4
    on_share = np.zeros(months)
    on_share[1] = (60 - start_day) / 30
    on_share[2:] = 1.0
    untreated = np.ones((months, 2))
    treated = untreated.copy()
    treated[:, 0] = 1.0 + on_share * (0.5 - 1.0)
    hazard = np.full((months, 2), 0.1)
    hazard[:, 0] = 0.0  # the risk set is patient 1 alone
    history = SimpleNamespace(
        cohort=SimpleNamespace(n=2, entry_day=np.array([-1000, -1000])),
        bounds=np.arange(0, 30 * (months + 1), 30),
        ldn=(np.array([0]), np.array([start_day]), np.array([10**6])),
        traced={"alive": np.ones((months, 2)), "start_hazard": hazard},
    )
    return _Design(history), treated, untreated  # type: ignore[arg-type]


def test_the_relapse_truth_counts_from_the_start_day_not_the_start_month() -> None:
    from ldn_outcomes.simulate.estimands import _day_ratio_parts

    design, treated, untreated = _one_user_design(start_day=45)
    user_a, user_b, ctrl_a, ctrl_b = _day_ratio_parts(design, treated, untreated, 75.0)
    # days 45-120: on LDN throughout, so exactly the knob; the untreated days 30-44 of the
    # start month are not counted (whole months gave (0.75 + 0.5 + 0.5) / 3 = 0.583)
    assert user_a / user_b == pytest.approx(0.5)
    assert (user_b, ctrl_a, ctrl_b) == pytest.approx((2.5, 2.5, 2.5))


def test_the_progression_truths_count_from_the_start_day_to_the_end() -> None:
    """``None`` days: from the start day to the registry's end (day 120 here), the untreated
    days of the start month left out, as for relapses (whole months from the start month
    gave (0.75 + 0.5 + 0.5) / 3 = 0.583, not the knob)."""
    from ldn_outcomes.simulate.estimands import _day_ratio_parts

    design, treated, untreated = _one_user_design(start_day=45)
    user_a, user_b, ctrl_a, ctrl_b = _day_ratio_parts(design, treated, untreated, None)
    assert user_a / user_b == pytest.approx(0.5)
    assert (user_b, ctrl_a, ctrl_b) == pytest.approx((2.5, 2.5, 2.5))
    # to the end, not a fixed window: 30 days from day 45 count one month's worth
    assert _day_ratio_parts(design, treated, untreated, 30.0)[1] == pytest.approx(1.0)


def test_the_controls_dilution_is_attenuated_as_the_users_ratio_is() -> None:
    """Rater error attenuates the users' log ratio (recorded over latent); the controls' later
    starts are taken on the same recorded scale, the factor bounded to [0, 1]."""
    from ldn_outcomes.simulate.estimands import _recorded_dilution

    # users: latent ratio 0.7, recorded 0.7 ** 0.6; controls: latent ratio 0.96
    dilution = _recorded_dilution(70.0, 100.0, 96.0, 100.0, 0.7**0.6)
    assert np.log(dilution) == pytest.approx(0.6 * np.log(0.96))
    # a recorded ratio beyond the latent one (noise) takes the latent dilution, no more
    assert _recorded_dilution(70.0, 100.0, 96.0, 100.0, 0.5) == pytest.approx(0.96)
    # a recorded ratio on the other side of 1 (noise) takes no dilution
    assert _recorded_dilution(70.0, 100.0, 96.0, 100.0, 1.1) == pytest.approx(1.0)
    # no effect: no dilution
    assert _recorded_dilution(80.0, 80.0, 90.0, 90.0, 1.0) == pytest.approx(1.0)


EFFECT = SimulationParams(patients=800, years=4, seed=33).replace(
    effects__relapse_rate_ratio=0.5, effects__progression_hazard_ratio=0.7
)


def test_computing_the_truth_changes_no_record_of_the_registry() -> None:
    """The world without the effect draws its own visits' rater errors from a stream of its
    own, so the registry is the same whether or not its truth is computed."""
    with_truth = simulate_registry(EFFECT, with_estimands=True).frames
    without = simulate_registry(EFFECT, with_estimands=False).frames
    assert with_truth.keys() == without.keys()
    for kind in with_truth:
        pd.testing.assert_frame_equal(with_truth[kind], without[kind])


def _worlds(params: SimulationParams):
    from ldn_outcomes.simulate.estimands import counterfactual_params
    from ldn_outcomes.simulate.history import simulate_history

    world_b = simulate_history(counterfactual_params(params), record=False, trace=True)
    return simulate_history(params, trace=True, counterfactual=world_b.traced), world_b


def _onsets_by_month(history) -> set[tuple[int, int]]:
    """(patient, onset) of every attack, from the trace's latest attack at each month's end."""
    found: set[tuple[int, int]] = set()
    start = history.traced["attack_from"]
    for m in range(len(history.bounds) - 1):
        new = (start[m] >= history.bounds[m]) & (start[m] < history.bounds[m + 1])
        found |= {(int(p), int(start[m, p])) for p in np.flatnonzero(new)}
    return found


def test_the_world_without_the_effect_keeps_the_attacks_ldn_prevented() -> None:
    """Every attack of the registry is the other world's too (same onset); the attacks only
    that world has are recorded apart, with the clinic visits they would have brought."""
    actual, world_b = _worlds(EFFECT)
    rel = actual.recorded.table("relapses")
    real = rel["lasted_24h"] & ~rel["fever"]
    registry = set(zip(rel["pid"][real].tolist(), rel["onset"][real].tolist(), strict=True))
    other = _onsets_by_month(world_b)
    assert registry < other
    only = actual.recorded.table("relapses_b_only")
    kept = set(zip(only["pid"].tolist(), only["onset"].tolist(), strict=True))
    assert kept == other - registry
    # LDN prevented some of them while the patient was still followed
    assert (only["onset"] <= actual.exit_day[only["pid"]]).sum() >= 10
    visits = actual.recorded.table("edss_b_only")
    assert 0 < len(visits["pid"]) < len(only["pid"])
    assert set(visits["pid"].tolist()) <= set(only["pid"].tolist())


def test_without_an_effect_the_other_world_has_no_attack_while_followed() -> None:
    """Without an effect the two worlds part only when a patient leaves this registry."""
    actual, _ = _worlds(SimulationParams(patients=800, years=4, seed=33))
    only = actual.recorded.table("relapses_b_only")
    assert (only["onset"] > actual.exit_day[only["pid"]]).all()
    edss = actual.recorded.table("edss")
    assert np.array_equal(edss["score"], edss["score_b"])


@pytest.mark.parametrize(
    "effects",
    [
        {"effects__relapse_rate_ratio": 0.5},
        {"effects__relapse_rate_ratio": 1.5},  # harmful: LDN makes attacks
        {"effects__relapse_rate_ratio": 0.5, "effects__heterogeneity_sd": 0.5},
    ],
)
def test_the_truths_series_without_the_effect_has_exactly_that_worlds_attacks(
    effects: dict,
) -> None:
    """The onsets the CDW rule sees in the world without the effect are that world's own while
    the patient is followed: the attacks LDN prevented added, the attacks it made (a harmful
    or varying effect) left out, with the clinic visits during them."""
    from ldn_outcomes.simulate.cdw_truth import cdw_series

    params = SimulationParams(patients=800, years=4, seed=33).replace(**effects)
    actual, world_b = _worlds(params)
    _, onsets_a, visits_b, onsets_b = cdw_series(actual)
    followed = {(p, day) for p, day in _onsets_by_month(world_b) if day <= actual.exit_day[p]}
    patients = np.repeat(np.arange(actual.cohort.n), np.diff(onsets_b.bounds))
    assert set(zip(patients.tolist(), onsets_b.day.tolist(), strict=True)) == followed
    changed = sum(
        not np.array_equal(onsets_a.of(p), onsets_b.of(p)) for p in range(actual.cohort.n)
    )
    assert changed > 5
    # a visit only one world has lies 3-21 days after an attack only that world has
    edss = actual.recorded.table("edss")
    made = actual.recorded.table("relapses_a_only")
    for pid, day in zip(edss["pid"][~edss["in_b"]], edss["day"][~edss["in_b"]], strict=True):
        gap = day - made["onset"][made["pid"] == pid]
        assert ((gap >= 3) & (gap <= 21)).any()
    extra = actual.recorded.table("edss_b_only")
    only = actual.recorded.table("relapses_b_only")
    for pid, day in zip(extra["pid"], extra["day"], strict=True):
        gap = day - only["onset"][only["pid"] == pid]
        assert ((gap >= 3) & (gap <= 21)).any()
    assert len(visits_b.day) != len(edss["day"][edss["day"] <= actual.exit_day[edss["pid"]]])


def test_the_progression_truth_counts_the_attacks_ldn_prevented() -> None:
    """Blanking the other world's own attacks and visits changes the truth of a registry with
    a relapse effect: the truth uses them."""
    from ldn_outcomes.simulate.cdw_truth import recorded_cdw_hazard_ratio

    actual, _ = _worlds(EFFECT)
    with_them = recorded_cdw_hazard_ratio(actual)
    for kind in ("relapses_b_only", "edss_b_only"):
        for column in actual.recorded.parts[kind].values():
            column[:] = [part[:0] for part in column]
    assert recorded_cdw_hazard_ratio(actual) != with_them


def test_the_world_without_the_effect_has_no_effect_for_anyone() -> None:
    """With varying effects the other world's patients have no effect either (their
    responder score is drawn all the same, so no other draw moves)."""
    from ldn_outcomes.simulate.estimands import counterfactual_params
    from ldn_outcomes.simulate.history import simulate_history

    params = EFFECT.replace(effects__heterogeneity_sd=0.5)
    world_b = simulate_history(counterfactual_params(params), record=False)
    assert np.all(world_b.cohort.effect_rr == 1.0)
    assert np.all(world_b.cohort.effect_hr == 1.0)
    assert np.all(world_b.cohort.effect_recovery == 1.0)
    assert np.all(world_b.cohort.effect_fatigue_points == 0.0)
    plain = simulate_history(counterfactual_params(EFFECT), record=False)
    assert np.array_equal(world_b.edss_exit, plain.edss_exit)
