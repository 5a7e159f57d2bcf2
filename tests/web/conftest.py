"""A small registry with one account per role, and clients signed in as each of them.

World (all dates relative to today so consent rules are stable):
* patient ``P-OWN``: care and research consent active; owned by the patient account and
  linked to the clinician account;
* patient ``P-OTHER``: owned by a second patient account, linked to a second clinician only;
* patient ``P-NOCARE``: linked to the clinician, but care consent withdrawn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ldn_outcomes.domain.access import Role
from ldn_outcomes.domain.models import Consent, EdssAssessment, Exposure, Patient, Relapse
from ldn_outcomes.domain.validation import parse_record
from ldn_outcomes.settings import Settings
from ldn_outcomes.store import accounts, care_links, sign_in
from ldn_outcomes.store.uow import UnitOfWork
from ldn_outcomes.web.app import create_app
from ldn_outcomes.web.auth import SESSION_COOKIE

TODAY = dt.date.today()
PASSWORD = "correct horse battery"
CANARY_OTHER = "canary-other-7f3a"
CANARY_NOCARE = "canary-nocare-91bd"


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@dataclass
class World:
    engine: Engine
    settings: Settings
    accounts: dict[str, accounts.Account] = field(default_factory=dict)
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (cookie, csrf)

    def client(self, name: str | None) -> TestClient:
        """A client signed in as ``name`` (None: anonymous); https so Secure cookies flow."""
        client = TestClient(
            create_app(self.settings, self.engine),
            base_url="https://testserver",
            follow_redirects=False,
        )
        if name is not None:
            client.cookies.set(SESSION_COOKIE, self.sessions[name][0])
        return client

    def csrf(self, name: str) -> str:
        return self.sessions[name][1]


def seed_registry(engine: Engine) -> None:
    records = [
        parse_record(
            Patient,
            {
                "patient_id": pid,
                "year_of_birth": 1980 + i,
                "sex": "female",
                "phenotype": "RRMS",
                "diagnosis_date": days_ago(3000),
            },
        )
        for i, pid in enumerate(("P-OWN", "P-OTHER", "P-NOCARE"))
    ]
    records += [
        parse_record(
            Consent, {"patient_id": "P-OWN", "scope": "care", "given_date": days_ago(400)}
        ),
        parse_record(
            Consent, {"patient_id": "P-OWN", "scope": "research", "given_date": days_ago(400)}
        ),
        parse_record(
            Consent, {"patient_id": "P-OTHER", "scope": "care", "given_date": days_ago(400)}
        ),
        parse_record(
            Consent,
            {
                "patient_id": "P-NOCARE",
                "scope": "care",
                "given_date": days_ago(400),
                "withdrawn_date": days_ago(10),
            },
        ),
        parse_record(
            Exposure,
            {
                "patient_id": "P-OWN",
                "drug_name": "naltrexone",
                "drug_class": "ldn",
                "dose_mg": "4.5",
                "start_date": days_ago(200),
            },
        ),
        parse_record(Relapse, {"patient_id": "P-OWN", "onset_date": days_ago(100)}),
        parse_record(EdssAssessment, {"patient_id": "P-OWN", "date": days_ago(300), "score": 2.5}),
        # Canaries: values that must never reach anyone not allowed to see these patients.
        parse_record(
            EdssAssessment,
            {"patient_id": "P-OTHER", "date": days_ago(30), "score": 7.5, "rater": CANARY_OTHER},
        ),
        parse_record(
            EdssAssessment,
            {"patient_id": "P-NOCARE", "date": days_ago(30), "score": 6.5, "rater": CANARY_NOCARE},
        ),
    ]
    with UnitOfWork(engine, actor="test") as uow:
        for record in records:
            uow.registry.add(record)
        uow.commit()


def make_world(engine: Engine, settings: Settings, passwords: bool = False) -> World:
    seed_registry(engine)
    world = World(engine, settings)
    specs = [
        ("patient", Role.PATIENT, "P-OWN"),
        ("patient2", Role.PATIENT, "P-OTHER"),
        ("clinician", Role.CLINICIAN, None),
        ("clinician2", Role.CLINICIAN, None),
        ("researcher", Role.RESEARCHER, None),
        ("admin", Role.ADMIN, None),
        ("editor", Role.EDITOR, None),
    ]
    for name, role, patient_id in specs:
        account = accounts.create_account(
            engine,
            email=f"{name}@example.org",
            role=role,
            password=PASSWORD if passwords else None,
            patient_id=patient_id,
            actor="test",
        )
        world.accounts[name] = account
        world.sessions[name] = sign_in.create_session(engine, account.id, 3600)
    for clinician, pid in (
        ("clinician", "P-OWN"),
        ("clinician", "P-NOCARE"),
        ("clinician2", "P-OTHER"),
    ):
        care_links.link_patient(engine, world.accounts[clinician].id, pid, actor="test")
    return world


@pytest.fixture
def settings() -> Settings:
    return Settings(mode="test", secret_key="test-secret-not-default", min_cell_size=5)


@pytest.fixture
def world(engine: Engine, settings: Settings) -> Iterator[World]:
    yield make_world(engine, settings)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with tiny costs: the production profile takes ~0.5 s per hash."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
