"""The reads behind the clinician's pages and the typed registry reads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from tests.factories import demo_patient

from ldn_outcomes.domain.models import (
    Consent,
    EdssAssessment,
    Exposure,
    QuestionnaireResponse,
    Relapse,
)
from ldn_outcomes.store.clinic_reads import PatientFigures, clinic_figures, patient_listings
from ldn_outcomes.store.uow import UnitOfWork

TODAY = dt.date(2026, 6, 1)


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def _checkin(pid: str, day: dt.date, fatigue: float | None) -> QuestionnaireResponse:
    return QuestionnaireResponse(
        patient_id=pid,
        instrument_id="checkin",
        instrument_version="1",
        date=day,
        answers=(fatigue, 2.0, 5.0, 0.0, 1.0),
    )


def _registry(engine: Engine) -> None:
    with UnitOfWork(engine, actor="t") as uow:
        for pid in ("P1", "P2", "P3"):
            uow.registry.add(demo_patient(pid))
        uow.registry.add(Consent(patient_id="P1", scope="care", given_date=ago(400)))
        uow.registry.add(
            Consent(
                patient_id="P2",
                scope="care",
                given_date=ago(400),
                withdrawn_date=ago(10),
            )
        )
        uow.registry.add(Consent(patient_id="P3", scope="research", given_date=ago(400)))
        uow.registry.add(
            Exposure(
                patient_id="P1",
                drug_name="naltrexone",
                drug_class="ldn",
                dose_mg="4.5",
                start_date=ago(100),
            )
        )
        uow.registry.add(
            Exposure(
                patient_id="P2",
                drug_name="naltrexone",
                drug_class="ldn",
                dose_mg="3",
                start_date=ago(300),
                stop_date=ago(200),
            )
        )
        for onset in (ago(250), ago(90)):
            uow.registry.add(Relapse(patient_id="P1", onset_date=onset))
        uow.registry.add(EdssAssessment(patient_id="P1", date=ago(50), score=3.0))
        uow.registry.add(EdssAssessment(patient_id="P1", date=ago(300), score=2.0))
        uow.registry.add(_checkin("P1", ago(2), 4.0))
        uow.registry.add(_checkin("P1", ago(1), 5.0))
        uow.registry.add(_checkin("P1", ago(3), None))  # a skipped item counts for nothing
        uow.registry.add(_checkin("P1", ago(45), 9.0))  # older than 30 days
        uow.commit()


def test_listings_say_whose_care_consent_is_active(engine: Engine) -> None:
    _registry(engine)
    rows = patient_listings(engine, ["P3", "P1", "P2"], TODAY)
    assert [(r.patient_id, r.care_consent) for r in rows] == [
        ("P1", True),
        ("P2", False),  # withdrawn
        ("P3", False),  # research consent only
    ]
    assert patient_listings(engine, [], TODAY) == []


def test_clinic_figures_per_patient(engine: Engine) -> None:
    _registry(engine)
    figures = clinic_figures(engine, ["P1", "P2", "P3"], TODAY, checkin_instrument="checkin")
    assert figures["P1"] == PatientFigures(
        on_ldn=True, relapses=2, edss_latest=3.0, fatigue_recent=4.5
    )
    assert figures["P2"] == PatientFigures()  # LDN stopped; nothing else recorded
    assert list(figures["P3"].as_dict()) == ["on_ldn", "relapses", "edss_latest", "fatigue_recent"]


def test_typed_reads_return_the_asked_type(engine: Engine) -> None:
    _registry(engine)
    with UnitOfWork(engine) as uow:
        relapses = uow.registry.records(Relapse, patient_id="P1")
        assert [r.onset_date for r in relapses] == [
            ago(250),
            ago(90),
        ]
        assert all(isinstance(r, Relapse) for r in relapses)
        assert uow.registry.records(Relapse, patient_id="P2") == []
        diary = uow.registry.diary("P1")
    assert [entry.date for entry in diary] == sorted(entry.date for entry in diary)
    assert diary[-1].answers[0] == 5.0 and diary[-1].instrument_id == "checkin"
