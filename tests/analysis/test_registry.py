"""One table of analyses in the engine; code finds analyses and estimates by key, not by label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ldn_outcomes.analysis.engine import ANALYSES, BY_KEY, MATCHED_ANALYSES, REGISTRY, RunInputs
from ldn_outcomes.analysis.outcomes.relapses import NAIVE_KEY
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.analysis.results import AnalysisResult, Estimate

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "ldn_outcomes"
NEEDS = {"users", "matched", "negative_control"}


def test_results_come_in_registry_order_with_the_diagnostics_last(null_results) -> None:
    assert list(null_results) == [entry.key for entry in REGISTRY]
    assert REGISTRY[-1].key == "diagnostics" and "diagnostics" not in ANALYSES
    assert set(BY_KEY) == set(null_results)


def test_every_entry_says_what_it_needs() -> None:
    for entry in REGISTRY:
        assert entry.label and set(entry.needs) <= NEEDS, entry.key
        if entry.requires_match or entry.matched_comparison:
            assert "matched" in entry.needs, entry.key
    assert MATCHED_ANALYSES == (
        "progression",
        "relapses",
        "symptoms",
        "relapse_recovery",
        "matched",
    )


def test_an_analysis_that_requires_the_match_reports_why_there_is_none(null_data) -> None:
    from ldn_outcomes.analysis.engine import _run_one

    def never(name: str, function):  # noqa: ANN001, ANN202 - the engine's timer
        raise AssertionError("an analysis without its match must not run")

    run = RunInputs(null_data, AnalysisPlan(), None, None, "only 2 LDN users", lambda: None)
    result = _run_one(BY_KEY["matched"], run, never)
    assert result.status == "insufficient_data" and result.message == "only 2 LDN users"


def test_estimates_are_found_by_key_and_comparison(null_results) -> None:
    relapses = null_results["relapses"]
    naive = relapses.find(NAIVE_KEY)
    assert naive is not None and naive.label == "naive before/after rate ratio (LDN users)"
    assert relapses.find("no such key") is None
    assert relapses.headline is relapses.compared_with("matched")[0]
    for name in ("progression", "symptoms", "relapse_recovery"):
        compared = null_results[name].compared_with("matched")
        assert compared and all("matched non-users" in e.label for e in compared), name


def test_key_and_versus_appear_in_json_only_when_set() -> None:
    plain = Estimate("x", 1.0, 0.5, 2.0, "ratio")
    assert set(plain.to_dict()) == {"label", "value", "ci", "scale", "n", "note"}
    marked = plain.named("x_key").against_matched().to_dict()
    assert marked["key"] == "x_key" and marked["versus"] == "matched"
    result = AnalysisResult("r", "m", estimates=[plain, plain.named("k")])
    assert result.find("k") is not None and result.compared_with("matched") == []


@pytest.mark.parametrize("layer", ["analysis", "reports", "web"])
def test_no_code_finds_an_estimate_by_the_text_of_its_label(layer: str) -> None:
    """Labels are for people and get reworded; code looks up ``Estimate.key``/``versus``."""
    pattern = re.compile(r"""["'][^"']*["']\s+(not\s+)?in\s+[\w.\[\]"']*\blabel\b""")
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in (PACKAGE / layer).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found
