"""The fast paths of the analysis give the same numbers as the plain pandas/statsmodels code
they replaced (kept here, and only here, as the reference)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from ldn_outcomes.analysis import AnalysisPlan, run_all
from ldn_outcomes.analysis.data.coding import patient_codes, to_days
from ldn_outcomes.analysis.data.frames import CHECKIN_ITEMS, _group_extreme, prepare
from ldn_outcomes.analysis.data.symptom_tables import combined, symptom_table
from ldn_outcomes.analysis.matching.trajectories import (
    POINTS,
    count_in,
    offsets,
    snapshots,
    value_at,
)
from ldn_outcomes.analysis.numerics.logistic import logit_newton
from ldn_outcomes.simulate import SimulationParams, simulate_registry


@pytest.fixture(scope="module")
def frames():
    return simulate_registry(SimulationParams(patients=400, years=4, seed=3)).frames


def _reference_symptoms(q_in: pd.DataFrame, lookup: pd.Series, plan: AnalysisPlan) -> pd.DataFrame:
    """Check-in items averaged per (code, week) by a two-key pandas groupby, then a stable
    ``sort_values`` of everything: the derivation before ``symptom_table``."""
    wanted = set(plan.symptom_instruments) | {plan.fatigue_instrument}
    ids = q_in["instrument_id"].astype(str)
    scored = q_in[ids.isin(wanted).to_numpy()]
    parts = [
        pd.DataFrame(
            {
                "code": patient_codes(scored, lookup),
                "instrument": scored["instrument_id"].astype(str).to_numpy(),
                "day": to_days(scored["date"]),
                "total": pd.to_numeric(scored["total"]).to_numpy(float),
            }
        )
    ]
    checkins = q_in[(ids == "checkin").to_numpy()]
    codes, days = patient_codes(checkins, lookup), to_days(checkins["date"])
    for position, instrument in CHECKIN_ITEMS.items():
        values = np.array(
            [
                a[position]
                if a is not None and len(a) > position and a[position] is not None
                else np.nan
                for a in checkins["answers"]
            ],
            dtype=float,
        )
        keep = np.isfinite(values) & np.isfinite(days)
        weekly = pd.DataFrame(
            {"code": codes[keep], "week": np.floor(days[keep] / 7), "value": values[keep]}
        )
        weekly = weekly.groupby(["code", "week"], sort=True)["value"].mean().reset_index()
        parts.append(
            pd.DataFrame(
                {
                    "code": weekly["code"].to_numpy(),
                    "instrument": instrument,
                    "day": weekly["week"].to_numpy() * 7 + 3,
                    "total": weekly["value"].to_numpy(),
                }
            )
        )
    symptoms = pd.concat(parts, ignore_index=True).dropna(subset=["total", "day"])
    symptoms = symptoms[symptoms["instrument"].isin(wanted)]
    return symptoms.sort_values(["instrument", "code", "day"], kind="stable").reset_index(drop=True)


def test_symptom_table_matches_the_pandas_reference(frames):
    plan = AnalysisPlan()
    patients = frames["patients"]
    lookup = pd.Series(np.arange(len(patients)), index=patients["patient_id"].to_numpy())
    new = combined(symptom_table(frames["questionnaires"], None, lookup, plan))
    old = _reference_symptoms(frames["questionnaires"], lookup, plan)
    assert set(new["instrument"]) >= {"mfis", *CHECKIN_ITEMS.values()}
    pd.testing.assert_frame_equal(new, old, check_exact=True)


def _reference_snapshots(data, plan, codes, days):
    """One bisection per look-up in the given order, pandas fills: ``snapshots`` before."""
    p = data.patients
    out = {
        "age": (days - p["birth_day"].to_numpy()[codes]) / 365.25,
        "duration": (days - p["onset_day"].to_numpy()[codes]) / 365.25,
        "female": p["female"].to_numpy()[codes].astype(float),
    }
    rel = data.relapses.dropna(subset=["onset"])
    out["relapses_12m"] = count_in(rel, "onset", codes, days - 365, days).astype(float)
    out["relapses_3m"] = count_in(rel, "onset", codes, days - 91, days).astype(float)
    fatigue = data.symptom_series(plan.fatigue_instrument).rename(columns={"total": "value"})
    for k, off in enumerate(offsets(plan)):
        out[f"edss_{k}"] = value_at(data.edss, "score", codes, days + off, plan.history_days, days)
        out[f"fatigue_{k}"] = value_at(fatigue, "value", codes, days + off, plan.history_days, days)
    frame = pd.DataFrame(out)
    fat = frame[[f"fatigue_{k}" for k in range(POINTS)]].ffill(axis=1).bfill(axis=1)
    frame[fat.columns] = fat
    frame["fatigue_missing"] = fat.isna().all(axis=1).astype(float)
    dmt = data.exposures[data.exposures["drug_class"] == "dmt"]
    frame["on_dmt"] = [
        float(
            (
                (dmt["code"] == c) & (dmt["start"] <= d) & (dmt["stop"].isna() | (dmt["stop"] > d))
            ).any()
        )
        for c, d in zip(codes, days, strict=True)
    ]
    return frame


def test_snapshots_match_the_unsorted_reference(frames, rng):
    plan = AnalysisPlan()
    data = prepare(frames, plan)
    n = len(data.patients)
    codes = rng.integers(0, n, 3000)
    days = np.floor(rng.uniform(data.cutoff_day - 1500, data.cutoff_day, 3000))
    codes[:50], days[:50] = codes[50:100], days[50:100]  # the same snapshot twice
    new = snapshots(data, plan, codes, days)
    old = _reference_snapshots(data, plan, codes, days)
    assert 0 < new["fatigue_missing"].sum() < len(new) and new["edss_0"].notna().any()
    assert 0 < new["on_dmt"].sum() < len(new)
    pd.testing.assert_frame_equal(new, old, check_exact=True)


def test_group_extreme_matches_pandas(rng):
    pairs = [
        (rng.integers(0, 40, 500), np.where(rng.random(500) < 0.1, np.nan, rng.normal(0, 100, 500)))
        for _ in range(3)
    ]
    for how in ("min", "max"):
        codes = np.concatenate([c for c, _ in pairs])
        days = np.concatenate([d for _, d in pairs])
        keep = np.isfinite(days)
        expected = np.full(45, np.nan)
        grouped = pd.Series(days[keep]).groupby(codes[keep]).agg(how)
        expected[grouped.index.to_numpy()] = grouped.to_numpy()
        np.testing.assert_array_equal(_group_extreme(pairs, 45, how), expected)


def test_logistic_newton_matches_statsmodels(rng):
    x = rng.normal(size=(4000, 5))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(x @ [0.5, -1.0, 0.2, 0.0, 1.5] - 1)))).astype(float)
    design = sm.add_constant(x, has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = sm.Logit(y, design).fit(disp=0, maxiter=50, method="newton").params
    np.testing.assert_allclose(
        logit_newton(y, design, maxiter=50), expected, rtol=1e-12, atol=1e-14
    )
    singular = np.column_stack([design, np.zeros(len(y))])  # as statsmodels: no fit
    for fit in (
        lambda: sm.Logit(y, singular).fit(disp=0, maxiter=50, method="newton"),
        lambda: logit_newton(y, singular),
    ):
        with pytest.raises(np.linalg.LinAlgError), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit()


def test_whole_run_is_repeatable(frames):
    """Same frames, same numbers: no step depends on hash order or timing."""
    plan = AnalysisPlan()
    first, second = run_all(frames, plan), run_all(frames, plan)
    for name in first:
        assert json.dumps(
            first[name].to_dict(details=True), sort_keys=True, default=str
        ) == json.dumps(second[name].to_dict(details=True), sort_keys=True, default=str), name
