"""User text is never read as Rich markup, and an unreachable database is one line (exit 6)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.domain.models import Exposure, Patient
from ldn_outcomes.store import accounts
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.uow import UnitOfWork

runner = CliRunner()
MARKUP = "x[/]y[bold]z"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def ldn(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.stdout, result.stderr


def test_markup_in_user_text_is_printed_as_typed(db_url: str) -> None:
    engine = make_engine(db_url)
    with UnitOfWork(engine, actor="test") as uow:
        uow.registry.add(Patient(patient_id="P001", year_of_birth=1978, phenotype="RRMS"))
        uow.registry.add(
            Exposure(
                patient_id="P001",
                drug_name=f"vitamin D {MARKUP}",
                start_date=dt.date(2020, 1, 1),
            )
        )
        uow.commit()
    email = "a[/]b@example.org"
    code, out, err = ldn("users", "add", "--role", "clinician", "--email", email, "--db", db_url)
    assert code == 0, err
    assert email in out
    code, out, err = ldn(
        "users", "token", "create", "--email", email, "--name", MARKUP, "--db", db_url
    )
    assert code == 0 and MARKUP in out, err
    for args in (("users", "list"), ("users", "token", "list"), ("patient", "show", "P001")):
        code, out, err = ldn(*args, "--db", db_url)
        assert code == 0, (args, err)
        assert "[/]" in out, args
    engine.dispose()


def test_unreachable_database_is_one_line_and_exit_6() -> None:
    code, out, err = ldn("patient", "list", "--db", "postgresql://postgres@127.0.0.1:1/none")
    assert code == 6
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: cannot connect to the database")


@pytest.mark.parametrize("option", ["--db", "--omop"])
def test_a_file_that_is_not_a_database_is_one_line_and_exit_6(option: str, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are notes, not a database\n" * 10)
    url = f"sqlite:///{path}"
    code, out, err = ldn("analyze", option, url)
    assert code == 6, err
    assert "Traceback" not in out + err
    assert err.strip() == f"error: cannot connect to the database {url}: file is not a database"
