"""`ldn instruments list|show`, `ldn score`, `ldn dose liquid|check` through Typer's runner."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from ldn_outcomes.cli.instruments_cmd import dose_app, instruments_app, parse_answers, score
from ldn_outcomes.errors import ValidationFailed


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """The same registration main.py does, without needing a database."""
    app = typer.Typer()
    app.add_typer(instruments_app, name="instruments")
    app.command("score")(score)
    app.add_typer(dose_app, name="dose")
    return app


runner = CliRunner()


def test_list_json(app: typer.Typer) -> None:
    result = runner.invoke(app, ["instruments", "list", "--json"])
    assert result.exit_code == 0, result.output
    ids = {row["id"] for row in json.loads(result.stdout)}
    assert {"mfis", "fss", "edss", "pdds", "checkin"} <= ids


def test_list_table(app: typer.Typer) -> None:
    result = runner.invoke(app, ["instruments", "list"])
    assert result.exit_code == 0 and "mfis" in result.stdout


def test_show(app: typer.Typer) -> None:
    result = runner.invoke(app, ["instruments", "show", "mfis"])
    assert result.exit_code == 0, result.output
    assert "MFIS item 7" in result.stdout and "31400557" in result.stdout
    as_json = json.loads(runner.invoke(app, ["instruments", "show", "fss", "--json"]).stdout)
    assert as_json["id"] == "fss" and as_json["licence"]["ship_wording"] is False


def test_show_unknown_exits_with_not_found(app: typer.Typer) -> None:
    result = runner.invoke(app, ["instruments", "show", "nope"])
    assert result.exit_code == 3
    assert "unknown instrument" in result.output


def test_score_json(app: typer.Typer) -> None:
    answers = ",".join(["2"] * 21)
    result = runner.invoke(app, ["score", "mfis", "--answers", answers, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"instrument", "version", "total", "subscales", "interpretation"}
    assert data["total"] == 42 and data["subscales"]["physical"] == 18


def test_score_table(app: typer.Typer) -> None:
    result = runner.invoke(app, ["score", "fss", "--answers", "4,5,5,4,4,4,5,4,5"])
    assert result.exit_code == 0 and "4.44" in result.stdout


def test_score_out_of_range_is_exit_2_naming_item(app: typer.Typer) -> None:
    answers = ",".join(["2"] * 6 + ["5"] + ["2"] * 14)
    result = runner.invoke(app, ["score", "mfis", "--answers", answers])
    assert result.exit_code == 2
    assert "item 7: answer 5 is outside 0–4" in result.output


def test_score_blank_is_not_zero(app: typer.Typer) -> None:
    result = runner.invoke(app, ["score", "checkin", "--answers", "3,,7,-,1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["subscales"] == {"fatigue": 3, "sleep": 7, "dose_taken": 1}
    refused = runner.invoke(app, ["score", "mfis5", "--answers", "1,2,,3,4"])
    assert refused.exit_code == 2 and "refusing to score" in refused.output


def test_parse_answers() -> None:
    assert parse_answers("3, 4,,2.5,NA") == [3, 4, None, 2.5, None]
    with pytest.raises(ValidationFailed, match="item 2: answer 'x' is not a number"):
        parse_answers("1,x")


def test_dose_liquid(app: typer.Typer) -> None:
    args = ["dose", "liquid", "--tablet-mg", "50", "--water-ml", "50", "--dose-mg", "4.5"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "concentration_mg_per_ml": 1.0,
        "volume_ml": 4.5,
        "delivered_mg": 4.5,
        "target_mg": 4.5,
        "dose_check": "within",
    }
    table = runner.invoke(app, args)
    assert table.exit_code == 0 and "4.5 ml" in table.stdout


def test_dose_liquid_refuses_dose_above_tablet(app: typer.Typer) -> None:
    args = ["dose", "liquid", "--tablet-mg", "4.5", "--water-ml", "10", "--dose-mg", "6"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "more than the whole tablet" in result.output


def test_dose_check(app: typer.Typer) -> None:
    result = runner.invoke(app, ["dose", "check", "--dose-mg", "50", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["band"] == "above"
