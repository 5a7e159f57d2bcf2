"""The patient's own records: medicines (LDN regimen), dose log, relapses, side effects."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.access import Role
from ...domain.codes import Confirmation
from ...errors import ValidationFailed
from ..auth import Viewer, require
from ..deps import EngineDep
from ..forms import errors_by_field, form_values
from ..record_forms import (
    DOSE_FIELDS,
    EXPOSURE_FIELDS,
    RELAPSE_FIELDS,
    SIDE_EFFECT_FIELDS,
    interaction_status,
    names,
    opioid_warning,
    parse_dose,
    parse_exposure,
    parse_relapse,
    parse_side_effect,
)
from ..rendering import render
from ..views import is_ldn, load_patient
from ._common import add_records, dumped, flash_of, own_patient, saved, today_str

router = APIRouter(tags=["patient pages"])
Patient = Annotated[Viewer, require(Role.PATIENT)]
FORMS = {
    "exposure": EXPOSURE_FIELDS,
    "dose": DOSE_FIELDS,
    "relapse": RELAPSE_FIELDS,
    "side_effect": SIDE_EFFECT_FIELDS,
}


def _page(
    request: Request,
    engine: Any,
    viewer: Viewer,
    *,
    form: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notes: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    data = load_patient(engine, own_patient(viewer), diary=False)
    today = today_str()
    defaults = {
        "exposure": {"start_date": today, "drug_class": "ldn", "frequency": "daily"},
        "dose": {"date": today, "taken": "on"},
        "relapse": {"onset_date": today},
        "side_effect": {"onset_date": today},
    }
    all_values = {
        name: (values if name == form and values is not None else default)
        for name, default in defaults.items()
    }
    all_errors = {name: (errors or {}) if name == form else {} for name in FORMS}
    exposures = [{**e.model_dump(mode="json"), "ldn": is_ldn(e)} for e in data.exposures]
    return render(
        request,
        "me/records.html",
        {
            "exposures": exposures,
            "relapses": dumped(data.relapses),
            "side_effects": dumped(data.adverse_events),
            "interaction": interaction_status(data.exposures),
            "specs": FORMS,
            "values": all_values,
            "errors": all_errors,
            "notes": notes or [],
            "flash": flash_of(request),
        },
        status_code=status_code,
    )


@router.get("/me/records")
def records(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    return _page(request, engine, viewer)


@router.post("/me/records/exposure")
async def add_exposure(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    values = form_values(await request.form())
    patient_id = own_patient(viewer)
    existing = load_patient(engine, patient_id, diary=False).exposures
    try:
        record, note = parse_exposure(values, patient_id, existing)
        add_records(engine, viewer, record)
    except ValidationFailed as failure:
        return _page(
            request,
            engine,
            viewer,
            form="exposure",
            values=values,
            status_code=422,
            errors=errors_by_field(failure, names(EXPOSURE_FIELDS)),
        )
    if note:
        return _page(request, engine, viewer, notes=["Medicine saved.", note])
    return saved("/me/records", "exposure")


@router.post("/me/records/dose")
async def add_dose(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    values = form_values(await request.form())
    try:
        add_records(engine, viewer, parse_dose(values, own_patient(viewer)))
    except ValidationFailed as failure:
        return _page(
            request,
            engine,
            viewer,
            form="dose",
            values=values,
            status_code=422,
            errors=errors_by_field(failure, names(DOSE_FIELDS)),
        )
    return saved("/me/records", "dose")


@router.post("/me/records/relapse")
async def add_relapse(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    values = form_values(await request.form())
    try:
        record = parse_relapse(values, own_patient(viewer), Confirmation.PATIENT)
        add_records(engine, viewer, record)
    except ValidationFailed as failure:
        return _page(
            request,
            engine,
            viewer,
            form="relapse",
            values=values,
            status_code=422,
            errors=errors_by_field(failure, names(RELAPSE_FIELDS)),
        )
    return saved("/me/records", "relapse")


@router.post("/me/records/side-effect")
async def add_side_effect(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    values = form_values(await request.form())
    patient_id = own_patient(viewer)
    try:
        record = parse_side_effect(values, patient_id)
        add_records(engine, viewer, record)
    except ValidationFailed as failure:
        return _page(
            request,
            engine,
            viewer,
            form="side_effect",
            values=values,
            status_code=422,
            errors=errors_by_field(failure, names(SIDE_EFFECT_FIELDS)),
        )
    warning = opioid_warning(
        values, load_patient(engine, patient_id, diary=False).exposures, dt.date.today()
    )
    if warning:
        return _page(request, engine, viewer, notes=["Side effect saved.", warning])
    return saved("/me/records", "side_effect")
