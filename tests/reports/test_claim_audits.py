"""Public claim audits: the engine's own headlines, small cells suppressed, warnings kept."""

from __future__ import annotations

import copy

import pytest

from ldn_outcomes.analysis import AnalysisPlan, run_all
from ldn_outcomes.analysis.outcomes.combination import analyse_combination
from ldn_outcomes.analysis.outcomes.dosing import analyse_dose_level, analyse_dose_timing
from ldn_outcomes.analysis.outcomes.stopping import analyse_after_stopping
from ldn_outcomes.analysis.outcomes.tcells import analyse_t_cells
from ldn_outcomes.analysis.results import AnalysisResult, DiagnosticsFailed
from ldn_outcomes.evidence.catalogue import load_claims
from ldn_outcomes.reports.claim_audits import AUDITED, NOF1, public_audits
from ldn_outcomes.reports.disclosure import shown_count
from ldn_outcomes.reports.outcomes import estimate_text
from tests.analysis.claim_registry import ClaimTruth, claim_registry
from tests.analysis.synth import Truth, simulate

PLAN_HASH = AnalysisPlan().plan_hash
#: Audits whose data the synthetic registry here does not hold (dose steps, timing switches,
#: DMTs beside LDN, T-cell counts; ``after_stopping`` it does hold).
WITHOUT_DATA = ("t_cells", "dose_timing", "dose_level", "combination")


@pytest.fixture(scope="module")
def results() -> dict[str, AnalysisResult]:
    frames = simulate(1500, Truth(start_rate=0.003, supplement_rate=0.003), seed=8)
    return run_all(frames)


def _audits(results, k: int = 5) -> dict:
    return public_audits(results, min_cell_size=k, on="2026-01-01", plan_hash=PLAN_HASH)


def test_every_analysis_a_claim_names_has_a_section() -> None:
    named = {c.registry_audit for c in load_claims().claims if c.registry_audit}
    assert named <= set(AUDITED) | {NOF1}
    sections = _audits({})["sections"]
    assert [s["anchor"] for s in sections] == [f"audit-{name}" for name in AUDITED]
    assert all(s["state"] == "no_data" and s["estimate"] is None for s in sections)


def test_headlines_are_the_engines_own(results) -> None:
    page = _audits(results)
    assert page["diagnostics"]["state"] == (
        "passed" if results["diagnostics"].details["passed"] else "failed"
    )
    for section in page["sections"]:
        result = results[section["key"]]
        if section["key"] in WITHOUT_DATA:
            assert section["state"] == "no_data" and section["estimate"] is None
            continue
        assert section["state"] == "shown", section["key"]
        assert section["estimate"] == estimate_text(result.headline)
        assert section["label"] == result.headline.label
        # Published counts are rounded to base k (reports/disclosure.py).
        assert section["n"] == shown_count(result.population["n_patients"], page["min_cell_size"])
    relapses = next(s for s in page["sections"] if s["key"] == "relapses")
    assert "95% CI" in relapses["estimate"]


def test_results_resting_on_too_few_people_are_suppressed(results) -> None:
    biggest = max(r.population.get("n_patients", 0) for r in results.values())
    page = _audits(results, k=biggest + 1)
    states = {s["key"]: s["state"] for s in page["sections"] if s["key"] not in WITHOUT_DATA}
    assert set(states.values()) == {"suppressed"}
    assert all(
        s["estimate"] is None and s["n"] is None and s["label"] is None for s in page["sections"]
    )
    assert page["diagnostics"] == {"state": "not_available", "failed_checks": []}
    # A headline whose own count is small (side-effect events) is suppressed on its own.
    events = results["adverse_events"].headline.n
    patients = results["adverse_events"].population["n_patients"]
    assert events < patients
    side_effects = next(
        s for s in _audits(results, k=events + 1)["sections"] if s["key"] == "adverse_events"
    )
    assert side_effects["state"] == "suppressed"


def test_failed_diagnostics_are_flagged_and_messages_are_not_shown(results) -> None:
    changed = copy.deepcopy(results)
    changed["diagnostics"].details["failures"] = ["balance: age SMD 0.31 (target < 0.1)"]
    changed["relapses"].warn(DiagnosticsFailed, "bias diagnostics failed")
    changed["labs"] = AnalysisResult.insufficient("labs", "only 3 users with paired labs")
    page = _audits(changed)
    assert page["diagnostics"] == {"state": "failed", "failed_checks": ["balance"]}
    sections = {s["key"]: s for s in page["sections"]}
    assert sections["relapses"]["diagnostics_failed"] is True
    assert sections["progression"]["diagnostics_failed"] is False
    assert sections["labs"]["state"] == "no_data"
    assert "only 3" not in repr(page)


def test_uncontrolled_headlines_say_so_and_bring_the_comparison(results) -> None:
    page = _audits(results)
    by_key = {s["key"]: s for s in page["sections"]}
    progression = by_key["progression"]  # headline: a share of LDN users, no comparison
    assert "vs matched non-users" not in progression["label"]
    assert progression["uncontrolled"] is True
    comparison = next(
        e for e in results["progression"].estimates if "vs matched non-users" in e.label
    )
    assert progression["comparison"] == {
        "label": comparison.label,
        "estimate": estimate_text(comparison),
    }
    assert by_key["relapses"]["uncontrolled"] is False  # the matched ratio is the headline
    assert by_key["adverse_events"]["uncontrolled"] is False  # rates, not an effect claim
    # with only the users' own change left, the warning stays and no comparison is offered
    symptoms = copy.deepcopy(results["symptoms"])
    symptoms.estimates = [e for e in symptoms.estimates if "vs matched non-users" not in e.label]
    alone = _audits({**results, "symptoms": symptoms})
    section = next(s for s in alone["sections"] if s["key"] == "symptoms")
    assert section["uncontrolled"] is True and section["comparison"] is None


def test_claim_analyses_within_person_are_shown_for_their_claims() -> None:
    data = claim_registry(200, ClaimTruth(night_minus_morning=-3.0, t_cell_fold=1.5), seed=3)
    plan = AnalysisPlan()
    results = {
        "t_cells": analyse_t_cells(data, plan),
        "dose_timing": analyse_dose_timing(data, plan),
        "dose_level": analyse_dose_level(data, plan),
        "combination": analyse_combination(data, plan),
        "after_stopping": analyse_after_stopping(data, plan),
    }
    sections = {s["key"]: s for s in _audits(results)["sections"]}
    for name, result in results.items():
        assert sections[name]["state"] == "shown", name
        assert sections[name]["estimate"] == estimate_text(result.headline)
    assert "CD3" in sections["t_cells"]["label"]
    assert sections["dose_timing"]["within_person"] is True
    assert sections["combination"]["within_person"] is False
    claims = {c.id: c.registry_audit for c in load_claims().claims}
    assert claims["t-cells-up-300-percent"] == "t_cells"
    assert claims["bedtime-for-endorphin-peak"] == "dose_timing"
    assert claims["spasticity-stay-at-3mg"] == "dose_level"
    # The combination audit compares side effects, not effectiveness, so the claim that
    # immunosuppressants reduce LDN's effect does not link to it (it says what would test it).
    assert claims["immunosuppressants-reduce-ldn-effect"] is None
    assert claims["possibility-of-addiction"] == "after_stopping"
