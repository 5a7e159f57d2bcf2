"""A patient's data as a FHIR R4 Bundle: the patient's right to their own data, in the format
their other health records speak. The same access rules as the patient's JSON record apply."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from ...domain.access import Role
from ...importers.fhir_bundle import patient_fhir
from ...store.audit import audit_event
from ..auth import Viewer, require
from ..deps import EngineDep
from ._common import own_patient

router = APIRouter(tags=["api"])
PatientOrClinician = Annotated[Viewer, require(Role.PATIENT, Role.CLINICIAN, patient="patient_id")]
OwnPatient = Annotated[Viewer, require(Role.PATIENT)]
#: The FHIR JSON media type (https://hl7.org/fhir/R4B/http.html#mime-type).
FHIR_JSON = "application/fhir+json"


def _exported_bundle(
    request: Request, engine: Engine, viewer: Viewer, patient_id: str
) -> JSONResponse:
    """The Bundle of one patient, with an audit row: the whole record leaves the registry."""
    bundle = patient_fhir(engine, patient_id)
    audit_event(
        engine,
        actor=viewer.actor,
        action="export",
        table="patients",
        key=patient_id,
        after={
            "format": "FHIR R4 Bundle",
            "path": request.url.path,
            "resources": len(bundle.get("entry", [])),
        },
    )
    return JSONResponse(bundle, media_type=FHIR_JSON)


@router.get("/api/me/fhir", response_class=JSONResponse)
def my_fhir(request: Request, engine: EngineDep, viewer: OwnPatient) -> JSONResponse:
    """The calling patient's own records as one FHIR R4 Bundle (type collection; audited)."""
    return _exported_bundle(request, engine, viewer, own_patient(viewer))


@router.get("/api/patients/{patient_id}/fhir", response_class=JSONResponse)
def patient_fhir_bundle(
    request: Request, patient_id: str, engine: EngineDep, viewer: PatientOrClinician
) -> JSONResponse:
    """One patient's records as a FHIR R4 Bundle, for the patient or a linked clinician
    (audited twice: the read of the record, and the export of the whole of it)."""
    return _exported_bundle(request, engine, viewer, patient_id)
