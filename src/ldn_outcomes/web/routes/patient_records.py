"""The patient's own records: medicines (LDN regimen), dose log, relapses, side effects.

"Change my dose" and "Stop LDN" are one form each. Every form is post/redirect/get; a note
shown after saving (a dose outside the low-dose range, an opioid named with a side effect) is
carried by the redirect as a code, and its text rebuilt from the stored records on the next
page, never echoed from the request.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...domain.access import Role
from ...domain.codes import Confirmation
from ...domain.models import Exposure
from ...errors import ValidationFailed
from ..auth import Viewer, require
from ..deps import EngineDep
from ..forms import errors_by_field, form_values
from ..record_forms import (
    DOSE_FIELDS,
    EXPOSURE_FIELDS,
    RELAPSE_FIELDS,
    SIDE_EFFECT_FIELDS,
    dose_note_for,
    interaction_status,
    names,
    opioid_by_rxcui,
    opioid_message,
    opioid_named,
    parse_dose,
    parse_exposure,
    parse_relapse,
    parse_side_effect,
)
from ..regimen_forms import (
    CHANGE_FIELDS,
    STOP_FIELDS,
    change_from_form,
    regimen_forms,
    stop_from_form,
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
    patient_id = own_patient(viewer)
    data = load_patient(engine, patient_id, diary=False)
    today = today_str()
    regimen = regimen_forms(data.exposures, dt.date.today())
    if form in ("change", "stop") and values is not None:
        regimen[f"{form}_values"] = values
    notes = (notes or []) + _notes_from(request, data.exposures)
    defaults = {
        "exposure": {
            "start_date": today,
            "drug_class": "ldn",
            "frequency": "daily",
            "time_of_day": "unknown",  # never silently "morning"
        },
        "dose": {"date": today, "taken": "on"},
        "relapse": {"onset_date": today},
        "side_effect": {"onset_date": today},
    }
    all_values = {
        name: (values if name == form and values is not None else default)
        for name, default in defaults.items()
    }
    all_errors = {name: (errors or {}) if name == form else {} for name in FORMS}
    all_errors["change"] = (errors or {}) if form == "change" else {}
    all_errors["stop"] = (errors or {}) if form == "stop" else {}
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
            "notes": notes,
            "flash": flash_of(request),
            "patient_id": patient_id,
            **regimen,
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
        stored = add_records(engine, viewer, record)[0]
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
    if note and isinstance(stored, Exposure):
        return RedirectResponse(f"/me/records?saved=exposure&dose_note={stored.id}", 303)
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
    found = opioid_named(
        values, load_patient(engine, patient_id, diary=False).exposures, dt.date.today()
    )
    if found is not None:
        return RedirectResponse(f"/me/records?saved=side_effect&opioid={found.rxcui}", 303)
    return saved("/me/records", "side_effect")


def _notes_from(request: Request, exposures: list[Exposure]) -> list[str]:
    """Notes carried by a redirect as codes, rebuilt from stored records and known lists."""
    notes = []
    dose_note = request.query_params.get("dose_note", "")
    exposure = next((e for e in exposures if str(e.id) == dose_note), None)
    if exposure is not None:
        note = dose_note_for(exposure)
        if note:
            notes.append(note)
    opioid = opioid_by_rxcui(request.query_params.get("opioid", ""))
    if opioid is not None:
        notes.append(opioid_message(opioid.name, opioid.rxcui))
    return notes


@router.post("/me/records/regimen/change")
async def change_dose(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    """ "Change my dose": the current regimen ends the day before the new dose starts."""
    values = form_values(await request.form())
    try:
        change_from_form(engine, viewer.actor, own_patient(viewer), values)
    except ValidationFailed as failure:
        return _page(
            request,
            engine,
            viewer,
            form="change",
            values=values,
            status_code=422,
            errors=errors_by_field(failure, names(CHANGE_FIELDS)),
        )
    return saved("/me/records", "regimen")


@router.post("/me/records/regimen/stop")
async def stop_ldn(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    """ "Stop LDN": the regimen ends on the last day taken."""
    values = form_values(await request.form())
    try:
        stop_from_form(engine, viewer.actor, own_patient(viewer), values)
    except ValidationFailed as failure:
        return _page(
            request,
            engine,
            viewer,
            form="stop",
            values=values,
            status_code=422,
            errors=errors_by_field(failure, names(STOP_FIELDS)),
        )
    return saved("/me/records", "stopped")
