"""The steps of a personal trial as the web walks them: request, preview, pharmacy sheet,
check-in reminders and the audited results. Each is one call; the rules stay in the store
(who may read a sealed allocation) and the domain (the design, the blinding)."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from ..analysis.nof1.data import load_daily_outcome
from ..domain.access import Principal
from ..domain.nof1 import allocate, make_design
from ..reports.nof1_sheets import pharmacy_rows
from ..store.nof1_repo import trial_repository
from ..store.nof1_requests import TrialRequest, add_request
from . import nof1 as trials_service

#: Placeholder id and seed of a design that is only previewed (never stored).
PREVIEW_TRIAL_ID = "preview"
#: Days of missed check-ins listed in a reminder (the count covers the whole trial so far).
MISSED_DAYS_SHOWN = 7


def new_seed() -> int:
    """The randomisation seed of a trial designed on the web: drawn by the server, never
    typed by a person (a chosen seed could steer the order)."""
    return secrets.randbelow(2**31 - 1) + 1


def request_trial(
    engine: Engine, patient_id: str, outcome: str, note: str, actor: Principal
) -> TrialRequest:
    return add_request(engine, patient_id, outcome, note, actor)


def preview_design(
    engine: Engine,
    *,
    patient_id: str,
    pairs: int,
    period_days: int,
    washout_days: int,
    outcome: str,
    start_date: dt.date,
    dose_mg: Decimal | float | str,
    mcid: float | None = None,
) -> dict[str, Any]:
    """The design checked and its smallest detectable effect, before anything is sealed."""
    design = make_design(
        trial_id=PREVIEW_TRIAL_ID,
        patient_id=patient_id,
        pairs=pairs,
        period_days=period_days,
        washout_days=washout_days,
        outcome=outcome,
        seed=1,
        start_date=start_date,
        dose_mg=dose_mg,
        mcid=mcid,
    )
    detectable, note = trials_service.detectable_effect(engine, design)
    return {
        "patient_id": patient_id,
        "outcome": outcome,
        "outcome_label": design.outcome_spec.label,
        "mcid": design.mcid,
        "pairs": pairs,
        "period_days": period_days,
        "washout_days": washout_days,
        "dose_mg": design.dose_text,
        "start_date": start_date.isoformat(),
        "end_date": design.end_date.isoformat(),
        "detectable_effect": detectable.as_dict() if detectable else None,
        "detectable_note": note,
        "detectable_below_mcid": (detectable.effect <= design.mcid) if detectable else None,
    }


def pharmacy_trials(engine: Engine, secret: bytes, actor: Principal) -> list[dict[str, Any]]:
    """The trials assigned to this pharmacy: what to prepare and when, no clinical data."""
    return [
        {
            "trial_id": r.design.trial_id,
            "patient_id": r.design.patient_id,
            "start_date": r.design.start_date.isoformat(),
            "end_date": r.design.end_date.isoformat(),
            "dose_mg": r.design.dose_text,
            "bottles": r.design.periods,
            "capsules_per_bottle": r.design.capsules_per_bottle,
            "status": r.status,
            "stopped_on": r.stopped_on.isoformat() if r.stopped_on else None,
        }
        for r in trials_service.list_trials(engine, secret, actor)
    ]


def pharmacy_sheet(
    engine: Engine, secret: bytes, trial_id: str, actor: Principal
) -> dict[str, Any]:
    """The bottle sheet of one assigned trial: its allocation, read once and audited."""
    with trial_repository(engine, secret, write=True) as trials:
        record = trials.allocation_for_pharmacy(trial_id, actor)
    design = record.design
    assert design.seed is not None  # the pharmacy read opens the seal
    return {
        "trial_id": design.trial_id,
        "patient_id": design.patient_id,
        "dose_mg": design.dose_text,
        "capsules_per_day": design.capsules_per_day,
        "period_days": design.period_days,
        "capsules_per_bottle": design.capsules_per_bottle,
        "spare_capsules": design.spare_capsules,
        "seed": design.seed,
        "bottles": pharmacy_rows(design, allocate(design.pairs, design.seed)),
    }


def checkin_reminders(engine: Engine, page: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """Whether today's check-in is in, and which trial days so far have none: the values
    the analysis will be missing (washout days count too: they show the diary is kept)."""
    start = dt.date.fromisoformat(page["start_date"])
    # A trial stopped early ends on its stop day: no check-in is due for it after that.
    end = dt.date.fromisoformat(page["stopped_on"] or page["end_date"])
    last = min(today, end)
    if today < start:
        return {"due_today": False, "done_today": False, "missed_count": 0, "missed_recent": []}
    values = load_daily_outcome(engine, page["patient_id"], page["outcome"])
    recorded = {pd.Timestamp(k).date() for k, v in values.items() if pd.notna(v)}
    missed = [
        start + dt.timedelta(days=n)
        for n in range((last - start).days + 1)
        if start + dt.timedelta(days=n) not in recorded and start + dt.timedelta(days=n) < today
    ]
    return {
        # A stop is recorded on or after its day: from then on the trial is over.
        "due_today": not page["stopped_on"] and today <= end,
        "done_today": today in recorded,
        "missed_count": len(missed),
        "missed_recent": [d.isoformat() for d in missed[-MISSED_DAYS_SHOWN:]],
    }


def patient_trial_pages(
    engine: Engine, secret: bytes, patient_id: str, actor: Principal, today: dt.date
) -> list[dict[str, Any]]:
    """Every trial of the patient as its page shows it; a shown analysis is audited."""
    pages = []
    for record in trials_service.list_trials(engine, secret, actor):
        if record.design.patient_id != patient_id:
            continue
        page = trials_service.trial_page(engine, secret, record.design.trial_id, actor, today)
        page["reminders"] = checkin_reminders(engine, page, today)
        if page["results"] is not None:
            _audit_analysis_read(engine, secret, record.design.trial_id, actor)
        pages.append(page)
    return pages


def _audit_analysis_read(engine: Engine, secret: bytes, trial_id: str, actor: Principal) -> None:
    with trial_repository(engine, secret, write=True) as trials:
        trials.record_analysis_shown(trial_id, actor)
