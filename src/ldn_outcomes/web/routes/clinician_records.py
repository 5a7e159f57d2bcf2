"""The clinician's day from the web: add a patient (with the care consent), record a relapse,
stop a regimen. (EDSS entry, relapse confirmation and the dose change are in ``clinic``.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.access import Role
from ...domain.codes import Confirmation, Phenotype, Sex
from ...domain.models import Patient
from ...domain.validation import parse_record
from ...errors import Problem, ValidationFailed
from ...store import care_links
from ..auth import Viewer, require
from ..deps import EngineDep
from ..forms import Field, enum_options, errors_by_field, form_values
from ..record_forms import CLINICIAN_RELAPSE_FIELDS, names, parse_relapse
from ..regimen_forms import STOP_FIELDS, stop_from_form
from ..rendering import render
from ..writes import write_lock
from ._common import add_records, saved, today_str
from .patients import timeline_page

router = APIRouter(tags=["clinician pages"])
Clinician = Annotated[Viewer, require(Role.CLINICIAN)]
ClinicianOf = Annotated[Viewer, require(Role.CLINICIAN, patient="patient_id")]

PATIENT_FIELDS = [
    Field("patient_id", "Pseudonymous id", required=True, help="No names: e.g. P0042."),
    Field("year_of_birth", "Year of birth", "number", step="1", min="1900", required=True),
    Field("sex", "Sex", "select", enum_options(Sex), required=True),
    Field("phenotype", "MS phenotype", "select", enum_options(Phenotype), required=True),
    Field("first_symptoms_date", "First symptoms", "date"),
    Field("diagnosis_date", "Diagnosis", "date"),
    Field(
        "care_consent_date",
        "Care consent given on",
        "date",
        required=True,
        help="The patient's consent to be followed in this registry for their care.",
    ),
]


def _new_patient_page(
    request: Request, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Response:
    return render(
        request,
        "clinic/new_patient.html",
        {"fields": PATIENT_FIELDS, "values": values, "errors": errors},
        status_code=status_code,
    )


@router.get("/clinic/patients/new")
def new_patient_form(request: Request, viewer: Clinician) -> Response:
    return _new_patient_page(request, {"care_consent_date": today_str(), "sex": "unknown"}, {})


@router.post("/clinic/patients/new")
async def add_patient(request: Request, engine: EngineDep, viewer: Clinician) -> Response:
    values = form_values(await request.form())
    try:
        data = {n: values.get(n) or None for n in names(PATIENT_FIELDS)}
        consent_date = data.pop("care_consent_date")
        if consent_date is None:
            raise ValidationFailed(
                Problem("patient", "care_consent_date", "record when the care consent was given")
            )
        patient = parse_record(Patient, data)
        assert viewer.principal is not None
        with write_lock(engine):
            care_links.register_patient(
                engine,
                viewer.principal.account_id,
                patient,
                care_consent_date=consent_date,
                actor=viewer.actor,
            )
    except ValidationFailed as failure:
        return _new_patient_page(
            request, values, errors_by_field(failure, names(PATIENT_FIELDS)), 422
        )
    return saved(f"/patients/{patient.patient_id}", "patient")


@router.post("/patients/{patient_id}/relapses")
async def record_relapse(
    request: Request, patient_id: str, engine: EngineDep, viewer: ClinicianOf
) -> Response:
    """A relapse seen by the clinician: onset, symptoms by system, duration, fever or
    infection, steroids; recorded as clinician-confirmed."""
    values = form_values(await request.form())
    try:
        record = parse_relapse(values, patient_id, Confirmation.CLINICIAN)
        add_records(engine, viewer, record)
    except ValidationFailed as failure:
        return timeline_page(
            request,
            engine,
            viewer,
            patient_id,
            values=values,
            errors=errors_by_field(failure, names(CLINICIAN_RELAPSE_FIELDS)),
            status_code=422,
            form="relapse",
        )
    return saved(f"/patients/{patient_id}", "relapse")


@router.post("/patients/{patient_id}/regimen/stop")
async def stop_regimen(
    request: Request, patient_id: str, engine: EngineDep, viewer: ClinicianOf
) -> Response:
    values = form_values(await request.form())
    try:
        stop_from_form(engine, viewer.actor, patient_id, values)
    except ValidationFailed as failure:
        return timeline_page(
            request,
            engine,
            viewer,
            patient_id,
            values=values,
            errors=errors_by_field(failure, names(STOP_FIELDS)),
            status_code=422,
            form="stop",
        )
    return saved(f"/patients/{patient_id}", "stopped")
