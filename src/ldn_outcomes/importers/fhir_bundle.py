"""Export the registry as FHIR R4 Bundles (one per patient) and import such Bundles back.

Export streams patient by patient: one patient's records are read, mapped (:mod:`.fhir_map`),
validated against the FHIR R4B models of ``fhir.resources`` and written as ``<patient>.json``
before the next is read, so memory stays flat as the registry grows.

Import is all or nothing, like the CSV import: every Bundle is validated against the FHIR
models, every resource is read back (:mod:`.fhir_read`) and validated by the domain's own
rules, every problem is collected with its file, resource and element, and only a clean batch
is written, through the store's bulk write path in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from sqlalchemy import Engine

from ..domain.models import RECORD_TYPES, Clinician, Patient, Record, Site
from ..domain.validation import parse_record
from ..errors import NotFound, Problem, ValidationFailed
from ..store.bulk import load_records
from ..store.registry import Registry
from ..store.uow import UnitOfWork
from .fhir_map import fhir_id, patient_bundle, resource_id
from .fhir_read import READERS, Read, read_organization, read_patient, read_practitioner

Progress = Callable[[str, int], None]


def fhir_problems(bundle: dict[str, Any], source: str) -> list[Problem]:
    """What the FHIR R4B models refuse in a Bundle, named by resource and element."""
    try:
        Bundle.model_validate(bundle)
    except ValidationError as error:
        return [_fhir_problem(bundle, item, source) for item in error.errors()]
    return []


def _fhir_problem(bundle: dict[str, Any], item: Any, source: str) -> Problem:
    loc = list(item.get("loc", ()))
    resource = "Bundle"
    if len(loc) >= 3 and loc[0] == "entry" and isinstance(loc[1], int) and loc[2] == "resource":
        entry = (bundle.get("entry") or [])[loc[1]]
        found = entry.get("resource", {}) if isinstance(entry, dict) else {}
        if not isinstance(found, dict):  # a resource that is not even an object
            found = {}
        resource = f"{found.get('resourceType', '?')}/{found.get('id', f'entry[{loc[1]}]')}"
        loc = loc[3:]
    element = ".".join(str(part) for part in loc) or "(resource)"
    rule = str(item.get("msg", "invalid")).removeprefix("Value error, ")
    return Problem(resource, element, rule, source=source)


def bundle_for(registry: Registry, patient: Patient) -> dict[str, Any]:
    """One patient's Bundle, with the sites and clinician it refers to, checked against the
    FHIR models (a mapping bug fails loudly)."""
    records = registry.patient_records(patient.patient_id)
    clinicians = [registry.get("clinicians", patient.clinician_id)] if patient.clinician_id else []
    site_ids = {patient.site_id} | {getattr(c, "site_id", None) for c in clinicians}
    sites = [registry.get("sites", key) for key in sorted(k for k in site_ids if k)]
    bundle = patient_bundle(
        patient,
        records,
        [s for s in sites if isinstance(s, Site)],
        [c for c in clinicians if isinstance(c, Clinician)],
    )
    problems = fhir_problems(bundle, patient.patient_id)
    if problems:
        raise ValidationFailed(problems)
    return bundle


def export_fhir_dir(
    engine: Engine, directory: Path, progress: Progress | None = None
) -> dict[str, int]:
    """Write ``<patient>.json`` per patient; returns the number of bundles and resources."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    counts = {"bundles": 0, "resources": 0}
    with UnitOfWork(engine) as uow:
        for patient in uow.registry.records(Patient):
            bundle = bundle_for(uow.registry, patient)
            write_bundle(directory / f"{patient.patient_id}.json", bundle)
            counts["bundles"] += 1
            counts["resources"] += len(bundle["entry"])
            if progress:
                progress(patient.patient_id, counts["bundles"])
    return counts


def patient_fhir(engine: Engine, patient_id: str) -> dict[str, Any]:
    """One patient's data as a FHIR Bundle (the patient's right to their own data)."""
    with UnitOfWork(engine) as uow:
        return bundle_for(uow.registry, uow.registry.patient(patient_id))


def write_bundle(path: Path, bundle: dict[str, Any]) -> None:
    path.write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def bundle_files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(path.glob("*.json"))
        if not found:
            raise NotFound(f"{path}: no FHIR Bundle files (*.json)")
        return found
    if not path.exists():
        raise NotFound(f"{path}: no such file or directory")
    return [path]


