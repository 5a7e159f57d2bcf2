"""The JSON API of personal trials: one typed endpoint per step (request, preview, design,
schedule, pharmacy sheet, unblinding). Same access rules and validation as the pages; the
request models are :class:`~ldn_outcomes.web.api_bodies.ApiBody` bodies (unknown fields,
NaN, infinity and control characters refused, naming the field)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ...domain.access import Role
from ...domain.models import DatabaseId
from ...domain.nof1 import TRIAL_ID_PATTERN
from ...domain.text import REASON_MAX_LENGTH
from ...services import nof1 as service
from ...services import nof1_flow as flow
from ...store.nof1_requests import close_request
from ..api_bodies import ApiBody
from ..auth import Viewer, require
from ..deps import EngineDep, SettingsDep
from .nof1 import PatientOrClinician, patients_trial, trial_actor
from .pharmacy import Pharmacy, pharmacy_actor

router = APIRouter(tags=["api", "n-of-1 trials"])
OwnPatient = Annotated[Viewer, require(Role.PATIENT, patient="patient_id")]
PatientsClinician = Annotated[Viewer, require(Role.CLINICIAN, patient="patient_id")]


class Strict(BaseModel):
    """Base of the responses: exactly the documented fields. (Requests are ApiBody.)"""

    model_config = ConfigDict(extra="forbid")


class TrialRequestIn(ApiBody):
    #: The note is free text from a textarea on the page: line breaks and tab are allowed.
    multiline_text: ClassVar[tuple[str, ...]] = ("note",)
    outcome: str = "fatigue_nrs"
    note: str = Field("", max_length=1000)


class TrialRequestOut(Strict):
    request_id: int
    patient_id: str
    outcome: str
    note: str
    requested_at: dt.datetime
    status: Literal["open", "designed", "withdrawn", "declined"]
    trial_id: str | None
    closed_reason: str | None = None


class CloseRequestIn(ApiBody):
    """Why the patient withdraws the request, or the clinician declines it."""

    reason: str = Field(min_length=1, max_length=REASON_MAX_LENGTH)


class DesignIn(ApiBody):
    outcome: str = "fatigue_nrs"
    pairs: int = 3
    period_days: int = 28
    washout_days: int = 7
    start_date: dt.date
    dose_mg: Decimal = Decimal("4.5")
    mcid: float | None = None


class DetectableEffectOut(Strict):
    effect: float
    daily_sd: float
    lag1_autocorrelation: float
    baseline_days: int
    alpha: float
    power: float
    simulations: int
    blank_share: float
    test: str
    pairs: int
    randomisation_smallest_p: float
    randomisation_can_reach: bool
    randomisation_pairs_needed: int


class PreviewOut(Strict):
    patient_id: str
    outcome: str
    outcome_label: str
    mcid: float
    pairs: int
    period_days: int
    washout_days: int
    dose_mg: str
    start_date: dt.date
    end_date: dt.date
    detectable_effect: DetectableEffectOut | None
    detectable_note: str | None
    detectable_below_mcid: bool | None


class SealIn(DesignIn):
    #: Checked by the design rule (``domain.nof1.trial_id_problem``), as on the page; the
    #: pattern is stated here for ``/docs``.
    trial_id: str = Field(
        description="Letters, digits and '.', '_', '-'; starting with a letter or digit.",
        json_schema_extra={"pattern": TRIAL_ID_PATTERN, "maxLength": 64},
    )
    #: The caller has seen the preview's detectable effect (``/nof1/preview``) before sealing.
    detectable_effect_reviewed: Literal[True]
    pharmacy_account_id: DatabaseId | None = None
    request_id: DatabaseId | None = None


class PeriodOut(Strict):
    period: int
    start: dt.date
    end: dt.date
    analysed_from: dt.date
    bottle_label: str


class TrialOut(Strict):
    trial_id: str
    patient_id: str
    outcome: str
    mcid: float
    pairs: int
    period_days: int
    washout_days: int
    dose_mg: str
    start_date: dt.date
    end_date: dt.date
    status: str
    stopped_on: dt.date | None = None
    stop_reason: str | None = None
    detectable_effect: DetectableEffectOut | None
    detectable_note: str | None
    periods: list[PeriodOut]


class RemindersOut(Strict):
    due_today: bool
    done_today: bool
    missed_count: int
    missed_recent: list[dt.date]


class ProgressOut(Strict):
    state: Literal["not started", "running", "ended", "stopped"]
    day: int
    total_days: int
    percent: int
    period: int | None
    bottle_label: str | None
    in_washout: bool


class ScheduledPeriodOut(PeriodOut):
    current: bool


class TrialPageOut(Strict):
    """A trial as its patient and clinician see it: blinded schedule, progress, reminders;
    ``results`` (the analysis) only once unblinded."""

    model_config = ConfigDict(extra="ignore")
    trial_id: str
    patient_id: str
    outcome: str
    outcome_label: str
    status: str
    start_date: dt.date
    end_date: dt.date
    stopped_on: dt.date | None = None
    stop_reason: str | None = None
    progress: ProgressOut
    schedule: list[ScheduledPeriodOut]
    reminders: RemindersOut
    results: dict[str, Any] | None
    results_note: str | None = None


class UnblindIn(ApiBody):
    trial_id: str = Field(min_length=1, max_length=64)


class StopIn(ApiBody):
    trial_id: str = Field(min_length=1, max_length=64)
    #: The last day that belongs to the trial.
    stopped_on: dt.date
    reason: str = Field(min_length=1, max_length=REASON_MAX_LENGTH)


class StopOut(Strict):
    model_config = ConfigDict(extra="ignore")
    trial_id: str
    patient_id: str
    status: str
    start_date: dt.date
    end_date: dt.date
    stopped_on: dt.date
    stop_reason: str
    stopped_by: str


class UnblindOut(Strict):
    model_config = ConfigDict(extra="ignore")
    trial_id: str
    patient_id: str
    status: str
    unblinded_by: str | None
    periods: list[dict[str, Any]]


class PharmacyTrialOut(Strict):
    trial_id: str
    patient_id: str
    start_date: dt.date
    end_date: dt.date
    dose_mg: str
    bottles: int
    capsules_per_bottle: int
    status: str
    stopped_on: dt.date | None = None


class BottleOut(Strict):
    period: int
    pair: int
    start: dt.date
    end: dt.date
    bottle_label: str
    contents: str
    capsules: int


class SheetOut(Strict):
    trial_id: str
    patient_id: str
    dose_mg: str
    capsules_per_day: int
    period_days: int
    capsules_per_bottle: int
    spare_capsules: int
    seed: int
    bottles: list[BottleOut]


def _secret(settings: SettingsDep) -> bytes:
    return settings.secret_key.get_secret_value().encode()


@router.post("/api/patients/{patient_id}/nof1/requests", status_code=201)
async def api_request_trial(
    patient_id: str, body: TrialRequestIn, engine: EngineDep, viewer: OwnPatient
) -> TrialRequestOut:
    """The patient asks their clinician for a personal trial (one open request at a time)."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    made = await run_in_threadpool(
        flow.request_trial, engine, patient_id, body.outcome, body.note, actor
    )
    return TrialRequestOut(**made.as_dict())


