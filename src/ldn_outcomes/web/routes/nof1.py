"""Personal n-of-1 trial pages: request, design, schedule, unblinding and results.

Access follows the accounts system: a patient sees their own trials, a clinician the trials of
linked patients whose care consent is active (checked by ``require(..., patient=...)``). The
patient asks for a trial (a POST); the clinician previews a design with its smallest
detectable effect (a GET: nothing is stored) and then seals it (a POST, assigned to a pharmacy
account). The allocation stays sealed until the last period has ended; unblinding is a POST
that writes an audit row, and is refused (403, with the date) before then. Every form is
post/redirect/get. The pharmacy's pages are in :mod:`.pharmacy`, the JSON API in
:mod:`.nof1_api`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from ...domain.access import Principal, Role
from ...domain.nof1 import (
    DEFAULT_DOSE_MG,
    DEFAULT_PAIRS,
    DEFAULT_WASHOUT_DAYS,
    OUTCOMES,
    default_trial_id,
)
from ...errors import DuplicateRecord, NotFound, PermissionDenied, Problem, ValidationFailed
from ...reports.nof1_sheets import calendar, file_stem
from ...services import nof1 as service
from ...services import nof1_flow as flow
from ...store.nof1_repo import TrialRecord
from ...store.nof1_requests import pharmacy_accounts, requests_of
from ..auth import Viewer, require
from ..deps import EngineDep, SettingsDep, wants_json
from ..forms import errors_by_field, form_values, optional_form_id
from ..rendering import render
from ._common import attachment
from .patients import linked_patients

router = APIRouter(tags=["n-of-1 trials"])
PatientOrClinician = Annotated[Viewer, require(Role.PATIENT, Role.CLINICIAN, patient="patient_id")]
Clinician = Annotated[Viewer, require(Role.CLINICIAN)]
OwnPatient = Annotated[Viewer, require(Role.PATIENT, patient="patient_id")]
PatientsClinician = Annotated[Viewer, require(Role.CLINICIAN, patient="patient_id")]
#: Fields of the design form (errors on others are shown above the form).
FORM_FIELDS = (
    "outcome",
    "pairs",
    "period_days",
    "washout_days",
    "start_date",
    "dose_mg",
    "mcid",
    "trial_id",
    "pharmacy_account_id",
)
#: Fields of the patient's request form.
REQUEST_FIELDS = ("outcome", "note")
#: What the trial page says after each post/redirect/get.
DONE_MESSAGES = {
    "request": "Your request was sent to your clinician.",
    "trial": "The trial is sealed and the pharmacy can prepare the bottles.",
    "unblinded": "The trial is unblinded; the results are below.",
    "stopped": "The trial is recorded as stopped; it can be unblinded from its last day.",
    "withdrawn": "Your request is withdrawn; you can ask again at any time.",
    "declined": "The request is declined; the patient sees why.",
}


def trial_actor(viewer: Viewer, patients: frozenset[str]) -> Principal:
    """The signed-in account, cleared by ``require`` for ``patients``."""
    if viewer.principal is None:  # require() has already refused anonymous requests
        raise PermissionDenied("sign in to see trials")
    return replace(viewer.principal, authorised_patients=patients)


def trial_secret(settings: SettingsDep) -> bytes:
    return settings.secret_key.get_secret_value().encode()


def patients_trial(
    engine: Engine, secret: bytes, patient_id: str, trial_id: str, actor: Principal
) -> TrialRecord:
    """The patient's trial ``trial_id``. Someone else's trial answers exactly as a missing one
    (404, same words), so trial ids cannot be probed for their existence or their owner."""
    try:
        record = service.trial_record(engine, secret, trial_id, actor)
    except (PermissionDenied, NotFound):
        record = None
    if record is None or record.design.patient_id != patient_id:
        raise NotFound(f"patient {patient_id} has no trial {trial_id!r}")
    return record


@router.get("/patients/{patient_id}/nof1")
def patient_trials(
    request: Request,
    patient_id: str,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: PatientOrClinician,
) -> Response:
    """The patient's trials: schedule, today's period and bottle, check-in reminders,
    progress; results once unblinded (one page per patient, so the path needs no trial id)."""
    return _trials_page(request, engine, settings, viewer, patient_id)


def _trials_page(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: Viewer,
    patient_id: str,
    request_values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The trials page; with ``errors``, the request form shown again (422) with each message
    by its field and the patient's answers kept."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    trials = flow.patient_trial_pages(
        engine, trial_secret(settings), patient_id, actor, dt.date.today()
    )
    charts = {page["trial_id"]: page.pop("chart_svg") for page in trials}
    return render(
        request,
        "nof1/patient.html",
        {
            "patient_id": patient_id,
            "trials": trials,
            "requests": [r.as_dict() for r in requests_of(engine, [patient_id])],
            "outcomes": {key: spec.label for key, spec in OUTCOMES.items()},
            "trial_charts_svg": charts,
            "flash": DONE_MESSAGES.get(request.query_params.get("saved", "")),
            **({"request_values": request_values or {}, "errors": errors} if errors else {}),
        },
        status_code=422 if errors else 200,
    )


@router.get("/patients/{patient_id}/nof1/calendar.ics")
def trial_calendar(
    patient_id: str,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: PatientOrClinician,
    trial_id: str | None = None,
) -> Response:
    """The check-in reminders for a phone's calendar (.ics): the start of each period with its
    bottle label and a daily check-in alarm; nothing on it tells LDN from placebo. Without
    ``trial_id``, the patient's latest trial."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    records = [
        r
        for r in service.list_trials(engine, trial_secret(settings), actor)
        if r.design.patient_id == patient_id and trial_id in (None, r.design.trial_id)
    ]
    if not records:
        raise NotFound(f"patient {patient_id} has no trial {trial_id or ''}".rstrip())
    design = records[-1].design  # listed by start date
    return Response(
        calendar(design),
        media_type="text/calendar",
        headers=attachment(f"{file_stem(design.trial_id)}.ics"),
    )


