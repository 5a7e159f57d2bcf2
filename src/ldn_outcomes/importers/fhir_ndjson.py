"""The whole registry as FHIR bulk data: NDJSON, one file per resource type, and back.

The format is that of the FHIR Bulk Data Access IG (http://hl7.org/fhir/uv/bulkdata/) and of
FHIR's NDJSON page (https://hl7.org/fhir/R4/nd-json.html): every file holds resources of a
single type, one resource per line, serialised without whitespace (media type
``application/fhir+ndjson``). Files are named ``<ResourceType>.ndjson`` (``Patient.ndjson``,
``Condition.ndjson``, ...); a type with no resources gets no file, as a bulk export writes none.

The resources are those of the per-patient Bundles (:mod:`.fhir_map`), each validated against
its FHIR R4B model before it is written. Export streams: the sites and clinicians first, then
patients a chunk at a time from one snapshot of the registry; every file stays open and is
appended to as it goes. Import reads every file, validates every line, and hands all resources
together to the same reader as the Bundles, so the import is all or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from sqlalchemy import Engine

from ..domain.models import Clinician, Record, Site
from ..errors import Problem, ValidationFailed
from ..store.streams import export_snapshot
from .fhir_map import (
    EXPORTED_KINDS,
    organization_resource,
    patient_resources,
    practitioner_resource,
)
from .fhir_records import records_of

Progress = Callable[[str, int], None]

#: The media type of an NDJSON file of FHIR resources.
NDJSON_MEDIA_TYPE = "application/fhir+ndjson"
SUFFIX = ".ndjson"
#: The resource types this export writes (one file each, when there are any).
RESOURCE_TYPES = (
    "Organization",
    "Practitioner",
    "Patient",
    "Condition",
    "MedicationStatement",
    "Observation",
    "QuestionnaireResponse",
    "AdverseEvent",
    "Consent",
)


def resource_problems(resource: dict[str, Any], source: str) -> list[Problem]:
    """What the FHIR R4B model of its type refuses in one resource, named by element."""
    name = f"{resource.get('resourceType')}/{resource.get('id')}"
    try:
        model = get_fhir_model_class(str(resource.get("resourceType")))
    except (KeyError, ValueError):  # fhir.resources raises ValueError for an unknown type
        return [Problem(name, "resourceType", "not a FHIR R4B resource type", source=source)]
    try:
        model.model_validate(resource)
    except ValidationError as error:
        return [
            Problem(
                name,
                ".".join(str(part) for part in item.get("loc", ())) or "(resource)",
                str(item.get("msg", "invalid")).removeprefix("Value error, "),
                source=source,
            )
            for item in error.errors()
        ]
    return []


class _Files:
    """One open ``<ResourceType>.ndjson`` per resource type, created on its first line."""

    def __init__(self, directory: Path, stack: ExitStack) -> None:
        self.directory = directory
        self.stack = stack
        self.handles: dict[str, IO[str]] = {}
        self.counts: dict[str, int] = {}

    def write(self, resource: dict[str, Any]) -> None:
        kind = str(resource["resourceType"])
        if kind not in RESOURCE_TYPES:  # a new mapping must be listed, so re-exports clean up
            raise ValueError(f"{kind} is not listed in RESOURCE_TYPES")
        problems = resource_problems(resource, f"{kind}{SUFFIX}")
        if problems:  # a mapping bug: fail loudly rather than write a bad line
            raise ValidationFailed(problems)
        handle = self.handles.get(kind)
        if handle is None:
            path = self.directory / f"{kind}{SUFFIX}"
            handle = self.stack.enter_context(path.open("w", encoding="utf-8", newline="\n"))
            self.handles[kind] = handle
        handle.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.counts[kind] = self.counts.get(kind, 0) + 1


def export_fhir_ndjson(
    engine: Engine, directory: Path, progress: Progress | None = None
) -> dict[str, int]:
    """Write the registry as ``<ResourceType>.ndjson`` files; returns resources per type.

    ``progress(patient_id, 1)`` is told of every patient written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for kind in RESOURCE_TYPES:  # an earlier export's file of a type now empty must not linger
        (directory / f"{kind}{SUFFIX}").unlink(missing_ok=True)
    with export_snapshot(engine) as snapshot, ExitStack() as stack:
        files = _Files(directory, stack)
        for chunk_s in snapshot.record_chunks(Site):
            for site in chunk_s:
                files.write(organization_resource(site))
        for chunk_c in snapshot.record_chunks(Clinician):
            for clinician in chunk_c:
                files.write(practitioner_resource(clinician))
        for chunk in snapshot.patient_chunks(tuple(EXPORTED_KINDS)):
            for patient, records in chunk:
                for resource in patient_resources(patient, records):
                    files.write(resource)
                if progress:
                    progress(patient.patient_id, 1)
        return dict(sorted(files.counts.items()))


def read_ndjson(files: Sequence[Path]) -> tuple[list[dict[str, Any]], list[str], list[Problem]]:
    """Every resource of the files, where each came from (``<file> line <n>``), and every
    problem found (not JSON, not one resource type per file, refused by the FHIR models)."""
    resources: list[dict[str, Any]] = []
    sources: list[str] = []
    problems: list[Problem] = []
    for file in files:
        file_type: str | None = None
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            problems.append(
                Problem("NDJSON", "(file)", f"not UTF-8 text: {error}", source=file.name)
            )
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            source = f"{file.name} line {number}"
            try:
                resource = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(Problem("NDJSON", "(line)", f"not JSON: {error}", source=source))
                continue
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                rule = "must be one FHIR resource (a JSON object with resourceType)"
                problems.append(Problem("NDJSON", "resourceType", rule, source=source))
                continue
            file_type = file_type or resource["resourceType"]
            if resource["resourceType"] != file_type:
                rule = f"every line of one file must be the same resource type ({file_type})"
                name = f"{resource['resourceType']}/{resource.get('id')}"
                problems.append(Problem(name, "resourceType", rule, source=source))
                continue
            found = resource_problems(resource, source)
            if found:
                problems.extend(found)
                continue
            resources.append(resource)
            sources.append(source)
    return resources, sources, problems


def ndjson_records(
    files: Sequence[Path],
) -> tuple[dict[str, list[Record]], dict[str, str], list[Problem]]:
    """The records of NDJSON files, the line each resource came from (by ``Type/id``), and
    every problem; records are read only from files without problems."""
    resources, sources, problems = read_ndjson(files)
    where = {
        f"{resource.get('resourceType')}/{resource.get('id')}": source
        for resource, source in zip(resources, sources, strict=True)
    }
    if problems:
        return {}, where, problems
    records, found = records_of(resources, "NDJSON", sources=sources)
    return records, where, found
