"""``ldn export --format omop`` when it cannot finish: a target database with leftover rows
is refused by name before anything is written, a database error during the write is one clear
error with the transaction rolled back, and the CSV files appear only when the export succeeds
(they are written into a hidden folder beside the target and moved into place)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.domain.models import Exposure, Patient
from ldn_outcomes.domain.validation import parse_record
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.importers.omop_export import export_omop
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.omop_tables import WRITTEN
from ldn_outcomes.store.uow import UnitOfWork


@pytest.fixture
def registry(tmp_path: Path, sqlite_template: Path) -> Engine:
    """One patient with an ongoing LDN exposure."""
    path = tmp_path / "registry.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with UnitOfWork(engine, actor="test") as uow:
        uow.registry.add(
            parse_record(
                Patient,
                {"patient_id": "P1", "year_of_birth": 1980, "sex": "female", "phenotype": "RRMS"},
            )
        )
        uow.registry.add(
            parse_record(
                Exposure,
                {
                    "patient_id": "P1",
                    "drug_name": "naltrexone",
                    "drug_class": "ldn",
                    "dose_mg": "4.5",
                    "start_date": "2024-01-01",
                },
            )
        )
        uow.commit()
    return engine


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_a_database_with_leftover_rows_is_refused_by_table_and_no_csv_is_left(
    registry: Engine, tmp_path: Path
) -> None:
    target = tmp_path / "omop.sqlite3"
    export_omop(registry, None, f"sqlite:///{target}")
    with sqlite3.connect(target) as connection:
        connection.execute("DELETE FROM person")
    with pytest.raises(ValidationFailed, match="observation_period") as raised:
        export_omop(registry, tmp_path / "csv", f"sqlite:///{target}")
    assert raised.value.problems[0].record == "observation_period"
    assert not (tmp_path / "csv").exists()
    assert _leftovers(tmp_path) == []
    assert _count(target, "drug_exposure") == 1  # untouched


def test_a_database_error_mid_write_is_one_clear_error_and_nothing_is_written(
    registry: Engine, tmp_path: Path
) -> None:
    target = tmp_path / "omop.sqlite3"
    export_omop(registry, None, f"sqlite:///{target}")
    with sqlite3.connect(target) as connection:
        for table in WRITTEN:
            connection.execute(f"DELETE FROM {table}")
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON drug_exposure "
            "BEGIN SELECT RAISE(ABORT, 'drug exposures are read-only here'); END"
        )
    with pytest.raises(ValidationFailed, match="refused the export.*read-only here"):
        export_omop(registry, tmp_path / "csv", f"sqlite:///{target}")
    assert not (tmp_path / "csv").exists()
    assert _leftovers(tmp_path) == []
    assert _count(target, "person") == 0  # the person written before the error rolled back


def test_csv_files_replace_an_earlier_export_only_on_success(
    registry: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "person.csv").write_text("old\n", encoding="utf-8")
    (folder / "notes.txt").write_text("kept\n", encoding="utf-8")
    out = export_omop(registry, folder)
    assert out["tables"]["person"] == 1
    assert (folder / "person.csv").read_text(encoding="utf-8").startswith("person_id,")
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "kept\n"
    assert {f"{name}.csv" for name in WRITTEN} <= {p.name for p in folder.iterdir()}
    assert _leftovers(tmp_path) == []


def test_a_file_where_the_csv_folder_should_be_is_refused(registry: Engine, tmp_path: Path) -> None:
    (tmp_path / "csv").write_text("not a folder\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="not a folder"):
        export_omop(registry, tmp_path / "csv")
    assert _leftovers(tmp_path) == []


def test_cli_reports_a_duckdb_error_in_one_line_and_writes_no_csv(
    registry: Engine, tmp_path: Path
) -> None:
    duckdb = pytest.importorskip("duckdb")
    target = tmp_path / "omop.duckdb"
    with duckdb.connect(str(target)) as connection:
        connection.execute("CREATE TABLE drug_exposure (x INTEGER)")  # not the CDM's columns
    registry_url = str(registry.url)
    registry.dispose()
    result = CliRunner().invoke(
        app,
        ["export", "--format", "omop", str(tmp_path / "csv"), "--db", registry_url,
         "--omop-url", f"duckdb:///{target}"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "refused the export" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "csv").exists()
    assert _leftovers(tmp_path) == []
    with duckdb.connect(str(target)) as connection:
        assert connection.execute("SELECT count(*) FROM person").fetchone() == (0,)


def test_a_failed_database_commit_leaves_no_csv_files(
    registry: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files move into place only after the database has committed: a commit that fails
    (here a writer that raises as its block ends) leaves neither rows nor files."""
    from collections.abc import Iterator
    from contextlib import contextmanager

    from ldn_outcomes.errors import Problem
    from ldn_outcomes.importers import omop_export

    @contextmanager
    def failing_writer(engine: Engine) -> Iterator[object]:
        yield lambda rows: None
        raise ValidationFailed(Problem("omop", "commit", "the database refused the commit"))

    monkeypatch.setattr(omop_export, "omop_writer", failing_writer)
    target = tmp_path / "omop-csv"
    with pytest.raises(ValidationFailed, match="refused the commit"):
        export_omop(registry, target, f"sqlite:///{tmp_path / 'omop.sqlite3'}")
    assert not target.exists()
    assert _leftovers(tmp_path) == []
