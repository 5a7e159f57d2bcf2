"""Bad input found in review: each gets a clear error naming the field, and nothing is written."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from ldn_outcomes.analysis.plan_file import plan_from_json
from ldn_outcomes.cli.main import app
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.evidence.user_studies import pool_csv
from ldn_outcomes.importers.fhir_bundle import read_bundle
from ldn_outcomes.store import backup, migrate
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.tables import PatientRow

runner = CliRunner()


def ldn(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_a_correction_cannot_rename_a_record_onto_another(db_url: str) -> None:
    assert ldn("init", "--db", db_url)[0] == 0
    for patient, year in (("P1", "1975"), ("P2", "1990")):
        code, out = ldn(
            "record", "add", "patients", patient, f"year_of_birth={year}", "phenotype=RRMS",
            "--db", db_url,
        )  # fmt: skip
        assert code == 0, out
    code, out = ldn(
        "record", "correct", "patients", "P1", "patient_id=P2", "year_of_birth=1980",
        "--reason", "typo fix", "--db", db_url, "--json",
    )  # fmt: skip
    assert code == 2 and "patient_id" in out
    engine = make_engine(db_url)
    with engine.connect() as connection:
        rows = connection.execute(select(PatientRow.patient_id, PatientRow.year_of_birth))
        assert dict(rows.all()) == {"P1": 1975, "P2": 1990}
    engine.dispose()


@pytest.mark.parametrize("resource", ['"x"', "[1]", "null", "3"])
def test_a_fhir_entry_that_is_not_an_object_is_a_problem_not_a_crash(resource: str) -> None:
    data = f'{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{resource}}}]}}'
    _, problems = read_bundle("f.json", data.encode())
    assert problems


def test_a_study_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\xff\xfestudy,measure\n")
    with pytest.raises(ValidationFailed) as caught:
        pool_csv(path)
    assert "UTF-8" in str(caught.value)


def test_a_plan_nested_too_deeply_is_an_input_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        plan_from_json("[" * 100_000)
    assert "nested" in str(caught.value)


def test_a_damaged_backup_is_one_error_and_restores_nothing(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as connection:
        connection.execute(
            PatientRow.__table__.insert().values(
                patient_id="P1", year_of_birth=1980, sex="female", phenotype="RRMS"
            )
        )
    path = tmp_path / "registry.ldnbackup"
    backup.backup(engine, path)
    lines = gzip.decompress(path.read_bytes()).splitlines()
    damaged = tmp_path / "damaged.ldnbackup"
    damaged.write_bytes(gzip.compress(b"\n".join([*lines[:-1], b"{not json"]) + b"\n"))
    target = make_engine(f"sqlite:///{tmp_path / 'target.sqlite3'}")
    migrate.upgrade(target)
    with pytest.raises(ValidationFailed) as caught:
        backup.restore(target, damaged)
    assert "damaged backup" in str(caught.value)
    with target.connect() as connection:
        assert connection.execute(select(func.count()).select_from(PatientRow)).scalar() == 0
    target.dispose()