def read_bundle(source: str, data: bytes) -> tuple[dict[str, list[Record]], list[Problem]]:
    """The records of one Bundle file and every problem in it; never raises on bad input."""
    try:
        bundle = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return {}, [Problem("Bundle", "(file)", f"not JSON text: {error}", source=source)]
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return {}, [Problem("Bundle", "resourceType", "must be Bundle", source=source)]
    problems = fhir_problems(bundle, source)
    if problems:
        return {}, problems
    resources = [entry.get("resource") or {} for entry in bundle.get("entry") or []]
    return records_of(resources, source)


def records_of(
    resources: list[dict[str, Any]], source: str
) -> tuple[dict[str, list[Record]], list[Problem]]:
    """Map FHIR resources back to validated records (one Patient and its Condition each)."""
    records: dict[str, list[Record]] = {}
    problems: list[Problem] = []
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(str(resource.get("resourceType")), []).append(resource)
    patients = by_type.pop("Patient", [])
    conditions = {
        str((c.get("subject") or {}).get("reference", "")).removeprefix("Patient/"): c
        for c in by_type.pop("Condition", [])
    }
    for resource in by_type.pop("Organization", []):
        _add(read_organization(resource), _name(resource), source, records, problems)
    for resource in by_type.pop("Practitioner", []):
        _add(read_practitioner(resource), _name(resource), source, records, problems)
    practitioners = _registry_ids(records, "clinicians", "clinician_id")
    organizations = _registry_ids(records, "sites", "site_id")
    known: dict[str, Any] = {}
    for patient in patients:
        read = read_patient(patient, conditions.get(str(patient.get("id"))))
        for name, ids in (("clinician_id", practitioners), ("site_id", organizations)):
            read.data[name] = ids.get(read.data[name], read.data[name])
        known[str(patient.get("id"))] = read.data.get("patient_id")
        _add(read, f"Patient/{patient.get('id')}", source, records, problems)
    for resource_type, group in by_type.items():
        reader = READERS.get(resource_type)
        for resource in group:
            name = f"{resource_type}/{resource.get('id')}"
            if reader is None:
                rule = "not a resource kind this registry reads"
                problems.append(Problem(name, "resourceType", rule, source=source))
                continue
            read = reader(resource)
            reference = read.data.get("patient_id")
            if reference is not None and reference not in known:
                read.problems.append((read.elements["patient_id"], "refers to no Patient here"))
            if reference is not None:
                read.data["patient_id"] = known.get(reference, reference)
            _add(read, name, source, records, problems)
    return records, problems


