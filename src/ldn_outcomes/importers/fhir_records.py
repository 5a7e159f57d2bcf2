"""FHIR resources read back into validated registry records: what Bundles and NDJSON share.

Each resource is read by :mod:`.fhir_read` and validated by the domain's own rules; every
problem names its resource and element, and where the resource came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..domain.models import RECORD_TYPES, Record
from ..domain.validation import parse_record
from ..errors import Problem, ValidationFailed
from .fhir_map import fhir_id
from .fhir_read import READERS, Read, read_organization, read_patient, read_practitioner


def records_of(
    resources: list[dict[str, Any]], source: str, *, sources: Sequence[str] | None = None
) -> tuple[dict[str, list[Record]], list[Problem]]:
    """Map FHIR resources back to validated records (one Patient and its Condition each).

    Problems name ``source``, or with ``sources`` (one per resource) where each resource
    came from (an NDJSON file and line)."""
    origin = {} if sources is None else {id(r): s for r, s in zip(resources, sources, strict=True)}

    def at(resource: dict[str, Any]) -> str:
        return origin.get(id(resource), source)

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
        _add(read_organization(resource), _name(resource), at(resource), records, problems)
    for resource in by_type.pop("Practitioner", []):
        _add(read_practitioner(resource), _name(resource), at(resource), records, problems)
    practitioners = _registry_ids(records, "clinicians", "clinician_id")
    organizations = _registry_ids(records, "sites", "site_id")
    known: dict[str, Any] = {}
    for patient in patients:
        read = read_patient(patient, conditions.get(str(patient.get("id"))))
        for name, ids in (("clinician_id", practitioners), ("site_id", organizations)):
            read.data[name] = ids.get(read.data[name], read.data[name])
        known[str(patient.get("id"))] = read.data.get("patient_id")
        _add(read, f"Patient/{patient.get('id')}", at(patient), records, problems)
    for resource_type, group in by_type.items():
        reader = READERS.get(resource_type)
        for resource in group:
            name = f"{resource_type}/{resource.get('id')}"
            if reader is None:
                rule = "not a resource kind this registry reads"
                problems.append(Problem(name, "resourceType", rule, source=at(resource)))
                continue
            read = reader(resource)
            reference = read.data.get("patient_id")
            if reference is not None and reference not in known:
                read.problems.append((read.elements["patient_id"], "refers to no Patient here"))
            if reference is not None:
                read.data["patient_id"] = known.get(reference, reference)
            _add(read, name, at(resource), records, problems)
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
