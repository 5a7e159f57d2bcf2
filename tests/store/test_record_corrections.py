"""Records that stay true: corrections keep their history, removal is a soft delete with a
reason that leaves every read of live data, and one ongoing LDN regimen per patient."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from tests.factories import demo_patient

from ldn_outcomes.domain.models import (
    Consent,
    EdssAssessment,
    Exposure,
    Patient,
    QuestionnaireResponse,
    Relapse,
)
from ldn_outcomes.errors import DuplicateRecord, NotFound, ValidationFailed
from ldn_outcomes.store import record_actions
from ldn_outcomes.store.frames import read_frame
from ldn_outcomes.store.questionnaire_read import read_items, read_scores
from ldn_outcomes.store.uow import UnitOfWork

DAY = dt.date(2024, 3, 1)


def ldn(start: dt.date, dose: str = "1.5", **extra: object) -> Exposure:
    return Exposure.model_validate(
        {
            "patient_id": "P1",
            "drug_name": "naltrexone",
            "drug_class": "ldn",
            "dose_mg": dose,
            "time_of_day": "bedtime",
            "start_date": start,
            **extra,
        }
    )


def checkin(day: dt.date, fatigue: float) -> QuestionnaireResponse:
    return QuestionnaireResponse.model_validate(
        {
            "patient_id": "P1",
            "instrument_id": "checkin",
            "instrument_version": "1",
            "date": day,
            "answers": [fatigue, 3, 5, 0, 1],
        }
    )


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    with UnitOfWork(engine, actor="seed") as uow:
        uow.registry.add(demo_patient("P1"))
        uow.registry.add(demo_patient("P2"))
        uow.registry.add(EdssAssessment(patient_id="P1", date=DAY, score=2.0))  # type: ignore[arg-type]
        uow.registry.add(Relapse(patient_id="P1", onset_date=DAY))  # type: ignore[arg-type]
        uow.registry.add(checkin(DAY, 4))
        uow.commit()
    return engine


def test_a_correction_needs_a_reason_and_keeps_the_earlier_version(seeded: Engine) -> None:
    with UnitOfWork(seeded, actor="dr.a") as uow:
        edss = uow.registry.records(EdssAssessment, patient_id="P1")[0]
        with pytest.raises(ValidationFailed, match="reason"):
            uow.registry.correct(edss.model_copy(update={"score": 3.0}), " ")
        uow.registry.correct(edss.model_copy(update={"score": 3.0}), "typo: 3.0 on the form")
        uow.commit()
    with UnitOfWork(seeded) as uow:
        assert uow.registry.get("edss", edss.id).score == 3.0  # type: ignore[attr-defined]
        entries = record_actions.history(uow.registry, "edss", edss.id)
    assert [e.action for e in entries] == ["create", "correct"]
    last = entries[-1]
    assert (last.actor, last.reason, last.changed) == ("dr.a", "typo: 3.0 on the form", ["score"])
    assert last.before["score"] == 2.0 and last.after["score"] == 3.0  # type: ignore[index]


def test_a_record_cannot_be_moved_to_another_patient(seeded: Engine) -> None:
    with UnitOfWork(seeded) as uow:
        edss = uow.registry.records(EdssAssessment, patient_id="P1")[0]
        with pytest.raises(ValidationFailed, match="another patient"):
            uow.registry.correct(edss.model_copy(update={"patient_id": "P2"}), "wrong patient")


def test_removed_records_leave_every_read(seeded: Engine) -> None:
    with UnitOfWork(seeded, actor="dr.a") as uow:
        edss = uow.registry.records(EdssAssessment, patient_id="P1")[0]
        questionnaire = uow.registry.records(QuestionnaireResponse, patient_id="P1")[0]
        with pytest.raises(ValidationFailed, match="reason"):
            uow.registry.remove("edss", edss.id, "")
        uow.registry.remove("edss", edss.id, "entered twice")
        uow.registry.remove("questionnaires", questionnaire.id, "test entry")
        uow.commit()
    with UnitOfWork(seeded) as uow:
        assert uow.registry.records(EdssAssessment) == [] and uow.registry.count("edss") == 0
        with pytest.raises(NotFound, match="was removed"):
            uow.registry.get("edss", edss.id)
        assert uow.registry.get("edss", edss.id, include_removed=True).score == 2.0  # type: ignore[attr-defined]
        assert [e.action for e in record_actions.history(uow.registry, "edss", edss.id)] == [
            "create",
            "remove",
        ]
        removed = record_actions.removed_records(uow.registry, "edss", "P1")
        assert removed[0]["removed_reason"] == "entered twice"
    assert read_frame(seeded, "edss").empty
    assert "removed_at" not in read_frame(seeded, "edss").columns
    assert read_frame(seeded, "edss", columns=["patient_id", "score"]).empty
    assert read_frame(seeded, "edss", ["P1"], columns=["patient_id", "score"]).empty
    assert len(read_scores(seeded, ["checkin"])) == 0
    assert len(read_items(seeded, "checkin", [0])) == 0
    assert len(read_frame(seeded, "relapses", columns=["patient_id", "onset_date"])) == 1


def test_removing_a_patient_removes_their_records_and_refuses_new_ones(seeded: Engine) -> None:
    with UnitOfWork(seeded, actor="dr.a") as uow:
        uow.registry.remove("patients", "P1", "registered twice")
        uow.commit()
    with UnitOfWork(seeded) as uow:
        assert [p.patient_id for p in uow.registry.records(Patient)] == ["P2"]
        assert uow.registry.records(Relapse) == []
        with pytest.raises(ValidationFailed, match="was removed"):
            uow.registry.add(Relapse(patient_id="P1", onset_date=DAY))  # type: ignore[arg-type]
    assert set(read_frame(seeded, "patients")["patient_id"]) == {"P2"}
    assert read_frame(seeded, "relapses").empty


def test_a_dose_change_is_one_action_and_keeps_the_timing(seeded: Engine) -> None:
    with UnitOfWork(seeded, actor="p1") as uow:
        uow.registry.add(ldn(DAY))
        ended, new = record_actions.change_regimen(
            uow.registry, "P1", new_dose_mg="3", from_date=dt.date(2024, 4, 1)
        )
        uow.commit()
    assert ended.stop_date == dt.date(2024, 3, 31) and ended.stop_reason == "dose change"
    assert new.dose_mg == Decimal("3") and new.time_of_day.value == "bedtime"
    assert new.start_date == dt.date(2024, 4, 1) and new.stop_date is None
    with UnitOfWork(seeded, actor="p1") as uow:
        stopped = record_actions.stop(
            uow.registry, "P1", last_day=dt.date(2024, 5, 1), reason="vivid dreams"
        )
        uow.commit()
    assert stopped.id == new.id and stopped.stop_date == dt.date(2024, 5, 1)
    with UnitOfWork(seeded) as uow, pytest.raises(ValidationFailed, match="no ongoing LDN"):
        record_actions.stop(uow.registry, "P1", last_day=dt.date(2024, 5, 2))


def test_two_ongoing_ldn_regimens_are_refused(seeded: Engine) -> None:
    with UnitOfWork(seeded) as uow:
        uow.registry.add(ldn(DAY))
        with pytest.raises(ValidationFailed, match="already has an ongoing LDN regimen"):
            uow.registry.add(ldn(dt.date(2024, 4, 1), "3"))
        stopped = uow.registry.add(ldn(dt.date(2023, 1, 1), stop_date=dt.date(2023, 6, 1)))
        with pytest.raises(ValidationFailed, match="already has an ongoing LDN regimen"):
            uow.registry.correct(stopped.model_copy(update={"stop_date": None}), "still on it")


def test_a_second_checkin_on_the_same_day_corrects_the_first(seeded: Engine) -> None:
    with UnitOfWork(seeded, actor="p1") as uow:
        stored, replaced = record_actions.save_checkin(uow.registry, checkin(DAY, 7))
        uow.commit()
    assert replaced
    with UnitOfWork(seeded) as uow:
        rows = uow.registry.records(QuestionnaireResponse, patient_id="P1")
        assert len(rows) == 1 and rows[0].answers[0] == 7
        entries = record_actions.history(uow.registry, "questionnaires", stored.id)
        assert entries[-1].reason == record_actions.CHECKIN_AGAIN
        with pytest.raises(DuplicateRecord, match="already has a check-in"):
            uow.registry.add(checkin(DAY, 2))


def test_a_consent_removed_no_longer_counts(seeded: Engine) -> None:
    with UnitOfWork(seeded) as uow:
        consent = uow.registry.add(
            Consent(patient_id="P1", scope="care", given_date=DAY)  # type: ignore[arg-type]
        )
        uow.registry.remove("consents", consent.id, "given by mistake")
        uow.commit()
    with UnitOfWork(seeded) as uow:
        assert uow.registry.records(Consent, patient_id="P1") == []


def _fields(error: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [p.field for p in error.value.problems]


def test_regimen_errors_name_the_fields_the_caller_sent(seeded: Engine) -> None:
    """A dose change sends ``from_date`` and a stop ``last_day``; the rules checked on the
    stored exposure (``start_date``, ``stop_date``) must not leak into the answer."""
    with UnitOfWork(seeded) as uow:
        uow.registry.add(ldn(DAY))
        with pytest.raises(ValidationFailed) as early:
            record_actions.change_regimen(uow.registry, "P1", new_dose_mg="3", from_date=DAY)
        assert _fields(early) == ["from_date"]
        future = dt.date.today() + dt.timedelta(days=400)
        with pytest.raises(ValidationFailed) as ahead:
            record_actions.change_regimen(uow.registry, "P1", new_dose_mg="3", from_date=future)
        assert set(_fields(ahead)) == {"from_date"}, ahead.value
        with pytest.raises(ValidationFailed) as before_start:
            record_actions.stop(uow.registry, "P1", last_day=DAY - dt.timedelta(days=1))
        assert _fields(before_start) == ["last_day"], before_start.value
        with pytest.raises(ValidationFailed) as not_a_date:
            record_actions.stop(uow.registry, "P1", last_day="soon")
        assert _fields(not_a_date) == ["last_day"]
