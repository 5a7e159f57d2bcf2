"""Every default parameter says where it comes from; configs are strict."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.simulate import SimulationParams, describe


def test_every_parameter_has_a_source() -> None:
    rows = describe()
    assert len(rows) > 60
    missing = [row["name"] for row in rows if not row["source"].strip()]
    assert not missing, f"parameters without a source: {missing}"


def test_sourced_defaults_name_a_locator_or_say_assumption() -> None:
    """A source is a citation with a PMID, DOI, NCT id, PMC id or URL, or says 'assumption'."""
    locators = (
        "doi",
        "pmid",
        "nct",
        "pmc",
        "http",
        "assumption",
        "knob",
        "cli",
        "issue 4",
        "derived",
        "fixed end",
        "real dmt",
        "neurology 1990",
        "clin neurol neurosurg",
    )
    for row in describe():
        text = row["source"].lower()
        assert any(mark in text for mark in locators), row


def test_toml_config_overrides_and_refuses_unknown_keys(tmp_path: Path) -> None:
    config = tmp_path / "params.toml"
    config.write_text(
        'patients = 50\nend_date = "2024-06-30"\n[relapses]\nbase_rate_rr = 0.5\n'
        "[edss]\nvisit_interval_days = [100, 200]\n"
    )
    params = SimulationParams.from_toml(config)
    assert params.patients == 50
    assert params.relapses.base_rate_rr == 0.5
    assert params.edss.visit_interval_days == (100, 200)
    assert str(params.end_date) == "2024-06-30"
    config.write_text("[relapses]\nno_such_rate = 1\n")
    with pytest.raises(ValidationFailed, match="no_such_rate"):
        SimulationParams.from_toml(config)


def test_replace_changes_groups_and_validates() -> None:
    params = SimulationParams().replace(effects__relapse_rate_ratio=0.5, seed=3)
    assert params.effects.relapse_rate_ratio == 0.5 and params.seed == 3
    assert dataclasses.asdict(SimulationParams())["effects"]["relapse_rate_ratio"] == 1.0
    with pytest.raises(ValidationFailed, match="effects.relapse_rate_ratio: must be > 0"):
        SimulationParams().replace(effects__relapse_rate_ratio=0)
    with pytest.raises(ValidationFailed) as caught:
        SimulationParams(patients=0, years=0)
    assert [p.field for p in caught.value.problems] == ["patients", "years"]
    assert caught.value.exit_code == 2


def test_defaults_are_null_effects() -> None:
    effects = SimulationParams().effects
    assert (
        effects.relapse_rate_ratio,
        effects.progression_hazard_ratio,
        effects.fatigue_points,
        effects.relapse_recovery_ratio,
        effects.heterogeneity_sd,
    ) == (1.0, 1.0, 0.0, 1.0, 0.0)


def test_the_simulator_page_lists_every_parameter() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()
    missing = [row["name"] for row in describe() if f"`{row['name']}`" not in page]
    assert not missing, f"docs/simulator.md does not list: {missing}"
