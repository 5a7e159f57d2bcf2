"""Streaming exports write exactly what a whole-registry read would, at any chunk size; the
FHIR bulk NDJSON export reads back through ``import --format fhir`` unchanged; the REDCap
export writes byte for byte what its per-patient predecessor wrote, from one snapshot."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from tests.factories import demo_patient, registries

from ldn_outcomes.domain.codes import DrugClass
from ldn_outcomes.domain.layout import columns, to_row
from ldn_outcomes.domain.models import RECORD_TYPES, EdssAssessment, Exposure, Patient, Record
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.importers.fhir_bundle import bundle_for, export_fhir_dir
from ldn_outcomes.importers.fhir_import import import_fhir, import_fhir_with_notices
from ldn_outcomes.importers.fhir_map import EXPORTED_KINDS
from ldn_outcomes.importers.fhir_ndjson import export_fhir_ndjson, read_ndjson
from ldn_outcomes.importers.redcap_data import patient_rows
from ldn_outcomes.importers.redcap_dictionary import csv_line, dictionary_text
from ldn_outcomes.importers.redcap_files import DATA_FILE, DICTIONARY_FILE, export_redcap_dir
from ldn_outcomes.importers.redcap_project import project
from ldn_outcomes.importers.registry_csv import export_dir
from ldn_outcomes.store import streams
from ldn_outcomes.store.bulk import load_records
from ldn_outcomes.store.tables import ROW_TYPES
from ldn_outcomes.store.uow import UnitOfWork

SLOW = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for kind in reversed(list(RECORD_TYPES)):
            connection.execute(delete(ROW_TYPES[kind]))


def _load(engine: Engine, registry: dict[str, list[Record]]) -> None:
    _empty(engine)
    load_records(
        engine,
        {kind: [(None, r) for r in records] for kind, records in registry.items()},
        actor="test",
    )


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of one or two, so every export crosses many chunk boundaries."""
    monkeypatch.setattr(streams, "RECORDS_PER_CHUNK", 2)
    monkeypatch.setattr(streams, "PATIENTS_PER_CHUNK", 1)


