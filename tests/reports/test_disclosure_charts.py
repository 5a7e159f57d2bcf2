"""Charts on aggregate pages follow the disclosure rule: no point rests on fewer than k people.

A survival curve's step is a count of events and a mean of one person is that person's
value, so the rule that leaves out an estimate resting on fewer than k people applies to the
points the researcher and public pages draw (``reports.disclosure``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldn_outcomes.analysis import AnalysisPlan
from ldn_outcomes.analysis.numerics.survival import curve_points, km_table
from ldn_outcomes.analysis.results import AnalysisResult
from ldn_outcomes.reports.deidentify import DeidentifiedData, cohort_summary
from ldn_outcomes.reports.disclosure import (
    controlled_curve,
    controlled_result,
    controlled_trajectories,
)

K = 5


def _curve(n: int, events: int, seed: int = 0) -> list[list[float]]:
    """A Kaplan-Meier curve of ``n`` people, ``events`` of whom have the event."""
    rng = np.random.default_rng(seed)
    durations = rng.uniform(0.1, 5.0, n)
    observed = np.zeros(n, dtype=bool)
    observed[:events] = True
    return curve_points(km_table(durations, observed))


def test_curve_points_carry_the_counts_the_rule_needs() -> None:
    points = _curve(30, 8)
    assert all(len(p) == 6 for p in points)
    assert points[0][:4] == [0.0, 1.0, 1.0, 1.0] and points[0][5] == 0
    assert sum(p[5] for p in points) == 8
    at_risk = [p[4] for p in points[1:]]
    assert at_risk == sorted(at_risk, reverse=True) and at_risk[0] <= 30


@pytest.mark.parametrize("events", [1, K - 1])
def test_a_curve_with_fewer_than_k_events_is_not_drawn(events: int) -> None:
    assert controlled_curve(_curve(40, events), K) is None


def test_a_curve_without_events_has_no_step_to_draw() -> None:
    """No event: the table has no row and the curve only its starting point, so there is
    nothing to draw (and no count to reveal)."""
    points = curve_points(km_table(np.linspace(1, 4, 20), np.zeros(20, dtype=bool)))
    assert points == [[0.0, 1.0, 1.0, 1.0, 0.0, 0.0]]
    assert controlled_curve(points, K) is None


@given(
    n=st.integers(min_value=K, max_value=60),
    events=st.integers(min_value=K, max_value=60),
    seed=st.integers(0, 10_000),
)
def test_a_drawn_curve_stops_before_fewer_than_k_are_at_risk(n: int, events: int, seed: int):
    points = _curve(n, min(events, n), seed)
    shown = controlled_curve(points, K)
    cut = next((i for i, p in enumerate(points) if p[4] < K), len(points))
    if cut < 2:  # not even one step with k at risk: nothing to draw
        assert shown is None
        return
    assert shown == [p[:4] for p in points[:cut]]  # the counts are not published


def test_points_without_counts_are_not_drawn() -> None:
    """A curve from before the counts were kept fails closed."""
    assert controlled_curve([[0.0, 1.0, 1.0, 1.0], [1.0, 0.8, 0.6, 0.9]], K) is None


def test_a_curve_read_back_from_json_follows_the_rule() -> None:
    """Results are also kept as JSON, where a NaN limit or count reads None."""
    from ldn_outcomes.analysis.results import _clean

    points = _clean(_curve(40, 12))
    points[3][2] = None  # a limit that was NaN
    shown = controlled_curve(points, K)
    assert shown is not None and shown[3][2] is None
    points[2][4] = None  # an unknown count: not shown
    assert controlled_curve(points, K) is None


def test_trajectory_points_resting_on_fewer_than_k_people_are_blank() -> None:
    trajectories = {
        "nrs-fatigue": {
            "months": [0, 3, 6, 12],
            "LDN users": [8.6, 8.0, 7.2, 6.5],
            "matched non-users": [8.1, 8.0, 7.9, 7.7],
        },
        "mfis": {"months": [0, 3], "LDN users": [40.0, 38.0]},
    }
    counts = {"nrs-fatigue": {"LDN users": [5, 4, 4, 2], "matched non-users": [9, 9, 6, 5]}}
    shown = controlled_trajectories(trajectories, counts, K)
    assert shown["nrs-fatigue"]["LDN users"] == [8.6, None, None, None]
    assert shown["nrs-fatigue"]["matched non-users"] == [8.1, 8.0, 7.9, 7.7]
    assert shown["nrs-fatigue"]["months"] == [0, 3, 6, 12]
    assert shown["mfis"]["LDN users"] == [None, None]  # counts unknown: not shown


def test_a_result_shown_to_researchers_has_its_charts_under_the_rule() -> None:
    result = AnalysisResult(
        name="progression",
        method="m",
        details={
            "curves": {"LDN users": _curve(40, 1), "matched non-users": _curve(60, 12)},
            "trajectories": {"mfis": {"months": [0, 3], "LDN users": [40.0, 38.0]}},
            "trajectory_n": {"mfis": {"LDN users": [12, 3]}},
            "negative_control": {
                "naive": {"label": "naive", "value": 0.5, "ci": [0.3, 0.7], "n": 167, "note": ""},
                "matched": {"label": "matched", "value": 1.1, "ci": [0.6, 2], "n": 3, "note": ""},
            },
            "cdw_types": {"RAW": 2},
        },
    )
    shown = controlled_result(result, K).details
    assert set(shown) == {"curves", "trajectories", "negative_control"}
    assert list(shown["curves"]) == ["matched non-users"]  # one event gives no curve
    assert shown["trajectories"]["mfis"]["LDN users"] == [40.0, None]
    assert shown["negative_control"] == {
        "naive": {"label": "naive", "value": 0.5, "ci": [0.3, 0.7], "n": 165, "note": ""}
    }


def test_symptom_trajectories_count_the_people_behind_each_point() -> None:
    """The counts the rule reads are the people with a score at that month."""
    from ldn_outcomes.analysis import run_all
    from tests.analysis.synth import simulate

    results = run_all(simulate(n=400, seed=3), AnalysisPlan())
    details = results["symptoms"].details
    for instrument, series in details["trajectories"].items():
        counts = details["trajectory_n"][instrument]
        assert set(counts) == set(series) - {"months"}
        for name, values in counts.items():
            assert len(values) == len(series["months"])
            assert all(isinstance(n, int) and n >= 0 for n in values)
            blank = [v is None or v != v for v in series[name]]
            assert all(n == 0 for n, b in zip(values, blank, strict=True) if b)


def test_the_cohort_page_does_not_show_a_mean_of_fewer_than_k() -> None:
    """Five LDN users, one keeping a diary: the mean after would be that person's value."""
    frame = pd.DataFrame(
        {
            "phenotype": ["RRMS"] * 6,
            "sex": ["female"] * 6,
            "birth_year_band": ["1970-1979"] * 6,
            "ldn_ever": ["yes"] * 5 + ["no"],
            "relapses_on_ldn": [0] * 6,
            "relapses_365d_before_index": [1] * 6,
            "fatigue_mean_180d_before": [6.0, 5.0, 7.0, 4.0, 6.5, None],
            "fatigue_mean_180d_after": [9.0, None, None, None, None, None],
            "spasm_mean_180d_before": [None] * 6,
            "spasm_mean_180d_after": [None] * 6,
        }
    )
    data = DeidentifiedData(frame=frame, consented=6, dropped=0, min_cell_size=K)
    rates = cohort_summary(data)["ldn"]
    assert isinstance(rates, dict)
    assert rates["fatigue_after"] is None
    assert rates["fatigue_before"] == 5.7


