"""One rule for plausible dates and one for clean text, shared by every input path; the
column-wise bulk rules agree with the record rules."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldn_outcomes.domain.dates import EARLIEST_DATE, date_problem, latest_planned
from ldn_outcomes.domain.models import AdverseEvent, Exposure, LabObservation, Patient, Relapse
from ldn_outcomes.domain.text import text_problem
from ldn_outcomes.domain.validation import parse_record
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.store.frame_rules import check_frames

TODAY = dt.date(2026, 6, 1)


@given(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_date_rule_is_the_range(day: dt.date) -> None:
    problem = date_problem(day, TODAY)
    assert (problem is None) == (EARLIEST_DATE <= day <= TODAY)
    planned = date_problem(day, TODAY, planned=True)
    assert (planned is None) == (EARLIEST_DATE <= day <= latest_planned(TODAY))


@pytest.mark.parametrize("onset", ["0001-01-01", "1600-01-01", "1899-12-31", "2026-06-02"])
def test_records_refuse_implausible_dates(onset: str) -> None:
    with pytest.raises(ValidationFailed) as failure:
        parse_record(Relapse, {"patient_id": "P1", "onset_date": onset}, today=TODAY)
    assert failure.value.problems[0].field == "onset_date"


def test_patient_dates_not_before_birth() -> None:
    with pytest.raises(ValidationFailed, match="year of birth"):
        parse_record(
            Patient,
            {
                "patient_id": "P1",
                "year_of_birth": 1990,
                "phenotype": "RRMS",
                "diagnosis_date": "1989-12-31",
            },
            today=TODAY,
        )


@given(st.text(max_size=40))
def test_text_rule_refuses_exactly_control_characters(text: str) -> None:
    refused = any(
        ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in text
    )
    assert (text_problem(text) is not None) == refused


def test_text_rule_allows_line_breaks_only_in_multiline_fields() -> None:
    assert text_problem("a\nb", multiline=True) is None
    assert text_problem("a\nb") is not None
    assert "NUL" in (text_problem("a\0b", multiline=True) or "")
    with pytest.raises(ValidationFailed) as failure:
        parse_record(
            Exposure, {"patient_id": "P1", "drug_name": "vit\0D", "start_date": "2020-01-01"}
        )
    assert failure.value.problems[0].field == "drug_name"
    event = parse_record(
        AdverseEvent,
        {
            "patient_id": "P1",
            "onset_date": "2020-01-01",
            "term": "headache",
            "severity": "mild",
            "free_text": "line one\r\nline two\tend",
        },
    )
    assert event.free_text is not None and "\n" in event.free_text


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_non_finite_numbers_are_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as failure:
        parse_record(
            LabObservation,
            {
                "patient_id": "P1",
                "date": "2020-01-01",
                "loinc_code": "1989-3",
                "value": value,
                "unit": "ng/mL",
            },
        )
    assert failure.value.problems[0].field == "value"


def test_bulk_rules_refuse_what_the_records_refuse() -> None:
    frames = {
        "patients": pd.DataFrame(
            {"patient_id": ["P1"], "year_of_birth": [1990], "phenotype": ["RRMS"]}
        ),
        "relapses": pd.DataFrame(
            {
                "patient_id": ["P1", "P1", "P1"],
                "onset_date": [dt.date(1600, 1, 1), dt.date(1985, 1, 1), dt.date(2020, 1, 1)],
                "recovery_date": [None, None, None],
            }
        ),
    }
    with pytest.raises(ValidationFailed) as failure:
        check_frames(frames, today=TODAY)
    rows = sorted((p.row, p.rule) for p in failure.value.problems)
    assert [row for row, _ in rows] == [1, 2]  # 1600: before 1900; 1985: before birth
    assert any("before 1900" in rule for _, rule in rows)


def test_nof1_start_is_a_planned_date_in_the_plausible_range() -> None:
    from ldn_outcomes.domain.nof1 import make_design

    for start in (dt.date(1600, 1, 1), dt.date(2999, 1, 1)):
        with pytest.raises(ValidationFailed) as failure:
            make_design(trial_id="T", patient_id="P1", start_date=start, seed=1)
        assert failure.value.problems[0].field == "start_date"
    future = dt.date.today() + dt.timedelta(days=30)  # planned: may lie ahead
    assert make_design(trial_id="T", patient_id="P1", start_date=future, seed=1)
    with pytest.raises(ValidationFailed, match="dose_mg"):
        make_design(trial_id="T", patient_id="P1", start_date=future, seed=1, dose_mg="NaN")
