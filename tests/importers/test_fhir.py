"""FHIR R4 Bundles: valid against the R4B models, read back to the same records, all or nothing."""

from __future__ import annotations

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

from ldn_outcomes.domain.codes import ConsentScope, DrugClass, Formulation
from ldn_outcomes.domain.models import (
    RECORD_TYPES,
    Consent,
    EdssAssessment,
    Exposure,
    LabObservation,
    Record,
)
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.importers.fhir_bundle import export_fhir_dir, fhir_problems, read_bundle
from ldn_outcomes.importers.fhir_import import import_fhir
from ldn_outcomes.importers.fhir_map import EXPORTED_KINDS, patient_bundle
from ldn_outcomes.importers.fhir_records import records_of
from ldn_outcomes.store.bulk import load_records
from ldn_outcomes.store.tables import ROW_TYPES
from ldn_outcomes.store.uow import UnitOfWork

CARRIED = ("sites", "clinicians", "patients", *EXPORTED_KINDS)


def _empty(engine: Engine) -> None:
    """Empty the registry's records (the audit trail is append-only and stays)."""
    with engine.begin() as connection:
        for kind in reversed(list(RECORD_TYPES)):
            connection.execute(delete(ROW_TYPES[kind]))


def _load(engine: Engine, registry: dict[str, list[Record]]) -> None:
    load_records(
        engine,
        {kind: [(None, r) for r in records] for kind, records in registry.items()},
        actor="test",
    )


def _of(registry: dict[str, list[Record]], patient_id: str) -> dict[str, list[Record]]:
    return {
        kind: [r for r in records if getattr(r, "patient_id", None) == patient_id]
        for kind, records in registry.items()
    }


patient_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(registry=registries(), new_id=patient_ids)
def test_every_bundle_is_valid_fhir_and_reads_back_to_the_same_records(
    registry: dict[str, list[Record]], new_id: str
) -> None:
    # Rename the first patient to an id outside FHIR's id alphabet ('_', ':'): the registry id
    # must travel unchanged.
    old_id = registry["patients"][0].patient_id
    registry = {
        kind: [
            r.model_copy(update={"patient_id": new_id})
            if getattr(r, "patient_id", None) == old_id
            else r
            for r in records
        ]
        for kind, records in registry.items()
    }
    sites = {s.site_id: s for s in registry["sites"]}
    clinicians = {c.clinician_id: c for c in registry["clinicians"]}
    for patient in registry["patients"]:
        own = _of(registry, patient.patient_id)
        clinician = [clinicians[patient.clinician_id]] if patient.clinician_id else []
        site_ids = {patient.site_id, *(c.site_id for c in clinician)} - {None}
        bundle = patient_bundle(patient, own, [sites[k] for k in sorted(site_ids)], clinician)
        wire = json.loads(json.dumps(bundle))
        assert fhir_problems(wire, "p.json") == []
        back, problems = records_of([entry["resource"] for entry in wire["entry"]], "p.json")
        assert problems == []
        assert back.pop("patients") == [patient]
        assert back.pop("clinicians", []) == clinician
        assert back.pop("sites", []) == [sites[k] for k in sorted(site_ids)]
        for kind in EXPORTED_KINDS:
            assert back.get(kind, []) == own[kind], kind


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(registry=registries())
def test_export_import_export_is_identical(engine: Engine, registry: dict) -> None:
    _empty(engine)
    _load(engine, registry)
    work = Path(tempfile.mkdtemp())
    try:
        counts = export_fhir_dir(engine, work / "first")
        assert counts["bundles"] == len(registry["patients"])
        _empty(engine)
        imported = import_fhir(engine, work / "first", actor="test")
        assert imported["patients"] == len(registry["patients"])
        with UnitOfWork(engine) as uow:
            for kind in CARRIED:
                if kind in ("sites", "clinicians"):
                    continue  # only those a patient refers to travel
                assert uow.registry.records(RECORD_TYPES[kind]) == registry[kind], kind
        export_fhir_dir(engine, work / "second")
        first = sorted(p.name for p in (work / "first").iterdir())
        assert first == sorted(p.name for p in (work / "second").iterdir())
        for name in first:
            assert (work / "first" / name).read_bytes() == (work / "second" / name).read_bytes()
    finally:
        shutil.rmtree(work)


def _small_registry() -> dict[str, list[Record]]:
    """Two patients, one on LDN with an EDSS, a lab and a consent."""
    return {
        "patients": [demo_patient("P001"), demo_patient("P002", phenotype="SPMS")],
        "exposures": [
            Exposure(
                id=1,
                patient_id="P001",
                drug_name="naltrexone",
                drug_class=DrugClass.LDN,
                dose_mg=Decimal("4.5"),
                formulation=Formulation.CAPSULE,
                start_date=dt.date(2020, 1, 1),
            )
        ],
        "edss": [EdssAssessment(id=2, patient_id="P001", date=dt.date(2021, 1, 1), score=3.5)],
        "labs": [
            LabObservation(
                id=3,
                patient_id="P002",
                date=dt.date(2021, 2, 1),
                # ALT in serum or plasma (https://loinc.org/1742-6/).
                loinc_code="1742-6",
                name="ALT",
                value=21.0,
                unit="U/L",
            )
        ],
        "consents": [
            Consent(
                id=4, patient_id="P002", scope=ConsentScope.RESEARCH, given_date=dt.date(2020, 1, 1)
            )
        ],
    }


