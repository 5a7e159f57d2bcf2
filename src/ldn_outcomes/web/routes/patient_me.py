"""The patient's own pages: dashboard, daily check-in, questionnaires, consent, visit summary."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.access import Role
from ...domain.codes import ConsentScope
from ...domain.instruments import get_instrument, list_instruments, score
from ...domain.models import Consent, QuestionnaireResponse
from ...domain.validation import parse_record
from ...errors import NotFound, Problem, ValidationFailed
from ...store import link_requests
from ...store.uow import UnitOfWork
from ..auth import Viewer, require
from ..deps import EngineDep
from ..forms import errors_by_field, form_values
from ..rendering import render
from ..views import CHECKIN, CHECKIN_ITEMS, charts, load_patient, parse_checkin, visit_summary
from ..writes import store_checkin, write_lock
from ._common import add_records, flash_of, own_patient, saved, today_str

router = APIRouter(tags=["patient pages"])
Patient = Annotated[Viewer, require(Role.PATIENT)]
#: Instruments a patient fills in themselves (EDSS is clinician-rated; the check-in has its page).
SELF_REPORTED = ("sum", "mean", "single")


@router.get("/me")
def dashboard(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    patient_id = own_patient(viewer)
    data = load_patient(engine, patient_id)
    today = dt.date.today()
    done_today = any(d == today for d, _ in data.checkins)
    requests = [r.as_dict() for r in link_requests.pending_requests(engine, patient_id)]
    return render(
        request,
        "me/dashboard.html",
        {
            "patient": data.patient.model_dump(mode="json"),
            "link_requests": requests,
            "checked_in_today": done_today,
            "checkins": len(data.checkins),
            "flash": flash_of(request),
            **charts(data, today),
            "summary": visit_summary(data, today),
        },
    )


def _checkin_page(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    already: bool = False,
) -> Response:
    definition = get_instrument(CHECKIN)
    return render(
        request,
        "me/checkin.html",
        {
            "items": [i.model_dump() for i in definition.items],
            "values": values,
            "errors": errors,
            "today": today_str(),
            "flash": flash_of(request),
            "already_checked_in": already,
        },
        status_code=status_code,
    )


@router.get("/me/checkin")
def checkin_form(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    """Today's check-in; if there is one already, its answers, to be corrected."""
    data = load_patient(engine, own_patient(viewer))
    today = dt.date.today()
    earlier = next((answers for day, answers in reversed(data.checkins) if day == today), None)
    values: dict[str, Any] = {"date": today_str()}
    if earlier is not None:
        for item, answer in zip(get_instrument(CHECKIN).items, earlier, strict=False):
            if answer is not None:
                values[item.key] = f"{answer:g}"
    return _checkin_page(request, values, {}, already=earlier is not None)


