"""Reads of clinical records, exports and failed sign-ins leave audit rows (chain intact)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.settings import Settings
from ldn_outcomes.store import audit_chain
from ldn_outcomes.store.tables import AuditRow

from .conftest import World, make_world
from .test_auth_flows import _client, _login


def _audit(engine: Engine, action: str) -> list[AuditRow]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.seq)
        )
        return list(rows)  # type: ignore[arg-type]


def test_a_clinician_reading_a_record_is_audited(world: World) -> None:
    client = world.client("clinician")
    assert client.get("/patients/P-OWN").status_code == 200
    assert client.get("/api/patients/P-OWN").status_code == 200
    reads = _audit(world.engine, "read")
    actor = f"account:{world.accounts['clinician'].id}:clinician"
    assert [(r.actor, r.record_key, r.after["path"]) for r in reads] == [
        (actor, "P-OWN", "/patients/P-OWN"),
        (actor, "P-OWN", "/api/patients/P-OWN"),
    ]
    # A refused read is not a read.
    assert client.get("/patients/P-OTHER").status_code == 403
    assert len(_audit(world.engine, "read")) == 2
    with world.engine.connect() as connection:
        assert audit_chain.verify(connection).ok


def test_a_failed_sign_in_is_audited_without_the_password(
    engine: Engine, settings: Settings
) -> None:
    make_world(engine, settings, passwords=True)
    client = _client(engine, settings)
    assert _login(client, "Patient@Example.org", "wrong password!").status_code == 401
    (failed,) = _audit(engine, "login_failed")
    assert failed.actor == "anonymous" and failed.record_key == "patient@example.org"
    assert "wrong password!" not in str(failed.after)


def test_exports_and_record_reads_from_the_command_line_are_audited(
    world: World, db_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["export", str(tmp_path / "out"), "--db", db_url]).exit_code == 0
    assert runner.invoke(app, ["patient", "show", "P-OWN", "--db", db_url]).exit_code == 0
    (export,) = _audit(world.engine, "export")
    assert export.actor == "cli" and export.after["records"]["patients"] == 3
    assert [r.record_key for r in _audit(world.engine, "read")] == ["P-OWN"]
