"""Patient coding: a record of a patient missing from the patients read is left out, never
given to another patient (each table is read in its own transaction)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ldn_outcomes.analysis.data.coding import known_patients, patient_codes
from ldn_outcomes.analysis.data.frames import prepare
from ldn_outcomes.errors import LdnError

LOOKUP = pd.Series([0, 1], index=["P1", "P2"])


@pytest.mark.parametrize("categorical", [False, True])
def test_records_of_unknown_patients_are_left_out(categorical: bool) -> None:
    ids = ["P2", "P9", "P1", "P2"]
    column = pd.Categorical(ids, categories=["P1", "P2", "P9"]) if categorical else pd.Series(ids)
    frame = pd.DataFrame({"patient_id": column, "x": [1, 2, 3, 4]})
    kept = known_patients(frame, LOOKUP)
    assert kept is not None and kept["x"].tolist() == [1, 3, 4]
    assert patient_codes(kept, LOOKUP).tolist() == [1, 0, 1]
    with pytest.raises(LdnError, match="missing from the patients table"):
        patient_codes(frame, LOOKUP)


def test_a_value_outside_the_categories_is_not_the_last_patient() -> None:
    """A categorical code of -1 (a value not among the categories) once indexed the last
    patient; it must be refused."""
    column = pd.Categorical(["P1", "P7"], categories=["P1", "P2"])  # P7 -> code -1
    frame = pd.DataFrame({"patient_id": column})
    assert known_patients(frame, LOOKUP)["patient_id"].tolist() == ["P1"]
    with pytest.raises(LdnError):
        patient_codes(frame, LOOKUP)


def test_prepare_ignores_a_patient_registered_during_the_read() -> None:
    frames = {
        "patients": pd.DataFrame(
            {
                "patient_id": ["P1", "P2"],
                "year_of_birth": [1970, 1980],
                "sex": ["female", "male"],
                "phenotype": ["RRMS", "SPMS"],
                "first_symptoms_date": [None, None],
                "diagnosis_date": ["2010-01-01", "2012-01-01"],
            }
        ),
        "edss": pd.DataFrame(
            {
                "patient_id": pd.Categorical(["P1", "P2", "P3"], categories=["P1", "P2"]),
                "date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"]),
                "score": [2.0, 3.5, 6.0],
            }
        ),
        "relapses": pd.DataFrame(
            {
                "patient_id": ["P3", "P2"],
                "onset_date": pd.to_datetime(["2020-05-01", "2020-06-01"]),
                "recovery_date": [pd.NaT, pd.NaT],
            }
        ),
    }
    data = prepare(frames)
    assert sorted(data.edss["score"].tolist()) == [2.0, 3.5]
    assert data.edss.loc[data.edss["score"] == 3.5, "code"].tolist() == [1]
    assert np.isin(data.relapses["code"], [1]).all()
