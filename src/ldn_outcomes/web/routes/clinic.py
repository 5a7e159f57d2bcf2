"""Clinician actions on a linked patient (EDSS entry, relapse confirmation, regimen change)
and the analysis view of the clinician's own patients."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.access import Role
from ...domain.codes import Confirmation
from ...domain.models import Relapse
from ...errors import NotFound, ValidationFailed
from ...services.cohort_frames import frames_for
from ...store.audit import audit_event
from ...store.clinic_reads import clinic_figures
from ...store.uow import UnitOfWork
from ..analysis_view import report_response, run_report
from ..auth import Viewer, require
from ..cache import cached
from ..deps import EngineDep, wants_json
from ..forms import errors_by_field, form_id, form_values
from ..record_forms import EDSS_FIELDS, names, parse_edss
from ..regimen_forms import CHANGE_FIELDS, change_from_form
from ..rendering import render
from ..views import CHECKIN
from ..writes import write_lock
from ._common import add_records, saved
from .patients import linked_patients, timeline_page

router = APIRouter(tags=["clinician pages"])
ClinicianOf = Annotated[Viewer, require(Role.CLINICIAN, patient="patient_id")]
Clinician = Annotated[Viewer, require(Role.CLINICIAN)]


@router.post("/patients/{patient_id}/edss")
async def add_edss(
    request: Request, patient_id: str, engine: EngineDep, viewer: ClinicianOf
) -> Response:
    values = form_values(await request.form())
    try:
        record = parse_edss(
            values, patient_id, viewer.principal.email if viewer.principal else None
        )
        add_records(engine, viewer, record)
    except ValidationFailed as failure:
        return timeline_page(
            request,
            engine,
            viewer,
            patient_id,
            values=values,
            errors=errors_by_field(failure, names(EDSS_FIELDS)),
            status_code=422,
        )
    return saved(f"/patients/{patient_id}", "edss")


@router.post("/patients/{patient_id}/relapses/confirm")
async def confirm_relapse(
    request: Request, patient_id: str, engine: EngineDep, viewer: ClinicianOf
) -> Response:
    relapse_id = form_id(form_values(await request.form()), "relapse_id", "relapse")
    with write_lock(engine), UnitOfWork(engine, actor=viewer.actor) as uow:
        found = uow.registry.get("relapses", relapse_id)
        if not isinstance(found, Relapse) or found.patient_id != patient_id:
            raise NotFound("no such relapse for this patient")
        uow.registry.update(found.model_copy(update={"confirmed_by": Confirmation.CLINICIAN}))
        uow.commit()
    return saved(f"/patients/{patient_id}", "confirmed")


@router.post("/patients/{patient_id}/regimen")
async def change_regimen(
    request: Request, patient_id: str, engine: EngineDep, viewer: ClinicianOf
) -> Response:
    """A dose change ends the current LDN exposure the day before and starts a new one with
    the same timing unless the form changes it."""
    values = form_values(await request.form())
    try:
        change_from_form(engine, viewer.actor, patient_id, values)
    except ValidationFailed as failure:
        return timeline_page(
            request,
            engine,
            viewer,
            patient_id,
            values=values,
            errors=errors_by_field(failure, names(CHANGE_FIELDS)),
            status_code=422,
            form="change",
        )
    return saved(f"/patients/{patient_id}", "regimen")


@router.get("/clinic/analysis")
def analysis(request: Request, engine: EngineDep, viewer: Clinician) -> Response:
    """Descriptive figures over the clinician's consented patients (a few batched queries,
    not one per patient); the comparative analysis appears here once the analysis engine
    offers a per-clinic report."""
    assert viewer.principal is not None
    mine = [p for p in linked_patients(engine, viewer.principal.account_id) if p["care_consent"]]
    ids = [p["patient_id"] for p in mine]
    figures = clinic_figures(engine, ids, dt.date.today(), checkin_instrument=CHECKIN)
    rows = [
        {
            "patient_id": p["patient_id"],
            "phenotype": p["phenotype"],
            **figures[p["patient_id"]].as_dict(),
        }
        for p in mine
    ]
    return render(
        request,
        "clinic/analysis.html",
        {
            "patients": rows,
            "note": "Descriptive figures for your patients with active care consent. The "
            "comparative analysis of these patients is in the outcome report; with few "
            "patients most analyses will say they lack data.",
        },
    )


@router.get("/clinic/analysis/report")
def analysis_report(request: Request, engine: EngineDep, viewer: Clinician) -> Response:
    """The analysis engine's report over the clinician's own consented patients."""
    assert viewer.principal is not None
    ids = [
        p["patient_id"]
        for p in linked_patients(engine, viewer.principal.account_id)
        if p["care_consent"]
    ]
    report = cached(
        request.app,
        f"clinic_report:{viewer.principal.account_id}",
        lambda: run_report(frames_for(engine, ids)),
        engine=engine,
    )
    as_json = wants_json(request)
    response = report_response(request, report, as_json)
    audit_event(  # identified patients' data leaves as one document: audited as an export
        engine,
        actor=viewer.actor,
        action="export",
        table="clinic_report",
        key=f"{len(ids)} patients",
        after={"patients": ids, "format": "json" if as_json else "html"},
    )
    return response
