"""The bench's track record: summarised per headline, shown in plain words in the report."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from ldn_outcomes.analysis.plan import AnalysisPlan
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


def test_coverage_of_the_cells_mean_truth_and_the_truths_spread() -> None:
    """Each registry has its own truth (its people, its chance); the population's value is
    the cell's mean truth, on the log scale for ratios, and an interval may hold its own
    registry's truth but not that value, or the other way round."""

    def row(value: float, ci: tuple[float, float], truth: float) -> dict:
        score = {"value": value, "ci": list(ci), "truth": truth, "ratio": True, "flagged": False}
        return {"scenario": "effect", "patients": 3000, "seed": 1, "progression": score}

    truths = (0.6, 0.75, 0.8)  # mean log: exp(mean) = 0.711
    rows = [
        row(0.62, (0.5, 0.7), truths[0]),  # holds its own truth, not the mean
        row(0.72, (0.65, 0.74), truths[1]),  # misses its own truth, holds the mean
        row(0.8, (0.7, 0.9), truths[2]),  # holds both
    ]
    cell = summarise(rows)[0]
    assert cell["coverage"] == pytest.approx(2 / 3)
    assert cell["coverage_of_mean_truth"] == pytest.approx(2 / 3)
    logs = [math.log(t) for t in truths]
    mean = sum(logs) / 3
    assert cell["truth_sd"] == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in logs) / 2))
    assert math.exp(mean) == pytest.approx(0.7114, abs=1e-4)
    # the geometric mean (0.7114), not the arithmetic one (0.7167), is the ratios' mean truth
    narrow = summarise([row(0.71, (0.70, 0.714), t) for t in truths])[0]
    assert narrow["coverage_of_mean_truth"] == 1.0 and narrow["coverage"] == 0.0
    differences = [
        {**r, "progression": {**r["progression"], "ratio": False}} for r in rows
    ]  # the same numbers read as differences: the mean truth is 0.7167, held by the last two
    plain = summarise(differences)[0]
    assert plain["coverage_of_mean_truth"] == pytest.approx(2 / 3)
    assert plain["truth_sd"] == pytest.approx(0.1041, abs=1e-4)
    constant = summarise([_row("null", 1.1, (0.9, 1.3)), _row("null", 0.8, (0.7, 0.95))])[0]
    assert constant["truth_sd"] == 0.0
    assert constant["coverage_of_mean_truth"] == constant["coverage"] == 0.5


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


def _sized(
    scenario: str, patients: int, users: int | None, covered: bool, value: float = 1.0
) -> dict:
    """A scored registry of ``patients`` with ``users`` matched LDN users (None: not
    recorded), whose interval held the truth or not."""
    ci = (0.8, 1.2) if covered else (1.1, 1.3)
    row = _row(scenario, value if covered else 1.2, ci)
    matched = {} if users is None else {"matched": {"n_matched": users}}
    return {**row, "patients": patients, "diagnostics": matched}


def _two_sizes() -> list[dict]:
    """Small registries (130-148 matched users) covering 8 of 10 times, large ones (1,100)
    10 of 10; with confounding, 3 misses among the small ones and 1 among the large."""
    small = [_sized("null", 1200, 130 + 2 * i, covered=i < 8) for i in range(10)]
    large = [_sized("null", 10000, 1100, covered=True) for _ in range(10)]
    confounded = [_sized("confounded", 1200, 160, covered=i >= 3) for i in range(10)]
    confounded += [_sized("confounded", 10000, 1600, covered=i >= 1) for i in range(10)]
    return small + large + confounded


def _use(monkeypatch: pytest.MonkeyPatch, rows: list[dict]) -> None:
    summary = summarise(rows)
    monkeypatch.setattr(calibration_data, "calibration", lambda: {"summary": summary})


def test_summary_records_the_matched_users_of_each_size() -> None:
    table = {(r["scenario"], r["patients"]): r for r in summarise(_two_sizes())}
    assert table["null", 1200]["matched_users"] == pytest.approx(139.0)
    assert table["null", 1200]["fewest_matched_users"] == 130
    assert table["null", 10000]["matched_users"] == 1100
    assert table["confounded", 1200]["matched_users"] == 160
    unrecorded = summarise([_row("null", 1.0, (0.8, 1.2))])[0]
    assert unrecorded["matched_users"] is None and unrecorded["fewest_matched_users"] is None