@router.post("/me/checkin")
async def checkin(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    values = form_values(await request.form())
    patient_id = own_patient(viewer)
    try:
        record = parse_checkin(values, patient_id, dt.date.today())
        _stored, replaced = await store_checkin(engine, viewer.actor, record)
    except ValidationFailed as failure:
        return _checkin_page(
            request, values, errors_by_field(failure, [*CHECKIN_ITEMS, "date"]), 422
        )
    return saved("/me", "checkin_updated" if replaced else "checkin")


@router.get("/me/questionnaires")
def questionnaires(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    data = load_patient(engine, own_patient(viewer))
    available = [
        {"id": d.id, "name": d.name, "measures": d.measures, "items": len(d.items)}
        for d in list_instruments()
        if d.scoring in SELF_REPORTED
    ]
    history = [
        {"date": d.isoformat(), "instrument": i, "total": t}
        for d, i, t in reversed(data.questionnaires)
    ]
    return render(
        request,
        "me/questionnaires.html",
        {"instruments": available, "history": history[:50], "flash": flash_of(request)},
    )


def _instrument(instrument_id: str) -> Any:
    definition = get_instrument(instrument_id)
    if definition.scoring not in SELF_REPORTED:
        raise NotFound(f"{definition.name} is not a self-report questionnaire")
    return definition


def _questionnaire_page(
    request: Request,
    definition: Any,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "me/questionnaire.html",
        {
            "instrument": {
                "id": definition.id,
                "name": definition.name,
                "recall_period": definition.recall_period,
                "licence": definition.licence.terms,
                "ship_wording": definition.licence.ship_wording,
            },
            "items": [i.model_dump() for i in definition.items],
            "values": values,
            "errors": errors,
            "today": today_str(),
        },
        status_code=status_code,
    )


@router.get("/me/questionnaires/{instrument_id}")
def questionnaire_form(request: Request, instrument_id: str, viewer: Patient) -> Response:
    own_patient(viewer)
    return _questionnaire_page(request, _instrument(instrument_id), {"date": today_str()}, {})


@router.post("/me/questionnaires/{instrument_id}")
async def questionnaire(
    request: Request, instrument_id: str, engine: EngineDep, viewer: Patient
) -> Response:
    definition = _instrument(instrument_id)
    values = form_values(await request.form())
    patient_id = own_patient(viewer)
    keys = [f"item{i.number}" for i in definition.items]
    try:
        answers: list[float | None] = []
        problems = []
        for key in keys:
            raw = values.get(key, "")
            try:
                answers.append(float(raw) if raw != "" else None)
            except ValueError:
                problems.append(Problem(definition.key, key, "must be a number", value=raw))
                answers.append(None)
        if problems:
            raise ValidationFailed(problems)
        try:
            result = score(definition.id, answers, definition.version)
        except ValidationFailed as failure:
            raise ValidationFailed(
                [
                    Problem(p.record, p.field.replace("item ", "item"), p.rule, value=p.value)
                    for p in failure.problems
                ]
            ) from None
        record = parse_record(
            QuestionnaireResponse,
            {
                "patient_id": patient_id,
                "instrument_id": definition.id,
                "instrument_version": definition.version,
                "date": values.get("date") or today_str(),
                "answers": answers,
                "total": result.total,
            },
        )
        add_records(engine, viewer, record)
    except ValidationFailed as failure:
        errors = errors_by_field(failure, [*keys, "date"])
        return _questionnaire_page(request, definition, values, errors, 422)
    return saved("/me/questionnaires", "questionnaire")


@router.get("/me/consents")
def consents(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    data = load_patient(engine, own_patient(viewer), diary=False)
    today = dt.date.today()
    status = {}
    for scope in ConsentScope:
        active = [c for c in data.consents if c.scope == scope and c.active_on(today)]
        status[scope.value] = {
            "active": bool(active),
            "since": active[0].given_date.isoformat() if active else None,
        }
    return render(
        request,
        "me/consents.html",
        {
            "status": status,
            "history": [c.model_dump(mode="json") for c in data.consents],
            "flash": flash_of(request),
        },
    )


@router.post("/me/consents")
async def change_consent(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    values = form_values(await request.form())
    patient_id = own_patient(viewer)
    scope, action = values.get("scope", ""), values.get("action", "")
    if scope not in {s.value for s in ConsentScope} or action not in ("give", "withdraw"):
        raise ValidationFailed(
            Problem(
                "consent",
                "scope" if action in ("give", "withdraw") else "action",
                "choose a consent and give or withdraw",
                value=f"{scope}/{action}",
            )
        )
    today = dt.date.today()
    with write_lock(engine), UnitOfWork(engine, actor=viewer.actor) as uow:
        current = [
            c
            for c in uow.registry.records(Consent, patient_id=patient_id)
            if c.scope == scope and c.active_on(today)
        ]
        if action == "give" and not current:
            uow.registry.add(
                parse_record(
                    Consent, {"patient_id": patient_id, "scope": scope, "given_date": today}
                )
            )
        if action == "withdraw":  # kept, with its end date: the history stays visible
            for consent in current:
                uow.registry.update(consent.model_copy(update={"withdrawn_date": today}))
        uow.commit()
    return saved("/me/consents", "consent")


@router.get("/me/summary")
def summary(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    data = load_patient(engine, own_patient(viewer))
    today = dt.date.today()
    return render(
        request,
        "me/summary.html",
        {
            "patient": data.patient.model_dump(mode="json"),
            "today": today.isoformat(),
            **visit_summary(data, today),
            **charts(data, today),
        },
    )
