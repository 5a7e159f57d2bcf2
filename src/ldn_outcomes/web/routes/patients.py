"""Clinicians' patient list, the patient timeline, and the patients JSON API.

A clinician lists only patients linked to them; opening one needs the patient's care consent
to be active. A patient account opens only its own timeline.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from ...domain.access import Role
from ...domain.models import Patient
from ...domain.validation import parse_record
from ...reports.patient_view import patient_detail
from ...store import care_links, link_requests
from ...store.clinic_reads import patient_listings
from ..api_bodies import CheckinBody, NewPatientBody
from ..auth import Viewer, require
from ..deps import EngineDep
from ..record_forms import CLINICIAN_RELAPSE_FIELDS, EDSS_FIELDS
from ..regimen_forms import regimen_forms
from ..rendering import render
from ..views import charts, load_patient, parse_checkin, timeline
from ..writes import store_checkin, write_lock
from ._common import dumped, flash_of, today_str

router = APIRouter()
Clinician = Annotated[Viewer, require(Role.CLINICIAN)]
PatientOrClinician = Annotated[Viewer, require(Role.PATIENT, Role.CLINICIAN, patient="patient_id")]
OwnPatient = Annotated[Viewer, require(Role.PATIENT, patient="patient_id")]


def linked_patients(engine: Engine, account_id: int, query: str = "") -> list[dict[str, Any]]:
    """The clinician's linked patients with whether their care consent is active today."""
    ids = care_links.linked_patient_ids(engine, account_id)
    needle = query.strip().lower()
    if needle:
        ids = [i for i in ids if needle in i.lower()]
    listed = []
    for row in patient_listings(engine, ids, dt.date.today()):
        if row.care_consent:
            listed.append(
                {
                    "patient_id": row.patient_id,
                    "year_of_birth": row.year_of_birth,
                    "sex": row.sex,
                    "phenotype": row.phenotype,
                    "diagnosis_date": (
                        row.diagnosis_date.isoformat() if row.diagnosis_date else None
                    ),
                    "care_consent": True,
                }
            )
        else:  # without care consent only the pseudonymous id is shown, nothing clinical
            listed.append(
                {
                    "patient_id": row.patient_id,
                    "year_of_birth": None,
                    "sex": None,
                    "phenotype": None,
                    "diagnosis_date": None,
                    "care_consent": False,
                }
            )
    return listed


@router.get("/patients", response_class=HTMLResponse, tags=["pages"])
def patients_page(request: Request, engine: EngineDep, viewer: Clinician, q: str = "") -> Response:
    assert viewer.principal is not None
    return render(
        request,
        "patients/list.html",
        {"patients": linked_patients(engine, viewer.principal.account_id, q), "q": q},
    )


def timeline_page(
    request: Request,
    engine: Engine,
    viewer: Viewer,
    patient_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    form: str = "edss",
) -> Response:
    """The patient's course: charts, timeline and (for clinicians) the clinical forms; ``form``
    names the form that ``values`` and ``errors`` belong to."""
    data = load_patient(engine, patient_id)
    detail = {
        "patient": data.patient.model_dump(mode="json"),
        "timeline": timeline(data),
        "records": {"relapses": dumped(data.relapses)},
    }
    regimen = regimen_forms(data.exposures, dt.date.today())
    if values is not None and form in ("change", "stop"):
        regimen[f"{form}_values"] = values
    return render(
        request,
        "patients/timeline.html",
        {
            **detail,
            **charts(data),
            "is_clinician": viewer.role is Role.CLINICIAN,
            "link_requests": [
                r.as_dict() for r in link_requests.pending_requests(engine, patient_id)
            ]
            if viewer.role is Role.CLINICIAN
            else [],
            "checkins": len(data.checkins),
            "edss_fields": EDSS_FIELDS,
            **regimen,
            "relapse_fields": CLINICIAN_RELAPSE_FIELDS,
            "relapse_values": values if form == "relapse" and values else {},
            "values": values if form == "edss" and values else {"date": today_str()},
            "form": form,
            "errors": errors or {},
            "flash": flash_of(request),
        },
        status_code=status_code,
    )


@router.get("/patients/{patient_id}", response_class=HTMLResponse, tags=["pages"])
def patient_page(
    request: Request, patient_id: str, engine: EngineDep, viewer: PatientOrClinician
) -> Response:
    return timeline_page(request, engine, viewer, patient_id)


@router.get("/api/patients", tags=["api"])
def api_patients(engine: EngineDep, viewer: Clinician) -> list[dict[str, Any]]:
    """The calling clinician's linked patients."""
    assert viewer.principal is not None
    return linked_patients(engine, viewer.principal.account_id)


@router.get("/api/patients/{patient_id}", tags=["api"])
def api_patient(patient_id: str, engine: EngineDep, viewer: PatientOrClinician) -> dict[str, Any]:
    return patient_detail(engine, patient_id)


@router.post("/api/patients", status_code=201, tags=["api"])
def api_create_patient(
    engine: EngineDep,
    viewer: Clinician,
    payload: NewPatientBody,
) -> dict[str, Any]:
    """Create a patient linked to the calling clinician; a broken rule answers 422 naming the
    field and nothing is stored. ``care_consent_date`` (optional) records the patient's care
    consent given on that date (needed before the clinician can open the record)."""
    assert viewer.principal is not None
    record = parse_record(Patient, payload.patient_fields())
    with write_lock(engine):
        stored = care_links.register_patient(
            engine,
            viewer.principal.account_id,
            record,
            care_consent_date=payload.care_consent_date,
            actor=viewer.actor,
        )
    return stored.model_dump(mode="json")


@router.post("/api/patients/{patient_id}/checkins", status_code=201, tags=["api"])
async def api_checkin(
    patient_id: str,
    engine: EngineDep,
    viewer: OwnPatient,
    payload: CheckinBody,  # type: ignore[valid-type]
) -> dict[str, Any]:
    """Record a daily check-in: ``{"date": "YYYY-MM-DD", "fatigue": 0-10, "spasms": 0-10,
    "sleep": 0-10, "vivid_dreams": 0|1, "dose_taken": 0|1}``; omitted items stay blank and an
    unknown key is refused. One check-in per day: a second one for the same day corrects the
    first (kept in its history)."""
    values = payload.model_dump(mode="json", exclude_none=True)  # type: ignore[attr-defined]
    record = parse_checkin(values, patient_id, dt.date.today())
    stored, _replaced = await store_checkin(engine, viewer.actor, record)
    return stored.model_dump(mode="json")