@router.post("/api/patients/{patient_id}/nof1/requests/{request_id}/close")
async def api_close_request(
    patient_id: str,
    request_id: DatabaseId,
    body: CloseRequestIn,
    engine: EngineDep,
    viewer: PatientOrClinician,
) -> TrialRequestOut:
    """The patient withdraws their open request ("withdrawn"), or their clinician declines
    it ("declined"), saying why (audited). Another patient's request is a 404."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    closed = await run_in_threadpool(
        close_request, engine, patient_id, request_id, actor, body.reason
    )
    return TrialRequestOut(**closed.as_dict())


@router.post("/api/patients/{patient_id}/nof1/preview")
async def api_preview_design(
    patient_id: str, body: DesignIn, engine: EngineDep, viewer: PatientsClinician
) -> PreviewOut:
    """Check a design and compute its smallest detectable effect; nothing is stored."""
    preview = await run_in_threadpool(
        lambda: flow.preview_design(engine, patient_id=patient_id, **body.model_dump())
    )
    return PreviewOut(**preview)


@router.post("/api/patients/{patient_id}/nof1/trials", status_code=201)
async def api_seal_trial(
    patient_id: str,
    body: SealIn,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: PatientsClinician,
) -> TrialOut:
    """Seal a design (the server draws the seed) and assign it to a pharmacy account."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    fields = body.model_dump(exclude={"detectable_effect_reviewed"})
    result = await run_in_threadpool(
        lambda: service.design_trial(
            engine,
            _secret(settings),
            patient_id=patient_id,
            seed=flow.new_seed(),
            actor=actor,
            **fields,
        )
    )
    return TrialOut(**result.as_dict())


