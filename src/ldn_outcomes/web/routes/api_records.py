"""The records API: every record kind of a patient can be listed, read, created, corrected
(with a reason) and removed (with a reason), and its history read, with the same access rules
and the same validation as the pages. Regimen changes and stops are one call each.

Paths: ``/api/patients/{patient_id}/{kind}[/{record_id}[/history]]``, one set per kind (so
each has its own typed models in ``/docs``); the patient's own details at
``/api/patients/{patient_id}`` (correct, remove) and ``.../history``. Writers per kind are the
domain's (:mod:`ldn_outcomes.domain.record_writers`).
"""

# No ``from __future__ import annotations`` here: the endpoints are built in a loop and FastAPI
# must see their body models as objects, not as names it cannot resolve.

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel
from sqlalchemy import Engine

from ...domain.access import Role
from ...domain.models import (
    RECORD_TYPES,
    DatabaseId,
    Exposure,
    Patient,
    QuestionnaireResponse,
    Record,
)
from ...domain.record_writers import WRITERS, confirmation_problem
from ...domain.validation import parse_record
from ...errors import NotFound, Problem, ValidationFailed
from ...store import record_actions
from ...store.registry import PATIENT_KINDS, Registry
from ...store.uow import UnitOfWork
from ..api_models import (
    DoseChange,
    HistoryEntryOut,
    RegimenChanged,
    RegimenStop,
    Removal,
    Removed,
    correction_model,
    request_model,
)
from ..auth import Viewer, require
from ..deps import EngineDep
from ..writes import in_transaction

router = APIRouter(tags=["records api"])
Reader = Annotated[Viewer, require(Role.PATIENT, Role.CLINICIAN, patient="patient_id")]
PatientWriter = Annotated[Viewer, require(*WRITERS["patients"], patient="patient_id")]
RegimenWriter = Annotated[Viewer, require(*WRITERS["exposures"], patient="patient_id")]


def read(engine: Engine, work: Callable[[Registry], Any]) -> Any:
    with UnitOfWork(engine) as uow:
        return work(uow.registry)


def own_record(
    registry: Registry, kind: str, patient_id: str, record_id: int, *, removed: bool = False
) -> Record:
    """The record, if it belongs to this patient (else: not found, never someone else's)."""
    try:
        record = registry.get(kind, record_id, include_removed=removed)
    except NotFound:
        raise NotFound(
            f"no {RECORD_TYPES[kind].record_name} {record_id} for this patient"
        ) from None
    if getattr(record, "patient_id", None) != patient_id:
        raise NotFound(f"no {RECORD_TYPES[kind].record_name} {record_id} for this patient")
    return record


def to_record(kind: str, patient_id: str, body: BaseModel, viewer: Viewer, **extra: Any) -> Record:
    """The domain record from a request body: the domain's rules, and who may say what."""
    data = {**body.model_dump(exclude_unset=True), "patient_id": patient_id, **extra}
    if kind == "edss" and not data.get("rater") and viewer.principal is not None:
        data["rater"] = viewer.principal.email
    record = parse_record(RECORD_TYPES[kind], data)
    problem = confirmation_problem(viewer.role, record)
    if problem:
        raise ValidationFailed(Problem(record.record_name, "confirmed_by", problem))
    return record


def _history(entries: list[record_actions.HistoryEntry]) -> list[HistoryEntryOut]:
    return [HistoryEntryOut(**e.as_dict()) for e in entries]