@router.post("/patients/{patient_id}/nof1/request")
async def request_trial(
    request: Request,
    patient_id: str,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: OwnPatient,
) -> Response:
    """The patient asks their clinician for a personal trial of one outcome (audited). A
    broken rule shows the page again with the message by its field; nothing is stored."""
    values = form_values(await request.form())
    actor = trial_actor(viewer, frozenset({patient_id}))
    try:
        await run_in_threadpool(
            flow.request_trial,
            engine,
            patient_id,
            values.get("outcome", ""),
            values.get("note", ""),
            actor,
        )
    except ValidationFailed as failure:
        if wants_json(request):
            raise
        errors = errors_by_field(failure, REQUEST_FIELDS)
        return await run_in_threadpool(
            _trials_page, request, engine, settings, viewer, patient_id, values, errors
        )
    return RedirectResponse(f"/patients/{patient_id}/nof1?saved=request", status_code=303)


def design_values(values: dict[str, str]) -> dict[str, object]:
    """The design fields of a form, as numbers and dates; every unreadable one is named."""
    problems: list[Problem] = []
    out: dict[str, object] = {"outcome": values.get("outcome", "fatigue_nrs")}
    for name in ("pairs", "period_days", "washout_days"):
        try:
            out[name] = int(values.get(name, ""))
        except ValueError:
            problems.append(Problem("nof1_design", name, "must be a whole number"))
    try:
        out["start_date"] = dt.date.fromisoformat(values.get("start_date", ""))
    except ValueError:
        problems.append(Problem("nof1_design", "start_date", "must be a date (YYYY-MM-DD)"))
    out["dose_mg"] = values.get("dose_mg", "") or str(DEFAULT_DOSE_MG)
    mcid = values.get("mcid", "").strip()
    try:
        out["mcid"] = float(mcid) if mcid else None
    except ValueError:
        problems.append(Problem("nof1_design", "mcid", "must be a number of points"))
    if problems:
        raise ValidationFailed(problems)
    return out


@router.get("/patients/{patient_id}/nof1/design")
def design_form(
    request: Request, patient_id: str, engine: EngineDep, viewer: PatientsClinician
) -> Response:
    """The design form; with ``preview=1`` the design is checked and its smallest detectable
    effect shown, with the button that seals it (nothing is stored by this page)."""
    return _design_page(request, engine, patient_id, dict(request.query_params))


