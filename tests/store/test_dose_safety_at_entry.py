"""Dose safety holds on every write path: a naltrexone-opioid overlap is refused at entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.factories import demo_patient

from ldn_outcomes.domain.models import Exposure
from ldn_outcomes.errors import InteractionError, ValidationFailed
from ldn_outcomes.importers.registry_csv import import_path
from ldn_outcomes.store.uow import UnitOfWork

LDN = {
    "patient_id": "P1",
    "drug_name": "naltrexone",
    "drug_class": "ldn",
    "dose_mg": "4.5",
    "start_date": "2020-01-01",
}


def _count(engine: Engine) -> int:
    with UnitOfWork(engine) as uow:
        return uow.registry.count("exposures")


def test_registry_refuses_an_opioid_overlapping_ldn(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.registry.add(demo_patient("P1"))
        uow.registry.add(Exposure.model_validate(LDN))
        uow.commit()
    morphine = Exposure.model_validate(
        {
            **LDN,
            "drug_name": "morphine sulfate",
            "drug_class": "opioid",
            "dose_mg": "10",
            "start_date": "2021-06-01",
        }
    )
    with UnitOfWork(engine) as uow, pytest.raises(InteractionError) as failure:
        uow.registry.add(morphine)
    assert "naltrexone and morphine sulfate" in str(failure.value)
    assert _count(engine) == 1
    # Before LDN started, the opioid does not overlap and is accepted.
    earlier = morphine.model_copy(
        update={
            "start_date": morphine.start_date.replace(year=2019),
            "stop_date": morphine.start_date.replace(year=2019),
        }
    )
    with UnitOfWork(engine) as uow:
        uow.registry.add(earlier)
        uow.commit()
    assert _count(engine) == 2


def test_import_refuses_the_overlap_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(
        "patient_id,year_of_birth,sex,phenotype,first_symptoms_date,diagnosis_date,"
        "clinician_id,site_id\nP1,1980,male,RRMS,,,,\n"
    )
    (tmp_path / "exposures.csv").write_text(
        "id,patient_id,drug_name,rxnorm_cui,drug_class,dose_mg,frequency,time_of_day,"
        "formulation,start_date,stop_date,stop_reason\n"
        "1,P1,naltrexone,,ldn,4.5,daily,bedtime,capsule,2019-01-01,,\n"
        "2,P1,morphine,,opioid,10,daily,unknown,tablet,2020-01-01,2020-02-01,\n"
    )
    with pytest.raises(ValidationFailed) as failure:
        import_path(engine, tmp_path)
    (problem,) = failure.value.problems
    assert problem.row == 3 and problem.field == "drug_name"
    assert "contraindicated" in problem.rule
    with UnitOfWork(engine) as uow:
        assert uow.registry.count("patients") == 0
    assert _count(engine) == 0
