"""Regimens as people live them: change the dose, stop, and never two ongoing LDN regimens.

A dose change is one action: the current regimen ends the day before the new one starts, and
the new one keeps everything (drug, class, frequency, time of day, formulation) unless the
change says otherwise. Stopping ends the current regimen on the given day (``last_day``, stored
as the exposure's ``stop_date``: the last day taken, as in
:mod:`ldn_outcomes.domain.definitions.exposure`). Errors name the fields the caller sent
(``from_date``, ``last_day``), not the stored record's (``store.record_actions``).

"Is this exposure LDN?" is the domain's one rule (:func:`exposure.is_ldn`: naltrexone at a low
daily dose, whatever class was entered).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ...errors import Problem, ValidationFailed
from ..codes import TimeOfDay
from ..models import Exposure
from ..validation import parse_record
from .exposure import is_ldn


def ongoing_ldn(exposures: Iterable[Exposure]) -> list[Exposure]:
    return [e for e in exposures if is_ldn(e) and e.stop_date is None]


def check_one_ongoing_ldn(existing: Sequence[Exposure], added: Sequence[Exposure]) -> None:
    """Refuse a second ongoing LDN regimen for a patient (``existing`` excludes any record
    being replaced). The message says what to do instead."""
    problems: list[Problem] = []
    by_patient: dict[str, list[Exposure]] = {}
    for exposure in list(existing) + list(added):
        if is_ldn(exposure) and exposure.stop_date is None:
            by_patient.setdefault(exposure.patient_id, []).append(exposure)
    for patient_id, ongoing in by_patient.items():
        if len(ongoing) < 2 or not any(e in added for e in ongoing):
            continue
        first = next((e for e in ongoing if e not in added), ongoing[0])
        problems.append(
            Problem(
                "exposure",
                "stop_date",
                f"patient {patient_id} already has an ongoing LDN regimen "
                f"({first.dose_mg} mg since {first.start_date.isoformat()}); change the dose or "
                "stop that regimen instead of adding a second one",
            )
        )
    if problems:
        raise ValidationFailed(problems)


def _day(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(
            Problem("exposure", field, "must be a date (YYYY-MM-DD)", value=value)
        ) from None


def change_dose(
    current: Exposure,
    *,
    new_dose_mg: Decimal | float | str,
    from_date: dt.date | str,
    time_of_day: TimeOfDay | str | None = None,
    frequency: str | None = None,
    today: dt.date | None = None,
) -> tuple[Exposure, Exposure]:
    """The current regimen ended the day before ``from_date``, and the new regimen."""
    start = _day(from_date, "from_date")
    if current.stop_date is not None:
        raise ValidationFailed(
            Problem("exposure", "exposure_id", "this regimen has already stopped")
        )
    if start <= current.start_date:
        raise ValidationFailed(
            Problem(
                "exposure",
                "from_date",
                f"must be after the current regimen started ({current.start_date.isoformat()})",
                value=start.isoformat(),
            )
        )
    ended = parse_record(
        Exposure,
        {
            **current.model_dump(),
            "stop_date": start - dt.timedelta(days=1),
            "stop_reason": "dose change",
        },
        today=today,
    )
    new = parse_record(
        Exposure,
        {
            **current.model_dump(),
            "id": None,
            "dose_mg": new_dose_mg,
            "start_date": start,
            "stop_date": None,
            "stop_reason": None,
            "time_of_day": time_of_day or current.time_of_day,
            "frequency": frequency or current.frequency,
        },
        today=today,
    )
    return ended, new


def stop_regimen(
    current: Exposure,
    *,
    last_day: dt.date | str,
    reason: str | None = None,
    today: dt.date | None = None,
) -> Exposure:
    """The regimen ended on ``last_day`` (the last day the medicine was taken)."""
    stop = _day(last_day, "last_day")
    if current.stop_date is not None:
        raise ValidationFailed(
            Problem("exposure", "exposure_id", "this regimen has already stopped")
        )
    return parse_record(
        Exposure,
        {**current.model_dump(), "stop_date": stop, "stop_reason": reason or "stopped"},
        today=today,
    )