def _design_page(
    request: Request,
    engine: EngineDep,
    patient_id: str,
    submitted: dict[str, str],
    errors: dict[str, str] | None = None,
) -> Response:
    """The design form with what was submitted, the preview when asked for and the design
    is valid, and each broken rule next to its field (422 when there is one)."""
    errors = dict(errors or {})
    preview = None
    if submitted.get("preview"):
        try:
            design = design_values(submitted)
            preview = flow.preview_design(engine, patient_id=patient_id, **design)  # type: ignore[arg-type]
        except ValidationFailed as failure:
            if wants_json(request):
                raise
            errors = {**errors_by_field(failure, FORM_FIELDS), **errors}
    open_requests = [r.as_dict() for r in requests_of(engine, [patient_id]) if r.status == "open"]
    start = dt.date.today() + dt.timedelta(days=7)
    defaults = {
        "outcome": open_requests[0]["outcome"] if open_requests else "fatigue_nrs",
        "pairs": str(DEFAULT_PAIRS),
        "period_days": "28",
        "washout_days": str(DEFAULT_WASHOUT_DAYS),
        "start_date": start.isoformat(),
        "dose_mg": str(DEFAULT_DOSE_MG),
        "mcid": "",
    }
    shown = {**defaults, **{k: v for k, v in submitted.items() if k in defaults}}
    return render(
        request,
        "nof1/design.html",
        {
            "patient_id": patient_id,
            "values": shown,
            "errors": errors,
            "preview": preview,
            "requests": open_requests,
            "pharmacies": pharmacy_accounts(engine),
            "outcomes": {key: spec.label for key, spec in OUTCOMES.items()},
            "suggested_trial_id": submitted.get("trial_id")
            or default_trial_id(patient_id, dt.date.today()),
        },
        status_code=422 if errors else 200,
    )


@router.post("/patients/{patient_id}/nof1/trials")
async def seal_trial(
    request: Request,
    patient_id: str,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: PatientsClinician,
) -> Response:
    """Seal a previewed design: the server draws the seed, the allocation is sealed and the
    trial assigned to the chosen pharmacy account (all audited). A broken rule shows the
    form again with the message by its field; nothing is stored."""
    values = form_values(await request.form())
    actor = trial_actor(viewer, frozenset({patient_id}))
    try:
        if values.get("detectable_effect_reviewed") != "yes":
            raise ValidationFailed(
                Problem("nof1_design", "detectable_effect_reviewed", "preview the design first")
            )
        design = design_values(values)
        await run_in_threadpool(
            lambda: service.design_trial(
                engine,
                trial_secret(settings),
                trial_id=values.get("trial_id", "").strip(),
                patient_id=patient_id,
                seed=flow.new_seed(),
                actor=actor,
                pharmacy_account_id=optional_form_id(values, "pharmacy_account_id", "nof1_design"),
                request_id=optional_form_id(values, "request_id", "nof1_design"),
                **design,  # type: ignore[arg-type]
            )
        )
    except (ValidationFailed, DuplicateRecord) as failure:
        if wants_json(request):
            raise
        errors = (
            errors_by_field(failure, FORM_FIELDS)
            if isinstance(failure, ValidationFailed)
            else {"trial_id": str(failure)}
        )
        return await run_in_threadpool(
            _design_page, request, engine, patient_id, {**values, "preview": "1"}, errors
        )
    return RedirectResponse(f"/patients/{patient_id}/nof1?saved=trial", status_code=303)


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
    secret = trial_secret(settings)
    await run_in_threadpool(patients_trial, engine, secret, patient_id, trial_id, actor)
    await run_in_threadpool(service.unblind_trial, engine, secret, trial_id, dt.date.today(), actor)
    return RedirectResponse(f"/patients/{patient_id}/nof1?saved=unblinded", status_code=303)


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
            engine, trial_secret(settings), trial_actor(viewer, cleared), dt.date.today()
        )
        if cleared
        else []
    )
    requests = [r.as_dict() for r in requests_of(engine, cleared) if r.status == "open"]
    return render(request, "nof1/clinic.html", {"trials": trials, "requests": requests})