@router.get("/api/patients/{patient_id}/nof1")
def api_patient_trials(
    patient_id: str, engine: EngineDep, settings: SettingsDep, viewer: PatientOrClinician
) -> list[TrialPageOut]:
    """The patient's trials: blinded schedule, progress, check-in reminders, and the
    analysis once unblinded (each shown analysis is audited)."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    pages = flow.patient_trial_pages(engine, _secret(settings), patient_id, actor, dt.date.today())
    return [TrialPageOut(**page) for page in pages]


@router.post("/api/patients/{patient_id}/nof1/unblind")
async def api_unblind(
    patient_id: str,
    body: UnblindIn,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: PatientOrClinician,
) -> UnblindOut:
    """Open the allocation after the last period (audited); 403 with the date before it.
    Another patient's trial is a 404, exactly as a missing one (as on the page)."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    secret = _secret(settings)
    await run_in_threadpool(patients_trial, engine, secret, patient_id, body.trial_id, actor)
    opened = await run_in_threadpool(
        service.unblind_trial, engine, secret, body.trial_id, dt.date.today(), actor
    )
    return UnblindOut(**opened)


@router.post("/api/patients/{patient_id}/nof1/stop")
async def api_stop(
    patient_id: str,
    body: StopIn,
    engine: EngineDep,
    settings: SettingsDep,
    viewer: PatientOrClinician,
) -> StopOut:
    """Record that a trial stopped before its last day, and why (audited, once); its
    analysis then uses the days up to the stop, and it may be unblinded from that day.
    Another patient's trial is a 404, exactly as a missing one."""
    actor = trial_actor(viewer, frozenset({patient_id}))
    secret = _secret(settings)
    await run_in_threadpool(patients_trial, engine, secret, patient_id, body.trial_id, actor)
    stopped = await run_in_threadpool(
        service.stop_trial,
        engine,
        secret,
        body.trial_id,
        body.stopped_on,
        body.reason,
        dt.date.today(),
        actor,
    )
    return StopOut(**stopped)


@router.get("/api/pharmacy/trials")
def api_pharmacy_trials(
    engine: EngineDep, settings: SettingsDep, viewer: Pharmacy
) -> list[PharmacyTrialOut]:
    """The trials assigned to the calling pharmacy account."""
    trials = flow.pharmacy_trials(engine, _secret(settings), pharmacy_actor(viewer))
    return [PharmacyTrialOut(**t) for t in trials]


@router.get("/api/pharmacy/trials/{trial_id}/sheet")
def api_bottle_sheet(
    trial_id: str, engine: EngineDep, settings: SettingsDep, viewer: Pharmacy
) -> SheetOut:
    """The bottle sheet of an assigned trial (audited read of the sealed allocation)."""
    sheet = flow.pharmacy_sheet(engine, _secret(settings), trial_id, pharmacy_actor(viewer))
    return SheetOut(**sheet)
