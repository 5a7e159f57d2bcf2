"""One bad row among 10,000 writes nothing and names its file, row and field."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ldn_outcomes.domain.layout import columns
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.importers.registry_csv import import_path
from ldn_outcomes.store.uow import UnitOfWork


def _write(path: Path, kind: str, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns(kind), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns(kind)})


def _counts(engine: Engine) -> dict[str, int]:
    with UnitOfWork(engine) as uow:
        return {k: uow.registry.count(k) for k in ("patients", "edss", "sites")}


def test_ten_thousand_rows_with_one_bad_row_write_nothing(engine: Engine, tmp_path: Path) -> None:
    patients = [
        {"patient_id": f"P{i:05d}", "year_of_birth": "1970", "sex": "female", "phenotype": "RRMS"}
        for i in range(200)
    ]
    edss = [
        {
            "patient_id": f"P{i % 200:05d}",
            "date": f"20{10 + i % 10}-0{1 + i % 9}-15",
            "score": "3.5",
        }
        for i in range(10_000)
    ]
    edss[7_321]["score"] = "0.5"  # file row 7,323 (the header is row 1)
    _write(tmp_path / "patients.csv", "patients", patients)
    _write(tmp_path / "edss.csv", "edss", edss)
    with pytest.raises(ValidationFailed) as failure:
        import_path(engine, tmp_path)
    problems = failure.value.problems
    assert len(problems) == 1
    assert problems[0].row == 7_323
    assert problems[0].field == "score"
    assert problems[0].source == "edss.csv"
    assert "there is no 0.5" in problems[0].rule
    assert _counts(engine) == {"patients": 0, "edss": 0, "sites": 0}


def test_reference_to_missing_patient_reports_row(engine: Engine, tmp_path: Path) -> None:
    _write(
        tmp_path / "patients.csv",
        "patients",
        [{"patient_id": "P1", "year_of_birth": "1970", "phenotype": "PPMS"}],
    )
    _write(
        tmp_path / "relapses.csv",
        "relapses",
        [
            {"patient_id": "P1", "onset_date": "2020-01-01"},
            {"patient_id": "P2", "onset_date": "2020-02-01"},
        ],
    )
    with pytest.raises(ValidationFailed) as failure:
        import_path(engine, tmp_path)
    (problem,) = failure.value.problems
    assert (problem.field, problem.row, problem.value) == ("patient_id", 3, "P2")
    assert "does not exist" in problem.rule
    assert _counts(engine)["patients"] == 0


def test_duplicate_ids_in_file_and_in_registry(engine: Engine, tmp_path: Path) -> None:
    rows = [{"patient_id": "P1", "year_of_birth": "1970", "phenotype": "PPMS"}] * 2
    _write(tmp_path / "patients.csv", "patients", rows)
    with pytest.raises(ValidationFailed) as failure:
        import_path(engine, tmp_path)
    assert "duplicate id (also on row 2)" in str(failure.value)
    _write(tmp_path / "patients.csv", "patients", rows[:1])
    import_path(engine, tmp_path)
    with pytest.raises(ValidationFailed) as failure:
        import_path(engine, tmp_path)
    assert "already exists" in str(failure.value)
    assert _counts(engine)["patients"] == 1


def test_unknown_column_is_refused(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text("patient_id,name\nP1,Alice\n")
    with pytest.raises(ValidationFailed, match="unknown column"):
        import_path(engine, tmp_path)


def test_a_second_ongoing_ldn_regimen_is_refused_with_its_row(
    engine: Engine, tmp_path: Path
) -> None:
    _write(
        tmp_path / "patients.csv",
        "patients",
        [{"patient_id": "P1", "year_of_birth": "1970", "sex": "female", "phenotype": "RRMS"}],
    )
    regimen = {"patient_id": "P1", "drug_name": "naltrexone", "drug_class": "ldn"}
    _write(
        tmp_path / "exposures.csv",
        "exposures",
        [
            {**regimen, "dose_mg": "1.5", "start_date": "2020-01-01", "stop_date": "2020-02-01"},
            {**regimen, "dose_mg": "3", "start_date": "2020-02-02"},
            {**regimen, "dose_mg": "4.5", "start_date": "2020-03-01"},
        ],
    )
    with pytest.raises(ValidationFailed) as failure:
        import_path(engine, tmp_path)
    (problem,) = failure.value.problems
    assert "already has an ongoing LDN regimen" in problem.rule
    assert (problem.field, problem.row) == ("stop_date", 4)
    assert _counts(engine)["patients"] == 0


def test_two_checkins_for_one_day_are_refused_with_their_row(
    engine: Engine, tmp_path: Path
) -> None:
    _write(
        tmp_path / "patients.csv",
        "patients",
        [{"patient_id": "P1", "year_of_birth": "1970", "sex": "female", "phenotype": "RRMS"}],
    )
    checkin = {"patient_id": "P1", "instrument_id": "checkin", "instrument_version": "1"}
    _write(
        tmp_path / "questionnaires.csv",
        "questionnaires",
        [
            {**checkin, "date": "2024-01-01", "answers": "3;;;;"},
            {**checkin, "date": "2024-01-02", "answers": "3;;;;"},
            {**checkin, "date": "2024-01-01", "answers": "5;;;;"},
        ],
    )
    with pytest.raises(ValidationFailed) as failure:
        import_path(engine, tmp_path)
    (problem,) = failure.value.problems
    assert problem.row == 4 and "second check-in" in problem.rule
