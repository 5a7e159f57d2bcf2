"""Every single-record rule: its error text names the record, the field and the rule."""

from __future__ import annotations

import datetime as dt

import pytest

from ldn_outcomes.domain.models import (
    EDSS_VALID_SCORES,
    Consent,
    EdssAssessment,
    Exposure,
    Patient,
    Relapse,
    is_valid_edss,
)
from ldn_outcomes.domain.validation import parse_record
from ldn_outcomes.errors import ValidationFailed

TODAY = dt.date(2026, 1, 1)


def problem(cls, data):
    with pytest.raises(ValidationFailed) as failure:
        parse_record(cls, data, row=5, today=TODAY)
    (found,) = failure.value.problems
    assert found.row == 5
    return found


def test_no_dates_in_the_future() -> None:
    found = problem(Relapse, {"patient_id": "P1", "onset_date": "2026-01-02"})
    assert (found.record, found.field) == ("relapse", "onset_date")
    assert found.rule == "date 2026-01-02 is in the future"


def test_stop_not_before_start() -> None:
    found = problem(
        Exposure,
        {
            "patient_id": "P1",
            "drug_name": "naltrexone",
            "drug_class": "ldn",
            "dose_mg": "4.5",
            "start_date": "2020-02-01",
            "stop_date": "2020-01-31",
        },
    )
    assert found.field == "stop_date"
    assert "before start_date 2020-02-01" in found.rule


def test_recovery_not_before_onset() -> None:
    found = problem(
        Relapse, {"patient_id": "P1", "onset_date": "2020-02-01", "recovery_date": "2020-01-01"}
    )
    assert found.field == "recovery_date"
    assert "before onset_date" in found.rule


@pytest.mark.parametrize("score", [0.5, 10.5, -1, 3.25, 0.25])
def test_edss_scale_has_no_half_step_at_zero(score: float) -> None:
    found = problem(EdssAssessment, {"patient_id": "P1", "date": "2020-01-01", "score": score})
    assert found.field == "score"
    assert "there is no 0.5" in found.rule


def test_edss_valid_values_are_kurtzke_scale() -> None:
    # Kurtzke 1983: 0, then 1.0 to 9.5 in steps of 0.5, then 10 -> 20 values.
    assert len(EDSS_VALID_SCORES) == 20
    assert 0.5 not in EDSS_VALID_SCORES and all(is_valid_edss(s) for s in EDSS_VALID_SCORES)


@pytest.mark.parametrize("dose", ["0", "-4.5"])
def test_dose_must_be_positive(dose: str) -> None:
    found = problem(
        Exposure,
        {
            "patient_id": "P1",
            "drug_name": "naltrexone",
            "dose_mg": dose,
            "start_date": "2020-01-01",
        },
    )
    assert found.field == "dose_mg"
    assert found.rule == "dose must be greater than 0 mg"


def test_withdrawn_not_before_given() -> None:
    found = problem(
        Consent,
        {
            "patient_id": "P1",
            "scope": "research",
            "given_date": "2020-01-02",
            "withdrawn_date": "2020-01-01",
        },
    )
    assert found.field == "withdrawn_date"


def test_unknown_phenotype_names_choices() -> None:
    found = problem(Patient, {"patient_id": "P1", "year_of_birth": 1970, "phenotype": "CPMS"})
    assert found.field == "phenotype" and "RRMS" in found.rule


def test_unknown_field_is_refused() -> None:
    found = problem(
        Patient, {"patient_id": "P1", "year_of_birth": 1970, "phenotype": "RRMS", "name": "Alice"}
    )
    assert found.field == "name"


def _questionnaire(**overrides):
    data = {
        "patient_id": "P1",
        "instrument_id": "fss",
        "instrument_version": "1",
        "date": "2020-01-01",
        "answers": [4] * 9,
    }
    data.update(overrides)
    return data


def test_questionnaire_total_is_the_instruments_score() -> None:
    from ldn_outcomes.domain.models import QuestionnaireResponse

    assert parse_record(QuestionnaireResponse, _questionnaire(), today=TODAY).total == 4.0
    blank = parse_record(
        QuestionnaireResponse, _questionnaire(answers=[4] * 8 + [None]), today=TODAY
    )
    assert blank.total is None and blank.answers[-1] is None  # stored, never read as 0


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"answers": [8] * 9}, "answers", "item 1: answer 8 is outside 1–7"),
        ({"answers": [4] * 8}, "answers", "expected 9 answers"),
        ({"instrument_id": "nope"}, "instrument_id", "unknown instrument"),
        ({"total": 3}, "total", "does not match the score"),
    ],
)
def test_questionnaire_rules(overrides: dict, field: str, text: str) -> None:
    from ldn_outcomes.domain.models import QuestionnaireResponse

    found = problem(QuestionnaireResponse, _questionnaire(**overrides))
    assert found.field == field and text in found.rule
