"""The matched difference in symptom change (``outcomes/symptom_difference.py``): with the
baseline score as a covariate (ANCOVA) a baseline gap between users and controls does not read
as an effect, and with the earlier scores as well the usual level is adjusted for.

Vickers & Altman (BMJ 2001;323:1123, doi 10.1136/bmj.323.7321.1123): when baseline scores
differ between groups a change-score analysis over-estimates the effect (regression to the
mean) and an analysis of covariance does not.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.analysis.matching.trajectories import snapshots, value_at
from ldn_outcomes.analysis.numerics.clusters import MATCH_SET
from ldn_outcomes.analysis.outcomes.symptom_difference import (
    EARLIER_MEAN,
    HISTORY_COLUMNS,
    NO_EARLIER,
    difference,
    earlier_scores,
    mean_before,
)
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.errors import InsufficientData


def _plan(
    adjust_baseline: bool = True, adjust_history: bool = False, earlier_mean: bool = False
) -> AnalysisPlan:
    return AnalysisPlan(
        symptom_adjust_baseline=adjust_baseline,
        symptom_adjust_history=adjust_history,
        symptom_adjust_earlier_mean=earlier_mean,
        matched_se_clusters=MATCH_SET,
    )


def _people_selected_at_a_high_score(seed: int, n: int = 6000, effect: float = 0.0):
    """Latent level L ~ N(50, 10); two scores L + N(0, 6). Users are chosen more often when
    their first score is high (they start at a peak), so their baseline scores sit above the
    controls' while their latent levels differ less."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(50.0, 10.0, n)
    m0 = latent + rng.normal(0.0, 6.0, n)
    ldn = (rng.random(n) < 1 / (1 + np.exp(-(m0 - 55.0) / 5.0))).astype(int)
    m12 = latent + rng.normal(0.0, 6.0, n) + effect * ldn
    return pd.DataFrame(
        {
            "ldn": ldn,
            "m0": m0,
            "m12": m12,
            "weight": np.where(ldn == 1, 1.0, 1 / 3),
            "match_id": np.arange(n) // 4,
        }
    )


@pytest.mark.parametrize("effect", [0.0, -4.0])
def test_ancova_recovers_the_effect_where_change_scores_lean(effect: float) -> None:
    part = _people_selected_at_a_high_score(7, effect=effect)
    adjusted, lo, hi, _ = difference(part, "m12", 0.05, _plan(adjust_baseline=True))
    change, *_ = difference(part, "m12", 0.05, _plan(adjust_baseline=False))
    assert lo <= effect <= hi
    # the change-score difference reads the regression to the mean as a benefit
    assert change < effect - 2.0


def test_ancova_equals_the_follow_up_score_regression() -> None:
    """Change from baseline on group and baseline has the same group coefficient as the
    follow-up score on group and baseline (the baseline's slope absorbs the difference)."""
    part = _people_selected_at_a_high_score(11, n=800)
    adjusted, lo, hi, _ = difference(part, "m12", 0.05, _plan(adjust_baseline=True))
    x = sm.add_constant(part[["ldn", "m0"]].to_numpy(float))
    fit = sm.WLS(part["m12"].to_numpy(), x, weights=part["weight"].to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": part["match_id"].to_numpy()}
    )
    assert adjusted == pytest.approx(fit.params[1], rel=1e-9)
    assert (lo, hi) == pytest.approx(tuple(fit.conf_int(0.05)[1]), rel=1e-9)


