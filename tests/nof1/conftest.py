"""Helpers for the n-of-1 tests: a patient with a daily check-in diary in a migrated registry."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import Engine

from ldn_outcomes.domain.access import Principal, Role
from ldn_outcomes.domain.models import DoseLog, Patient, QuestionnaireResponse
from ldn_outcomes.domain.nof1 import allocate, treatments
from ldn_outcomes.store.bulk import load_records

SECRET = b"test-secret-for-sealing-0123456789"
ADMIN = Principal(1, "admin@test.invalid", Role.ADMIN)
PHARMACY = Principal.command_line(Role.PHARMACY)


def add_patient(engine: Engine, patient_id: str = "P1", clinician_id: str | None = None) -> None:
    records = {
        "patients": [
            (
                None,
                Patient(
                    patient_id=patient_id,
                    year_of_birth=1980,
                    phenotype="RRMS",
                    clinician_id=clinician_id,
                ),
            )
        ]
    }
    if clinician_id:
        from ldn_outcomes.domain.models import Clinician

        records = {
            "clinicians": [(None, Clinician(clinician_id=clinician_id, display_name="Dr Test"))],
            **records,
        }
    load_records(engine, records, actor="test")


def add_diary(
    engine: Engine,
    patient_id: str,
    start: dt.date,
    days: int,
    *,
    seed: int = 1,
    pairs: int | None = None,
    period_days: int = 28,
    effect: float = 0.0,
    fatigue_only: bool = True,
    trial_start: dt.date | None = None,
) -> None:
    """Daily check-ins (fatigue around 6, AR(1) noise) and dose logs; ``effect`` on LDN days
    of a trial of ``pairs`` pairs starting on ``trial_start`` (default ``start``)."""
    rng = np.random.default_rng(seed)
    on_ldn = np.zeros(days)
    if pairs is not None:
        kinds = treatments(allocate(pairs, seed))
        offset = ((trial_start or start) - start).days
        for d in range(days):
            k = (d - offset) // period_days
            on_ldn[d] = float(0 <= k < len(kinds) and kinds[k] == "ldn")
    noise = np.zeros(days)
    for t in range(1, days):
        noise[t] = 0.5 * noise[t - 1] + rng.normal()
    fatigue = np.clip(np.rint(6 + effect * on_ldn + noise), 0, 10)
    checkins, doses = [], []
    for d in range(days):
        date = start + dt.timedelta(days=d)
        answers = (float(fatigue[d]), None if fatigue_only else 3.0, None, 0.0, 1.0)
        checkins.append(
            (
                None,
                QuestionnaireResponse(
                    patient_id=patient_id,
                    instrument_id="checkin",
                    instrument_version="1",
                    date=date,
                    answers=answers,
                ),
            )
        )
        doses.append((None, DoseLog(patient_id=patient_id, date=date, taken=d % 10 != 0)))
    load_records(engine, {"dose_logs": doses, "questionnaires": checkins}, actor="test")


@pytest.fixture
def patient(engine: Engine) -> str:
    add_patient(engine, "P1", clinician_id="C1")
    return "P1"
