"""A clinic with nobody eligible: the report says "no data", never "passed", and draws no NaN."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ldn_outcomes.analysis.matching.match import MatchResult
from ldn_outcomes.analysis.outcomes.diagnostics import analyse_diagnostics
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.analysis.results import AnalysisResult
from ldn_outcomes.errors import InsufficientData
from ldn_outcomes.reports.outcome_charts import balance_chart
from ldn_outcomes.reports.outcomes import render_outcome_report

NAN = math.nan
UNMATCHED = [
    {"label": "age", "smd_before": NAN, "smd_after": NAN},
    {"label": "EDSS", "smd_before": NAN, "smd_after": NAN},
]


def test_balance_chart_without_numbers_says_no_data() -> None:
    html = balance_chart(UNMATCHED, 0.1, "Balance before and after matching")
    assert "no data" in html
    assert "nan" not in html.lower()


def test_balance_chart_leaves_out_an_undefined_difference() -> None:
    rows = [{"label": "age", "smd_before": 0.4, "smd_after": NAN}]
    svg = balance_chart(rows, 0.1, "Balance")
    assert "nan" not in svg.lower()
    assert "age: 0.40 before, no data after" in svg
    assert svg.count("<circle") == 1


def test_diagnostics_with_nobody_matched_is_not_a_pass() -> None:
    results = {
        "diagnostics": AnalysisResult(
            name="diagnostics",
            method="m",
            population={"n_patients": 0},
            details={"passed": True, "failures": [], "balance": UNMATCHED},
        ),
        "matched": AnalysisResult(
            name="matched", method="m", population={"n_patients": 0}, details={"balance": UNMATCHED}
        ),
    }
    html = render_outcome_report(results, AnalysisPlan())
    assert "All bias checks passed" not in html
    assert "No data: nobody was matched" in html
    assert "nan" not in html.lower().replace("naive", "")


def test_diagnostics_with_balance_still_passes() -> None:
    balance = [{"label": "age", "smd_before": 0.3, "smd_after": 0.02}]
    results = {
        "diagnostics": AnalysisResult(
            name="diagnostics",
            method="m",
            population={"n_patients": 40},
            details={"passed": True, "failures": [], "balance": balance},
        )
    }
    assert "All bias checks passed" in render_outcome_report(results, AnalysisPlan())


def test_diagnostics_refuse_to_pass_with_nobody_matched() -> None:
    nobody = MatchResult(
        method="trajectory",
        cohort=pd.DataFrame({"code": [0], "group": ["ldn"]}),
        users=pd.DataFrame({"code": [0], "matched": [False]}),
        balance=pd.DataFrame(UNMATCHED),
        equipoise=None,
        n_candidates=0,
    )
    with pytest.raises(InsufficientData, match="no data for bias checks"):
        analyse_diagnostics(None, AnalysisPlan(), nobody)  # type: ignore[arg-type]