def _started_for_their_level(rng: np.random.Generator, n: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Latent level L ~ N(50, 10); users chosen for L (not for a score); baseline and
    12-month scores L + N(0, 6); a true effect of -3 points."""
    latent = rng.normal(50.0, 10.0, n)
    ldn = (rng.random(n) < 1 / (1 + np.exp(-(latent - 50.0) / 5.0))).astype(int)
    frame = pd.DataFrame(
        {
            "ldn": ldn,
            "m0": latent + rng.normal(0.0, 6.0, n),
            "m12": latent + rng.normal(0.0, 6.0, n) - 3.0 * ldn,
            "weight": 1.0,
            "match_id": np.arange(n),
        }
    )
    return latent, frame


def test_earlier_scores_take_out_what_one_baseline_cannot():
    """People start for their usual level (a latent trait), not for one score: the baseline
    alone adjusts for the trait only as far as one noisy score measures it (reliability
    100/136), so the users' higher trait persists as a false harm; four earlier scores as
    well measure it far better (100/107.2), and the lean shrinks to about a third."""
    rng = np.random.default_rng(5)
    n = 8000
    latent, frame = _started_for_their_level(rng, n)
    for column in HISTORY_COLUMNS:
        frame[column] = latent + rng.normal(0.0, 6.0, n)
    frame[NO_EARLIER] = 0.0
    baseline_only, *_ = difference(frame, "m12", 0.05, _plan())
    with_history, *_ = difference(frame, "m12", 0.05, _plan(adjust_history=True))
    assert baseline_only + 3.0 > 1.5
    # lean +4.6 with the baseline alone, +1.5 with the earlier scores (seeds 5-7 alike)
    assert abs(with_history + 3.0) < 0.4 * (baseline_only + 3.0)


@pytest.mark.parametrize("earlier_mean", [False, True])
def test_a_row_without_earlier_scores_has_its_own_intercept_and_slope(earlier_mean: bool):
    """Rows whose earlier points read only the baseline score are a missing-data pattern of
    their own: their own intercept and baseline slope, the others' earlier scores (and, as the
    plan says, their mean) as before. Fitting the two patterns apart with one group difference
    gives the same group difference as the single model."""
    rng = np.random.default_rng(9)
    n = 3000
    latent = rng.normal(50.0, 10.0, n)
    ldn = (rng.random(n) < 1 / (1 + np.exp(-(latent - 50.0) / 5.0))).astype(int)
    none = rng.random(n) < 0.3
    m0 = latent + rng.normal(0.0, 6.0, n)
    frame = pd.DataFrame(
        {
            "ldn": ldn,
            "m0": m0,
            "m12": latent + rng.normal(0.0, 6.0, n) - 3.0 * ldn,
            "weight": 1.0,
            "match_id": np.arange(n),
            NO_EARLIER: none.astype(float),
            EARLIER_MEAN: np.where(none, m0, latent + rng.normal(0.0, 3.0, n)),
        }
    )
    for column in HISTORY_COLUMNS:
        frame[column] = np.where(none, m0, latent + rng.normal(0.0, 6.0, n))
    found = difference(frame, "m12", 0.05, _plan(True, True, earlier_mean=earlier_mean))
    have = (~none).astype(float)
    earlier = [*HISTORY_COLUMNS, *([EARLIER_MEAN] if earlier_mean else [])]
    design = np.column_stack(
        [
            ldn,
            have,
            none.astype(float),
            m0 * have,
            m0 * none,
            *[frame[c].to_numpy() * have for c in earlier],
        ]
    )
    y = frame["m12"].to_numpy() - m0
    reference = sm.OLS(y, design).fit()
    assert found.value == pytest.approx(reference.params[0], rel=1e-8)
    assert found.note == ""


def test_too_few_people_for_the_earlier_scores_fall_back_to_the_baseline():
    """Seven rows (5 users, 2 controls) would leave no residual degree of freedom with the
    earlier scores: they are left out, the note says so, and the baseline ANCOVA still runs;
    three rows are too few for any difference."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "ldn": [1, 1, 1, 1, 1, 0, 0],
            "m0": rng.normal(40, 8, 7),
            "m12": rng.normal(40, 8, 7),
            "weight": [1, 1, 1, 1, 1, 2.5, 2.5],
            "match_id": [0, 1, 2, 3, 4, 0, 1],
            NO_EARLIER: 0.0,
        }
    )
    for column in HISTORY_COLUMNS:
        frame[column] = rng.normal(40, 8, 7)
    found = difference(frame, "m12", 0.05, _plan(adjust_history=True))
    baseline_only = difference(frame, "m12", 0.05, _plan())
    assert "left out" in found.note
    assert found[:3] == pytest.approx(baseline_only[:3])
    with pytest.raises(InsufficientData):
        difference(frame.iloc[[0, 1, 5]], "m12", 0.05, _plan(adjust_history=True))


