"""A clinician's new patient, care consent and care link are one transaction (one home for the
web form and the JSON API): a link that fails stores no patient."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from ldn_outcomes.domain.models import Patient
from ldn_outcomes.errors import NotFound, ValidationFailed
from ldn_outcomes.store import accounts, care_links
from ldn_outcomes.store.uow import UnitOfWork


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def _count(engine: Engine) -> tuple[int, int]:
    with UnitOfWork(engine) as uow:
        return uow.registry.count("patients"), uow.registry.count("consents")


def _new() -> Patient:
    return Patient(patient_id="P-NEW", year_of_birth=1980, phenotype="RRMS")


def test_patient_consent_and_link_are_written_together(engine: Engine) -> None:
    clinician = accounts.create_account(
        engine, email="c@x.org", role="clinician", password=None, actor="t"
    )
    stored = care_links.register_patient(
        engine, clinician.id, _new(), care_consent_date="2025-01-02", actor="t"
    )
    assert stored.patient_id == "P-NEW"
    assert care_links.linked_patient_ids(engine, clinician.id) == ["P-NEW"]
    assert _count(engine) == (1, 1)


def test_a_failed_link_stores_no_patient_and_no_consent(engine: Engine) -> None:
    researcher = accounts.create_account(
        engine, email="r@x.org", role="researcher", password=None, actor="t"
    )
    with pytest.raises(ValidationFailed, match="role"):
        care_links.register_patient(
            engine, researcher.id, _new(), care_consent_date="2025-01-02", actor="t"
        )
    with pytest.raises(NotFound):
        care_links.register_patient(engine, 999_999, _new(), care_consent_date=None, actor="t")
    assert _count(engine) == (0, 0)