def test_track_record_is_for_registries_like_this_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The figures shown are those of the bench size nearest this registry's matched users on
    the log scale, the confounded registries of that size only."""
    _use(monkeypatch, _two_sizes())
    pooled = track_record("relapses")  # size unknown: all of them
    assert "20 simulated registries" in pooled and "20 more registries of those sizes" in pooled
    small = track_record("relapses", matched_users=150)
    assert "10 simulated registries (1,200 patients, about 139 matched LDN users each" in small
    assert "8 times (80%)" in small and "missed the true value 3 times" in small
    assert "fewer than any" not in small
    large = track_record("relapses", matched_users=900)
    assert "10,000 patients" in large and "10 times (100%)" in large
    assert "missed the true value once" in large
    # 500 is nearer 139 than 1,100 in users, but nearer 1,100 on the log scale
    assert "10,000 patients" in track_record("relapses", matched_users=500)


def test_a_registry_smaller_than_any_the_bench_scored_is_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(monkeypatch, _two_sizes())
    assert "fewer than any" not in track_record("relapses", matched_users=131)
    tiny = track_record("relapses", matched_users=40)
    assert "1,200 patients" in tiny
    assert "This registry has 40 matched LDN users, fewer than any registry the bench" in tiny
    assert "the fewest had 130" in tiny
    hidden = track_record("relapses", matched_users=0)  # too few to show
    assert "1,200 patients" in hidden and "too few matched LDN users to show" in hidden
    negative = track_record("relapses", matched_users=-3)  # no log of a negative count
    assert "1,200 patients" in negative and "too few matched LDN users to show" in negative


def test_counts_read_as_a_reader_says_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands are separated and a single miss is "once" (the committed data has thousands
    of registries)."""
    rows = [_sized("null", 1200, 140, covered=i > 0) for i in range(1200)]
    rows += [_sized("confounded", 1200, 140, covered=i > 0) for i in range(1000)]
    _use(monkeypatch, rows)
    text = track_record("relapses")
    assert "On 1,200 simulated registries" in text
    assert "held the true value 1,199 times (100%)" in text
    assert "On 1,000 more registries" in text and "missed the true value once" in text


def test_sizes_without_matched_users_fall_back_to_all_sizes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When one size's rows do not record matched users, no size can be chosen fairly."""
    rows = [_sized("null", 1200, 140, covered=True) for _ in range(5)]
    rows += [_sized("null", 10000, None, covered=True) for _ in range(5)]
    _use(monkeypatch, rows)
    text = track_record("relapses", matched_users=5000)
    assert "10 simulated registries (1,200, 10,000 patients;" in text
    assert "fewer than any" not in track_record("relapses", matched_users=20)


def test_the_lean_told_is_the_one_at_this_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lean measured at 10,000 patients is told to registries like those, not to small
    ones; and a lean under 1% is not rounded away."""
    rows = [_sized("null", 1200, 140, covered=True, value=v) for v in (0.9, 1.1) * 15]
    rows += [
        _sized("null", 10000, 1100, covered=True, value=0.985 + 0.001 * (i % 3)) for i in range(30)
    ]
    _use(monkeypatch, rows)
    assert "leaned" not in track_record("relapses", matched_users=140)
    large = track_record("relapses", matched_users=1100)
    assert "leaned to 0.986 times the true value" in large
    assert "between 0.986 and 1.000" in large


def test_the_report_reads_this_registrys_matched_users(monkeypatch: pytest.MonkeyPatch) -> None:
    from ldn_outcomes.analysis.results import AnalysisResult, Estimate
    from ldn_outcomes.reports import outcomes

    _use(monkeypatch, _two_sizes())
    monkeypatch.setattr(outcomes, "track_record", calibration_data.track_record)
    matched = AnalysisResult(name="matched", method="m", population={"n_matched": 1000})
    relapses = AnalysisResult(
        name="relapses",
        method="m",
        estimates=[Estimate("rate ratio", 0.8, 0.6, 1.1, "ratio", n=40)],
    )
    assert outcomes.matched_users({"matched": matched}) == 1000
    page = outcomes.render_outcome_report(
        {"matched": matched, "relapses": relapses}, AnalysisPlan()
    )
    assert "10,000 patients, about 1,100 matched LDN users each" in page
    assert outcomes.matched_users({}) is None
    matched.population = {"n_matched": None}  # left out by the disclosure rule
    assert outcomes.matched_users({"matched": matched}) == 0
    page = outcomes.render_outcome_report(
        {"matched": matched, "relapses": relapses}, AnalysisPlan()
    )
    assert "too few matched LDN users to show" in page


def test_the_committed_report_data_is_the_committed_run() -> None:
    """The figures the report shows beside each headline (``calibration.json``) come from the
    per-registry results kept in ``bench/runs`` (the bench writes the report data from the
    results files it is given; the committed ones are all of them)."""
    runs = sorted((Path(__file__).parents[2] / "bench" / "runs").glob("*.jsonl.gz"))
    assert runs
    rows = [
        json.loads(line)
        for run in runs
        for line in gzip.decompress(run.read_bytes()).decode("utf-8").splitlines()
        if line
    ]
    # every kept registry was scored with this version's default plan: a plan option added or
    # a default changed makes the kept runs describe another analysis, to be scored again
    default = calibration_data.plan_key()
    assert {row.get("plan", default) for row in rows} == {default}
    stored = calibration_data.calibration()
    assert stored["registries"] == len(rows)
    fresh = summarise(rows)
    assert len(fresh) == len(stored["summary"])
    for mine, theirs in zip(fresh, stored["summary"], strict=True):
        for key in ("headline", "scenario", "patients", "registries", "missed", "flagged"):
            assert mine[key] == theirs[key], key
        for key in ("coverage", "coverage_of_mean_truth", "mean_bias", "mc_se", "truth_sd"):
            assert mine[key] == pytest.approx(theirs[key], abs=1e-12), key


def test_plan_key_tells_plans_apart() -> None:
    """The bench's fingerprint of a plan: the default plan's by default, another for any
    changed option, the same for an equal plan."""
    assert calibration_data.plan_key() == calibration_data.plan_key(AnalysisPlan())
    assert len(calibration_data.plan_key()) == 12
    other = AnalysisPlan(candidate_pool_per_user=None)
    assert calibration_data.plan_key(other) != calibration_data.plan_key()
