"""The data behind the patient list and the patient timeline (used by the CLI and the web)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from ..domain.models import Patient
from ..domain.timeline import build_timeline
from ..store.uow import UnitOfWork


def patient_summary(patient: Patient) -> dict[str, Any]:
    return patient.model_dump(mode="json")


def patient_list(engine: Engine, clinician_id: str | None = None) -> list[dict[str, Any]]:
    with UnitOfWork(engine) as uow:
        patients = uow.registry.list("patients", clinician_id=clinician_id)
    return [patient_summary(p) for p in patients]  # type: ignore[arg-type]


def patient_detail(engine: Engine, patient_id: str) -> dict[str, Any]:
    """The patient, every record by kind, and the date-ordered timeline."""
    with UnitOfWork(engine) as uow:
        patient = uow.registry.patient(patient_id)
        records = uow.registry.patient_records(patient_id)
    timeline = build_timeline(records)
    return {
        "patient": patient_summary(patient),
        "counts": {kind: len(items) for kind, items in records.items()},
        "timeline": [event.as_dict() for event in timeline],
        "records": {
            kind: [r.model_dump(mode="json") for r in items] for kind, items in records.items()
        },
    }
