"""``ldn record`` and ``ldn regimen``: add, correct with a reason, remove with a reason,
history, and the dose change / stop in one command."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ldn_outcomes.cli.main import app

runner = CliRunner()


def ldn(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_record_lifecycle_and_regimen(db_url: str) -> None:
    assert ldn("init", "--db", db_url)[0] == 0
    code, _, err = ldn(
        "record", "add", "patients", "P1", "year_of_birth=1980", "phenotype=RRMS", "--db", db_url
    )
    assert code == 0, err
    code, out, err = ldn(
        "record", "add", "edss", "P1", "date=2024-05-01", "score=3.5", "--db", db_url, "--json"
    )
    assert code == 0, err
    edss_id = str(json.loads(out)[0]["id"])
    code, _, err = ldn("record", "correct", "edss", edss_id, "score=3.0", "--db", db_url)
    assert code == 2 and "reason" in err
    code, out, _ = ldn(
        "record", "correct", "edss", edss_id, "score=3.0", "--reason", "typo", "--db", db_url
    )
    assert code == 0
    code, _, err = ldn("record", "remove", "edss", edss_id, "--reason", "wrong day", "--db", db_url)
    assert code == 0, err
    code, out, _ = ldn("record", "list", "edss", "P1", "--db", db_url, "--json")
    assert json.loads(out) == []
    code, out, _ = ldn("record", "history", "edss", edss_id, "--db", db_url, "--json")
    history = json.loads(out)
    assert [h["action"] for h in history] == ["create", "correct", "remove"]
    assert history[1]["reason"] == "typo" and history[1]["actor"] == "cli"

    ldn_fields = ["drug_name=naltrexone", "drug_class=ldn", "time_of_day=bedtime"]
    code, _, err = ldn(
        "record", "add", "exposures", "P1", *ldn_fields, "dose_mg=1.5",
        "start_date=2024-01-01", "--db", db_url,
    )  # fmt: skip
    assert code == 0, err
    code, _, err = ldn(
        "record", "add", "exposures", "P1", *ldn_fields, "dose_mg=3",
        "start_date=2024-02-01", "--db", db_url,
    )  # fmt: skip
    assert code == 2 and "already has an ongoing LDN regimen" in err
    code, out, err = ldn(
        "regimen", "change", "P1", "--dose", "3", "--from", "2024-02-01", "--db", db_url, "--json"
    )
    assert code == 0, err
    changed = json.loads(out)
    assert changed["ended"]["stop_date"] == "2024-01-31"
    assert changed["new"]["time_of_day"] == "bedtime"
    code, out, err = ldn("regimen", "stop", "P1", "--last-day", "2024-03-01", "--db", db_url)
    assert code == 0 and "stopped after 2024-03-01" in out
    code, _, err = ldn("record", "add", "sites", "S1", "--db", db_url)
    assert code == 2 and "must be one of" in err


def test_a_record_id_beyond_the_database_is_refused_by_name(db_url: str) -> None:
    """Beyond 64 bits the SQLite driver raised OverflowError (a traceback): now a named rule."""
    assert ldn("init", "--db", db_url)[0] == 0
    for key in ("99999999999999999999", "0", "²"):
        code, _, err = ldn("record", "history", "edss", key, "--db", db_url)
        assert code == 2 and "must be a whole number from 1 to" in err, (key, err)
    code, _, err = ldn(
        "regimen", "stop", "P1", "--last-day", "2024-03-01",
        "--exposure-id", "99999999999999999999", "--db", db_url,
    )  # fmt: skip
    assert code == 2 and "--exposure-id" in err, err
