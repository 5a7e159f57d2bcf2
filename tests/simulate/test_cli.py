"""``ldn simulate`` to files and into a database; refuses ambiguous targets."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.store.db import make_engine

runner = CliRunner()


def test_simulate_to_files_with_effects(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--patients",
            "60",
            "--years",
            "1",
            "--seed",
            "2",
            "--effect-relapse",
            "0.5",
            "--effect-fatigue",
            "-6",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows"]["patients"] == 60
    truth = json.loads((out / "truth.json").read_text())
    assert truth["parameters"]["effects"]["relapse_rate_ratio"] == 0.5
    assert truth["parameters"]["effects"]["fatigue_points"] == -6
    assert (out / "questionnaires.csv").exists()


def test_simulate_into_a_new_database_with_config(tmp_path: Path) -> None:
    config = tmp_path / "params.toml"
    config.write_text('seed = 8\n[cohort]\nid_prefix = "cfg"\n')
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--patients",
            "30",
            "--years",
            "1",
            "--config",
            str(config),
            "--db",
            url,
            "--truth",
            str(tmp_path / "t.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Simulated registry" in result.stdout
    engine = make_engine(url)
    with engine.connect() as connection:
        ids = connection.execute(text("SELECT patient_id FROM patients")).scalars().all()
    engine.dispose()
    assert len(ids) == 30 and all(i.startswith("cfg-") for i in ids)
    truth = json.loads((tmp_path / "t.json").read_text())
    assert truth["seed"] == 8  # from the config: an option not given does not override it


def test_simulate_needs_exactly_one_target(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--patients", "5"])
    assert result.exit_code != 0
    assert "exactly one of --db" in result.output
