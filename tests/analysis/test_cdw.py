"""The vectorised CDW scan and its RAW/PIRA classification agree with the domain rule (itself
checked against pymsprog)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.analysis.numerics.cdw import first_cdw
from ldn_outcomes.domain.definitions.progression import (
    EdssPoint,
    ProgressionOptions,
    confirmed_disability_events,
)
from ldn_outcomes.errors import ValidationFailed

EPOCH = dt.date(1970, 1, 1)
STEPS = [0.0] + [x / 2 for x in range(2, 20)]


def _series(draw_scores, gaps, relapse_offsets):
    days = np.cumsum([10_000] + gaps).astype(float)
    return days, np.array(draw_scores, dtype=float), [days[0] + r for r in relapse_offsets]


@st.composite
def patient(draw):
    n = draw(st.integers(1, 12))
    scores = draw(st.lists(st.sampled_from(STEPS[:14]), min_size=n, max_size=n))
    gaps = draw(st.lists(st.integers(20, 300), min_size=n - 1, max_size=n - 1))
    relapses = draw(st.lists(st.integers(40, 3000), max_size=3))
    return _series(scores, gaps, relapses)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.lists(patient(), min_size=1, max_size=6))
def test_first_cdw_matches_domain(patients):
    edss_rows, rel_rows, starts, ends = [], [], [], []
    offset = 0
    for code, (days, scores, relapses) in enumerate(patients):
        edss_rows += [(code, d, s) for d, s in zip(days, scores, strict=True)]
        rel_rows += [(code, r, np.nan) for r in relapses]
        starts.append(offset)
        offset += len(days)
        ends.append(offset)
    edss = pd.DataFrame(edss_rows, columns=["code", "day", "score"])
    relapses = pd.DataFrame(rel_rows, columns=["code", "onset", "recovery"])
    got = first_cdw(edss, relapses, np.arange(len(patients)), np.array(starts), np.array(ends))
    for code, (days, scores, rel) in enumerate(patients):
        points = [
            EdssPoint(EPOCH + dt.timedelta(days=int(d)), s)
            for d, s in zip(days, scores, strict=True)
        ]
        onsets = [EPOCH + dt.timedelta(days=int(r)) for r in rel]
        expected = confirmed_disability_events(points, onsets).first_cdw
        row = got.iloc[code]
        if expected is None:
            assert not row["event"], (code, days, scores, rel)
        else:
            assert row["event"], (code, days, scores, rel)
            assert (EPOCH + dt.timedelta(days=int(row["onset_day"]))) == expected.date
            assert (
                EPOCH + dt.timedelta(days=int(row["confirmation_day"]))
                == expected.confirmation_date
            )
            assert row["cdw_type"] == expected.cdw_type, (code, days, scores, rel)


def test_simple_confirmed_worsening():
    edss = pd.DataFrame(
        {"code": [0, 0, 0, 0], "day": [0.0, 100, 200, 300], "score": [2.0, 3.0, 3.0, 3.5]}
    )
    got = first_cdw(
        edss,
        pd.DataFrame(columns=["code", "onset", "recovery"]),
        np.array([0]),
        np.array([0]),
        np.array([4]),
    )
    assert bool(got["event"].iloc[0]) and got["onset_day"].iloc[0] == 100
    assert got["confirmation_day"].iloc[0] == 200


def test_unconfirmed_worsening_is_not_an_event():
    edss = pd.DataFrame({"code": [0, 0, 0], "day": [0.0, 100, 200], "score": [2.0, 3.0, 2.0]})
    got = first_cdw(
        edss,
        pd.DataFrame(columns=["code", "onset", "recovery"]),
        np.array([0]),
        np.array([0]),
        np.array([3]),
    )
    assert not got["event"].iloc[0]


@st.composite
def history(draw):
    """An EDSS history, relapses (some before the first visit, several near visits) and the
    row the analysis series starts at (a baseline not within 30 days after a relapse)."""
    n = draw(st.integers(2, 12))
    scores = draw(st.lists(st.sampled_from(STEPS[:14]), min_size=n, max_size=n))
    gaps = draw(st.lists(st.integers(20, 300), min_size=n - 1, max_size=n - 1))
    days = np.cumsum([10_000] + gaps).astype(float)
    start = draw(st.integers(0, n - 1))
    near = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(-100, 100)), max_size=4))
    offsets = draw(st.lists(st.integers(-400, 3000), max_size=3))
    relapses = sorted({days[i] + d for i, d in near} | {days[0] + o for o in offsets})
    relapses = [r for r in relapses if not 0 <= days[start] - r < 30]
    return days, np.array(scores, dtype=float), relapses, start


OPTIONS = st.builds(
    ProgressionOptions,
    confirmation_days=st.sampled_from([3, 7, 84, 168]),
    confirmation_tolerance_days=st.sampled_from(
        [(7.0, 730.5), (7.0, float("inf")), (0.0, 0.0), (30.0, 30.0), (200.0, 10.0)]
    ),
    cutoff=st.sampled_from([5.0, 5.5]),
    relapse_assoc_days=st.sampled_from([0, 90]),
    pira_event_window=st.sampled_from([(90, 30), (0, 0)]),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(history(), min_size=1, max_size=6), OPTIONS)
def test_cdw_type_matches_domain(histories, options):
    """Series that start after the first visit, with the same options on both sides (open
    confirmation windows and windows that reach back to the onset included): the first CDW,
    its confirmation and its RAW/PIRA/undefined type equal the domain's, called on the series
    with the patient's first EDSS as ``history_start`` (the fast path and the readable rule
    give the same events)."""
    edss_rows, rel_rows, starts, ends = [], [], [], []
    offset = 0
    for code, (days, scores, relapses, start) in enumerate(histories):
        edss_rows += [(code, d, s) for d, s in zip(days, scores, strict=True)]
        rel_rows += [(code, r, np.nan) for r in relapses]
        starts.append(offset + start)
        offset += len(days)
        ends.append(offset)
    edss = pd.DataFrame(edss_rows, columns=["code", "day", "score"])
    relapses = pd.DataFrame(rel_rows, columns=["code", "onset", "recovery"])
    got = first_cdw(
        edss, relapses, np.arange(len(histories)), np.array(starts), np.array(ends), options
    )
    for code, (days, scores, rel, start) in enumerate(histories):
        points = [
            EdssPoint(EPOCH + dt.timedelta(days=int(d)), s)
            for d, s in zip(days[start:], scores[start:], strict=True)
        ]
        onsets = [EPOCH + dt.timedelta(days=int(r)) for r in rel]
        first = EPOCH + dt.timedelta(days=int(days[0]))
        expected = confirmed_disability_events(points, onsets, options, first).first_cdw
        row = got.iloc[code]
        case = (code, list(days), list(scores), rel, start, options)
        if expected is None:
            assert not row["event"] and row["cdw_type"] is None, case
            continue
        assert row["event"], case
        assert EPOCH + dt.timedelta(days=int(row["onset_day"])) == expected.date, case
        confirmed = EPOCH + dt.timedelta(days=int(row["confirmation_day"]))
        assert confirmed == expected.confirmation_date, case
        assert row["cdw_type"] == expected.cdw_type, case


def _one(days, scores, relapses):
    edss = pd.DataFrame(
        {"code": 0, "day": np.asarray(days, dtype=float), "score": np.asarray(scores, dtype=float)}
    )
    rel = pd.DataFrame({"code": 0, "onset": np.asarray(relapses, dtype=float), "recovery": np.nan})
    return first_cdw(edss, rel, np.array([0]), np.array([0]), np.array([len(days)])).iloc[0]


def test_each_type_by_hand():
    days, scores = [0, 200, 300, 400], [2.0, 3.5, 3.5, 3.5]
    assert _one(days, scores, [])["cdw_type"] == "PIRA"
    assert _one(days, scores, [150])["cdw_type"] == "RAW"  # 50 days before the onset
    assert _one(days, scores, [200])["cdw_type"] == "RAW"  # on the onset day
    assert _one(days, scores, [220])["cdw_type"] == "undefined"  # 20 days after the onset
    # 80 days before the first confirmation (300): that one is not relapse-free, the next is
    assert _one(days, scores, [235])["cdw_type"] == "PIRA"
    assert _one(days[:3], scores[:3], [235])["cdw_type"] == "undefined"


def _series_from(days, scores, relapses, start, options=None):
    edss = pd.DataFrame(
        {"code": 0, "day": np.asarray(days, dtype=float), "score": np.asarray(scores, dtype=float)}
    )
    rel = pd.DataFrame({"code": 0, "onset": np.asarray(relapses, dtype=float), "recovery": np.nan})
    return first_cdw(
        edss, rel, np.array([0]), np.array([start]), np.array([len(days)]), options
    ).iloc[0]


def test_relapse_31_to_90_days_before_the_series_baseline_makes_raw():
    # Regression: the analysis series starts at a later baseline (day 400); a relapse on day
    # 340 (60 days before it) falls 80 days before the onset on day 420: RAW, as the patient
    # view (the domain on the whole history) and pymsprog say; it was labelled PIRA.
    days, scores = [0, 400, 420, 520, 620], [2.0, 2.0, 3.5, 3.5, 3.5]
    row = _series_from(days, scores, [340], start=1)
    assert row["event"] and row["onset_day"] == 420
    assert row["cdw_type"] == "RAW"
    whole = confirmed_disability_events(
        [EdssPoint(EPOCH + dt.timedelta(days=d), s) for d, s in zip(days, scores, strict=True)],
        [EPOCH + dt.timedelta(days=340)],
    )
    assert whole.first_cdw is not None and whole.first_cdw.cdw_type == "RAW"


def test_open_ended_confirmation_tolerance():
    # Regression: an infinite upper tolerance raised OverflowError.
    options = ProgressionOptions(confirmation_tolerance_days=(7.0, float("inf")))
    row = _series_from([0, 100, 3000], [2.0, 3.5, 3.5], [], 0, options)
    assert row["event"] and row["confirmation_day"] == 3000


def test_short_confirmation_window_needs_a_later_visit():
    # Regression: with a window of 7 days or less (84 - 7 <= 0 here: 7 - 7 = 0) a visit
    # confirmed itself, so the last visit made an event.
    options = ProgressionOptions(confirmation_days=7)
    assert not _series_from([0, 100], [2.0, 3.5], [], 0, options)["event"]
    row = _series_from([0, 100, 104], [2.0, 3.5, 3.5], [], 0, options)
    assert row["event"] and row["confirmation_day"] == 104


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"baseline": "roving"}, "baseline"),
        ({"events": "all"}, "events"),
        ({"confirmation_days": 0}, "confirmation_days"),
        ({"confirmation_tolerance_days": (-1.0, 30.0)}, "confirmation_tolerance_days"),
    ],
)
def test_options_it_does_not_implement_are_refused(change, field):
    with pytest.raises(ValidationFailed) as failure:
        _series_from([0, 100, 200], [2.0, 3.5, 3.5], [], 0, ProgressionOptions(**change))
    assert [p.field for p in failure.value.problems] == [field]


def test_plan_refuses_a_confirmation_period_it_cannot_scan():
    from ldn_outcomes.analysis.plan import AnalysisPlan

    with pytest.raises(ValidationFailed, match="confirmation_days"):
        AnalysisPlan(cdw_confirmation_days=0)
    assert AnalysisPlan(cdw_confirmation_days=7).cdw_confirmation_days == 7
