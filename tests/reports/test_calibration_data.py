"""The bench's track record: summarised per headline, shown in plain words in the report."""

from __future__ import annotations

import math

import pytest

from ldn_outcomes.reports import calibration_data
from ldn_outcomes.reports.calibration_data import summarise, track_record


def _row(scenario: str, value: float, ci: tuple[float, float], flagged: bool = False) -> dict:
    score = {"value": value, "ci": list(ci), "truth": 1.0, "ratio": True, "flagged": flagged}
    return {"scenario": scenario, "patients": 3000, "seed": 1, "relapses": score}


def test_summary_counts_coverage_bias_and_flags() -> None:
    rows = [
        _row("null", 1.1, (0.9, 1.3)),
        _row("null", 0.8, (0.7, 0.95)),
        _row("confounded", 0.7, (0.6, 0.8), flagged=True),
        _row("confounded", 0.75, (0.6, 0.9)),
    ]
    table = {r["scenario"]: r for r in summarise(rows)}
    null = table["null"]
    assert null["registries"] == 2 and null["coverage"] == 0.5
    assert null["mean_bias"] == pytest.approx((math.log(1.1) + math.log(0.8)) / 2)
    assert table["confounded"]["missed"] == 2 and table["confounded"]["flagged_of_missed"] == 1


def test_track_record_in_plain_words(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [_row("null", 1.0, (0.8, 1.2)) for _ in range(19)] + [_row("null", 0.5, (0.4, 0.6))]
    monkeypatch.setattr(calibration_data, "calibration", lambda: {"summary": summarise(rows)})
    text = track_record("relapses")
    assert "20 simulated registries" in text and "19 times (95%)" in text
    assert track_record("fatigue") == ""


def test_the_report_shows_the_track_record_beside_the_headline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ldn_outcomes.reports import outcomes

    rows = [_row("null", 1.0, (0.8, 1.2))]
    monkeypatch.setattr(calibration_data, "calibration", lambda: {"summary": summarise(rows)})
    monkeypatch.setattr(outcomes, "track_record", calibration_data.track_record)
    records = outcomes._track_records("relapses")
    assert records and records[0]["title"] == "relapse rate ratio"
    assert "simulated registries" in records[0]["text"]
    assert outcomes._track_records("labs") == []


def test_a_lean_without_an_effect_is_told_beside_the_headline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A mean bias under no effect beyond 2 Monte-Carlo SEs is said, with the range it covers;
    a bias within chance is not."""
    leaning = [_row("null", 1.05 + 0.01 * (i % 3), (0.9, 1.3)) for i in range(30)]
    monkeypatch.setattr(calibration_data, "calibration", lambda: {"summary": summarise(leaning)})
    text = track_record("relapses")
    assert "leaned to 1.06 times the true value" in text
    assert "a ratio between 1.00 and 1.06 is within that lean" in text
    balanced = [_row("null", value, (0.8, 1.2)) for value in (0.9, 1.1) * 15]
    monkeypatch.setattr(calibration_data, "calibration", lambda: {"summary": summarise(balanced)})
    assert "leaned" not in track_record("relapses")