def _whole_csv(engine: Engine, directory: Path) -> None:
    """The export as it was before it streamed: every kind read whole, then written."""
    directory.mkdir()
    with UnitOfWork(engine) as uow:
        for kind, cls in RECORD_TYPES.items():
            with (directory / f"{kind}.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns(kind), lineterminator="\n")
                writer.writeheader()
                for record in uow.registry.records(cls):
                    writer.writerow(to_row(record))


def _same_files(first: Path, second: Path) -> None:
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


@SLOW
@given(registry=registries(max_patients=5))
def test_streamed_exports_equal_whole_registry_exports(
    engine: Engine, tiny_chunks: None, registry: dict[str, list[Record]]
) -> None:
    _load(engine, registry)
    work = Path(tempfile.mkdtemp())
    try:
        counts = export_dir(engine, work / "csv")
        assert counts == {kind: len(registry.get(kind, [])) for kind in RECORD_TYPES}
        _whole_csv(engine, work / "whole")
        _same_files(work / "csv", work / "whole")
        export_fhir_dir(engine, work / "fhir")
        with UnitOfWork(engine) as uow:
            for patient in uow.registry.records(Patient):
                written = json.loads((work / "fhir" / f"{patient.patient_id}.json").read_text())
                assert written == bundle_for(uow.registry, patient)
    finally:
        shutil.rmtree(work)


@SLOW
@given(registry=registries(max_patients=5))
def test_ndjson_export_import_export_is_identical(
    engine: Engine, tiny_chunks: None, registry: dict[str, list[Record]]
) -> None:
    _load(engine, registry)
    work = Path(tempfile.mkdtemp())
    try:
        counts = export_fhir_ndjson(engine, work / "first")
        assert counts["Patient"] == counts["Condition"] == len(registry["patients"])
        for path in (work / "first").iterdir():
            lines = path.read_text(encoding="utf-8").splitlines()
            assert {json.loads(line)["resourceType"] for line in lines} == {path.stem}
            assert all(" " not in line.split('"')[0] for line in lines)  # no whitespace
        export_dir(engine, work / "csv-first")
        _empty(engine)
        imported = import_fhir(engine, work / "first", actor="test")
        assert imported["patients"] == len(registry["patients"])
        with UnitOfWork(engine) as uow:
            for kind in ("sites", "clinicians", "patients", *EXPORTED_KINDS):
                assert uow.registry.records(RECORD_TYPES[kind]) == registry.get(kind, []), kind
        export_fhir_ndjson(engine, work / "second")
        _same_files(work / "first", work / "second")
    finally:
        shutil.rmtree(work)


def _on_ldn(dose: str) -> dict[str, list[Record]]:
    exposure = Exposure(
        id=7,
        patient_id="P001",
        drug_name="naltrexone",
        drug_class=DrugClass.LDN,
        dose_mg=Decimal(dose),
        start_date=dt.date(2020, 1, 1),
    )
    return {"patients": [demo_patient("P001")], "exposures": [exposure]}


@pytest.mark.parametrize("file_format", ["bundles", "ndjson"])
def test_a_naltrexone_dose_outside_the_low_dose_range_is_named_for_checking(
    engine: Engine, tmp_path: Path, file_format: str
) -> None:
    export = export_fhir_dir if file_format == "bundles" else export_fhir_ndjson
    _load(engine, _on_ldn("50"))  # the licensed dose for dependence, not a low dose
    export(engine, tmp_path / "high")
    _load(engine, _on_ldn("4.5"))
    export(engine, tmp_path / "low")
    _empty(engine)
    counts, notices = import_fhir_with_notices(engine, tmp_path / "high", actor="test")
    assert counts["exposures"] == 1  # kept: the dose may be right
    [notice] = notices
    assert notice.record == "MedicationStatement/exposure-7"
    assert notice.field == "dosage[0].doseAndRate[0].doseQuantity.value"
    assert notice.value == 50.0 and "above the low-dose range" in notice.rule
    expected = "P001.json" if file_format == "bundles" else "MedicationStatement.ndjson line 1"
    assert notice.source == expected
    _empty(engine)
    assert import_fhir_with_notices(engine, tmp_path / "low", actor="test")[1] == []


def test_a_bad_ndjson_line_writes_nothing_and_is_named_by_file_and_line(
    engine: Engine, tmp_path: Path
) -> None:
    _load(engine, _on_ldn("4.5"))
    export_fhir_ndjson(engine, tmp_path)
    _empty(engine)
    statement = tmp_path / "MedicationStatement.ndjson"
    resource = json.loads(statement.read_text())
    resource["effectivePeriod"]["start"] = "not a date"
    statement.write_text(json.dumps(resource) + "\n{ not json\n")
    with (tmp_path / "Patient.ndjson").open("a") as handle:
        handle.write(json.dumps({"resourceType": "Consent", "id": "x"}) + "\n")
    with pytest.raises(ValidationFailed) as caught:
        import_fhir(engine, tmp_path, actor="test")
    found = {(p.source, p.record, p.field) for p in caught.value.problems}
    assert (
        "MedicationStatement.ndjson line 1",
        "MedicationStatement/exposure-7",
        "effectivePeriod.start",
    ) in found
    assert ("MedicationStatement.ndjson line 2", "NDJSON", "(line)") in found
    assert ("Patient.ndjson line 2", "Consent/x", "resourceType") in found
    with UnitOfWork(engine) as uow:
        assert uow.registry.count("patients") == 0


lines = st.one_of(
    st.text(max_size=40),
    st.dictionaries(
        st.sampled_from(["resourceType", "id", "subject", "status", "gender"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=12), st.just("Patient")),
        max_size=4,
    ).map(json.dumps),
)


@settings(max_examples=60, deadline=None)
@given(content=st.lists(lines, max_size=5), name=st.sampled_from(["Patient", "Observation"]))
def test_no_ndjson_content_makes_the_reader_raise(content: list[str], name: str) -> None:
    """Whatever the lines hold, reading returns resources or problems naming file and line."""
    work = Path(tempfile.mkdtemp())
    try:
        path = work / f"{name}.ndjson"
        path.write_text("\n".join(content), encoding="utf-8")
        resources, sources, problems = read_ndjson([path])
        assert len(resources) == len(sources)
        assert all(p.source and p.source.startswith(f"{name}.ndjson line ") for p in problems)
        assert all(s.startswith(f"{name}.ndjson line ") for s in sources)
    finally:
        shutil.rmtree(work)


def test_a_re_export_leaves_no_file_of_a_type_now_empty(engine: Engine, tmp_path: Path) -> None:
    _load(engine, _on_ldn("4.5"))
    export_fhir_ndjson(engine, tmp_path)
    assert (tmp_path / "MedicationStatement.ndjson").exists()
    (tmp_path / "notes.ndjson").write_text("kept\n")  # not a file this export writes
    _load(engine, {"patients": [demo_patient("P001")]})
    export_fhir_ndjson(engine, tmp_path)
    assert not (tmp_path / "MedicationStatement.ndjson").exists()
    assert (tmp_path / "notes.ndjson").read_text() == "kept\n"


def _per_patient_redcap(engine: Engine, directory: Path) -> None:
    """The REDCap export as it was before it streamed: one patient at a time through the
    unit of work, each with its site, clinician and clinician's site read one by one."""
    proj = project()
    directory.mkdir()
    (directory / DICTIONARY_FILE).write_text(dictionary_text(proj.fields), encoding="utf-8")
    header = proj.data_header()
    with (
        UnitOfWork(engine) as uow,
        (directory / DATA_FILE).open("w", encoding="utf-8", newline="") as out,
    ):
        out.write(csv_line(header))
        for patient in uow.registry.records(Patient):
            get = uow.registry.get
            clinician = get("clinicians", patient.clinician_id) if patient.clinician_id else None
            site_of_clinician = getattr(clinician, "site_id", None)
            shared = {
                "site": get("sites", patient.site_id) if patient.site_id else None,
                "clinician": clinician,
                "clinician_site": get("sites", site_of_clinician) if site_of_clinician else None,
            }
            records = uow.registry.patient_records(patient.patient_id)
            for row in patient_rows(proj, patient, records, shared):
                out.write(csv_line(row.get(column, "") for column in header))


@SLOW
@given(registry=registries(max_patients=5))
def test_streamed_redcap_export_equals_the_per_patient_export(
    engine: Engine, tiny_chunks: None, registry: dict[str, list[Record]]
) -> None:
    _load(engine, registry)
    work = Path(tempfile.mkdtemp())
    try:
        told: list[str] = []
        counts = export_redcap_dir(engine, work / "streamed", lambda pid, n: told.append(pid))
        assert counts["records"] == len(told) == len(registry["patients"])
        _per_patient_redcap(engine, work / "per_patient")
        _same_files(work / "streamed", work / "per_patient")
    finally:
        shutil.rmtree(work)


def test_the_redcap_export_is_one_instant_while_others_write(
    engine: Engine, tiny_chunks: None, tmp_path: Path
) -> None:
    """A record written while the export runs (after its first patient) is not in it: every
    chunk comes from the snapshot taken when the export began."""
    _load(engine, {"patients": [demo_patient("P001"), demo_patient("P002")]})
    before = export_redcap_dir(engine, tmp_path / "before")

    def write_meanwhile(patient_id: str, _: int) -> None:
        if patient_id == "P001":
            late = EdssAssessment(id=99, patient_id="P002", date=dt.date(2021, 1, 1), score=2.0)
            load_records(engine, {"edss": [(None, late)]}, actor="test")

    during = export_redcap_dir(engine, tmp_path / "during", write_meanwhile)
    assert during == before
    _same_files(tmp_path / "before", tmp_path / "during")
    assert export_redcap_dir(engine, tmp_path / "after")["rows"] == before["rows"] + 1
