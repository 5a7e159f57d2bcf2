"""The patient list read with ``sqlite3`` (``store/plain_sqlite.py``, the fast start of ``ldn
patient list``) answers as the repository does, or not at all.

The repository (``Registry.records(Patient, ...)`` through ``reports.patient_view
.patient_list``) is the reference: on SQLite the plain read must give the very same rows, in
the same order and form; everywhere else, and whenever anything is unusual, it must decline
(``None``), so that the command reads the ordinary way and answers or fails as before.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.domain.models import Clinician, Patient, Site
from ldn_outcomes.reports.patient_view import patient_list
from ldn_outcomes.store import migrate, plain_sqlite
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.plain_sqlite import PATIENT_FIELDS, patient_listing, plain_sqlite_path
from ldn_outcomes.store.tables import PatientRow
from ldn_outcomes.store.uow import UnitOfWork

runner = CliRunner()
CLINICIANS = (None, "C1", "C2", "nobody")


def _fill(engine: Engine) -> None:
    """Sites, clinicians and patients of every shape the list shows (some removed)."""
    with UnitOfWork(engine, actor="test") as uow:
        uow.registry.add(Site(site_id="S1", name="Site one", country="DE"))
        uow.registry.add(Clinician(clinician_id="C1", display_name="Dr One", site_id="S1"))
        uow.registry.add(Clinician(clinician_id="C2", display_name="Dr Two"))
        patients = [
            Patient(patient_id="P-10", year_of_birth=1960, sex="male", phenotype="SPMS"),
            Patient(
                patient_id="P-02",
                year_of_birth=1985,
                sex="female",
                phenotype="RRMS",
                first_symptoms_date=dt.date(2009, 3, 1),
                diagnosis_date=dt.date(2010, 5, 1),
                clinician_id="C1",
                site_id="S1",
            ),
            Patient(
                patient_id="a:1.x_y",
                year_of_birth=1900,
                phenotype="CIS",
                diagnosis_date=dt.date(1900, 1, 1),
                clinician_id="C2",
            ),
            Patient(
                patient_id="P-01",
                year_of_birth=1972,
                sex="other",
                phenotype="PPMS",
                first_symptoms_date=dt.date(1999, 12, 31),
                clinician_id="C1",
            ),
            Patient(patient_id="P-gone", year_of_birth=1970, phenotype="RRMS", clinician_id="C1"),
            Patient(patient_id="Z", year_of_birth=2001, phenotype="RRMS", clinician_id="C2"),
        ]
        for patient in patients:
            uow.registry.add(patient)
        uow.commit()
    with UnitOfWork(engine, actor="test") as uow:
        uow.registry.remove("patients", "P-gone", "entered twice")
        uow.commit()


@pytest.fixture
def filled(engine: Engine, db_url: str) -> str:
    _fill(engine)
    return db_url


def test_the_fields_are_the_models_and_the_tables() -> None:
    assert tuple(Patient.model_fields) == PATIENT_FIELDS
    assert set(PATIENT_FIELDS) <= set(PatientRow.__table__.columns.keys())


def test_the_plain_read_lists_what_the_repository_lists(filled: str, engine: Engine) -> None:
    for clinician in CLINICIANS:
        expected = patient_list(engine, clinician_id=clinician)
        listed = patient_listing(filled, clinician_id=clinician)
        if engine.dialect.name != "sqlite":
            assert listed is None  # PostgreSQL is read the ordinary way
            continue
        assert listed == expected
        assert json.dumps(listed) == json.dumps(expected)  # the keys in the same order too
    if engine.dialect.name == "sqlite":
        assert [p["patient_id"] for p in patient_listing(filled) or []] == [
            "P-01",
            "P-02",
            "P-10",
            "Z",
            "a:1.x_y",
        ]


def _invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("json_output", [True, False])
def test_the_command_prints_the_same_whichever_way_it_reads(
    filled: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, json_output: bool
) -> None:
    for clinician in CLINICIANS:
        args = ["patient", "list", "--db", filled, *(["--json"] if json_output else [])]
        args += ["--clinician", clinician] if clinician else []
        printed = _invoke(*args)
        with monkeypatch.context() as patched:  # the ordinary read only
            patched.setattr(plain_sqlite, "patient_listing", lambda *a, **k: None)
            assert _invoke(*args) == printed
        if json_output:
            assert json.loads(printed) == patient_list(engine, clinician_id=clinician)


def test_patient_list_uses_the_plain_read_on_sqlite(
    filled: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    real = plain_sqlite.patient_listing

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(answer := real(*args, **kwargs))
        return answer

    monkeypatch.setattr(plain_sqlite, "patient_listing", spy)
    _invoke("patient", "list", "--db", filled)
    assert calls and (calls[0] is None) == (engine.dialect.name != "sqlite")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/ldn.sqlite3", "data/ldn.sqlite3"),
        ("sqlite:////tmp/x.sqlite3", "/tmp/x.sqlite3"),
        ("sqlite+pysqlite:////tmp/x.sqlite3", "/tmp/x.sqlite3"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///x.sqlite3?mode=ro", None),
        ("sqlite:///file%20name.sqlite3", None),
        ("sqlite+aiosqlite:///x.sqlite3", None),
        ("sqlite://///x.sqlite3", None),
        ("postgresql://postgres@127.0.0.1:5432/ldn", None),
        ("postgresql+psycopg://u:p@h/db", None),
    ],
)
def test_only_plain_sqlite_file_urls_are_read_here(url: str, path: str | None) -> None:
    assert plain_sqlite_path(url) == path
    if path is not None:
        from ldn_outcomes.store.db import sqlite_file

        assert sqlite_file(url) == path  # the file SQLAlchemy would open


def test_a_missing_file_is_left_to_the_ordinary_read_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite3"
    assert patient_listing(f"sqlite:///{path}") is None
    assert not path.exists()


def test_a_file_that_is_no_database_is_left_to_the_ordinary_read(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_text("not a database\n" * 100)
    assert patient_listing(f"sqlite:///{path}") is None


def test_a_schema_not_current_is_left_to_the_ordinary_read(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    assert patient_listing(f"sqlite:///{empty}") is None
    old = tmp_path / "old.sqlite3"
    engine = make_engine(f"sqlite:///{old}")
    migrate.upgrade(engine, "0008")
    assert not migrate.is_up_to_date(engine)
    engine.dispose()
    assert patient_listing(f"sqlite:///{old}") is None


def _tamper(path: str, sql: str, *parameters: Any) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA foreign_keys=OFF")
    connection.execute(sql, parameters)
    connection.commit()
    connection.close()


TAMPERED = [
    ("sex", "x"),
    ("sex", "Female"),
    ("phenotype", "MS"),
    ("year_of_birth", 1899),
    ("year_of_birth", 10000),
    ("year_of_birth", "1985"),
    ("year_of_birth", 19.5),
    ("patient_id", " P-02"),
    ("patient_id", "P 02"),
    ("patient_id", "P" * 65),
    ("clinician_id", "C1\n"),
    ("site_id", ""),
    ("diagnosis_date", "2010-13-01"),
    ("diagnosis_date", "2010-5-1"),
    ("diagnosis_date", "2010-05-01 00:00:00"),
    ("diagnosis_date", "1899-12-31"),
    ("diagnosis_date", "1984-12-31"),
    ("first_symptoms_date", 20100501),
]


@pytest.mark.parametrize(("column", "value"), TAMPERED)
def test_a_row_the_model_would_not_take_back_is_left_to_the_ordinary_read(
    tmp_path: Path, sqlite_template: Path, column: str, value: Any
) -> None:
    """A row changed behind the registry's back: the plain read declines (and the ordinary
    read then raises as before), or it answers exactly as the ordinary read does."""
    path = tmp_path / "registry.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    _fill(engine)
    _tamper(str(path), f"UPDATE patients SET {column} = ? WHERE patient_id = 'P-02'", value)
    listed = patient_listing(url)
    try:
        expected: Any = patient_list(engine)
    except Exception as error:  # noqa: BLE001 - the ordinary read refusing the row
        expected = error
    finally:
        engine.dispose()
    assert listed is None or listed == expected, (listed, expected)


def test_the_untampered_registry_is_read_here(tmp_path: Path, sqlite_template: Path) -> None:
    """The other side of the test above: the plain read does not decline good rows."""
    path = tmp_path / "registry.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    _fill(engine)
    engine.dispose()
    listed = patient_listing(f"sqlite:///{path}")
    assert listed is not None and len(listed) == 5
