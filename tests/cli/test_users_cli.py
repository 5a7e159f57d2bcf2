"""``ldn users`` and ``ldn demo build``."""

from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.domain.models import Patient
from ldn_outcomes.store import accounts, api_tokens, sign_in
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.uow import UnitOfWork

runner = CliRunner()


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def ldn(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_users_add_list_link_tokens(db_url: str) -> None:
    engine = make_engine(db_url)
    with UnitOfWork(engine, actor="test") as uow:
        uow.registry.add(Patient(patient_id="P001", year_of_birth=1978, phenotype="RRMS"))
        uow.commit()
    code, out, _ = ldn(
        "users", "add", "--role", "clinician", "--email", "doc@example.org", "--db", db_url
    )
    assert code == 0 and "initial password (shown once)" in out
    code, out, _ = ldn(
        "users",
        "add",
        "--role",
        "patient",
        "--email",
        "pat@example.org",
        "--patient",
        "P001",
        "--password",
        "a long password",
        "--db",
        db_url,
        "--json",
    )
    assert code == 0 and json.loads(out)["patient_id"] == "P001"
    code, _, err = ldn(
        "users", "add", "--role", "patient", "--email", "pat@example.org", "--db", db_url
    )
    assert code == 2 and "already exists" in err
    code, _, err = ldn(
        "users", "add", "--role", "wizard", "--email", "w@example.org", "--db", db_url
    )
    assert code != 0
    assert (
        ldn(
            "users",
            "link-patient",
            "--email",
            "doc@example.org",
            "--patient",
            "P001",
            "--db",
            db_url,
        )[0]
        == 0
    )
    code, out, _ = ldn("users", "list", "--db", db_url, "--json")
    rows = {r["email"]: r for r in json.loads(out)}
    assert rows["doc@example.org"]["linked_patients"] == ["P001"]
    code, out, _ = ldn(
        "users",
        "token",
        "create",
        "--email",
        "pat@example.org",
        "--name",
        "sync",
        "--db",
        db_url,
        "--json",
    )
    token = json.loads(out)
    assert api_tokens.token_account(engine, token["token"]).email == "pat@example.org"
    assert ldn("users", "token", "revoke", str(token["id"]), "--db", db_url)[0] == 0
    assert api_tokens.token_account(engine, token["token"]) is None
    code, out, _ = ldn("users", "token", "list", "--db", db_url, "--json")
    assert json.loads(out)[0]["revoked"] is True and "token" not in json.loads(out)[0]
    code, out, _ = ldn("users", "password", "--email", "pat@example.org", "--db", db_url)
    assert code == 0 and "new password (shown once)" in out
    engine.dispose()


def test_demo_build_prints_one_login_per_role(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    code, out, err = ldn("demo", "build", "--db", url, "--patients", "30", "--years", "2", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert sorted(login["role"] for login in result["logins"]) == [
        "admin",
        "clinician",
        "editor",
        "patient",
        "researcher",
    ]
    assert result["simulated"]["patients"] == 30
    engine = make_engine(url)
    login = next(x for x in result["logins"] if x["role"] == "patient")
    account = sign_in.authenticate(engine, login["email"], login["password"])
    assert account.patient_id == "DEMO-001"
    code, _, err = ldn("demo", "build", "--db", url, "--patients", "0")
    assert code != 0 and "already has accounts" in err
    engine.dispose()
