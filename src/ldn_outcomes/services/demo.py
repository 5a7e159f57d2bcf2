"""The demo registry ``make run`` serves: simulated patients, three hand-written ones, one
sign-in per role.

The registry is a small simulated one (default 300 patients x 5 years, seed 1; see
``ldn_outcomes.simulate``) plus three hand-written patients with realistic courses (a DMT, then
LDN titrated 1.5 -> 3 -> 4.5 mg; relapses; EDSS; 90 days of daily check-ins) whose dates are
relative to the day of the build, so the dashboard always shows recent data. The evidence
pages read the shipped catalogue and need no loading.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Engine

from ..domain.access import Role
from ..domain.codes import (
    AeOutcome,
    Causality,
    Confirmation,
    ConsentScope,
    DrugClass,
    Formulation,
    FunctionalSystem,
    Phenotype,
    Severity,
    Sex,
    TimeOfDay,
)
from ..domain.models import (
    AdverseEvent,
    Consent,
    EdssAssessment,
    Exposure,
    Patient,
    QuestionnaireResponse,
    Record,
    Relapse,
)
from ..errors import ConfigurationError
from ..simulate import SimulationParams, load_into_db, simulate_registry
from ..store import accounts, care_links
from ..store.uow import UnitOfWork

DEMO_PATIENT = "DEMO-001"
LINKED_SIMULATED = 20


def _ago(today: dt.date, days: int) -> dt.date:
    return today - dt.timedelta(days=days)


def hand_written_patients(today: dt.date, seed: int = 1) -> list[Record]:
    """Three patients with the kind of course the registry is for (dates before ``today``)."""
    a = lambda days: _ago(today, days)  # noqa: E731
    records: list[Record] = [
        Patient(
            patient_id="DEMO-001",
            year_of_birth=1984,
            sex=Sex.FEMALE,
            phenotype=Phenotype.RRMS,
            first_symptoms_date=a(4000),
            diagnosis_date=a(3650),
        ),
        Patient(
            patient_id="DEMO-002",
            year_of_birth=1969,
            sex=Sex.MALE,
            phenotype=Phenotype.SPMS,
            first_symptoms_date=a(9000),
            diagnosis_date=a(8500),
        ),
        Patient(
            patient_id="DEMO-003",
            year_of_birth=1990,
            sex=Sex.FEMALE,
            phenotype=Phenotype.RRMS,
            first_symptoms_date=a(1500),
            diagnosis_date=a(1400),
        ),
        Exposure(
            patient_id="DEMO-001",
            drug_name="dimethyl fumarate",
            drug_class=DrugClass.DMT,
            dose_mg=Decimal("240"),
            frequency="twice daily",
            start_date=a(3300),
            stop_date=a(1500),
            stop_reason="lymphopenia",
        ),
        Exposure(
            patient_id="DEMO-001",
            drug_name="naltrexone",
            drug_class=DrugClass.LDN,
            dose_mg=Decimal("1.5"),
            time_of_day=TimeOfDay.BEDTIME,
            formulation=Formulation.CAPSULE,
            start_date=a(400),
            stop_date=a(371),
            stop_reason="dose change",
        ),
        Exposure(
            patient_id="DEMO-001",
            drug_name="naltrexone",
            drug_class=DrugClass.LDN,
            dose_mg=Decimal("3"),
            time_of_day=TimeOfDay.BEDTIME,
            formulation=Formulation.CAPSULE,
            start_date=a(370),
            stop_date=a(341),
            stop_reason="dose change",
        ),
        Exposure(
            patient_id="DEMO-001",
            drug_name="naltrexone",
            drug_class=DrugClass.LDN,
            dose_mg=Decimal("4.5"),
            time_of_day=TimeOfDay.BEDTIME,
            formulation=Formulation.CAPSULE,
            start_date=a(340),
        ),
        Exposure(
            patient_id="DEMO-002",
            drug_name="interferon beta-1a",
            drug_class=DrugClass.DMT,
            frequency="weekly",
            start_date=a(8000),
            stop_date=a(3000),
            stop_reason="secondary progression",
        ),
        Exposure(
            patient_id="DEMO-002",
            drug_name="naltrexone",
            drug_class=DrugClass.LDN,
            dose_mg=Decimal("4.5"),
            time_of_day=TimeOfDay.BEDTIME,
            formulation=Formulation.LIQUID,
            start_date=a(1100),
        ),
        Exposure(
            patient_id="DEMO-003",
            drug_name="ocrelizumab",
            drug_class=DrugClass.DMT,
            dose_mg=Decimal("600"),
            frequency="every 6 months",
            formulation=Formulation.INFUSION,
            start_date=a(700),
        ),
        Relapse(
            patient_id="DEMO-001",
            onset_date=a(600),
            recovery_date=a(560),
            severity=Severity.MODERATE,
            functional_systems=(FunctionalSystem.SENSORY, FunctionalSystem.PYRAMIDAL),
            steroid_treated=True,
            confirmed_by=Confirmation.CLINICIAN,
            lasted_24h=True,
            fever_or_infection=False,
        ),
        Relapse(
            patient_id="DEMO-001",
            onset_date=a(150),
            recovery_date=a(130),
            severity=Severity.MILD,
            functional_systems=(FunctionalSystem.SENSORY,),
            lasted_24h=True,
            fever_or_infection=False,
        ),
        Relapse(
            patient_id="DEMO-003",
            onset_date=a(800),
            recovery_date=a(750),
            severity=Severity.SEVERE,
            steroid_treated=True,
            confirmed_by=Confirmation.CLINICIAN,
            lasted_24h=True,
        ),
        AdverseEvent(
            patient_id="DEMO-001",
            onset_date=a(395),
            term="vivid_dreams",
            severity=Severity.MILD,
            relationship=Causality.PROBABLE,
            outcome=AeOutcome.RECOVERED,
        ),
    ]
    for pid, scores in (
        ("DEMO-001", ((900, 2.0), (560, 2.5), (380, 2.5), (120, 2.0))),
        ("DEMO-002", ((1200, 5.5), (700, 6.0), (200, 6.0))),
        ("DEMO-003", ((800, 3.0), (500, 1.5))),
    ):
        records += [
            EdssAssessment(patient_id=pid, date=a(days), score=score, rater="demo neurologist")
            for days, score in scores
        ]
    records += [
        Consent(patient_id=pid, scope=scope, given_date=a(420))
        for pid in ("DEMO-001", "DEMO-002")
        for scope in (ConsentScope.CARE, ConsentScope.RESEARCH)
    ]
    records.append(Consent(patient_id="DEMO-003", scope=ConsentScope.RESEARCH, given_date=a(420)))
    rng = np.random.default_rng(seed)
    for days in range(90, 0, -1):  # yesterday back to 90 days ago; today is left to do
        fatigue = int(np.clip(round(4.5 - days / 60 + rng.normal(0, 1.2)), 0, 10))
        spasms = int(np.clip(round(3 + rng.normal(0, 1.3)), 0, 10))
        sleep = int(np.clip(round(6 + rng.normal(0, 1.5)), 0, 10))
        skipped = rng.random() < 0.1  # some days the spasm question is skipped
        records.append(
            QuestionnaireResponse(
                patient_id=DEMO_PATIENT,
                instrument_id="checkin",
                instrument_version="1",
                date=a(days),
                answers=(
                    float(fatigue),
                    None if skipped else float(spasms),
                    float(sleep),
                    float(rng.random() < 0.2),
                    1.0,
                ),
            )
        )
    return records


#: The one password of every demo account, published in the README and on the sign-in page
#: in demo mode. Demo data only: the web app refuses it at sign-in outside demo mode.
DEMO_PASSWORD = "ldn-demo-only"
#: The demo accounts, one per role, in the order the sign-in page lists them.
DEMO_ACCOUNTS = (
    (Role.PATIENT, "patient@demo.invalid"),
    (Role.CLINICIAN, "clinician@demo.invalid"),
    (Role.RESEARCHER, "researcher@demo.invalid"),
    (Role.EDITOR, "editor@demo.invalid"),
    (Role.ADMIN, "admin@demo.invalid"),
)


def build_demo(
    engine: Engine,
    *,
    patients: int = 300,
    years: float = 5.0,
    seed: int = 1,
    password: str | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Load the simulated and hand-written patients and create one account per role."""
    today = today or dt.date.today()
    if accounts.list_accounts(engine):
        raise ConfigurationError(
            "this database already has accounts; build the demo into a new database (--db)"
        )
    counts: dict[str, int] = {}
    if patients > 0:
        registry = simulate_registry(SimulationParams(patients=patients, years=years, seed=seed))
        counts = load_into_db(registry, engine, actor="demo")
    simulated = [f"sim-{i:06d}" for i in range(1, min(patients, LINKED_SIMULATED) + 1)]
    with UnitOfWork(engine, actor="demo") as uow:
        for record in hand_written_patients(today, seed):
            uow.registry.add(record)
        for pid in simulated:  # the demo clinician's simulated patients consent to care
            uow.registry.add(
                Consent(patient_id=pid, scope=ConsentScope.CARE, given_date=_ago(today, 365))
            )
        uow.commit()
    logins = []
    for role, email in DEMO_ACCOUNTS:
        patient_id = DEMO_PATIENT if role is Role.PATIENT else None
        secret = password or accounts.generated_password()
        account = accounts.create_account(
            engine,
            email=email,
            role=role,
            password=secret,
            display_name=f"Demo {role.value}",
            patient_id=patient_id,
            actor="demo",
        )
        logins.append({"role": role.value, "email": email, "password": secret})
        if role is Role.CLINICIAN:
            for pid in ("DEMO-001", "DEMO-002", "DEMO-003", *simulated):
                care_links.link_patient(engine, account.id, pid, actor="demo")
    return {"simulated": counts, "hand_written_patients": 3, "logins": logins}
