"""Personal n-of-1 trial pages: the patient's trial page and the clinician's overview.

Access follows the accounts system: a patient sees their own trials, a clinician the trials of
linked patients whose care consent is active (checked by ``require(..., patient=...)``). The
allocation stays sealed until the last period has ended; unblinding is a POST that writes an
audit row, and is refused (403, with the date) before then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...domain.access import Principal, Role
from ...errors import NotFound, PermissionDenied, Problem, ValidationFailed
from ...services import nof1 as service
from ..auth import Viewer, require
from ..deps import EngineDep, SettingsDep
from ..rendering import render
from .patients import linked_patients

router = APIRouter(tags=["n-of-1 trials"])
PatientOrClinician = Annotated[Viewer, require(Role.PATIENT, Role.CLINICIAN, patient="patient_id")]
Clinician = Annotated[Viewer, require(Role.CLINICIAN)]


def trial_actor(viewer: Viewer, patients: frozenset[str]) -> Principal:
    """The signed-in account, cleared by ``require`` for ``patients``."""
    if viewer.principal is None:  # require() has already refused anonymous requests
        raise PermissionDenied("sign in to see trials")
    return replace(viewer.principal, authorised_patients=patients)


def _secret(settings: SettingsDep) -> bytes:
    return settings.secret_key.get_secret_value().encode()


@router.get("/patients/{patient_id}/nof1")
def patient_trials(
    request: Request,
    patient_id: str,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: PatientOrClinician,
) -> Response:
    """The patient's trials: schedule, today's period and bottle, progress; results once
    unblinded (one page per patient, so the path needs no trial id)."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    secret, today = _secret(settings), dt.date.today()
    trials = []
    charts = {}
    for record in service.list_trials(engine, secret, actor):
        if record.design.patient_id != patient_id:
            continue
        page = service.trial_page(engine, secret, record.design.trial_id, actor, today)
        charts[page["trial_id"]] = page.pop("chart_svg")
        trials.append(page)
    return render(
        request,
        "nof1/patient.html",
        {"patient_id": patient_id, "trials": trials, "trial_charts_svg": charts},
    )


@router.post("/patients/{patient_id}/nof1/unblind")
async def unblind(
    request: Request,
    patient_id: str,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: PatientOrClinician,
) -> Response:
    """Open a trial's allocation after its last period (audited); refused earlier, with the
    date. The trial is named by the form field (or query parameter) ``trial_id``."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    form = await request.form()
    trial_id = form.get("trial_id") or request.query_params.get("trial_id")
    if not isinstance(trial_id, str) or not trial_id:
        raise ValidationFailed(Problem("nof1_unblind", "trial_id", "name the trial to unblind"))
    secret = _secret(settings)
    try:
        record = await run_in_threadpool(service.trial_record, engine, secret, trial_id, actor)
    except (PermissionDenied, NotFound):
        record = None
    if record is None or record.design.patient_id != patient_id:
        # someone else's trial looks exactly like a missing one: no owner, no existence
        raise NotFound(f"patient {patient_id} has no trial {trial_id!r}")
    await run_in_threadpool(service.unblind_trial, engine, secret, trial_id, dt.date.today(), actor)
    return RedirectResponse(f"/patients/{patient_id}/nof1", status_code=303)


@router.get("/clinic/nof1")
def clinician_overview(
    request: Request, engine: EngineDep, settings: SettingsDep, viewer: Clinician
) -> Response:
    """Trials of the clinician's linked patients with active care consent."""
    assert viewer.principal is not None
    cleared = frozenset(
        p["patient_id"]
        for p in linked_patients(engine, viewer.principal.account_id)
        if p["care_consent"]
    )
    trials = (
        service.clinician_trials(
            engine, _secret(settings), trial_actor(viewer, cleared), dt.date.today()
        )
        if cleared
        else []
    )
    return render(request, "nof1/clinic.html", {"trials": trials})