def _random_rows(data, plan: AnalysisPlan, instrument: str, n: int, seed: int):
    """The instrument's series, ``n`` random patients with a random (pseudo-)start at least
    400 days into it, and the day of each one's baseline score."""
    series = data.symptom_series(instrument)
    rng = np.random.default_rng(seed)
    codes = np.sort(rng.choice(len(data.patients), n, replace=False))
    index = rng.uniform(series["day"].min() + 400, series["day"].max(), codes.size).round()
    baseline_day = value_at(series, "day", codes, index, plan.symptom_baseline_days, index)
    return series, codes, index, baseline_day


def test_earlier_scores_are_the_matchings_trajectory_points_and_never_after_the_start(
    null_data,
):
    """For the fatigue instrument the earlier scores are the matching's own trajectory points
    (``trajectories.snapshots``: fatigue at 12, 9, 6 and 3 months before), and no score after
    the (pseudo-)start is ever read: moving every later score does not change them."""
    plan = AnalysisPlan()
    series, codes, index, baseline_day = _random_rows(
        null_data, plan, plan.fatigue_instrument, 400, seed=4
    )
    points, none = earlier_scores(series, plan, codes, index, baseline_day)
    snap = snapshots(null_data, plan, codes, index)
    for k, values in enumerate(points):
        expected = snap[f"fatigue_{k}"].to_numpy()
        both = np.isfinite(expected)
        np.testing.assert_array_equal(values[both], expected[both])
    assert np.isfinite(points[0]).any() and none.any() and (~none).any()
    later = series.copy()
    start = pd.Series(index, index=codes).groupby(level=0).min()
    after = later["day"] > later["code"].map(start).fillna(np.inf)
    later.loc[after, "total"] += 50.0
    moved, moved_none = earlier_scores(later, plan, codes, index, baseline_day)
    for a, b in zip(points, moved, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(none, moved_none)


def test_history_that_is_the_group_is_left_out_and_said():
    """If no user has an earlier score and every control has one, the pattern's intercept is
    the group itself: the earlier scores are left out (with a note) rather than dropping the
    pattern's own intercept and silently assuming it away."""
    rng = np.random.default_rng(8)
    n = 400
    ldn = (np.arange(n) % 4 == 0).astype(int)
    frame = pd.DataFrame(
        {
            "ldn": ldn,
            "m0": rng.normal(40, 8, n),
            "m12": rng.normal(40, 8, n),
            "weight": np.where(ldn == 1, 1.0, 1 / 3),
            "match_id": np.arange(n) // 4,
            NO_EARLIER: ldn.astype(float),
        }
    )
    for column in HISTORY_COLUMNS:
        frame[column] = np.where(ldn == 1, frame["m0"], rng.normal(40, 8, n))
    found = difference(frame, "m12", 0.05, _plan(adjust_history=True))
    assert "cannot be told apart" in found.note
    assert found[:3] == pytest.approx(difference(frame, "m12", 0.05, _plan())[:3])


def test_the_mean_of_every_earlier_score_takes_out_more_than_four_points():
    """The trajectory points read at most four scores; a person with ten earlier scores has
    their usual level measured better by the mean of all ten (Frison & Pocock 1992, Stat Med
    11:1685, doi 10.1002/sim.4780111304: the mean of repeated baseline measures as the ANCOVA
    covariate). Four points repeat two scores here, as when one questionnaire every five
    months is read at 12, 9, 6 and 3 months before the start."""
    leans = {}
    for seed in (5, 6, 7):
        rng = np.random.default_rng(seed)
        n = 8000
        latent, frame = _started_for_their_level(rng, n)
        earlier = latent[:, None] + rng.normal(0.0, 6.0, (n, 10))
        frame[NO_EARLIER] = 0.0
        frame[EARLIER_MEAN] = earlier.mean(axis=1)
        for k, column in enumerate(HISTORY_COLUMNS):
            frame[column] = earlier[:, 8 + k // 2]
        points, *_ = difference(frame, "m12", 0.05, _plan(adjust_history=True))
        with_mean, *_ = difference(frame, "m12", 0.05, _plan(True, True, earlier_mean=True))
        leans[seed] = (points + 3.0, with_mean + 3.0)
    for points, with_mean in leans.values():
        # reliability 100/112 with two scores and the baseline, 100/103.3 with all eleven:
        # the lean (+2.08 to +2.21) falls to about a third (+0.70 to +0.89)
        assert points > 1.0
        assert abs(with_mean) < 0.5 * points


def _brute_mean_before(series: pd.DataFrame, codes, before_day) -> np.ndarray:
    out = []
    for code, day in zip(codes, before_day, strict=True):
        rows = series[(series["code"] == code) & (series["day"] < day)]
        out.append(rows["total"].mean() if len(rows) and np.isfinite(day) else np.nan)
    return np.array(out, dtype=float)


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(
        st.tuples(st.integers(0, 5), st.integers(-400, 400), st.integers(0, 92)), max_size=40
    ),
    asks=st.lists(
        st.tuples(st.integers(0, 6), st.one_of(st.integers(-450, 450), st.just(None))),
        min_size=1,
        max_size=12,
    ),
)
def test_mean_before_is_the_mean_of_the_scores_dated_before(scores, asks):
    """Only scores dated strictly before the day count (the baseline score's own day is not
    earlier), every one of them however old, and never another person's; NaN with none."""
    series = (
        pd.DataFrame(scores, columns=["code", "day", "total"], dtype=float)
        .drop_duplicates(["code", "day"])
        .sort_values(["code", "day"])
        .reset_index(drop=True)
    )
    codes = np.array([a[0] for a in asks])
    days = np.array([np.nan if a[1] is None else a[1] for a in asks], dtype=float)
    np.testing.assert_allclose(
        mean_before(series, codes, days), _brute_mean_before(series, codes, days)
    )


def test_the_earlier_mean_reads_nothing_from_the_baseline_day_on(null_data):
    """The earlier mean of a cohort row is built from scores before its baseline score only:
    moving every score on or after the baseline day does not change it."""
    plan = AnalysisPlan()
    series, codes, index, baseline_day = _random_rows(
        null_data, plan, plan.fatigue_instrument, 400, seed=4
    )
    found = mean_before(series, codes, baseline_day)
    assert np.isfinite(found).sum() > 50
    later = series.copy()
    first_baseline = pd.Series(baseline_day, index=codes).groupby(level=0).min()
    after = later["day"] >= later["code"].map(first_baseline).fillna(np.inf)
    later.loc[after, "total"] += 50.0
    np.testing.assert_array_equal(found, mean_before(later, codes, baseline_day))


def test_changes_carries_the_earlier_mean_of_each_row(null_data):
    """``symptoms.changes`` puts each cohort row's mean of the scores before its baseline one
    in the model's column (the baseline itself where there is none), read at the baseline
    score's day, not at the start."""
    from ldn_outcomes.analysis.outcomes.symptoms import changes

    plan = AnalysisPlan()
    series, codes, index, baseline_day = _random_rows(null_data, plan, "mfis", 300, seed=12)
    cohort = pd.DataFrame(
        {
            "code": codes,
            "index_day": index,
            "end_day": index + 400,
            "match_id": np.arange(codes.size),
            "weight": 1.0,
            "group": np.where(np.arange(codes.size) % 2 == 0, "ldn", "control"),
        }
    )
    frame = changes(null_data, plan, cohort, "mfis")
    expected = mean_before(series, codes, baseline_day)
    have = np.isfinite(expected)
    assert have.sum() > 50 and (~have & np.isfinite(frame["m0"])).any()
    np.testing.assert_array_equal(frame[EARLIER_MEAN].to_numpy()[have], expected[have])
    np.testing.assert_array_equal(
        frame[EARLIER_MEAN].to_numpy()[~have], frame["m0"].to_numpy()[~have]
    )
    # read at the start instead, the baseline score itself would be in the mean
    at_start = mean_before(series, codes, index)
    assert not np.allclose(at_start[have], expected[have])
    without = changes(null_data, replace(plan, symptom_adjust_earlier_mean=False), cohort, "mfis")
    assert EARLIER_MEAN not in without