def add_kind_routes(kind: str) -> None:
    """List, read, create, correct, remove and history for one record kind."""
    domain = RECORD_TYPES[kind]
    name = domain.record_name.replace("_", " ")
    body_model = request_model(kind)
    correction = correction_model(kind, body_model)
    writer = Annotated[Viewer, require(*WRITERS[kind], patient="patient_id")]
    base = f"/api/patients/{{patient_id}}/{kind}"

    def list_records(patient_id: str, engine: EngineDep, viewer: Reader) -> list[Any]:
        return read(
            engine,
            lambda reg: (reg.patient(patient_id), reg.records(domain, patient_id=patient_id))[1],
        )

    def get_record(
        patient_id: str, record_id: DatabaseId, engine: EngineDep, viewer: Reader
    ) -> Any:
        return read(engine, lambda reg: own_record(reg, kind, patient_id, record_id))

    def create_record(
        patient_id: str,
        engine: EngineDep,
        viewer: writer,
        payload: body_model,  # type: ignore[valid-type]
    ) -> Any:
        record = to_record(kind, patient_id, payload, viewer)
        if (
            isinstance(record, QuestionnaireResponse)
            and record.instrument_id == record_actions.CHECKIN
        ):
            return in_transaction(
                engine, viewer.actor, lambda reg: record_actions.save_checkin(reg, record)[0]
            )
        return in_transaction(engine, viewer.actor, lambda reg: reg.add(record))

    def correct_record(
        patient_id: str,
        record_id: DatabaseId,
        engine: EngineDep,
        viewer: writer,  # type: ignore[valid-type]
        payload: correction,  # type: ignore[valid-type]
    ) -> Any:
        def work(reg: Registry) -> Record:
            own_record(reg, kind, patient_id, record_id)
            record = to_record(kind, patient_id, payload.record, viewer, id=record_id)  # type: ignore[attr-defined]
            return reg.correct(record, payload.reason)  # type: ignore[attr-defined]

        return in_transaction(engine, viewer.actor, work)

    def remove_record(
        patient_id: str,
        record_id: DatabaseId,
        engine: EngineDep,
        viewer: writer,  # type: ignore[valid-type]
        payload: Annotated[Removal, Body()],
    ) -> Removed:
        def work(reg: Registry) -> None:
            own_record(reg, kind, patient_id, record_id)
            reg.remove(kind, record_id, payload.reason)

        in_transaction(engine, viewer.actor, work)
        return Removed(kind=kind, id=str(record_id), reason=payload.reason.strip())

    def record_history(
        patient_id: str, record_id: DatabaseId, engine: EngineDep, viewer: Reader
    ) -> list[HistoryEntryOut]:
        def work(reg: Registry) -> list[HistoryEntryOut]:
            own_record(reg, kind, patient_id, record_id, removed=True)
            return _history(record_actions.history(reg, kind, record_id))

        return read(engine, work)

    router.add_api_route(
        base,
        list_records,
        methods=["GET"],
        response_model=list[domain],  # type: ignore[valid-type]
        summary=f"List the patient's {name} records",
    )
    router.add_api_route(
        base,
        create_record,
        methods=["POST"],
        status_code=201,
        response_model=domain,
        summary=f"Add a {name}",
    )
    router.add_api_route(
        f"{base}/{{record_id}}",
        get_record,
        methods=["GET"],
        response_model=domain,
        summary=f"One {name}",
    )
    router.add_api_route(
        f"{base}/{{record_id}}",
        correct_record,
        methods=["PUT"],
        response_model=domain,
        summary=f"Correct a {name} (the earlier version is kept, with the reason)",
    )
    router.add_api_route(
        f"{base}/{{record_id}}",
        remove_record,
        methods=["DELETE"],
        response_model=Removed,
        summary=f"Remove a {name}, with a reason (it leaves every analysis and export)",
    )
    router.add_api_route(
        f"{base}/{{record_id}}/history",
        record_history,
        methods=["GET"],
        response_model=list[HistoryEntryOut],
        summary=f"Every version of a {name}",
    )


for _kind in PATIENT_KINDS:
    add_kind_routes(_kind)

PatientIn = request_model("patients")
PatientCorrection = correction_model("patients", PatientIn)


@router.put("/api/patients/{patient_id}", response_model=Patient)
def correct_patient(
    patient_id: str,
    engine: EngineDep,
    viewer: PatientWriter,
    payload: PatientCorrection,  # type: ignore[valid-type]
) -> Any:
    """Correct the patient's details (the earlier version is kept, with the reason)."""
    fields = payload.record.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
    record = parse_record(Patient, {**fields, "patient_id": patient_id})
    return in_transaction(engine, viewer.actor, lambda reg: reg.correct(record, payload.reason))  # type: ignore[attr-defined]


@router.delete("/api/patients/{patient_id}", response_model=Removed)
def remove_patient(
    patient_id: str, engine: EngineDep, viewer: PatientWriter, payload: Annotated[Removal, Body()]
) -> Removed:
    """Remove a patient and all their records, with a reason (kept for their history)."""
    in_transaction(
        engine, viewer.actor, lambda reg: reg.remove("patients", patient_id, payload.reason)
    )
    return Removed(kind="patients", id=patient_id, reason=payload.reason.strip())


@router.get("/api/patients/{patient_id}/history", response_model=list[HistoryEntryOut])
def patient_history(patient_id: str, engine: EngineDep, viewer: Reader) -> list[HistoryEntryOut]:
    """Every version of the patient's details."""
    return read(engine, lambda reg: _history(record_actions.history(reg, "patients", patient_id)))


@router.post("/api/patients/{patient_id}/regimen/change", response_model=RegimenChanged)
def change_regimen(
    patient_id: str, engine: EngineDep, viewer: RegimenWriter, payload: DoseChange
) -> RegimenChanged:
    """Change the dose from a date: one call ends the current regimen the day before and starts
    the new one, keeping its timing unless ``time_of_day`` is given."""
    ended, new = in_transaction(
        engine,
        viewer.actor,
        lambda reg: record_actions.change_regimen(
            reg,
            patient_id,
            new_dose_mg=payload.dose_mg,
            from_date=payload.from_date,
            exposure_id=payload.exposure_id,
            time_of_day=payload.time_of_day,
            frequency=payload.frequency,
        ),
    )
    return RegimenChanged(ended=ended, new=new)


@router.post("/api/patients/{patient_id}/regimen/stop", response_model=Exposure)
def stop_regimen(
    patient_id: str, engine: EngineDep, viewer: RegimenWriter, payload: RegimenStop
) -> Any:
    """Stop a regimen (default: the ongoing LDN regimen); ``last_day`` is the last day taken."""
    return in_transaction(
        engine,
        viewer.actor,
        lambda reg: record_actions.stop(
            reg,
            patient_id,
            last_day=payload.last_day,
            reason=payload.reason,
            exposure_id=payload.exposure_id,
        ),
    )


_ = dt  # dates arrive typed through the models
