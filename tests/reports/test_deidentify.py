"""De-identification: who is included, what is removed, and that no small cell survives."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.reports.deidentify import (
    QUASI_IDENTIFIERS,
    SUPPRESSED,
    deidentify_frames,
    k_anonymise,
    small_cells,
    suppress_counts,
)

ON = dt.date(2026, 6, 1)


def _frames(
    n: int, *, withdraw: set[int] = frozenset(), old: set[int] = frozenset()
) -> dict[str, pd.DataFrame]:
    ts = pd.Timestamp
    patients = pd.DataFrame(
        {
            "patient_id": [f"P{i:03d}" for i in range(n)],
            "year_of_birth": [1930 if i in old else 1970 + i % 3 for i in range(n)],
            "sex": ["female" if i % 4 else "male" for i in range(n)],
            "phenotype": ["RRMS" if i % 5 else "SPMS" for i in range(n)],
            "diagnosis_date": [ts("2015-03-01")] * n,
        }
    )
    consents = pd.DataFrame(
        {
            "patient_id": [f"P{i:03d}" for i in range(n)],
            "scope": ["research"] * n,
            "given_date": [ts("2020-01-01")] * n,
            "withdrawn_date": [ts("2026-01-01") if i in withdraw else pd.NaT for i in range(n)],
        }
    )
    exposures = pd.DataFrame(
        {
            "patient_id": ["P000"],
            "drug_name": ["naltrexone"],
            "drug_class": ["ldn"],
            "dose_mg": [4.5],
            "start_date": [ts("2025-01-01")],
            "stop_date": [ts("2025-06-30")],
        }
    )
    relapses = pd.DataFrame(
        {
            "patient_id": ["P000", "P000", "P000"],
            "onset_date": [ts("2024-06-01"), ts("2025-03-01"), ts("2025-09-01")],
        }
    )
    edss = pd.DataFrame(
        {
            "patient_id": ["P000", "P000"],
            "date": [ts("2024-12-01"), ts("2025-12-01")],
            "score": [2.0, 3.0],
        }
    )
    questionnaires = pd.DataFrame(
        {
            "patient_id": ["P000"] * 3,
            "instrument_id": ["checkin"] * 3,
            "date": [ts("2024-12-20"), ts("2025-01-10"), ts("2025-02-10")],
            "answers": [[8, 2, None, 0, 1], [6, None, None, 0, 1], [4, 4, None, 1, 1]],
        }
    )
    return {
        "patients": patients,
        "consents": consents,
        "exposures": exposures,
        "relapses": relapses,
        "edss": edss,
        "questionnaires": questionnaires,
    }


def test_only_research_consented_patients_and_no_identifiers() -> None:
    frames = _frames(40, withdraw={1, 2, 3})
    data = deidentify_frames(frames, min_cell_size=5, on=ON)
    assert data.consented == 37
    text = data.frame.to_csv(index=False)
    assert "P0" not in text  # no registry ids
    assert not pd.Series(text.split(",")).str.fullmatch(r"\d{4}-\d{2}-\d{2}").any()  # no dates
    assert data.frame["study_code"].is_unique
    assert small_cells(data.frame, QUASI_IDENTIFIERS, 5) == []
    assert len(data.frame) + data.dropped == 37


def test_study_codes_differ_between_exports() -> None:
    frames = _frames(20)
    first = set(deidentify_frames(frames, min_cell_size=5, on=ON).frame["study_code"])
    second = set(deidentify_frames(frames, min_cell_size=5, on=ON).frame["study_code"])
    assert not first & second


def test_relative_days_and_relapse_counts_for_one_patient() -> None:
    """Hand-worked: index = LDN start 2025-01-01; course to 2025-06-30 (181 days inclusive);
    relapses 2024-06-01 (214 days before: in the year before), 2025-03-01 (on LDN),
    2025-09-01 (after index, off LDN); last EDSS 2025-12-01 = day 334 (month 11)."""
    frames = _frames(1)
    data = deidentify_frames(frames, min_cell_size=1, on=ON)
    row = data.frame.iloc[0]
    assert row["time_on_ldn_band"] == "under 1 year"  # 181 days
    assert row["ldn_dose_band"] == "4.5 mg or more"
    assert row["relapses_365d_before_index"] == 1
    assert row["relapses_after_index"] == 2
    assert row["relapses_on_ldn"] == 1 and row["relapses_off_ldn"] == 2
    assert row["edss_at_index"] == 2.0 and row["edss_last"] == 3.0
    assert row["edss_last_month"] == 11  # day 334 / 30.4375 = 10.97
    assert row["follow_up_band"] == "under 1 year"  # 334 days
    assert row["fatigue_mean_180d_before"] == 8.0 and row["fatigue_mean_180d_after"] == 5.0
    assert row["spasm_mean_180d_after"] == 4.0  # the blank is not read as 0
    assert row["disease_duration_band"] == "5-9 years"


def test_ages_over_89_are_one_band() -> None:
    frames = _frames(12, old=set(range(12)))
    data = deidentify_frames(frames, min_cell_size=1, on=ON)
    assert set(data.frame["birth_year_band"]) == {"age 90 or older"}


def test_suppress_counts_hides_small_cells_and_their_complement() -> None:
    assert suppress_counts({"a": 10, "b": 3, "c": 7}, 5) == {"a": 10, "b": None, "c": None}
    assert suppress_counts({"a": 10, "b": 3, "c": 2}, 5) == {"a": 10, "b": None, "c": None}
    assert suppress_counts({"a": 10, "b": 0}, 5) == {"a": 10, "b": 0}
    assert suppress_counts({"a": 10, "b": 3}, 5, with_total=False) == {"a": 10, "b": None}


values = st.sampled_from(["x", "y", "z", "w"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(*[values] * len(QUASI_IDENTIFIERS)), min_size=0, max_size=60),
    st.integers(min_value=1, max_value=8),
)
def test_k_anonymise_leaves_no_small_cell(rows: list[tuple[str, ...]], k: int) -> None:
    frame = pd.DataFrame(rows, columns=list(QUASI_IDENTIFIERS))
    out, dropped = k_anonymise(frame, QUASI_IDENTIFIERS, k)
    assert small_cells(out, QUASI_IDENTIFIERS, k) == []
    assert len(out) + dropped == len(frame)
    # suppression only ever replaces a value, never invents one
    for column in QUASI_IDENTIFIERS:
        assert set(out[column]) <= set(frame[column]) | {SUPPRESSED}


def test_ldn_is_decided_by_the_domain_rule_not_the_entered_class() -> None:
    """Naltrexone 4.5 mg entered with the default class "other" is LDN in the export, as on
    the dashboard; 50 mg naltrexone entered as "ldn" is not."""
    frames = _frames(1)
    frames["exposures"] = frames["exposures"].assign(drug_class="other")
    data = deidentify_frames(frames, min_cell_size=1, on=ON)
    assert data.days_on_ldn is not None and data.days_on_ldn.iloc[0] == 181  # exact, not exported
    assert data.frame.iloc[0]["time_on_ldn_band"] == "under 1 year"
    frames["exposures"] = frames["exposures"].assign(drug_class="ldn", dose_mg=50.0)
    data = deidentify_frames(frames, min_cell_size=1, on=ON)
    assert data.days_on_ldn is not None and data.days_on_ldn.iloc[0] == 0
    assert data.frame.iloc[0]["time_on_ldn_band"] == "none"
