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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from sqlalchemy import Engine

from ..domain.models import RECORD_TYPES, Patient, Record
from ..domain.validation import parse_record
from ..errors import NotFound, Problem, ValidationFailed
from ..store.bulk import load_records
from ..store.uow import UnitOfWork
from .fhir_map import patient_bundle
from .fhir_read import READERS, Read, read_patient

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
        resource = f"{found.get('resourceType', '?')}/{found.get('id', f'entry[{loc[1]}]')}"
        loc = loc[3:]
    element = ".".join(str(part) for part in loc) or "(resource)"
    rule = str(item.get("msg", "invalid")).removeprefix("Value error, ")
    return Problem(resource, element, rule, source=source)


def bundle_for(patient: Patient, records: dict[str, list[Record]]) -> dict[str, Any]:
    """One patient's Bundle, checked against the FHIR models (a mapping bug fails loudly)."""
    bundle = patient_bundle(patient, records)
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
            bundle = bundle_for(patient, uow.registry.patient_records(patient.patient_id))
            write_bundle(directory / f"{patient.patient_id}.json", bundle)
            counts["bundles"] += 1
            counts["resources"] += len(bundle["entry"])
            if progress:
                progress(patient.patient_id, counts["bundles"])
    return counts


def patient_fhir(engine: Engine, patient_id: str) -> dict[str, Any]:
    """One patient's data as a FHIR Bundle (the patient's right to their own data)."""
    with UnitOfWork(engine) as uow:
        patient = uow.registry.patient(patient_id)
        return bundle_for(patient, uow.registry.patient_records(patient_id))


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
    known: dict[str, Any] = {}
    for patient in patients:
        read = read_patient(patient, conditions.get(str(patient.get("id"))))
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
            read.data["patient_id"] = known.get(reference, reference)
            _add(read, name, source, records, problems)
    return records, problems


def _add(
    read: Read,
    name: str,
    source: str,
    records: dict[str, list[Record]],
    problems: list[Problem],
) -> None:
    problems.extend(Problem(name, element, rule, source=source) for element, rule in read.problems)
    if read.problems:
        return
    try:
        record = parse_record(RECORD_TYPES[read.kind], read.data, source=source)
    except ValidationFailed as failure:
        problems.extend(
            Problem(
                name,
                read.elements.get(p.field.split(".")[0], p.field),
                p.rule,
                value=p.value,
                source=source,
            )
            for p in failure.problems
        )
        return
    records.setdefault(read.kind, []).append(record)


def import_fhir(engine: Engine, path: Path, *, actor: str = "import") -> dict[str, int]:
    """Validate every Bundle at ``path``, then write all of it or nothing. Returns counts."""
    batch: dict[str, list[tuple[int | None, Record]]] = {kind: [] for kind in RECORD_TYPES}
    problems: list[Problem] = []
    for file in bundle_files(Path(path)):
        records, found = read_bundle(file.name, file.read_bytes())
        problems.extend(found)
        for kind, items in records.items():
            batch[kind].extend((None, record) for record in items)
    if problems:
        raise ValidationFailed(problems)
    return load_records(engine, batch, actor=actor, source=Path(path).name)


def iter_bundles(directory: Path) -> Iterator[dict[str, Any]]:
    for file in bundle_files(directory):
        yield json.loads(file.read_text(encoding="utf-8"))
