"""Files: byte-for-byte determinism, the import layout, and every row a valid record."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

import pytest

from ldn_outcomes.domain.instruments import score
from ldn_outcomes.domain.layout import columns, from_row, to_row
from ldn_outcomes.domain.models import RECORD_TYPES
from ldn_outcomes.domain.validation import parse_record
from ldn_outcomes.simulate import (
    TRUTH_FILE,
    SimulatedRegistry,
    SimulationParams,
    read_truth,
    simulate_registry,
    write_csv_dir,
)

SMALL = SimulationParams(patients=300, years=3, seed=5)


def digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    write_csv_dir(simulate_registry(SMALL), tmp_path / "a")
    write_csv_dir(simulate_registry(SMALL), tmp_path / "b")
    write_csv_dir(simulate_registry(SMALL.replace(seed=6)), tmp_path / "c")
    first, second, other = (digests(tmp_path / x) for x in "abc")
    assert first == second
    assert first["questionnaires.csv"] != other["questionnaires.csv"]
    assert TRUTH_FILE in first


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, busy_registry: SimulatedRegistry) -> Path:
    directory = tmp_path_factory.mktemp("busy")
    write_csv_dir(busy_registry, directory)
    return directory


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def sample(rows: list[dict[str, str]], size: int = 400) -> list[dict[str, str]]:
    step = max(1, len(rows) // size)
    return rows[::step]


def test_every_file_has_the_layout_header_and_valid_rows(written: Path) -> None:
    """Each sampled row parses into its record and prints back to the same cells."""
    today = dt.date(2025, 12, 31)
    for kind in (
        "sites",
        "clinicians",
        "patients",
        "exposures",
        "questionnaires",
        "relapses",
        "edss",
        "adverse_events",
        "consents",
    ):
        header, rows = read_rows(written / f"{kind}.csv")
        assert header == columns(kind), kind
        assert rows, kind
        for row in sample(rows):
            record = parse_record(RECORD_TYPES[kind], from_row(kind, row), today=today)
            assert to_row(record) == row, (kind, row)


def test_questionnaire_answers_score_to_the_stored_total(written: Path) -> None:
    """Totals follow the instrument's own scoring rule (MFIS sum, FSS mean to 2 decimals)."""
    _, rows = read_rows(written / "questionnaires.csv")
    seen = set()
    for row in sample(rows, 3000):
        answers = [float(a) if a else None for a in row["answers"].split(";")]
        result = score(row["instrument_id"], answers, row["instrument_version"])
        seen.add(row["instrument_id"])
        if row["instrument_id"] == "checkin":
            assert row["total"] == "" and result.total is None
        else:
            assert float(row["total"]) == result.total, row
    assert seen == {"mfis", "fss", "checkin"}


def test_truth_manifest_matches_the_files(written: Path, busy_registry: SimulatedRegistry) -> None:
    truth = read_truth(written / TRUTH_FILE)
    _, patients = read_rows(written / "patients.csv")
    assert truth["seed"] == busy_registry.params.seed
    assert truth["patients"]["patient_id"] == [p["patient_id"] for p in patients]
    assert truth["parameters"]["relapses"]["base_rate_rr"] == 0.26
    assert len(truth["patients"]["effect_relapse_rate_ratio"]) == len(patients)


def test_ldn_exposures_look_like_ldn(busy_registry: SimulatedRegistry) -> None:
    exposures = busy_registry.frames["exposures"]
    ldn = exposures[exposures.drug_class == "ldn"]
    assert len(ldn) > 200
    assert set(ldn.drug_name) == {"naltrexone"} and set(ldn.rxnorm_cui) == {"7243"}
    assert ldn.dose_mg.between(1.5, 4.5).all()
    assert (ldn.time_of_day == "bedtime").mean() > 0.7
    assert not (exposures.drug_class == "opioid").any()
    # LDN exposures of one patient never overlap (a dose change is a new exposure).
    stop = ldn.stop_date.fillna(dt.datetime(2100, 1, 1))
    ordered = ldn.assign(stop=stop).sort_values(["patient_id", "start_date"])
    previous_stop = ordered.groupby("patient_id").stop.shift()
    assert (ordered.start_date > previous_stop).where(previous_stop.notna(), True).all()
    supplement = exposures[exposures.drug_class == "supplement"]
    assert len(supplement) > 200 and set(supplement.drug_name) == {"vitamin D3 (cholecalciferol)"}
    dmt = exposures[exposures.drug_class == "dmt"]
    assert set(dmt.drug_name) <= {
        "glatiramer acetate",
        "interferon beta-1a",
        "dimethyl fumarate",
        "ocrelizumab",
        "natalizumab",
    }


def test_pseudo_relapses_are_flagged_by_the_relapse_definition(
    busy_registry: SimulatedRegistry,
) -> None:
    from ldn_outcomes.domain.definitions.relapse import (
        RelapseReport,
        RelapseStatus,
        qualify_relapses,
    )

    relapses = busy_registry.frames["relapses"]
    true = relapses.lasted_24h & ~relapses.fever_or_infection
    assert 0.03 < (~true).mean() < 0.4
    assert (relapses.recovery_date.isna() | (relapses.recovery_date >= relapses.onset_date)).all()
    statuses: dict[RelapseStatus, list[bool]] = {}
    for _, group in relapses.groupby("patient_id"):
        reports = [
            RelapseReport(
                onset_date=r.onset_date.date(),
                lasted_24h=bool(r.lasted_24h),
                fever_or_infection=bool(r.fever_or_infection),
            )
            for r in group.itertuples()
        ]
        for verdict in qualify_relapses(reports):
            is_true = verdict.report.lasted_24h and not verdict.report.fever_or_infection
            statuses.setdefault(verdict.status, []).append(bool(is_true))
    assert not any(statuses[RelapseStatus.EXCLUDED])
    assert all(statuses[RelapseStatus.QUALIFYING])
    assert RelapseStatus.UNCONFIRMED not in statuses
