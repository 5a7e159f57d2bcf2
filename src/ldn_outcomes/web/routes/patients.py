"""Patient list and timeline pages, and the patients JSON API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ...domain.models import Patient
from ...domain.validation import parse_record
from ...reports.patient_view import patient_detail, patient_list
from ...store.uow import UnitOfWork
from ..deps import EngineDep
from ..rendering import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, engine: EngineDep) -> Response:
    return render(request, "home.html", {"patient_count": len(patient_list(engine))})


@router.get("/patients", response_class=HTMLResponse, tags=["pages"])
def patients_page(request: Request, engine: EngineDep) -> Response:
    return render(request, "patients/list.html", {"patients": patient_list(engine)})


@router.get("/patients/{patient_id}", response_class=HTMLResponse, tags=["pages"])
def patient_page(
    request: Request, patient_id: str, engine: EngineDep
) -> Response:
    return render(request, "patients/timeline.html", patient_detail(engine, patient_id))


@router.get("/api/patients", tags=["api"])
def api_patients(engine: EngineDep) -> list[dict[str, Any]]:
    return patient_list(engine)


@router.get("/api/patients/{patient_id}", tags=["api"])
def api_patient(patient_id: str, engine: EngineDep) -> dict[str, Any]:
    return patient_detail(engine, patient_id)


@router.post("/api/patients", status_code=201, tags=["api"])
def api_create_patient(payload: dict[str, Any], engine: EngineDep) -> dict[str, Any]:
    """Create a patient; a broken rule answers 422 naming the field, nothing is stored."""
    record = parse_record(Patient, payload)
    with UnitOfWork(engine, actor="api") as uow:
        stored = uow.registry.add(record)
        uow.commit()
    return stored.model_dump(mode="json")
