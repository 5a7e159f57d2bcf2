"""First run: a command without --db and without a database says which file it would use and
how to create it, and leaves no empty database behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app

runner = CliRunner()


def test_a_command_without_a_database_says_how_to_create_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LDN_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["patient", "list"])
    assert result.exit_code != 0
    expected = tmp_path / "data" / "ldn.sqlite3"
    assert str(expected) in result.output and "ldn init" in result.output
    assert "no --db" in result.output
    assert not expected.exists() and not (tmp_path / "data").exists()


def test_a_missing_db_file_is_named_with_the_command_that_creates_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing.sqlite3'}"
    result = runner.invoke(app, ["patient", "list", "--db", url])
    assert result.exit_code != 0
    assert f"ldn init --db {url}" in result.output.replace("\n", "")
    assert not (tmp_path / "missing.sqlite3").exists()


def test_init_still_creates_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    assert (tmp_path / "new.sqlite3").exists()
    assert runner.invoke(app, ["patient", "list", "--db", url]).exit_code == 0
