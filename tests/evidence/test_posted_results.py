"""Posted results on a real ClinicalTrials.gov v2 record: NCT03722472 (results first posted
2023-06-01; tests/fixtures/SOURCES.md). Every expected value below is read from that file."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.domain.evidence import ChangeKind, PostedValue
from ldn_outcomes.evidence import mirror, views
from ldn_outcomes.evidence.ctgov_parse import parse_payload, parse_text
from ldn_outcomes.evidence.sync import import_files

FILE = Path(__file__).parents[1] / "fixtures" / "ctgov" / "ctgov_v2_NCT03722472.json"
GROUPS = ("Single-vial Presentation ID93 + GLA-SE", "Two-vial Presentation ID93 + GLA-SE")


def _trial():
    batch = parse_text(FILE.read_text(encoding="utf-8"), source=FILE.name)
    assert batch.problems == []
    (trial,) = batch.trials
    return trial


def _outcome(trial, title: str, description_word: str = ""):
    (found,) = [
        o
        for o in trial.posted_outcomes
        if o.title == title and description_word in (o.description or "")
    ]
    return found


def test_the_file_is_a_raw_single_study_response() -> None:
    """Not wrapped by the tool that saved it: the v2 ``GET /api/v2/studies/{nct}`` shape."""
    raw = json.loads(FILE.read_text(encoding="utf-8"))
    assert set(raw) == {
        "protocolSection",
        "resultsSection",
        "documentSection",
        "derivedSection",
        "hasResults",
    }
    assert raw["hasResults"] is True


def test_registry_fields_and_results_summary() -> None:
    trial = _trial()
    assert trial.nct_id == "NCT03722472" and trial.status == "COMPLETED"
    assert trial.has_results and trial.results_first_posted == "2023-06-01"
    assert trial.last_update_posted == "2023-06-01"
    assert trial.enrollment == 48 and trial.enrollment_type == "ACTUAL"
    assert trial.phases == ("PHASE1",) and trial.masking == "QUADRUPLE"
    assert trial.reference_pmids == ("36878897",)
    kinds = [o.type for o in trial.posted_outcomes]
    assert kinds == ["PRIMARY"] * 4 + ["SECONDARY"] * 6
    assert [o.title for o in trial.posted_outcomes[:4]] == [
        "Local Injection Site Reactogenicity",
        "Systemic Reactogenicity",
        "All Adverse Events",
        "Serious Adverse Events",
    ]
    assert all(o.reporting_status == "POSTED" for o in trial.posted_outcomes)


def test_a_count_measure_with_its_denominators() -> None:
    local = _outcome(_trial(), "Local Injection Site Reactogenicity")
    assert (local.param_type, local.unit, local.dispersion_type) == ("NUMBER", "participants", None)
    assert local.time_frame == "7 days following each injection"
    assert local.groups == GROUPS and local.group_ids == ("OG000", "OG001")
    assert local.analysed_units == "Participants"
    assert [(v.group_id, v.value) for v in local.analysed] == [("OG000", "23"), ("OG001", "25")]
    (row,) = local.rows
    assert (row.class_title, row.category) == (None, None)
    assert [(v.group_id, v.value) for v in row.values] == [("OG000", "22"), ("OG001", "21")]
    assert local.population == (
        "Safety population (n=48). All subjects receiving at least one study injection."
    )


def test_classes_with_their_own_denominators_and_confidence_limits() -> None:
    rate = _outcome(_trial(), "IgG Antibody Response Rate")
    assert rate.unit == "percentage of participants"
    assert rate.dispersion_type == "95% Confidence Interval"
    assert [r.class_title for r in rate.rows] == [
        f"Day {d} Responder rate" for d in (14, 56, 70, 84, 224)
    ]
    day14 = rate.rows[0]
    assert [v.value for v in day14.analysed] == ["23", "24"]
    assert day14.values == (
        PostedValue(group_id="OG000", value="30.4", lower="13.21", upper="52.92"),
        PostedValue(group_id="OG001", value="25.0", lower="9.77", upper="46.71"),
    )
    # Posted text is kept as posted: "100" and "100.0", not re-rounded.
    assert (rate.rows[2].values[0].value, rate.rows[2].values[0].upper) == ("100", "100.0")


def test_geometric_means_and_a_class_title_kept_as_posted() -> None:
    trial = _trial()
    titre = _outcome(trial, "IgG Antibody Response Magnitude")
    assert (titre.param_type, titre.unit) == ("GEOMETRIC_MEAN", "titer")
    day70 = next(r for r in titre.rows if r.class_title == "Day 70 Geometric Mean MEPT")
    assert [(v.value, v.lower, v.upper) for v in day70.values] == [
        ("10868", "5971", "19780"),
        ("2583", "1608", "4147"),
    ]
    il10 = _outcome(trial, "Cytokine Response", "IL-10")
    assert il10.time_frame == "Days 0, 14, 56, 70, 84 and 224"
    ifn = _outcome(trial, "Cytokine Response", "IFN")
    assert "DAY 84 Responder rate" in [r.class_title for r in ifn.rows]
    assert _outcome(trial, "T Cell Response", "CD8").rows[-1].values[1].value == "15.8"


def test_the_record_posts_no_statistical_analyses() -> None:
    assert all(o.analyses == () for o in _trial().posted_outcomes)


def test_analyses_and_spreads_are_read_when_posted() -> None:
    """Shape only: NCT03722472 posts no analyses, so one is added in memory with placeholder
    values (not data about this or any trial), as are a spread and a comment."""
    raw = json.loads(FILE.read_text(encoding="utf-8"))
    measure = raw["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]
    measure["analyses"] = [
        {
            "groupIds": ["OG000", "OG001"],
            "statisticalMethod": "placeholder method",
            "pValue": "<0.001",
            "paramType": "Risk Difference (RD)",
            "paramValue": "1.5",
            "ciPctValue": "95",
            "ciNumSides": "TWO_SIDED",
            "ciLowerLimit": "0.5",
            "ciUpperLimit": "2.5",
            "nonInferiorityType": "SUPERIORITY",
        }
    ]
    cell = measure["classes"][0]["categories"][0]["measurements"][0]
    cell.update(spread="1.25", comment="placeholder comment")
    (trial,) = parse_payload(raw).trials
    (analysis,) = trial.posted_outcomes[0].analyses
    assert analysis.group_ids == ("OG000", "OG001")
    assert (analysis.p_value, analysis.ci_lower, analysis.ci_upper, analysis.ci_percent) == (
        "<0.001",
        "0.5",
        "2.5",
        "95",
    )
    assert (analysis.method, analysis.non_inferiority) == ("placeholder method", "SUPERIORITY")
    assert trial.posted_outcomes[0].rows[0].values[0].spread == "1.25"
    table = views.posted_results(trial)["primary"][0]
    assert table["analyses"] == [
        f"{GROUPS[0]} vs {GROUPS[1]}: Risk Difference (RD) 1.5 "
        "(95% CI 0.5 to 2.5) p <0.001 [placeholder method]"
    ]
    assert table["rows"][0]["cells"][0] == "22 (1.25) [placeholder comment]"


def test_a_measurement_without_its_group_is_a_problem() -> None:
    raw = json.loads(FILE.read_text(encoding="utf-8"))
    broken = copy.deepcopy(raw)
    cell = broken["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][1]["classes"][0][
        "categories"
    ][0]["measurements"][0]
    del cell["groupId"]
    batch = parse_payload({"studies": [broken, raw]})
    assert [t.nct_id for t in batch.trials] == ["NCT03722472"]
    assert batch.problems[0].field == "measurements"
    assert batch.problems[0].record == "ctgov_study NCT03722472"


def test_page_data_lists_primary_measures_with_group_values() -> None:
    data = views.posted_results(_trial())
    assert data["results_first_posted"] == "2023-06-01" and data["other_count"] == 6
    assert [t["title"] for t in data["primary"]] == [
        "Local Injection Site Reactogenicity",
        "Systemic Reactogenicity",
        "All Adverse Events",
        "Serious Adverse Events",
    ]
    systemic = data["primary"][1]
    assert [(g["title"], g["analysed"]) for g in systemic["groups"]] == [
        (GROUPS[0], "23"),
        (GROUPS[1], "25"),
    ]
    assert systemic["rows"] == [{"label": "", "cells": ["9", "12"]}]
    assert data["primary"][2]["rows"][0]["cells"] == ["23", "24"]


def test_import_logs_results_posted_once(engine) -> None:
    first = import_files(engine, [FILE], now=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert first.problems == [] and first.new == 1 and first.links == 1
    assert [c["kind"] for c in first.changes] == [
        "new_study",
        "results_posted",
        "publication_linked",
    ]
    (posted,) = [e for e in mirror.changes_since(engine) if e.kind is ChangeKind.RESULTS_POSTED]
    assert posted.key == "NCT03722472"
    assert posted.detail == {"results_first_posted": "2023-06-01"}
    stored = mirror.get_trial(engine, "NCT03722472")
    assert stored is not None and stored.posted_outcomes == _trial().posted_outcomes
    again = import_files(engine, [FILE], now=lambda: dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    assert (again.new, again.updated, again.unchanged, again.changes) == (0, 0, 1, [])


def test_cli_import_is_idempotent(db_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["evidence", "import", str(FILE), "--db", db_url, "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["new"] == 1 and report["problems"] == []
    assert "results_posted" in [c["kind"] for c in report["changes"]]
    result = runner.invoke(app, ["evidence", "import", str(FILE), "--db", db_url, "--json"])
    report = json.loads(result.stdout)
    assert (report["new"], report["unchanged"], report["changes"]) == (0, 1, [])
