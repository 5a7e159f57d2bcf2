"""The true estimands: exactly null without an effect, the knob's size (diluted as the
intention-to-treat comparison dilutes it) with one, unchanged by unmeasured confounding."""

from __future__ import annotations

import numpy as np
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
