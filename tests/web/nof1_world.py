"""A pharmacy account and one sealed trial of ``P-OWN`` assigned to it, added to the web world
so that the authorization matrix reaches the trial and pharmacy routes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from ldn_outcomes.domain.access import Role
from ldn_outcomes.domain.models import QuestionnaireResponse
from ldn_outcomes.services import nof1 as service
from ldn_outcomes.store import accounts, sign_in
from ldn_outcomes.store.bulk import load_records

from .conftest import World

MATRIX_TRIAL = "T-MATRIX"


def seal_default_trial(
    world: World,
    trial_id: str,
    patient_id: str,
    *,
    seed: int,
    start_date: dt.date,
    **extra: object,
) -> None:
    """Seal a trial of the default design (3 pairs of 28-day periods, 7-day washout, fatigue
    NRS, 4.5 mg) straight through the service, as the tests' starting point."""
    service.design_trial(
        world.engine,
        world.settings.secret_key.get_secret_value().encode(),
        trial_id=trial_id,
        patient_id=patient_id,
        pairs=3,
        period_days=28,
        washout_days=7,
        outcome="fatigue_nrs",
        seed=seed,
        start_date=start_date,
        dose_mg="4.5",
        **extra,  # type: ignore[arg-type]
    )


def add_checkins(engine: Engine, patient_id: str, start: dt.date, fatigue: list[float]) -> None:
    """One daily check-in per value (fatigue only), from ``start``."""
    rows = [
        (
            None,
            QuestionnaireResponse(
                patient_id=patient_id,
                instrument_id="checkin",
                instrument_version="1",
                date=start + dt.timedelta(days=n),
                answers=(value, None, None, 0.0, 1.0),
            ),
        )
        for n, value in enumerate(fatigue)
    ]
    load_records(engine, {"questionnaires": rows}, actor="test")


def add_pharmacy(
    world: World, name: str = "pharmacy", password: str | None = None
) -> accounts.Account:
    account = accounts.create_account(
        world.engine,
        email=f"{name}@example.org",
        role=Role.PHARMACY,
        password=password,
        actor="test",
    )
    world.accounts[name] = account
    world.sessions[name] = sign_in.create_session(world.engine, account.id, 3600)
    return account


def add_matrix_trial(world: World) -> None:
    """A pharmacy account, and trial ``T-MATRIX`` of ``P-OWN`` (blinded, starting in a week)
    assigned to it."""
    pharmacy = add_pharmacy(world)
    today = dt.date.today()
    add_checkins(world.engine, "P-OWN", today - dt.timedelta(days=3), [5.0, 6.0, 5.0])
    seal_default_trial(
        world,
        MATRIX_TRIAL,
        "P-OWN",
        seed=11,
        start_date=today + dt.timedelta(days=7),
        pharmacy_account_id=pharmacy.id,
    )
