"""The outcome report is one self-contained page that shows warnings and missing data."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from ldn_outcomes.analysis import AnalysisPlan, run_all
from ldn_outcomes.reports.outcome_charts import forest_chart, survival_chart
from ldn_outcomes.reports.outcomes import render_outcome_report
from tests.analysis.synth import Truth, simulate


@pytest.fixture(scope="module")
def html():
    frames = simulate(1500, Truth(start_rate=0.003, supplement_rate=0.003), seed=8)
    results = run_all(frames)
    return render_outcome_report(
        results, AnalysisPlan(), generated=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )


def test_self_contained(html):
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert html.count("<svg") >= 4


def test_compared_curves_state_their_log_rank_test(html):
    assert "log-rank chi-square" in html and "on 1 df, p = " in html


def test_headline_contrast_and_plan_hash(html):
    assert "naive" in html and "matched" in html
    assert AnalysisPlan().plan_hash in html
    assert "95% CI" in html


def test_svgs_are_well_formed(html):
    start = 0
    while (i := html.find("<svg", start)) >= 0:
        j = html.find("</svg>", i) + len("</svg>")
        root = ET.fromstring(html[i:j])
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
        start = j


def test_missing_data_is_stated():
    results = run_all({})
    page = render_outcome_report(results, AnalysisPlan())
    assert "No result" in page and "LDN users" in page


def test_charts_handle_empty_input():
    assert survival_chart({}, "x") == ""
    assert forest_chart([], "x") == ""


def test_outcome_forest_leaves_out_rows_without_a_usable_ratio() -> None:
    rows = [
        {"label": "kept", "value": 0.8, "ci": [0.6, 1.1]},
        {"label": "no interval", "value": 0.9, "ci": [None, 1.2]},
        {"label": "not a ratio", "value": 0.0, "ci": [-0.1, 0.1]},
        {"label": "infinite", "value": 1.2, "ci": [0.5, float("inf")]},
    ]
    root = ET.fromstring(forest_chart(rows, "Ratios"))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "kept" in texts
    assert not {"no interval", "not a ratio", "infinite"} & set(texts)
    assert forest_chart(rows[1:], "Ratios") == ""


def test_text_from_the_data_is_escaped_and_attributes_are_quoted() -> None:
    """The report is rendered by an autoescaping template: a label, note, caveat or method
    carrying markup shows as text, and section ids are quoted attributes."""
    from ldn_outcomes.analysis.results import AnalysisResult, Estimate

    hostile = '<script>alert("x")</script>'
    result = AnalysisResult(
        name="labs",
        method=f"method {hostile}",
        population={"people <b>": 3},
        estimates=[Estimate(hostile, 1.5, 1.0, 2.0, "value", n=3, note=hostile)],
        caveats=[hostile],
    )
    page = render_outcome_report({"labs": result}, AnalysisPlan())
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page
    assert '<h2 id="labs">' in page


def test_the_report_inlines_the_one_stylesheet(html) -> None:
    from ldn_outcomes import templating

    assert f"<style>{templating.stylesheet()}</style>" in html
    assert '<main class="report">' in html


def test_warnings_and_suppressed_counts_read_in_words() -> None:
    """A reader meets "Bias check failed", not the class name DiagnosticsFailed, and a count
    left out by the disclosure rule reads "not shown", not None."""
    from ldn_outcomes.analysis.results import AnalysisResult, DiagnosticsFailed, Estimate

    result = AnalysisResult(
        name="relapses",
        method="m",
        population={"n_patients": 40, "n_matched": None},
        estimates=[Estimate("rate ratio", 0.8, 0.6, 1.1, "ratio", n=40)],
    )
    result.warn(DiagnosticsFailed, "balance: female SMD 1.41")
    page = render_outcome_report({"relapses": result}, AnalysisPlan())
    assert "Bias check failed" in page and "DiagnosticsFailed" not in page
    assert "n matched: not shown" in page and "None" not in page.split("<main", 1)[1]
