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

HTML = {"accept": "text/html"}


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


def test_a_patient_reading_their_own_pages_is_audited(world: World) -> None:
    client = world.client("patient")
    assert client.get("/me", headers=HTML).status_code == 200
    assert client.get("/me/summary", headers=HTML).status_code == 200
    reads = _audit(world.engine, "read")
    actor = f"account:{world.accounts['patient'].id}:patient"
    assert [(r.actor, r.record_key, r.after["path"]) for r in reads] == [
        (actor, "P-OWN", "/me"),
        (actor, "P-OWN", "/me/summary"),
    ]
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


def test_a_fhir_bundle_download_is_audited_as_an_export(world: World) -> None:
    patient = f"account:{world.accounts['patient'].id}:patient"
    clinician = f"account:{world.accounts['clinician'].id}:clinician"
    assert world.client("patient").get("/api/me/fhir").status_code == 200
    assert world.client("clinician").get("/api/patients/P-OWN/fhir").status_code == 200
    exports = _audit(world.engine, "export")
    assert [(r.actor, r.table_name, r.record_key, r.after["path"]) for r in exports] == [
        (patient, "patients", "P-OWN", "/api/me/fhir"),
        (clinician, "patients", "P-OWN", "/api/patients/P-OWN/fhir"),
    ]
    assert all(r.after["format"] == "FHIR R4 Bundle" and r.after["resources"] > 1 for r in exports)
    # both routes also leave the read row every patient-record read leaves
    assert [(r.actor, r.record_key) for r in _audit(world.engine, "read")] == [
        (patient, "P-OWN"),
        (clinician, "P-OWN"),
    ]
    # a refused download leaves no export row
    assert world.client("clinician").get("/api/patients/P-OTHER/fhir").status_code == 403
    assert len(_audit(world.engine, "export")) == 2
    with world.engine.connect() as connection:
        assert audit_chain.verify(connection).ok


def test_the_outcome_reports_are_audited_as_exports(world: World) -> None:
    clinician = f"account:{world.accounts['clinician'].id}:clinician"
    researcher = f"account:{world.accounts['researcher'].id}:researcher"
    assert world.client("clinician").get("/clinic/analysis/report?format=json").status_code == 200
    assert world.client("researcher").get("/research/outcomes", headers=HTML).status_code == 200
    exports = _audit(world.engine, "export")
    assert [(r.actor, r.table_name, r.record_key, r.after["format"]) for r in exports] == [
        (clinician, "clinic_report", "1 patients", "json"),
        (researcher, "research_report", "research-consented patients", "html"),
    ]
    assert exports[0].after["patients"] == ["P-OWN"]  # P-NOCARE withdrew care consent
