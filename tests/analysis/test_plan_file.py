"""Plan files: written plans reload to the same run; a typo or an out-of-range value is an
input error naming the key, never a silent default."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.analysis.plan_file import (
    PLAN_FORMAT,
    PLAN_VERSION,
    RULES,
    plan_from_json,
    plan_problems,
    plan_to_json,
    read_plan,
    write_plan,
)
from ldn_outcomes.cli.main import app
from ldn_outcomes.errors import ValidationFailed

HEADER = {"format": PLAN_FORMAT, "version": PLAN_VERSION}


def problems_of(document: dict | str) -> list[str]:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(ValidationFailed) as caught:
        plan_from_json(text, source="plan.json")
    return [f"{p.field}: {p.rule}" for p in caught.value.problems]


def test_default_plan_round_trips_to_the_same_hash() -> None:
    text = plan_to_json(AnalysisPlan())
    again = plan_from_json(text)
    assert again == AnalysisPlan() and again.plan_hash == AnalysisPlan().plan_hash
    assert plan_to_json(again) == text


def test_written_plan_lists_every_option_sorted_one_per_line() -> None:
    document = json.loads(plan_to_json(AnalysisPlan()))
    names = [field.name for field in dataclasses.fields(AnalysisPlan)]
    assert list(document) == ["format", "version", "options"]
    assert list(document["options"]) == sorted(names)
    lines = plan_to_json(AnalysisPlan()).splitlines()
    assert len(lines) == len(names) + 6  # braces, format, version, "options": {, }


@given(
    alpha=st.floats(0.001, 0.2),
    horizons=st.lists(st.floats(0.25, 10), min_size=1, max_size=4, unique=True).map(sorted),
    attack_max_days=st.none() | st.integers(0, 365),
    model=st.sampled_from(["poisson_gee", "negbin"]),
    bins=st.lists(st.integers(1, 2000), max_size=4, unique=True).map(sorted),
    instruments=st.lists(
        st.sampled_from(["mfis", "fss", "nrs-fatigue", "nrs-spasticity", "mfis5"]),
        min_size=1,
        unique=True,
    ),
)
def test_any_valid_plan_round_trips(
    alpha: float,
    horizons: list[float],
    attack_max_days: int | None,
    model: typing.Literal["poisson_gee", "negbin"],
    bins: list[int],
    instruments: list[str],
) -> None:
    plan = AnalysisPlan(
        alpha=alpha,
        horizons_years=tuple(horizons),
        attack_max_days=attack_max_days,
        relapse_model=model,
        relapse_adjust_bins_days=tuple(bins),
        symptom_instruments=tuple(instruments),
    )
    again = plan_from_json(plan_to_json(plan))
    assert again == plan and again.canonical_json() == plan.canonical_json()


def test_options_left_out_take_the_defaults_and_json_integers_are_floats() -> None:
    plan = plan_from_json(json.dumps({**HEADER, "options": {"alpha": 0.1, "caliper_distance": 4}}))
    assert plan == AnalysisPlan(alpha=0.1, caliper_distance=4.0)
    assert plan.plan_hash == AnalysisPlan(alpha=0.1, caliper_distance=4.0).plan_hash
    assert plan_from_json(json.dumps({**HEADER, "options": {}})) == AnalysisPlan()


def test_every_candidate_is_a_plan_option() -> None:
    """``candidate_pool_per_user`` null searches every matching candidate (a plan, not the
    default: docs/analysis.md, "The analysis seed")."""
    plan = plan_from_json(json.dumps({**HEADER, "options": {"candidate_pool_per_user": None}}))
    assert plan.candidate_pool_per_user is None
    assert plan.plan_hash != AnalysisPlan().plan_hash
    assert plan_from_json(plan_to_json(plan)) == plan


def test_unknown_keys_are_named_with_a_suggestion() -> None:
    assert problems_of({**HEADER, "options": {"alhpa": 0.1}}) == [
        "options.alhpa: is not a plan key; did you mean options.alpha?"
    ]
    found = problems_of({**HEADER, "options": {}, "analyses": []})
    assert found == ["analyses: is not a plan key"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"alpha": 1.5}, "options.alpha: must be greater than 0 and less than 1"),
        ({"power": 0}, "options.power: must be greater than 0 and less than 1"),
        ({"seed": -1}, "options.seed: must be at least 0"),
        ({"matches_per_user": 0}, "options.matches_per_user: must be at least 1"),
        ({"caliper_distance": 0}, "options.caliper_distance: must be greater than 0"),
        ({"horizons_years": []}, "options.horizons_years: must list at least one value"),
        ({"horizons_years": [3, 1]}, "options.horizons_years: must be strictly increasing"),
        ({"horizons_years": [0, 1]}, "options.horizons_years: element 0 must be greater than 0"),
        ({"attack_max_days": -1}, "options.attack_max_days: must be at least 0"),
        ({"candidate_pool_per_user": 0}, "options.candidate_pool_per_user: must be at least 1"),
        (
            {"symptom_months": [3, 6]},
            "options.symptom_tolerance_days: must give one tolerance per symptom month (2)",
        ),
        (
            {"equipoise_bounds": [0.7, 0.3]},
            "options.equipoise_bounds: must be [low, high] with 0 <= low < high <= 1",
        ),
        (
            {"lab_after_days": [365, 28]},
            "options.lab_after_days: must be [first, last] with 0 <= first <= last",
        ),
    ],
)
def test_out_of_range_values_name_the_key_and_the_rule(options: dict, expected: str) -> None:
    assert problems_of({**HEADER, "options": options}) == [expected]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"seed": 1.5}, "options.seed"),
        ({"seed": True}, "options.seed"),
        ({"alpha": "0.05"}, "options.alpha"),
        ({"count_unconfirmed_relapses": 1}, "options.count_unconfirmed_relapses"),
        ({"relapse_model": "glm"}, "options.relapse_model"),
        ({"horizons_years": [1, "2"]}, "options.horizons_years[1]"),
        ({"lab_after_days": [28]}, "options.lab_after_days[1]"),
        ({"symptom_instruments": "mfis"}, "options.symptom_instruments"),
    ],
)
def test_wrong_types_name_the_key(options: dict, field: str) -> None:
    assert [problem.split(":")[0] for problem in problems_of({**HEADER, "options": options})] == [
        field
    ]


def test_not_a_number_and_unknown_codes_are_refused() -> None:
    text = json.dumps({**HEADER, "options": {"alpha": 0.05}}).replace("0.05", "NaN")
    assert problems_of(text)[0].startswith("options.alpha:")
    assert problems_of({**HEADER, "options": {"negative_control_class": "ldn"}})[0].startswith(
        "options.negative_control_class: must be one of the drug classes"
    )
    assert (
        "'foo' is not known"
        in problems_of({**HEADER, "options": {"symptom_instruments": ["mfis", "foo"]}})[0]
    )
    assert problems_of({**HEADER, "options": {"fatigue_instrument": "edss"}})[0].startswith(
        "options.fatigue_instrument: must be one of the instruments"
    )


def test_file_level_problems() -> None:
    assert problems_of("{")[0].startswith("file: is not JSON")
    assert problems_of("[]")[0].startswith("file: must be a JSON object")
    assert problems_of({"options": {}}) == [
        f"format: must be {PLAN_FORMAT!r}",
        "version: must be 1 (the only version)",
    ]
    assert problems_of({**HEADER}) == ["options: is missing: write {} to run the default plan"]


def test_every_numeric_option_has_a_range_rule() -> None:
    """A new option must say its range here, or a plan file could carry any number into it."""
    hints = typing.get_type_hints(AnalysisPlan)
    numeric = [
        name
        for name, hint in hints.items()
        if any(t in (int, float) for t in (hint, *typing.get_args(hint)))
    ]
    assert numeric and not [name for name in numeric if name not in RULES]
    assert set(RULES) <= set(hints)
    assert plan_problems(AnalysisPlan()) == []


def test_read_and_write_files(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    write_plan(AnalysisPlan(matches_per_user=2), path)
    assert read_plan(path) == AnalysisPlan(matches_per_user=2)
    with pytest.raises(ValidationFailed, match="cannot be read"):
        read_plan(tmp_path / "missing.json")


def test_cli_writes_a_plan_that_runs_again(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    written = tmp_path / "plan.json"
    result = runner.invoke(app, ["analyze", "--write-plan", str(written)])
    assert result.exit_code == 0, result.output
    assert read_plan(written) == AnalysisPlan()
    edited = tmp_path / "edited.json"
    edited.write_text(written.read_text().replace('"alpha": 0.05', '"alpha": 0.1'))
    result = runner.invoke(app, ["analyze", "--plan", str(edited), "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["plan"]["hash"] == AnalysisPlan(alpha=0.1).plan_hash
    assert out["plan"]["options"]["alpha"] == 0.1


def test_cli_refuses_a_bad_plan_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**HEADER, "options": {"matches_per_usr": 2}}))
    result = CliRunner().invoke(app, ["analyze", "--plan", str(bad), "--db", "sqlite://"])
    assert result.exit_code == 2
    assert "options.matches_per_usr" in result.stderr and "matches_per_user" in result.stderr


def test_cli_fills_in_a_partial_plan_and_report_reads_plans_too(tmp_path: Path) -> None:
    runner = CliRunner()
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({**HEADER, "options": {"matches_per_user": 2}}))
    full = tmp_path / "full.json"
    result = runner.invoke(
        app, ["analyze", "--plan", str(partial), "--write-plan", str(full), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["plan_hash"] == AnalysisPlan(matches_per_user=2).plan_hash
    assert full.read_text() == plan_to_json(AnalysisPlan(matches_per_user=2))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**HEADER, "options": {"power": 1.5}}))
    page = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--plan", str(bad), "--out", str(page)])
    assert result.exit_code == 2 and "options.power" in result.stderr
    assert not page.exists()
