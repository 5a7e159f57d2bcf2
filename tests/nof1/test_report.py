"""The full analysis of one trial from daily values, and its CENT 2015 report data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ldn_outcomes.analysis.nof1.analyze import analyse, chart_points
from ldn_outcomes.analysis.nof1.report import CENT_CITATION, report_data
from ldn_outcomes.domain.nof1 import allocate, make_design, treatments
from ldn_outcomes.errors import InsufficientData

DESIGN = make_design(trial_id="T1", patient_id="P1", start_date=dt.date(2025, 1, 6), seed=9)
ALLOCATION = allocate(3, 9)


def values(effect: float, rng: np.random.Generator) -> pd.Series:
    kinds = treatments(ALLOCATION)
    days = pd.date_range(DESIGN.start_date, periods=DESIGN.total_days, freq="D")
    on_ldn = np.array([kinds[i // 28] == "ldn" for i in range(DESIGN.total_days)])
    return pd.Series(
        np.clip(np.rint(6 + effect * on_ldn + rng.normal(0, 1, days.size)), 0, 10), index=days
    )


def test_clear_improvement_is_found_and_reported(rng: np.random.Generator) -> None:
    analysis = analyse(DESIGN, ALLOCATION, values(-2.0, rng))
    assert analysis.estimate.mean_difference == pytest.approx(-2.0, abs=0.5)
    assert analysis.conclusion.verdict == "likely helps"
    data = analysis.as_dict()
    assert [p["treatment"] for p in data["periods"]] == [k.value for k in treatments(ALLOCATION)]
    assert all(p["days_analysed"] == 21 for p in data["periods"])
    points = chart_points(analysis)
    assert len(points) == 168 and sum(p["washout"] for p in points) == 42
    report = report_data(DESIGN, analysis)
    assert report["guideline"] == CENT_CITATION and "10.1136/bmj.h1738" in CENT_CITATION
    items = {i["item"]: i for i in report["items"]}
    assert len(items) == len(report["items"])  # item numbers are unique
    assert items["17a"]["status"] == "filled" and "LDN - placebo" in items["17a"]["content"]
    assert items["20"]["status"] == "author"
    assert "4.5 mg" in items["1a"]["content"]


def test_blinded_report_has_no_results() -> None:
    items = {i["item"]: i for i in report_data(DESIGN)["items"]}
    assert items["17a"]["status"] == "not applicable"
    assert "3 pairs" in items["3a"]["content"] or "3 pairs" in items["7a"]["content"]


def test_no_values_during_the_trial_is_insufficient(rng: np.random.Generator) -> None:
    before = pd.Series([5.0] * 10, index=pd.date_range("2024-12-01", periods=10, freq="D"))
    with pytest.raises(InsufficientData):
        analyse(DESIGN, ALLOCATION, before)
