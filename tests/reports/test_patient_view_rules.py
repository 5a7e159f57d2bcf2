"""The patient view applies the domain rules without crashing on edge cases found by an
outside comparison with pymsprog."""

from __future__ import annotations

import datetime as dt

from ldn_outcomes.domain.models import EdssAssessment, Relapse
from ldn_outcomes.reports.patient_view import clinical_summary

DAY0 = dt.date(2022, 3, 1)


def _relapse(days: int, fever: bool | None = False) -> Relapse:
    return Relapse(
        patient_id="P1",
        onset_date=DAY0 + dt.timedelta(days=days),
        lasted_24h=True,
        fever_or_infection=fever,
    )


def test_only_edss_within_30_days_after_a_relapse() -> None:
    # Regression: IndexError in the CDW rule (``ldn patient show`` and the patient API).
    records = {
        "relapses": [_relapse(0)],
        "edss": [EdssAssessment(patient_id="P1", date=DAY0 + dt.timedelta(days=10), score=3.0)],
    }
    summary = clinical_summary(records)  # type: ignore[arg-type]
    assert summary["progression"]["events"] == []
    assert summary["progression"]["censor_reason"]


def test_incomplete_report_then_qualifying_one_counts_once() -> None:
    summary = clinical_summary({"relapses": [_relapse(0, fever=None), _relapse(15)]})  # type: ignore[arg-type]
    assert [r["status"] for r in summary["relapses"]] == ["unconfirmed", "qualifying"]
    assert [r["counts"] for r in summary["relapses"]] == [False, True]
