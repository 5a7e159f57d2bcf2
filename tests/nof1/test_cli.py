"""``ldn nof1`` end to end: design, bad input, sheets, blinding, analysis, series."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.store.db import make_engine

from .conftest import add_diary, add_patient

runner = CliRunner()
START = dt.date(2025, 1, 6)


def ldn(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def design(db_url: str, patient: str, *extra: str) -> tuple[int, str, str]:
    return ldn(
        "nof1",
        "design",
        "--patient",
        patient,
        "--pairs",
        "3",
        "--period-weeks",
        "4",
        "--washout-days",
        "7",
        "--outcome",
        "fatigue_nrs",
        "--seed",
        "42",
        "--start",
        START.isoformat(),
        "--db",
        db_url,
        *extra,
    )


def test_nof1_end_to_end(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    for patient, seed in (("P1", 42), ("P2", 42)):
        add_patient(engine, patient)
        add_diary(
            engine,
            patient,
            START - dt.timedelta(days=30),
            30 + 168,
            pairs=3,
            seed=seed,
            effect=-2.0 if patient == "P1" else -0.5,
            trial_start=START,
        )
    engine.dispose()

    code, out, err = design(db_url, "P1", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["trial_id"] == "P1-nof1-20250106" and data["status"] == "blinded"
    assert data["detectable_effect"]["baseline_days"] == 30
    assert "seed" not in out
    assert design(db_url, "P2")[0] == 0

    # Bad input: each refused with the field and the rule.
    code, _, err = design(db_url, "P1", "--trial-id", "X1", "--pairs", "1")
    assert code == 2 and "pairs" in err and "at least 2 pairs" in err
    code, _, err = ldn(
        "nof1",
        "design",
        "--patient",
        "P1",
        "--period-weeks",
        "1",
        "--washout-days",
        "7",
        "--seed",
        "1",
        "--db",
        db_url,
    )
    assert code == 2 and "period_days" in err and "longer than the washout" in err
    code, _, err = ldn(
        "nof1",
        "design",
        "--patient",
        "P1",
        "--outcome",
        "spasm_nrs",
        "--mcid",
        "1",
        "--seed",
        "1",
        "--db",
        db_url,
    )
    assert code == 2 and "never recorded spasm_nrs" in err

    # Sheets for the pharmacy and the patient.
    code, out, err = ldn(
        "nof1", "sheets", "P1-nof1-20250106", "--out", str(tmp_path), "--db", db_url
    )
    assert code == 0, err
    assert (tmp_path / "P1-nof1-20250106.ics").exists()
    assert "Naltrexone" in (tmp_path / "P1-nof1-20250106-pharmacy.md").read_text()

    # Blinded until unblinded.
    code, _, err = ldn("nof1", "analyze", "P1-nof1-20250106", "--db", db_url)
    assert code == 4 and "still blinded" in err
    code, out, err = ldn("nof1", "unblind", "P1-nof1-20250106", "--db", db_url, "--json")
    assert code == 0, err
    assert {p["treatment"] for p in json.loads(out)["periods"]} == {"ldn", "placebo"}

    code, out, err = ldn("nof1", "analyze", "P1-nof1-20250106", "--db", db_url, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["estimate"]["mean_difference"] < -0.8
    assert result["randomisation_test"]["allocations"] == 8
    assert result["conclusion"]["verdict"] == "likely helps"
    assert result["cent_report"]["guideline"].endswith("doi:10.1136/bmj.h1738")
    chart = tmp_path / "chart.svg"
    code, out, _ = ldn("nof1", "analyze", "P1-nof1-20250106", "--chart", str(chart), "--db", db_url)
    assert code == 0 and "likely helps" in out
    assert chart.read_text().startswith("<svg")

    # A series needs two unblinded trials.
    code, out, _ = ldn("nof1", "series", "--db", db_url, "--json")
    assert json.loads(out)["result"] is None
    assert ldn("nof1", "unblind", "P2-nof1-20250106", "--db", db_url)[0] == 0
    code, out, err = ldn("nof1", "series", "--db", db_url, "--json")
    assert code == 0, err
    pooled = json.loads(out)["result"]
    assert pooled["trials"] == 2 and pooled["mean_effect"] < 0


def test_early_unblinding_is_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    add_patient(engine, "P1")
    add_diary(engine, "P1", dt.date.today() - dt.timedelta(days=20), 20)
    engine.dispose()
    code, out, err = ldn(
        "nof1", "design", "--patient", "P1", "--seed", "3", "--db", db_url, "--trial-id", "NOW"
    )
    assert code == 0, err
    code, _, err = ldn("nof1", "unblind", "NOW", "--db", db_url)
    assert code == 4 and "still blinded" in err and "after the last period" in err


def test_nof1_stop_end_to_end(db_url: str) -> None:
    """A trial stopped early from the command line: refused without a reason or on a day
    after its end, recorded once, then unblinded and analysed on the days before the stop."""
    engine = make_engine(db_url)
    for patient in ("P3", "P4"):
        add_patient(engine, patient)
        add_diary(engine, patient, START - dt.timedelta(days=30), 30 + 168, pairs=3, seed=42)
    engine.dispose()
    code, out, err = design(db_url, "P3", "--json")
    assert code == 0, err
    trial = json.loads(out)["trial_id"]
    code, out, err = design(db_url, "P4", "--json")
    assert code == 0, err
    full_trial = json.loads(out)["trial_id"]
    code, _, err = ldn("nof1", "stop", trial, "--reason", " ", "--db", db_url)
    assert code != 0 and "reason" in err
    code, _, err = ldn(
        "nof1", "stop", trial, "--reason", "rash", "--on", "2025-07-01", "--db", db_url
    )
    assert code != 0 and "stopped_on" in err and "ended, not stopped" in err
    stop_day = "2025-05-15"  # in the third pair
    code, out, err = ldn(
        "nof1", "stop", trial, "--reason", "rash", "--on", stop_day, "--db", db_url, "--json"
    )
    assert code == 0, err
    stopped = json.loads(out)
    assert stopped["stopped_on"] == stop_day and stopped["stop_reason"] == "rash"
    code, _, err = ldn("nof1", "stop", trial, "--reason", "again", "--db", db_url)
    assert code != 0 and "already stopped" in err
    code, _, err = ldn("nof1", "unblind", trial, "--db", db_url)
    assert code == 0, err
    code, out, err = ldn("nof1", "analyze", trial, "--db", db_url, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["stopped_on"] == stop_day
    assert result["estimate"]["pairs_used"] == 2
    report = {i["item"]: i["content"] for i in result["cent_report"]["items"]}
    assert report["14b"].startswith(f"Stopped early on {stop_day}")
    # Pooled with a trial that ran to its end, the stopped trial is kept and named.
    assert ldn("nof1", "unblind", full_trial, "--db", db_url)[0] == 0
    code, out, err = ldn("nof1", "series", "--db", db_url, "--json")
    assert code == 0, err
    series = json.loads(out)
    assert series["result"]["trials"] == 2
    assert series["stopped_early"] == [
        {"trial_id": trial, "stopped_on": stop_day, "reason": "rash", "pairs_used": 2}
    ]
    code, out, _ = ldn("nof1", "series", "--db", db_url)
    assert f"included {trial}, stopped early on {stop_day}" in out
