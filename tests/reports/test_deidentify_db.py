"""The de-identified data set read from a real registry (SQLite and PostgreSQL): the check-in
items are extracted by the database, blanks stay blank."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from ldn_outcomes.domain.models import Consent, Exposure, Patient, QuestionnaireResponse
from ldn_outcomes.reports.deidentify import deidentified_dataset, registry_figures
from ldn_outcomes.store.uow import UnitOfWork

ON = dt.date(2026, 1, 1)


def test_dataset_from_the_database(engine: Engine) -> None:
    start = dt.date(2025, 1, 1)
    with UnitOfWork(engine, actor="test") as uow:
        for i in range(6):
            pid = f"P{i}"
            uow.registry.add(
                Patient(
                    patient_id=pid,
                    year_of_birth=1980,
                    sex="female",
                    phenotype="RRMS",
                    diagnosis_date=dt.date(2018, 1, 1),
                )
            )
            uow.registry.add(
                Consent(patient_id=pid, scope="research", given_date=dt.date(2024, 1, 1))
            )
            uow.registry.add(
                Exposure(
                    patient_id=pid,
                    drug_name="naltrexone",
                    drug_class="ldn",
                    dose_mg="4.5",
                    start_date=start,
                )
            )
            for day, answers in (
                (-10, (8.0, None, 5.0, 0.0, None)),
                (10, (4.0, 2.0, None, None, 1.0)),
            ):
                uow.registry.add(
                    QuestionnaireResponse(
                        patient_id=pid,
                        instrument_id="checkin",
                        instrument_version="1",
                        date=start + dt.timedelta(days=day),
                        answers=answers,
                    )
                )
        uow.registry.add(Patient(patient_id="NOCONSENT", year_of_birth=1950, phenotype="PPMS"))
        uow.commit()
    data = deidentified_dataset(engine, min_cell_size=5, on=ON)
    assert data.consented == 6 and len(data.frame) == 6
    row = data.frame.iloc[0]
    assert row["fatigue_mean_180d_before"] == 8.0 and row["fatigue_mean_180d_after"] == 4.0
    assert row["spasm_mean_180d_after"] == 2.0
    assert row["spasm_mean_180d_before"] != row["spasm_mean_180d_before"]  # NaN: blank
    assert row["checkins"] == 2 and row["follow_up_band"] == "under 1 year"  # 10 days
    figures = registry_figures(engine, min_cell_size=5, on=ON)
    # 6 patients, published rounded to base 5 (reports/disclosure.py)
    assert figures["patients"] == 5 and figures["ldn_users"] == 5
    assert figures["by_phenotype"] == {"RRMS": 5}
