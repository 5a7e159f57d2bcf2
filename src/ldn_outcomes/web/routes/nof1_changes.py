"""Changes to a personal trial's record after the fact, each with a reason and audited: a
trial stopped before its last day (``domain.nof1_stop``), a patient's request for a trial
withdrawn by the patient or declined by their clinician (``store.nof1_requests``). Forms
post/redirect/get to the trials page; the JSON twins are in :mod:`.nof1_api`.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...domain.models import DatabaseId
from ...domain.nof1_stop import RECORD as STOP_RECORD
from ...errors import Problem, ValidationFailed
from ...services import nof1 as service
from ...store.nof1_requests import close_request
from ..deps import EngineDep, SettingsDep
from ..forms import form_values
from .nof1 import PatientOrClinician, patients_trial, trial_actor, trial_secret

router = APIRouter()


@router.post("/patients/{patient_id}/nof1/stop")
async def stop(
    request: Request,
    patient_id: str,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: PatientOrClinician,
) -> Response:
    """Record that a trial stopped before its last day (form fields ``trial_id``,
    ``stopped_on``, ``reason``; audited, once). Another patient's trial is a 404, as a
    missing one; a broken rule is a 422 naming the field."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    values = form_values(await request.form())
    trial_id = values.get("trial_id", "")
    if not trial_id:
        raise ValidationFailed(Problem(STOP_RECORD, "trial_id", "name the trial to stop"))
    try:
        stopped_on = dt.date.fromisoformat(values.get("stopped_on", "").strip())
    except ValueError:
        raise ValidationFailed(
            Problem(STOP_RECORD, "stopped_on", "must be a date (YYYY-MM-DD)")
        ) from None
    secret = trial_secret(settings)
    await run_in_threadpool(patients_trial, engine, secret, patient_id, trial_id, actor)
    await run_in_threadpool(
        service.stop_trial,
        engine,
        secret,
        trial_id,
        stopped_on,
        values.get("reason", ""),
        dt.date.today(),
        actor,
    )
    return RedirectResponse(f"/patients/{patient_id}/nof1?saved=stopped", status_code=303)


@router.post("/patients/{patient_id}/nof1/requests/{request_id}/close")
async def close(
    request: Request,
    patient_id: str,
    request_id: DatabaseId,
    engine: EngineDep,
    viewer: PatientOrClinician,
) -> Response:
    """The patient withdraws their open request for a trial, or their clinician declines
    it (form field ``reason``; audited). Another patient's request is a 404."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    values = form_values(await request.form())
    closed = await run_in_threadpool(
        close_request, engine, patient_id, request_id, actor, values.get("reason", "")
    )
    return RedirectResponse(f"/patients/{patient_id}/nof1?saved={closed.status}", status_code=303)