def _name(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def _registry_ids(records: dict[str, list[Record]], kind: str, key: str) -> dict[str, str]:
    """FHIR id -> registry id of the sites or clinicians read so far."""
    return {fhir_id(getattr(r, key)): getattr(r, key) for r in records.get(kind, [])}


def _add(
    read: Read,
    name: str,
    source: str,
    records: dict[str, list[Record]],
    problems: list[Problem],
) -> None:
    """Validate one read resource by the domain's rules; every problem names its element.
    Fields the reader could not find are not reported twice."""
    problems.extend(Problem(name, element, rule, source=source) for element, rule in read.problems)
    reported = {element for element, _ in read.problems}
    try:
        record = parse_record(RECORD_TYPES[read.kind], read.data, source=source)
    except ValidationFailed as failure:
        for p in failure.problems:
            element = read.elements.get(p.field.split(".")[0], p.field)
            if element not in reported and not (read.problems and p.value is None):
                problems.append(Problem(name, element, p.rule, value=p.value, source=source))
        return
    if not read.problems:
        records.setdefault(read.kind, []).append(record)


def import_fhir(engine: Engine, path: Path, *, actor: str = "import") -> dict[str, int]:
    """Validate every Bundle at ``path``, then write all of it or nothing. Returns counts.

    A site or clinician carried in several Bundles (or already in the registry) is written
    once when every copy agrees, and is a problem when copies differ."""
    batch: dict[str, list[tuple[int | None, Record]]] = {kind: [] for kind in RECORD_TYPES}
    where: list[tuple[str, str]] = []  # (file, resource) by the number given to each record
    shared: dict[tuple[str, str], tuple[Record, str]] = {}
    problems: list[Problem] = []
    for file in bundle_files(Path(path)):
        records, found = read_bundle(file.name, file.read_bytes())
        problems.extend(found)
        for kind, items in records.items():
            for record in items:
                if kind in SHARED_KINDS:
                    problems.extend(_shared(shared, kind, record, file.name))
                    continue
                batch[kind].append((len(where), record))
                where.append((file.name, _resource_of(kind, record)))
    problems.extend(_against_registry(engine, shared, batch, where))
    if problems:
        raise ValidationFailed(problems)
    try:
        return load_records(engine, batch, actor=actor, source=Path(path).name)
    except ValidationFailed as failure:  # rules across records: name each one's file and resource
        raise ValidationFailed([_located(p, where) for p in failure.problems]) from None


#: Kinds that several patients' Bundles may each carry a copy of.
SHARED_KINDS = {"sites": "site_id", "clinicians": "clinician_id"}


def _resource_of(kind: str, record: Record) -> str:
    if isinstance(record, Patient):
        return f"Patient/{fhir_id(record.patient_id)}"
    if isinstance(record, Site):
        return f"Organization/{fhir_id(record.site_id)}"
    if isinstance(record, Clinician):
        return f"Practitioner/{fhir_id(record.clinician_id)}"
    return f"{RESOURCE_TYPES[kind]}/{resource_id(EXPORT_KEYS[kind], getattr(record, 'id', None))}"


#: Resource type and id prefix of each record kind read from a Bundle.
RESOURCE_TYPES = {
    "exposures": "MedicationStatement",
    "questionnaires": "QuestionnaireResponse",
    "edss": "Observation",
    "labs": "Observation",
    "adverse_events": "AdverseEvent",
    "consents": "Consent",
}
EXPORT_KEYS = {
    "exposures": "exposure",
    "questionnaires": "questionnaire",
    "edss": "edss",
    "labs": "lab",
    "adverse_events": "adverse_event",
    "consents": "consent",
}


def _shared(
    shared: dict[tuple[str, str], tuple[Record, str]], kind: str, record: Record, source: str
) -> list[Problem]:
    key = (kind, getattr(record, SHARED_KINDS[kind]))
    if key not in shared:
        shared[key] = (record, source)
        return []
    first, first_source = shared[key]
    if first == record:
        return []
    rule = f"differs from the copy in {first_source}; every copy must agree"
    return [Problem(_resource_of(kind, record), "(resource)", rule, source=source)]


def _against_registry(
    engine: Engine,
    shared: dict[tuple[str, str], tuple[Record, str]],
    batch: dict[str, list[tuple[int | None, Record]]],
    where: list[tuple[str, str]],
) -> list[Problem]:
    """Sites and clinicians already in the registry are kept if equal, refused if not."""
    problems = []
    with UnitOfWork(engine) as uow:
        for (kind, key), (record, source) in shared.items():
            try:
                existing = uow.registry.get(kind, key)
            except NotFound:
                batch[kind].append((len(where), record))
                where.append((source, _resource_of(kind, record)))
                continue
            if existing != record:
                rule = "differs from the registry's record with this id"
                problems.append(
                    Problem(_resource_of(kind, record), "(resource)", rule, source=source)
                )
    return problems


def _located(problem: Problem, where: list[tuple[str, str]]) -> Problem:
    if problem.row is None or not 0 <= problem.row < len(where):
        return problem
    source, resource = where[problem.row]
    kind = resource.partition("/")[0]
    element = CROSS_RECORD_ELEMENTS.get((kind, problem.field))
    element = element or CROSS_RECORD_ELEMENTS.get(("*", problem.field), problem.field)
    return Problem(resource, element, problem.rule, value=problem.value, source=source)


#: The element behind each field that the store's cross-record rules name.
CROSS_RECORD_ELEMENTS = {
    ("Patient", "patient_id"): "identifier",
    ("Patient", "clinician_id"): "generalPractitioner",
    ("Patient", "site_id"): "managingOrganization",
    ("Patient", "year_of_birth"): "birthDate",
    ("Organization", "site_id"): "identifier",
    ("Practitioner", "clinician_id"): "identifier",
    ("Practitioner", "site_id"): "extension(site_id)",
    ("Consent", "patient_id"): "patient",
    ("*", "patient_id"): "subject",
}
