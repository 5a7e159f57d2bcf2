"""The matched non-users' mean trajectory is weighted as the comparison beside it is."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ldn_outcomes.analysis import AnalysisPlan
from ldn_outcomes.analysis.engine import run_all
from ldn_outcomes.analysis.outcomes import symptoms
from tests.analysis.synth import simulate


def test_weighted_mean_leaves_out_missing_values_and_weighs_the_rest() -> None:
    values = pd.Series([10.0, None, 20.0, 40.0])
    weights = pd.Series([1.0, 1.0, 0.5, 0.5])
    assert symptoms._weighted_mean(values, weights) == (10 + 10 + 20) / 2.0
    assert symptoms._weighted_mean(pd.Series([None, None], dtype=float), weights[:2]) is None


def test_the_controls_trajectory_is_their_weighted_mean(monkeypatch) -> None:
    """Each of a user's k controls counts 1/k, as in the difference drawn beside it."""
    seen: dict[str, list[pd.DataFrame]] = {}
    real = symptoms.changes

    def spy(data, plan, cohort, instrument):
        frame = real(data, plan, cohort, instrument)
        if (cohort["group"] == "control").any():  # the LDN users' or the negative control's
            seen.setdefault(instrument, []).append(frame)
        return frame

    monkeypatch.setattr(symptoms, "changes", spy)
    results = run_all(simulate(n=400, seed=3), AnalysisPlan())
    trajectories = results["symptoms"].details["trajectories"]
    assert seen
    for instrument, frames in seen.items():
        drawn = trajectories[instrument]["matched non-users"][0]
        weighted, unweighted = [], []
        for frame in frames:
            controls = frame[np.isfinite(frame["m0"]) & (frame["ldn"] == 0)]
            weighted.append(np.average(controls["m0"], weights=controls["weight"]))
            unweighted.append(controls["m0"].mean())
        assert drawn in weighted
        assert drawn not in unweighted  # the registry has unequal weights
