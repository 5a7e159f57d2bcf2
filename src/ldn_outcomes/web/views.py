"""Data behind the patient pages: the dashboard charts and the doctor-visit summary.

Reads one patient's records (the daily check-ins with a light column query, since a patient
may have years of them) and turns them into chart inputs for :mod:`ldn_outcomes.reports.svg`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from statistics import mean
from typing import Any

from sqlalchemy import Engine

from ..domain.checkin import CHECKIN_INSTRUMENT, checkin_answer, checkin_keys
from ..domain.definitions.exposure import courses, is_ldn
from ..domain.instruments import get_instrument, score
from ..domain.models import (
    AdverseEvent,
    Consent,
    EdssAssessment,
    Exposure,
    Patient,
    QuestionnaireResponse,
    Relapse,
)
from ..domain.validation import parse_record
from ..reports.svg import Marker, Period, Series, line_chart, step_chart
from ..store.uow import UnitOfWork

CHECKIN = CHECKIN_INSTRUMENT
CHECKIN_ITEMS = checkin_keys()


@dataclass
class PatientData:
    patient: Patient
    exposures: list[Exposure]
    relapses: list[Relapse]
    edss: list[EdssAssessment]
    adverse_events: list[AdverseEvent]
    consents: list[Consent]
    checkins: list[tuple[dt.date, list[float | None]]]
    questionnaires: list[tuple[dt.date, str, float | None]]


def load_patient(engine: Engine, patient_id: str, *, diary: bool = True) -> PatientData:
    """One patient's records; ``diary=False`` skips the (possibly long) questionnaire list."""
    with UnitOfWork(engine) as uow:
        reg = uow.registry
        patient = reg.patient(patient_id)
        rows = reg.diary(patient_id) if diary else []
        return PatientData(
            patient=patient,
            exposures=reg.records(Exposure, patient_id=patient_id),
            relapses=reg.records(Relapse, patient_id=patient_id),
            edss=reg.records(EdssAssessment, patient_id=patient_id),
            adverse_events=reg.records(AdverseEvent, patient_id=patient_id),
            consents=reg.records(Consent, patient_id=patient_id),
            checkins=[(r.date, r.answers) for r in rows if r.instrument_id == CHECKIN],
            questionnaires=[
                (r.date, r.instrument_id, r.total) for r in rows if r.instrument_id != CHECKIN
            ],
        )


def timeline(data: PatientData) -> list[dict[str, Any]]:
    """Date-ordered events without the daily check-ins (they are on the chart)."""
    from ..domain.timeline import TimelineEvent, build_timeline

    events = build_timeline(
        {
            "exposures": data.exposures,
            "relapses": data.relapses,
            "edss": data.edss,
            "adverse_events": data.adverse_events,
            "consents": data.consents,
        }
    )
    events += [
        TimelineEvent(
            day, "questionnaire", f"{instrument}" + ("" if total is None else f": {total:g}")
        )
        for day, instrument, total in data.questionnaires
    ]
    events.sort(key=lambda e: e.date)
    return [e.as_dict() for e in events]


def ldn_periods(exposures: list[Exposure]) -> list[Period]:
    return [Period(start, stop, "on LDN") for start, stop in courses(exposures, is_ldn)]


def _daily(
    checkins: list[tuple[dt.date, list[float | None]]], key: str
) -> list[tuple[dt.date, float | None]]:
    """One value per day (the day's last check-in); blanks stay blank."""
    by_day: dict[dt.date, float | None] = {}
    for day, answers in checkins:
        by_day[day] = checkin_answer(answers, key)
    return sorted(by_day.items())


