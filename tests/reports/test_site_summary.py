"""A site's summary for a network: what it shares, what it holds back and why."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ldn_outcomes.analysis.headlines import HEADLINES
from ldn_outcomes.analysis.results import (
    AnalysisResult,
    DiagnosticsFailed,
    Estimate,
    SmallSample,
)
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.evidence.user_studies import pool_csv
from ldn_outcomes.reports.site_summary import COLUMNS, SHARED, summarise, write_site_summary


def results(n: int = 40, value: float = 0.8) -> dict[str, AnalysisResult]:
    """One result per analysis holding a shared headline, each with its headline estimate."""
    out: dict[str, AnalysisResult] = {}
    for name in SHARED:
        spec = HEADLINES[name]
        scale = "ratio" if spec["ratio"] else "difference"
        low, high = (value * 0.7, value * 1.3) if spec["ratio"] else (value - 2, value + 2)
        estimate = Estimate(spec["title"], value, low, high, scale, n=n, key=spec["key"])
        result = out.setdefault(spec["analysis"], AnalysisResult(spec["analysis"], "test"))
        result.estimates.append(estimate)
    return out


def test_every_shared_headline_is_one_row_in_the_layout_meta_reads(tmp_path: Path) -> None:
    summary = write_site_summary(tmp_path / "out", results(), "site-a", min_cell_size=5, alpha=0.05)
    assert set(summary.files) == set(SHARED) and summary.left_out == {}
    assert "negative_control" not in summary.files  # a diagnostic, not a finding
    with summary.files["relapses"].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {
            "study": "site-a",
            "label": "site-a",
            "measure": "IRR",
            "estimate": "0.8",
            "ci_low": "0.56",
            "ci_high": "1.04",
        }
    ]
    assert tuple(rows[0]) == COLUMNS
    assert summary.rows["fatigue"]["measure"] == "MD"
    assert summary.rows["progression"]["measure"] == "HR"
    # Two sites' files pool with `ldn evidence meta --csv`.
    other = write_site_summary(
        tmp_path / "b", results(value=0.6), "site-b", min_cell_size=5, alpha=0.05
    )
    report = pool_csv([summary.files["relapses"], other.files["relapses"]])
    assert report.result is not None and report.result.k == 2 and report.measure == "IRR"


def test_small_cells_failed_diagnostics_and_missing_estimates_stay_home(tmp_path: Path) -> None:
    shown = results(n=4)  # every estimate rests on 4 patients: below the minimum of 5
    summary = summarise(shown, "site-a", min_cell_size=5, alpha=0.05)
    assert summary.rows == dict.fromkeys(SHARED)
    assert summary.left_out["relapses"] == (
        "suppressed: the estimate rests on fewer than 5 patients"
    )
    shown = results()
    shown["progression"].warn(SmallSample, "only 2 progression events")
    shown["relapse_recovery"] = AnalysisResult.insufficient(
        "relapse_recovery", "only 3 relapses in which LDN was started"
    )
    shown["relapses"].warn(DiagnosticsFailed, "bias diagnostics failed (3 users unmatched)")
    summary = write_site_summary(tmp_path, shown, "site-a", min_cell_size=5, alpha=0.05)
    assert summary.left_out == {
        "progression": "too few for the model's interval: only fewer than 5 progression events",
        "relapse_recovery": "not estimated: only fewer than 5 relapses in which LDN was started",
    }
    assert summary.files["progression"].read_text(encoding="utf-8") == ",".join(COLUMNS) + "\n"
    # Failed bias diagnostics: shared, and the label says so (the forest plot shows it).
    assert summary.rows["relapses"]["label"] == "site-a (bias diagnostics failed)"
    assert summary.flagged == {"relapses": "bias diagnostics failed (fewer than 5 users unmatched)"}


def test_a_summary_needs_a_site_name_and_95_percent_intervals() -> None:
    with pytest.raises(ValidationFailed, match="site_summary.site: is required"):
        summarise(results(), " ", min_cell_size=5, alpha=0.05)
    with pytest.raises(ValidationFailed, match="site_summary.alpha: must be 0.05"):
        summarise(results(), "site-a", min_cell_size=5, alpha=0.1)
