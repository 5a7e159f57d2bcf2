"""OMOP CDM v5.4: the registry exported to OMOP, and the analyses run on the OMOP database.

A small seeded simulated registry is exported to SQLite and DuckDB OMOP databases; the
analyses on each must give the registry's own headlines (same people, same numbers). A copy
without EDSS must say so, and a hand-made database of another site's layout checks the concept
rules (MS descendants, naltrexone daily dose, naltrexone by name only)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.factories import demo_patient
from typer.testing import CliRunner

from ldn_outcomes.analysis import AnalysisPlan, run_all
from ldn_outcomes.analysis.data.load import load_frames
from ldn_outcomes.analysis.results import AnalysisResult
from ldn_outcomes.cli.main import app
from ldn_outcomes.domain.models import EdssAssessment
from ldn_outcomes.domain.omop import (
    concepts,
    multiple_sclerosis_concepts,
    not_verified,
    source_citations,
)
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.importers.omop_export import export_omop
from ldn_outcomes.importers.omop_findings import SOURCE
from ldn_outcomes.importers.omop_read import omop_frames
from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry
from ldn_outcomes.store.bulk import load_records
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.omop_tables import WRITTEN, columns_of, omop_table, open_omop, write_omop

pytest.importorskip("duckdb_engine")

SMALL = SimulationParams(patients=150, years=3, seed=20261205).replace(
    uptake__base_start_per_year=0.3, uptake__supplement_base_start_per_year=0.3
)
runner = CliRunner()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> dict[str, str]:
    """The registry and its OMOP exports (CSV directory, SQLite, DuckDB)."""
    root = tmp_path_factory.mktemp("omop")
    registry = root / "registry.sqlite3"
    shutil.copy(sqlite_template, registry)
    engine = make_engine(f"sqlite:///{registry}")
    load_into_db(simulate_registry(SMALL), engine, actor="test")
    # a few patients at a time, so the headlines below also check that chunks join up
    export_omop(engine, root / "csv", f"sqlite:///{root / 'omop.sqlite3'}", chunk_patients=7)
    export_omop(engine, root / "csv_one_chunk", chunk_patients=10_000)
    export_omop(engine, None, f"duckdb:///{root / 'omop.duckdb'}")
    engine.dispose()
    return {
        "registry": f"sqlite:///{registry}",
        "csv": str(root / "csv"),
        "csv_one_chunk": str(root / "csv_one_chunk"),
        "sqlite": f"sqlite:///{root / 'omop.sqlite3'}",
        "sqlite_path": str(root / "omop.sqlite3"),
        "duckdb": f"duckdb:///{root / 'omop.duckdb'}",
    }


@pytest.fixture(scope="module")
def expected(exported: dict[str, str]) -> dict[str, AnalysisResult]:
    """``ldn analyze``'s results on the registry itself."""
    plan = AnalysisPlan()
    registry = make_engine(exported["registry"])
    results = run_all(load_frames(registry, plan=plan), plan)
    registry.dispose()
    return results


def _headline(result: object) -> tuple[float, float, float] | None:
    head = getattr(result, "headline", None)
    return None if head is None else (head.value, head.ci_low, head.ci_high)