def charts(data: PatientData, today: dt.date | None = None) -> dict[str, str]:
    today = today or dt.date.today()
    periods = ldn_periods(data.exposures)
    markers = [Marker(r.onset_date, "relapse") for r in data.relapses]
    symptoms = line_chart(
        [
            Series("Fatigue", _daily(data.checkins, "fatigue"), weekly=True),
            Series("Spasms", _daily(data.checkins, "spasms"), weekly=True),
        ],
        periods,
        markers,
        "Fatigue and spasms from the daily check-in (0 = none, 10 = worst): the lines are "
        "weekly means, the faint dots each day",
        y_range=(0, 10),
        y_label="0-10",
    )
    edss = step_chart(
        [(e.date, e.score) for e in data.edss],
        "EDSS (disability) over time",
        markers=markers,
        shaded_periods=periods,
        until=today if data.edss else None,
    )
    return {"symptoms_svg": symptoms, "edss_svg": edss}


def _avg(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(mean(present), 1) if present else None


def visit_summary(data: PatientData, today: dt.date) -> dict[str, Any]:
    """What a doctor wants on one page: regimen, relapses, EDSS, recent symptoms, side effects."""
    current = [e for e in data.exposures if e.stop_date is None or e.stop_date >= today]
    last30 = [a for d, a in data.checkins if (today - d).days < 30]
    prev30 = [a for d, a in data.checkins if 30 <= (today - d).days < 60]
    year_ago = today - dt.timedelta(days=365)

    def item(rows: list[list[float | None]], key: str) -> float | None:
        return _avg([checkin_answer(r, key) for r in rows])

    return {
        "current_regimen": [_exposure_row(e) for e in current],
        "relapses_12m": [
            r.model_dump(mode="json") for r in data.relapses if r.onset_date >= year_ago
        ],
        "edss_latest": data.edss[-1].model_dump(mode="json") if data.edss else None,
        "symptoms": {
            "checkins_last_30_days": len(last30),
            "fatigue_last_30": item(last30, "fatigue"),
            "fatigue_previous_30": item(prev30, "fatigue"),
            "spasms_last_30": item(last30, "spasms"),
            "spasms_previous_30": item(prev30, "spasms"),
            "sleep_last_30": item(last30, "sleep"),
            "doses_missed_last_30": sum(1 for a in last30 if checkin_answer(a, "dose_taken") == 0),
        },
        "side_effects_12m": [
            a.model_dump(mode="json") for a in data.adverse_events if a.onset_date >= year_ago
        ],
    }


def _exposure_row(e: Exposure) -> dict[str, Any]:
    row = e.model_dump(mode="json")
    row["ldn"] = is_ldn(e)
    return row


def parse_checkin(values: dict[str, Any], patient_id: str, today: dt.date) -> QuestionnaireResponse:
    """Validate a check-in (blank answers stay blank) and build its record.

    Raises ValidationFailed naming the item (``fatigue``, ...) or ``date``."""
    from ..errors import Problem, ValidationFailed

    definition = get_instrument(CHECKIN)
    problems: list[Problem] = []
    answers: list[float | None] = []
    for item in definition.items:
        raw = values.get(item.key)
        if raw is None or raw == "":
            answers.append(None)
            continue
        try:
            answer = float(raw)
        except (TypeError, ValueError):
            answer = math.nan
        if not math.isfinite(answer):
            problems.append(Problem("checkin", item.key, "must be a number", value=str(raw)))
            answers.append(None)
        else:
            answers.append(answer)
    if problems:
        raise ValidationFailed(problems)
    if all(a is None for a in answers):
        raise ValidationFailed(Problem("checkin", "fatigue", "answer at least one question"))
    try:  # the record's own validator scores the answers (once, on the hot path)
        return parse_record(
            QuestionnaireResponse,
            {
                "patient_id": patient_id,
                "instrument_id": CHECKIN,
                "instrument_version": definition.version,
                "date": values.get("date") or today.isoformat(),
                "answers": answers,
                "total": None,
            },
        )
    except ValidationFailed as invalid:
        failure = invalid
    try:  # answers out of range come back named by item key (``fatigue``), not item number
        score(CHECKIN, answers, definition.version)
    except ValidationFailed as scoring:
        renamed = []
        for p in scoring.problems:
            number = p.field.removeprefix("item ")
            key = definition.items[int(number) - 1].key if number.isdigit() else p.field
            renamed.append(Problem("checkin", key, p.rule, value=p.value))
        raise ValidationFailed(renamed) from None
    raise failure
