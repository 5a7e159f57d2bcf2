"""The data behind the patient list and the patient timeline (used by the CLI and the web)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from ..domain.definitions.progression import EdssPoint, confirmed_disability_events
from ..domain.definitions.relapse import qualify_relapses
from ..domain.models import EdssAssessment, Patient, QuestionnaireResponse, Record, Relapse
from ..domain.timeline import build_timeline
from ..store.uow import UnitOfWork


def patient_summary(patient: Patient) -> dict[str, Any]:
    return patient.model_dump(mode="json")


def patient_list(engine: Engine, clinician_id: str | None = None) -> list[dict[str, Any]]:
    with UnitOfWork(engine) as uow:
        patients = uow.registry.records(Patient, clinician_id=clinician_id)
    return [patient_summary(p) for p in patients]


def patient_detail(engine: Engine, patient_id: str) -> dict[str, Any]:
    """The patient, every record by kind, and the date-ordered timeline."""
    with UnitOfWork(engine) as uow:
        patient = uow.registry.patient(patient_id)
        records = uow.registry.patient_records(patient_id)
    timeline = build_timeline(records)
    return {
        "clinical": clinical_summary(records),
        "patient": patient_summary(patient),
        "counts": {kind: len(items) for kind, items in records.items()},
        "timeline": [event.as_dict() for event in timeline],
        "records": {
            kind: [r.model_dump(mode="json") for r in items] for kind, items in records.items()
        },
    }


def clinical_summary(records: dict[str, list[Record]]) -> dict[str, Any]:
    """Scores, relapse validity and confirmed disability events, from the domain definitions."""
    relapses = [r for r in records.get("relapses", []) if isinstance(r, Relapse)]
    qualified = qualify_relapses(relapses)
    relapse_rows = [
        {
            "onset_date": q.report.onset_date.isoformat(),
            "status": q.status.value,
            "counts": q.counts,
            "reasons": list(q.reasons),
        }
        for q in qualified
    ]
    edss = [e for e in records.get("edss", []) if isinstance(e, EdssAssessment)]
    progression: dict[str, Any] = {"events": [], "censor_date": None, "censor_reason": None}
    if edss:
        result = confirmed_disability_events(
            [EdssPoint(e.date, e.score) for e in edss],
            [q.report.onset_date for q in qualified if q.counts],
        )
        progression = {
            "rule": "CDW: +1.5 from 0, +1.0 from 1.0-5.5, +0.5 above; confirmed >= 12 weeks",
            "events": [
                {
                    "kind": e.kind,
                    "type": e.cdw_type,
                    "date": e.date.isoformat(),
                    "score": e.score,
                    "baseline_score": e.baseline_score,
                    "confirmed_on": e.confirmation_date.isoformat(),
                }
                for e in result.events
            ],
            "censor_date": result.censor_date.isoformat() if result.censor_date else None,
            "censor_reason": result.censor_reason,
        }
    scores = [
        {
            "date": q.date.isoformat(),
            "instrument": q.instrument_id,
            "version": q.instrument_version,
            "total": q.total,
        }
        for q in records.get("questionnaires", [])
        if isinstance(q, QuestionnaireResponse) and q.total is not None
    ]
    return {"relapses": relapse_rows, "progression": progression, "scores": scores}
