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


def _sized(scenario: str, patients: int, users: int, covered: bool) -> dict:
    """A scored registry of ``patients`` with ``users`` matched LDN users, whose interval
    held the truth or not."""
    ci = (0.8, 1.2) if covered else (1.1, 1.3)
    row = _row(scenario, 1.0 if covered else 1.2, ci)
    return {**row, "patients": patients, "diagnostics": {"matched": {"n_matched": users}}}


def _two_sizes() -> list[dict]:
    """Small registries (about 140 matched users) covering 8 of 10 times, large ones (about
    1,100) 10 of 10."""
    small = [_sized("null", 1200, 130 + 2 * i, covered=i < 8) for i in range(10)]
    large = [_sized("null", 10000, 1100, covered=True) for _ in range(10)]
    return small + large


def test_summary_records_the_matched_users_of_each_size() -> None:
    table = {r["patients"]: r for r in summarise(_two_sizes())}
    assert table[1200]["matched_users"] == pytest.approx(139.0)
    assert table[10000]["matched_users"] == 1100
    assert summarise([_row("null", 1.0, (0.8, 1.2))])[0]["matched_users"] is None


def test_track_record_is_for_registries_like_this_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The figures shown are those of the bench size nearest this registry's matched users;
    with fewer than the smallest size had, the reader is told its interval may fare worse."""
    summary = summarise(_two_sizes())
    monkeypatch.setattr(calibration_data, "calibration", lambda: {"summary": summary})
    assert "20 simulated registries" in track_record("relapses")  # size unknown: all of them
    small = track_record("relapses", matched_users=150)
    assert "10 simulated registries (1,200 patients, about 139 matched LDN users each" in small
    assert "8 times (80%)" in small and "fewer than" not in small
    large = track_record("relapses", matched_users=900)
    assert "10,000 patients" in large and "10 times (100%)" in large
    tiny = track_record("relapses", matched_users=40)
    assert "1,200 patients" in tiny
    assert "This registry has 40 matched LDN users, fewer than the bench's smallest" in tiny


def test_the_report_reads_this_registrys_matched_users(monkeypatch: pytest.MonkeyPatch) -> None:
    from ldn_outcomes.analysis.results import AnalysisResult
    from ldn_outcomes.reports import outcomes

    summary = summarise(_two_sizes())
    monkeypatch.setattr(calibration_data, "calibration", lambda: {"summary": summary})
    monkeypatch.setattr(outcomes, "track_record", calibration_data.track_record)
    matched = AnalysisResult(name="matched", method="")
    matched.population = {"n_matched": 1000}
    users = outcomes.matched_users({"matched": matched})
    assert users == 1000
    assert "10,000 patients" in outcomes._track_records("relapses", users)[0]["text"]
    assert outcomes.matched_users({}) is None
    matched.population = {"n_matched": None}  # left out by the disclosure rule
    assert outcomes.matched_users({"matched": matched}) is None