@pytest.fixture
def exported(engine: Engine, tmp_path: Path) -> Path:
    _empty(engine)
    _load(engine, _small_registry())
    export_fhir_dir(engine, tmp_path / "out")
    _empty(engine)
    return tmp_path / "out"


def _edit(path: Path, resource_type: str, change: dict) -> str:
    bundle = json.loads(path.read_text())
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == resource_type:
            entry["resource"].update(change)
            path.write_text(json.dumps(bundle))
            return f"{resource_type}/{entry['resource']['id']}"
    raise AssertionError(f"no {resource_type} in {path.name}")


def test_import_is_all_or_nothing_and_names_file_resource_and_element(
    engine: Engine, exported: Path
) -> None:
    files = sorted(exported.glob("*.json"))
    patient = _edit(files[0], "Patient", {"birthDate": "3000"})  # after today
    condition = _edit(files[0], "Condition", {"onsetDateTime": "not a date"})  # not FHIR
    (exported / "broken.json").write_bytes(b"{ not json")
    with pytest.raises(ValidationFailed) as caught:
        import_fhir(engine, exported, actor="test")
    found = {(p.source, p.record, p.field) for p in caught.value.problems}
    assert (files[0].name, condition, "onsetDateTime") in found
    assert ("broken.json", "Bundle", "(file)") in found
    with UnitOfWork(engine) as uow:
        assert uow.registry.count("patients") == 0
    # With the FHIR-level error fixed, the domain rule names the Patient's element.
    _edit(files[0], "Condition", {"onsetDateTime": "2001-01-01"})
    (exported / "broken.json").unlink()
    with pytest.raises(ValidationFailed) as caught:
        import_fhir(engine, exported, actor="test")
    assert [(p.source, p.record, p.field) for p in caught.value.problems] == [
        (files[0].name, patient, "Patient.birthDate")
    ]
    with UnitOfWork(engine) as uow:
        assert uow.registry.count("patients") == 0


def test_a_record_already_in_the_registry_is_named_by_file_and_resource(
    engine: Engine, exported: Path
) -> None:
    import_fhir(engine, exported, actor="test")
    with pytest.raises(ValidationFailed) as caught:
        import_fhir(engine, exported, actor="test")
    first = caught.value.problems[0]
    assert first.source is not None and first.source.endswith(".json")
    assert first.record.startswith("Patient/") and first.field == "identifier"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
element_names = st.sampled_from(
    ["id", "subject", "valueQuantity", "effectiveDateTime", "code", "item", "dosage", "extension"]
)


@settings(max_examples=60, deadline=None)
@given(
    resource_type=st.sampled_from(
        [
            "Patient",
            "Condition",
            "MedicationStatement",
            "Observation",
            "QuestionnaireResponse",
            "AdverseEvent",
            "Consent",
            "Organization",
            "Practitioner",
        ]
    ),
    changes=st.dictionaries(element_names, json_values, max_size=3),
)
def test_no_bundle_content_makes_the_reader_raise(resource_type: str, changes: dict) -> None:
    """Whatever a resource holds, reading a Bundle returns records or named problems."""
    registry = _small_registry()
    patient = registry["patients"][0]
    bundle = patient_bundle(patient, _of(registry, patient.patient_id))
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == resource_type:
            entry["resource"].update(changes)
    bundle["entry"].append({"resource": {"resourceType": resource_type, **changes}})
    records, problems = read_bundle("p.json", json.dumps(bundle).encode())
    assert problems or records
    assert all(p.source == "p.json" and p.record and p.field for p in problems)


@pytest.mark.parametrize("number", ["99999999999999999999", "0", "²"])
def test_a_record_id_beyond_the_database_is_a_named_problem(
    engine: Engine, exported: Path, number: str
) -> None:
    """A resource id ``edss-<n>`` with an ``n`` no database holds (beyond 64 bits the SQLite
    driver raised OverflowError) is refused by its element; nothing is stored."""
    changed = []
    for path in sorted(exported.glob("*.json")):
        bundle = json.loads(path.read_text())
        for entry in bundle["entry"]:
            resource = entry["resource"]
            kind, _, _ = str(resource.get("id", "")).rpartition("-")
            if resource["resourceType"] == "Observation" and kind in ("edss", "lab"):
                resource["id"] = f"{kind}-{number}"
                changed.append(f"Observation/{resource['id']}")
        path.write_text(json.dumps(bundle))
    assert changed
    with pytest.raises(ValidationFailed) as caught:
        import_fhir(engine, exported, actor="test")
    assert {(p.record, p.field) for p in caught.value.problems} == {(r, "id") for r in changed}
    with UnitOfWork(engine) as uow:
        assert uow.registry.count("patients") == 0