def test_no_chart_point_of_a_small_registry_rests_on_fewer_than_k() -> None:
    """A registry of 120 patients, whose curves by phenotype hold 4 and 6 events: every
    trajectory point the controlled results still draw rests on at least k people, every
    curve drawn holds at least k events and k at risk at each of its points, and the curve
    of 4 events is not drawn."""
    from ldn_outcomes.analysis import run_all
    from ldn_outcomes.reports.disclosure import controlled_results
    from tests.analysis.synth import simulate

    results = run_all(simulate(n=120, seed=5), AnalysisPlan())
    shown = controlled_results(results, K)
    symptoms = results["symptoms"].details
    for instrument, series in shown["symptoms"].details["trajectories"].items():
        counts = symptoms["trajectory_n"][instrument]
        for name, values in series.items():
            if name == "months":
                continue
            for value, n in zip(values, counts[name], strict=True):
                assert value is None or n >= K
    withheld = 0
    for name in ("progression", "relapse_recovery"):
        raw = results[name].details.get("curves", {})
        drawn = shown[name].details.get("curves", {})
        withheld += len(set(raw) - set(drawn))
        for label, points in drawn.items():
            full = raw[label]
            assert sum(p[5] for p in full) >= K
            assert all(len(p) == 4 for p in points)
            assert all(f[4] >= K for f in full[: len(points)])
    assert "relapsing (CIS/RRMS)" not in shown["progression"].details["curves"]
    assert withheld


def test_an_aggregate_view_analyses_no_group_of_fewer_than_k_users() -> None:
    """A site whose k is one more than its registry's LDN users: at the default plan the
    analyses estimate, and a matched comparison's n counts users and controls together, so
    the rule on estimates alone would show it. Run as an aggregate view runs them, no
    analysis of LDN users gives an estimate."""
    from ldn_outcomes.analysis import run_all
    from ldn_outcomes.reports.disclosure import plan_for_disclosure
    from tests.analysis.synth import simulate

    frames = simulate(n=400, seed=8)
    default = run_all(frames, AnalysisPlan())
    k = int(default["progression"].population["n_ldn_users"]) + 1
    assert k > AnalysisPlan().min_ldn_users
    matched = [
        name for name, r in default.items() if any("matched" in e.label for e in r.estimates)
    ]
    assert {"relapses", "progression"} <= set(matched)
    plan = plan_for_disclosure(AnalysisPlan(), k)
    assert plan.min_ldn_users == k and plan_for_disclosure(plan, 3) == plan
    for name, result in run_all(frames, plan).items():
        if name in matched or name == "relapse_recovery":
            assert not result.estimates, name
