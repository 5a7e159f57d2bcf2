"""The two regimen forms people need: change the dose, and stop. Shared by the patient's
records page and the clinician's patient page.

The time-of-day choice defaults to keeping the current regimen's timing (named on the form):
a bedtime dose never silently becomes a morning one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from ..domain.codes import TimeOfDay
from ..domain.definitions.regimen import ongoing_ldn
from ..domain.models import Exposure
from ..errors import Problem, ValidationFailed
from ..store import record_actions
from ..store.uow import UnitOfWork
from ..templating import dose_text
from .forms import Field, optional_form_id
from .writes import write_lock

CHANGE_FIELDS = [
    Field("exposure_id", "Current LDN regimen", "select", required=True),
    Field("change_date", "New dose from", "date", required=True),
    Field("dose_mg", "New dose (mg)", "number", step="any", min="0", required=True),
    Field("time_of_day", "Time of day", "select"),
]
STOP_FIELDS = [
    Field("exposure_id", "LDN regimen", "select", required=True),
    Field("last_day", "Last day taken", "date", required=True),
    Field("stop_reason", "Why stopped (optional)"),
]


def _label(e: Exposure) -> str:
    timing = "" if e.time_of_day is TimeOfDay.UNKNOWN else f", {e.time_of_day.value}"
    return f"{e.drug_name} {dose_text(e.dose_mg)}{timing} since {e.start_date}"


def regimen_forms(exposures: list[Exposure], today: dt.date) -> dict[str, Any]:
    """Fields and default values of both forms for a patient's current LDN regimens."""
    current = ongoing_ldn(exposures)
    options = [(str(e.id), _label(e)) for e in current]
    keep = current[0].time_of_day.value.replace("_", " ") if current else "current"
    timing = [("", f"keep the current timing ({keep})")] + [
        (t.value, t.value.replace("_", " ")) for t in TimeOfDay
    ]
    change = [
        replace(CHANGE_FIELDS[0], options=options),
        *CHANGE_FIELDS[1:3],
        replace(CHANGE_FIELDS[3], options=timing),
    ]
    stop = [replace(STOP_FIELDS[0], options=options), *STOP_FIELDS[1:]]
    first = options[0][0] if options else ""
    return {
        "current_ldn": [{"id": e.id, "label": _label(e)} for e in current],
        "change_fields": change,
        "stop_fields": stop,
        "change_values": {"exposure_id": first, "change_date": today.isoformat()},
        "stop_values": {"exposure_id": first, "last_day": today.isoformat()},
    }


def _exposure_id(values: dict[str, str]) -> int | None:
    """The chosen regimen's id; blank means the ongoing LDN regimen."""
    return optional_form_id(values, "exposure_id", "exposure")


def change_from_form(
    engine: Engine, actor: str, patient_id: str, values: dict[str, str]
) -> tuple[Exposure, Exposure]:
    """Change the dose as the form says (one transaction); errors name the form's fields."""
    try:
        with write_lock(engine), UnitOfWork(engine, actor=actor) as uow:
            result = record_actions.change_regimen(
                uow.registry,
                patient_id,
                new_dose_mg=values.get("dose_mg", "") or _missing("dose_mg"),
                from_date=values.get("change_date", ""),
                exposure_id=_exposure_id(values),
                time_of_day=values.get("time_of_day") or None,
            )
            uow.commit()
    except ValidationFailed as error:
        raise error.renamed({"from_date": "change_date"}) from None
    return result


def stop_from_form(engine: Engine, actor: str, patient_id: str, values: dict[str, str]) -> Exposure:
    """Stop a regimen as the form says (one transaction); errors name the form's fields."""
    try:
        with write_lock(engine), UnitOfWork(engine, actor=actor) as uow:
            ended = record_actions.stop(
                uow.registry,
                patient_id,
                last_day=values.get("last_day", ""),
                reason=values.get("stop_reason") or None,
                exposure_id=_exposure_id(values),
            )
            uow.commit()
    except ValidationFailed as error:
        raise error.renamed({"reason": "stop_reason"}) from None
    return ended


def _missing(field: str) -> str:
    raise ValidationFailed(Problem("exposure", field, "is required"))
