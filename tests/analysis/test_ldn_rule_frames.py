"""The analyses class exposures by the domain's LDN rule (naltrexone at a low daily dose),
not by the entered drug class alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ldn_outcomes.analysis.data.frames import prepare
from ldn_outcomes.store.ldn_rule import exposure_classes, ldn_mask


def _exposures() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["A", "B", "C", "D"],
            "drug_name": ["naltrexone", "naltrexone", "vitamin D3", "Naltrexone HCl"],
            "drug_class": ["other", "ldn", "supplement", "ldn"],
            "dose_mg": [4.5, 50.0, 0.025, None],
            "start_date": pd.to_datetime(["2020-01-01"] * 4),
            "stop_date": pd.to_datetime([None] * 4),
        }
    )


def test_frame_rule_matches_the_domain_rule() -> None:
    frame = _exposures()
    assert list(ldn_mask(frame)) == [True, False, False, True]
    assert list(exposure_classes(frame)) == ["ldn", "other", "supplement", "ldn"]


def test_prepare_sees_naltrexone_entered_as_other_as_ldn() -> None:
    patients = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C", "D"],
            "year_of_birth": [1980] * 4,
            "sex": ["female"] * 4,
            "phenotype": ["RRMS"] * 4,
            "first_symptoms_date": pd.to_datetime(["2010-01-01"] * 4),
            "diagnosis_date": pd.to_datetime(["2011-01-01"] * 4),
        }
    )
    edss = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C", "D"],
            "date": pd.to_datetime(["2021-01-01"] * 4),
            "score": [2.0] * 4,
        }
    )
    data = prepare({"patients": patients, "exposures": _exposures(), "edss": edss})
    ever = dict(zip(data.patients["patient_id"], data.patients["ever_ldn"], strict=True))
    assert ever == {"A": True, "B": False, "C": False, "D": True}
    assert np.isfinite(data.patients["nc_start"].to_numpy()[2])  # the supplement stays one