def _same(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> bool:
    if a is None or b is None:
        return a is b
    return all(
        (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y)
        for x, y in zip(a, b, strict=True)
    )


def test_every_concept_names_a_source_and_nothing_unverified_is_used() -> None:
    sources = source_citations()
    for concept in concepts().values():
        assert concept.sources and set(concept.sources) <= set(sources), concept.key
        assert concept.concept_id > 0
    assert {c.concept_id for c in concepts().values()} >= {374919, 1714319, 8507, 8532}
    assert 374919 in multiple_sclerosis_concepts()
    assert "edss" in not_verified() and "edss" not in concepts()


def test_export_writes_each_table_as_csv_in_cdm_order(exported: dict[str, str]) -> None:
    directory = Path(exported["csv"])
    for name in WRITTEN:
        with (directory / f"{name}.csv").open(encoding="utf-8") as handle:
            header = next(csv.reader(handle))
        assert tuple(header) == columns_of(name)
    with (directory / "person.csv").open(encoding="utf-8") as handle:
        persons = list(csv.DictReader(handle))
    assert len(persons) == SMALL.patients
    assert {p["gender_concept_id"] for p in persons} <= {"8507", "8532", "0"}
    with (directory / "drug_exposure.csv").open(encoding="utf-8") as handle:
        drugs = [row for row in csv.DictReader(handle) if row["drug_concept_id"] == "1714319"]
    assert drugs and all(row["dose_unit_source_value"] == "mg" for row in drugs)
    daily = [float(r["quantity"]) / float(r["days_supply"]) for r in drugs if r["quantity"]]
    assert all(0 < dose <= 5 for dose in daily)


def test_an_export_in_chunks_holds_the_rows_of_one_in_a_single_chunk(
    exported: dict[str, str],
) -> None:
    """Streaming changes only the order in which rows are numbered: every table holds the
    same rows (ids aside), its ids run 1..n, and every row's person exists."""

    def table(directory: str, name: str) -> list[dict[str, str]]:
        with (Path(directory) / f"{name}.csv").open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def person_of(rows: list[dict[str, str]]) -> dict[str, str]:
        return {row["person_id"]: row["person_source_value"] for row in rows}

    ids = {"person": "person_id", "observation": "observation_id"}
    chunked_people = person_of(table(exported["csv"], "person"))
    single_people = person_of(table(exported["csv_one_chunk"], "person"))
    assert sorted(chunked_people.values()) == sorted(single_people.values())
    for name in WRITTEN:
        own_id = ids.get(name, f"{name}_id")
        rows = {}
        for key, people in (("csv", chunked_people), ("csv_one_chunk", single_people)):
            found = table(exported[key], name)
            numbers = sorted(int(row[own_id]) for row in found if own_id in row)
            assert numbers == list(range(1, len(found) + 1)), (name, key)
            assert all(row["person_id"] in people for row in found), (name, key)
            rows[key] = sorted(
                json.dumps(
                    {
                        **{k: v for k, v in row.items() if not k.endswith("_id") or "concept" in k},
                        "person": people[row["person_id"]],
                    },
                    sort_keys=True,
                )
                for row in found
            )
        assert rows["csv"] == rows["csv_one_chunk"], name


def test_an_export_is_one_instant_while_others_write(engine: Engine, tmp_path: Path) -> None:
    """Every chunk is read from the snapshot taken when the export began: an EDSS written for
    the second patient after the first chunk is not in the export, and each chunk tells the
    progress bar of its patients."""
    people = [demo_patient("P001"), demo_patient("P002")]
    load_records(engine, {"patients": [(None, p) for p in people]}, actor="test")
    before = export_omop(engine, tmp_path / "before", chunk_patients=1)
    told: list[tuple[str, int]] = []

    def write_meanwhile(label: str, done: int) -> None:
        told.append((label, done))
        if label == "P001":
            late = EdssAssessment(id=99, patient_id="P002", date=dt.date(2021, 1, 1), score=2.0)
            load_records(engine, {"edss": [(None, late)]}, actor="test")

    during = export_omop(engine, tmp_path / "during", chunk_patients=1, progress=write_meanwhile)
    assert told == [("P001", 1), ("P002", 1)]
    assert during == before
    for name in WRITTEN:
        during_rows = (tmp_path / "during" / f"{name}.csv").read_bytes()
        assert during_rows == (tmp_path / "before" / f"{name}.csv").read_bytes(), name
    after = export_omop(engine, tmp_path / "after", chunk_patients=1)
    assert after["tables"]["measurement"] == before["tables"]["measurement"] + 1


#: Every date column the export writes, per table (start and end of each row).
DATED = {
    "condition_occurrence": ("condition_start_date", "condition_end_date"),
    "drug_exposure": ("drug_exposure_start_date", "drug_exposure_end_date"),
    "measurement": ("measurement_date",),
    "observation": ("observation_date",),
}


def test_every_exported_row_lies_inside_its_persons_observation_period(
    exported: dict[str, str],
) -> None:
    """OHDSI tools take only events inside an observation period (CDM v5.4 conventions), so
    the period runs from each person's earliest record (diagnosis included) to the latest."""

    def table(name: str) -> list[dict[str, str]]:
        with (Path(exported["csv"]) / f"{name}.csv").open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    periods: dict[str, tuple[str, str]] = {}
    for row in table("observation_period"):
        assert row["person_id"] not in periods, "one period per person"
        periods[row["person_id"]] = (
            row["observation_period_start_date"],
            row["observation_period_end_date"],
        )
    assert set(periods) == {row["person_id"] for row in table("person")}
    checked = 0
    for name, columns in DATED.items():
        for row in table(name):
            start, end = periods[row["person_id"]]
            for column in columns:
                if row[column]:
                    assert start <= row[column] <= end, (name, column, row)
                    checked += 1
    assert checked > 1_000


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
def test_omop_analysis_gives_the_registry_headlines(
    exported: dict[str, str], expected: dict[str, AnalysisResult], backend: str
) -> None:
    plan = AnalysisPlan()
    omop = open_omop(exported[backend], read_only=True)
    frames, findings = omop_frames(omop)
    omop.dispose()
    assert findings.ms_persons == findings.persons == SMALL.patients
    assert findings.ldn_users > 0 and findings.naltrexone_without_daily_dose == 0
    got = run_all(frames, plan)
    assert list(got) == list(expected)
    for name, result in expected.items():
        assert got[name].status == result.status, name
        assert got[name].population.get("n_patients") == result.population.get("n_patients")
        assert _same(_headline(got[name]), _headline(result)), name


def test_a_database_without_edss_says_so(exported: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "no-edss.sqlite3"
    shutil.copy(exported["sqlite_path"], path)
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM measurement WHERE measurement_source_value = 'edss'")
    before = path.read_bytes()
    omop = open_omop(f"sqlite:///{path}", read_only=True)
    frames, findings = omop_frames(omop)
    omop.dispose()
    assert path.read_bytes() == before  # read-only: the analysis changes nothing
    assert frames["edss"].empty
    assert "the OMOP database holds no EDSS scores" in findings.headlines
    assert run_all(frames)["progression"].status == "insufficient_data"
    named = run_all(frames, source=SOURCE)
    assert "in the OMOP database" in named["labs"].message
    assert not any("the registry" in r.message for r in named.values())


def test_export_refuses_a_database_that_already_holds_persons(exported: dict[str, str]) -> None:
    registry = make_engine(exported["registry"])
    with pytest.raises(ValidationFailed, match="already holds persons"):
        export_omop(registry, None, exported["sqlite"])
    registry.dispose()


def _foreign(path: Path) -> str:
    """Another site's layout: MS and naltrexone drugs as descendant concepts (ids 9000xx are
    made up for the test), doses as mg quantities, as tablets with a drug_strength, or as
    tablets without one."""
    url = f"sqlite:///{path}"
    engine = open_omop(url)
    day = dt.date(2022, 1, 1)

    def person(pid: int, gender: int) -> dict[str, object]:
        return {"person_id": pid, "gender_concept_id": gender, "year_of_birth": 1980,
                "race_concept_id": 0, "ethnicity_concept_id": 0}  # fmt: skip

    def condition(rid: int, pid: int, concept: int) -> dict[str, object]:
        return {"condition_occurrence_id": rid, "person_id": pid, "condition_concept_id": concept,
                "condition_start_date": day, "condition_type_concept_id": 32817}  # fmt: skip

    def drug(rid: int, pid: int, concept: int, **fields: object) -> dict[str, object]:
        return {"drug_exposure_id": rid, "person_id": pid, "drug_concept_id": concept,
                "drug_exposure_start_date": day, "days_supply": 30, "drug_type_concept_id": 32838,
                "drug_exposure_end_date": day + dt.timedelta(days=29), **fields}  # fmt: skip

    write_omop(
        engine,
        {
            "person": [person(1, 8532), person(2, 8507), person(3, 8532), person(4, 8507)],
            "condition_occurrence": [
                condition(1, 1, 900001),  # MS by a descendant concept
                condition(2, 2, 374919),
                condition(3, 3, 374919),
                condition(4, 4, 111),  # not MS
            ],
            "drug_exposure": [
                # 135 mg over 30 days of a naltrexone clinical drug: 4.5 mg a day
                drug(1, 1, 900002, quantity=135, dose_unit_source_value="mg"),
                drug(2, 2, 1714319, quantity=30),  # 30 tablets of unknown strength
                drug(3, 2, 0, drug_source_value="naltrexone 4.5 mg"),  # by name only
                drug(4, 3, 900003, quantity=30),  # 30 tablets of 50 mg: not low-dose
                drug(5, 2, 900004, quantity=90),  # 90 x 1.5 mg over 30 days: 4.5 mg a day
                drug(6, 4, 1714319, quantity=135, dose_unit_source_value="mg"),
                drug(7, 2, 1506270, quantity=5),  # a methylprednisolone course
            ],
        },
    )
    ancestor, strength = omop_table("concept_ancestor"), omop_table("drug_strength")
    ancestor.create(engine)
    strength.create(engine)
    with engine.begin() as connection:
        connection.execute(
            ancestor.insert(),
            [
                {"ancestor_concept_id": a, "descendant_concept_id": d,
                 "min_levels_of_separation": 1, "max_levels_of_separation": 1}
                for a, d in ((374919, 900001), (1714319, 900002))
            ],
        )  # fmt: skip
        connection.execute(
            strength.insert(),
            [
                {"drug_concept_id": d, "ingredient_concept_id": 1714319, "amount_value": mg,
                 "amount_unit_concept_id": 8576, "valid_start_date": day,
                 "valid_end_date": dt.date(2099, 12, 31)}
                for d, mg in ((900003, 50.0), (900004, 1.5))
            ],
        )  # fmt: skip
    engine.dispose()
    return url


def test_another_sites_layout_by_concept_and_daily_dose(tmp_path: Path) -> None:
    omop = open_omop(_foreign(tmp_path / "site.sqlite3"), read_only=True)
    frames, findings = omop_frames(omop)
    omop.dispose()
    assert (findings.persons, findings.ms_persons) == (4, 3)
    assert "descendants" in findings.ms_concepts and "drug_strength" in findings.naltrexone_concepts
    assert findings.ldn_users == 2
    assert findings.naltrexone_without_daily_dose == 1
    assert findings.naltrexone_by_name_only == 1
    exposures = frames["exposures"].sort_values("patient_id")
    assert exposures["drug_name"].tolist().count("methylprednisolone") == 1
    exposures = exposures[exposures["drug_name"] == "naltrexone"]
    assert exposures["dose_mg"].tolist() == pytest.approx([4.5, 4.5, 50.0])
    assert findings.counts["steroid_courses"] == 1
    for missing in ("EDSS scores", "MS relapses", "symptom scores"):
        assert f"the OMOP database holds no {missing}" in findings.headlines
    results = run_all(frames)
    assert all(r.status == "insufficient_data" for r in results.values() if r.headline is None)


def test_cli_exports_then_analyzes_the_omop_database(
    exported: dict[str, str], tmp_path: Path
) -> None:
    target = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    result = runner.invoke(
        app,
        ["export", "--format", "omop", str(tmp_path / "csv"), "--db", exported["registry"],
         "--omop-url", target, "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["exported"]["tables"]["person"] == SMALL.patients
    result = runner.invoke(app, ["analyze", "--omop", target, "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["omop"]["ms_persons"] == SMALL.patients
    assert "a factor the OMOP database does not record" in result.stdout  # E-values
    assert "the registry does not record" not in result.stdout
    assert "matched" in out
    site = _foreign(tmp_path / "site.sqlite3")
    result = runner.invoke(app, ["analyze", "--omop", site])
    assert result.exit_code == 0, result.stderr
    assert "What the OMOP database holds" in result.stdout
    assert "the OMOP database holds no EDSS scores" in result.stdout


def test_analyze_omop_follows_the_disclosure_rule_unless_told_not_to(tmp_path: Path) -> None:
    """Output that may leave a site suppresses small counts (the findings, their sentences
    and the results alike, as a site summary does); --no-suppression prints them as they are.
    The messages name the OMOP database, never the registry."""
    site = _foreign(tmp_path / "site.sqlite3")
    result = runner.invoke(app, ["analyze", "--omop", site, "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["omop"]["min_cell_size"] == 5
    assert out["omop"]["ms_persons"] is None  # 3 persons with MS: suppressed
    assert out["omop"]["persons"] is None
    assert out["omop"]["headlines"][0].startswith("fewer than 5 of fewer than 5 persons")
    assert "in the registry" not in result.stdout
    assert "in the OMOP database" in result.stdout
    shown = runner.invoke(app, ["analyze", "--omop", site])
    assert shown.exit_code == 0, shown.stderr
    assert "fewer than 5 of fewer than 5 persons have multiple sclerosis" in shown.stdout
    assert "--no-suppression" in shown.stdout
    result = runner.invoke(app, ["analyze", "--omop", site, "--no-suppression", "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["omop"]["ms_persons"], out["omop"]["persons"]) == (3, 4)
    assert out["omop"]["min_cell_size"] is None
    assert out["omop"]["headlines"][0].startswith("3 of 4 persons")
    refused = runner.invoke(app, ["analyze", "--no-suppression"])
    assert refused.exit_code != 0
    assert "--no-suppression is for --omop" in refused.output


@pytest.mark.postgres
def test_export_and_analysis_on_postgresql(
    exported: dict[str, str], expected: dict[str, AnalysisResult], postgres_database: str
) -> None:
    """The same round trip on PostgreSQL (the OMOP tables are dropped afterwards)."""
    from ldn_outcomes.store.omop_tables import omop_metadata

    registry = make_engine(exported["registry"])
    try:
        export_omop(registry, None, postgres_database)
        omop = open_omop(postgres_database)
        frames, findings = omop_frames(omop)
        omop.dispose()
        assert findings.ms_persons == SMALL.patients
        got = run_all(frames, AnalysisPlan())
        for name, result in expected.items():
            assert _same(_headline(got[name]), _headline(result)), name
    finally:
        registry.dispose()
        cleanup = open_omop(postgres_database)
        omop_metadata().drop_all(cleanup, tables=[omop_table(n) for n in WRITTEN])
        cleanup.dispose()
