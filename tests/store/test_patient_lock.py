"""Rules over a patient's other records hold under concurrent writers, on SQLite and PostgreSQL.

Each test keeps a first transaction open after its write (not yet committed) while a second
one writes for the same patient in another thread. Without the patient lock the second one
reads "nothing there" (the first has not committed) and stores its record too; with it, the
second waits for the first and then refuses.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from tests.factories import demo_patient

from ldn_outcomes.domain.models import Exposure
from ldn_outcomes.errors import InteractionError, ValidationFailed
from ldn_outcomes.store.registry import Registry
from ldn_outcomes.store.uow import UnitOfWork

START = dt.date(2024, 3, 1)


def exposure(drug: str = "naltrexone", drug_class: str = "ldn", **extra: object) -> Exposure:
    return Exposure.model_validate(
        {
            "patient_id": "P1",
            "drug_name": drug,
            "drug_class": drug_class,
            "dose_mg": "4.5",
            "start_date": START,
            **extra,
        }
    )


@pytest.fixture
def patient(engine: Engine) -> Engine:
    with UnitOfWork(engine, actor="seed") as uow:
        uow.registry.add(demo_patient("P1"))
        uow.commit()
    return engine


def _race(
    engine: Engine, first: Callable[[Registry], object], second: Callable[[Registry], object]
) -> BaseException | None:
    """Run ``second`` while ``first``'s transaction is open; the error ``second`` raised."""
    outcome: dict[str, BaseException | None] = {}

    def write_second() -> None:
        try:
            with UnitOfWork(engine, actor="second") as uow:
                second(uow.registry)
                uow.commit()
            outcome["error"] = None
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome["error"] = error

    with UnitOfWork(engine, actor="first") as uow:
        first(uow.registry)
        thread = threading.Thread(target=write_second)
        thread.start()
        thread.join(timeout=0.3)  # with the lock, the second waits here for this commit
        uow.commit()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the second writer never finished"
    return outcome["error"]


def _ongoing(engine: Engine) -> list[Exposure]:
    with UnitOfWork(engine) as uow:
        return [e for e in uow.registry.records(Exposure, patient_id="P1") if e.stop_date is None]


def test_two_concurrent_ongoing_ldn_regimens_are_refused(patient: Engine) -> None:
    error = _race(
        patient,
        lambda registry: registry.add(exposure(dose_mg="1.5")),
        lambda registry: registry.add(exposure()),
    )
    assert isinstance(error, ValidationFailed)
    assert "already has an ongoing LDN regimen" in str(error)
    assert len(_ongoing(patient)) == 1


def test_a_correction_reopening_a_regimen_races_an_added_one(patient: Engine) -> None:
    with UnitOfWork(patient, actor="seed") as uow:
        stopped = uow.registry.add(exposure(stop_date=START + dt.timedelta(days=30)))
        uow.commit()
    reopened = stopped.model_copy(update={"stop_date": None})
    error = _race(
        patient,
        lambda registry: registry.correct(reopened, "the stop was entered by mistake"),
        lambda registry: registry.add(exposure(start_date=START + dt.timedelta(days=60))),
    )
    assert isinstance(error, ValidationFailed)
    assert len(_ongoing(patient)) == 1


def test_an_opioid_and_naltrexone_added_at_once_are_not_both_stored(patient: Engine) -> None:
    morphine = exposure("morphine sulfate", "opioid", dose_mg="10")
    error = _race(
        patient,
        lambda registry: registry.add(morphine),
        lambda registry: registry.add(exposure()),
    )
    assert isinstance(error, InteractionError)
    assert "naltrexone and morphine sulfate" in str(error)
    assert [e.drug_name for e in _ongoing(patient)] == ["morphine sulfate"]
