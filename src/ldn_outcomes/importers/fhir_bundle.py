"""The registry as FHIR R4 Bundles (one per patient), and one Bundle file read back.

Export streams: patients are read a chunk at a time with all of their records
(:mod:`ldn_outcomes.store.streams`), mapped (:mod:`.fhir_map`), and each Bundle is validated
against the FHIR R4B models of ``fhir.resources`` and written as ``<patient>.json`` before the
next is built, so memory stays flat as the registry grows.

Import (all or nothing, with the NDJSON files) is :mod:`.fhir_import`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from sqlalchemy import Engine

from ..domain.models import Clinician, Patient, Record, Site
from ..errors import Problem, ValidationFailed
from ..store.registry import Registry
from ..store.streams import Snapshot, export_snapshot
from ..store.uow import UnitOfWork
from .fhir_map import EXPORTED_KINDS, patient_bundle
from .fhir_records import records_of

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
    return checked_bundle(
        patient,
        records,
        [s for s in sites if isinstance(s, Site)],
        [c for c in clinicians if isinstance(c, Clinician)],
    )


def checked_bundle(
    patient: Patient,
    records: Mapping[str, list[Record]],
    sites: Sequence[Site],
    clinicians: Sequence[Clinician],
) -> dict[str, Any]:
    """:func:`.fhir_map.patient_bundle`, refused unless the FHIR models accept it."""
    bundle = patient_bundle(patient, records, sites, clinicians)
    problems = fhir_problems(bundle, patient.patient_id)
    if problems:
        raise ValidationFailed(problems)
    return bundle


def export_fhir_dir(
    engine: Engine, directory: Path, progress: Progress | None = None
) -> dict[str, int]:
    """Write ``<patient>.json`` per patient; returns the number of bundles and resources.

    Streams: patients are read a chunk at a time, each with all of their records, from one
    snapshot of the registry (:meth:`ldn_outcomes.store.streams.Snapshot.patient_chunks`);
    each Bundle is validated and written before the next is built. ``progress(patient_id, 1)``
    is told of every patient written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    counts = {"bundles": 0, "resources": 0}
    with export_snapshot(engine) as snapshot:
        for chunk in snapshot.patient_chunks(tuple(EXPORTED_KINDS)):
            clinicians, sites = chunk_references(snapshot, [item.patient for item in chunk])
            for patient, records in chunk:
                clinician = clinicians.get(patient.clinician_id or "")
                site_ids = {patient.site_id, clinician.site_id if clinician else None}
                bundle = checked_bundle(
                    patient,
                    records,
                    [sites[key] for key in sorted(k for k in site_ids if k)],
                    [clinician] if clinician else [],
                )
                write_bundle(directory / f"{patient.patient_id}.json", bundle)
                counts["bundles"] += 1
                counts["resources"] += len(bundle["entry"])
                if progress:
                    progress(patient.patient_id, 1)
    return counts


def chunk_references(
    snapshot: Snapshot, patients: Sequence[Patient]
) -> tuple[dict[str, Clinician], dict[str, Site]]:
    """The clinicians and sites that a chunk of patients (and those clinicians) refer to."""
    wanted = {p.clinician_id for p in patients if p.clinician_id}
    found_clinicians = snapshot.referenced("clinicians", wanted)
    clinicians = {c.clinician_id: c for c in found_clinicians if isinstance(c, Clinician)}
    site_ids = {p.site_id for p in patients} | {c.site_id for c in clinicians.values()}
    found = snapshot.referenced("sites", {k for k in site_ids if k})
    return clinicians, {s.site_id: s for s in found if isinstance(s, Site)}


def patient_fhir(engine: Engine, patient_id: str) -> dict[str, Any]:
    """One patient's data as a FHIR Bundle (the patient's right to their own data)."""
    with UnitOfWork(engine) as uow:
        return bundle_for(uow.registry, uow.registry.patient(patient_id))


def write_bundle(path: Path, bundle: dict[str, Any]) -> None:
    path.write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


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
