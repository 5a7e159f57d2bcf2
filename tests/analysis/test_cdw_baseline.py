"""The CDW reference visit: the vectorised choice (``baseline_rows``) equals the domain rule
(``domain.definitions.cdw_baseline``), with and without the re-baseline after a relapse before
the start, and the re-baseline removes the step an attack before the start left behind."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.analysis.numerics.cdw import baseline_rows, first_cdw
from ldn_outcomes.domain.definitions.cdw_baseline import REFERENCES, reference_visit

LOOKBACK = 365


@st.composite
def patient(draw):
    n = draw(st.integers(1, 10))
    gaps = draw(st.lists(st.integers(1, 250), min_size=n - 1, max_size=n - 1))
    days = (10_000 + np.cumsum([0, *gaps])).tolist()
    onsets = sorted(draw(st.lists(st.integers(9_700, 10_000 + 2_000), max_size=4)))
    start = draw(st.integers(9_800, 10_000 + 2_000))
    end = draw(st.integers(start, start + 2_500))
    return days, onsets, start, end


def _frames(patients):
    edss = pd.DataFrame(
        [(code, float(d), 2.0) for code, (days, *_) in enumerate(patients) for d in days],
        columns=["code", "day", "score"],
    )
    relapses = pd.DataFrame(
        [(code, float(o), np.nan) for code, (_, onsets, *_) in enumerate(patients) for o in onsets],
        columns=["code", "onset", "recovery"],
    )
    return edss, relapses


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(patient(), min_size=1, max_size=6), st.booleans(), st.sampled_from(REFERENCES))
def test_vectorised_reference_equals_domain_rule(patients, rebaseline, reference):
    edss, relapses = _frames(patients)
    codes = np.arange(len(patients))
    starts = np.array([p[2] for p in patients], dtype=float)
    ends = np.array([p[3] for p in patients], dtype=float)
    start, end, lost = baseline_rows(
        edss,
        relapses,
        codes,
        starts,
        ends,
        LOOKBACK,
        rebaseline_after_relapse=rebaseline,
        reference=reference,
    )
    first_row = 0
    for code, (days, onsets, start_day, end_day) in enumerate(patients):
        expected = reference_visit(
            days,
            onsets,
            start_day,
            LOOKBACK,
            reference=reference,
            after_prestart_relapse=rebaseline,
        )
        if expected is not None and days[expected] > end_day:
            expected = None  # a reference after the end of follow-up is no reference
        if expected is None:
            assert start[code] == end[code], (days, onsets, start_day)
        else:
            assert start[code] == first_row + expected, (days, onsets, start_day)
            assert end[code] > start[code]
        without = reference_visit(
            days, onsets, start_day, LOOKBACK, reference=reference, after_prestart_relapse=False
        )
        moved = rebaseline and reference == "last_before_start"
        assert lost[code] == (moved and without is not None and expected is None)
        first_row += len(days)


def _one_patient(edss, relapses, start_day, **options):
    """``baseline_rows`` for patient 0 starting on ``start_day``, followed to day 600."""
    return baseline_rows(
        edss,
        relapses,
        np.array([0]),
        np.array([float(start_day)]),
        np.array([600.0]),
        LOOKBACK,
        **options,
    )


def test_step_left_by_an_attack_before_the_start_is_not_an_outcome():
    """EDSS 2.0 at day 0, an attack on day 150, LDN from day 170, then 3.0 at days 300 and
    400: the step is the attack's, not worsening on LDN. From the visit before the attack it
    is a confirmed worsening after the start; re-baselined at day 300 there is none."""
    edss = pd.DataFrame({"code": 0, "day": [0.0, 300.0, 400.0, 500.0], "score": [2, 3, 3, 3.0]})
    relapses = pd.DataFrame({"code": [0], "onset": [150.0], "recovery": [np.nan]})
    for rebaseline, event in ((False, True), (True, False)):
        start, end, lost = _one_patient(
            edss,
            relapses,
            170,
            rebaseline_after_relapse=rebaseline,
            reference="last_before_start",
        )
        assert start[0] == (1 if rebaseline else 0) and end[0] == 4 and not lost[0]
        found = first_cdw(edss, relapses, np.array([0]), start, end)
        assert bool(found["event"].iloc[0]) is event


def test_no_visit_after_the_attack_leaves_no_reference():
    edss = pd.DataFrame({"code": 0, "day": [0.0, 160.0], "score": [2.0, 3.0]})
    relapses = pd.DataFrame({"code": [0], "onset": [150.0], "recovery": [np.nan]})
    start, end, lost = _one_patient(
        edss, relapses, 170, rebaseline_after_relapse=True, reference="last_before_start"
    )
    assert start[0] == end[0] and lost[0]
    before = {"reference": "last_before_start"}
    assert reference_visit([0, 160], [150], 170, LOOKBACK, **before) is None
    assert (
        reference_visit([0, 160], [150], 170, LOOKBACK, after_prestart_relapse=False, **before) == 0
    )


def test_relapse_after_the_start_does_not_move_the_reference():
    before = {"reference": "last_before_start"}
    assert reference_visit([0, 300, 400], [200], 170, LOOKBACK, **before) == 0
    # an attack before the reference visit (more than 30 days before it) does not move it
    assert reference_visit([0, 100, 400], [50], 170, LOOKBACK, **before) == 1
    # a visit within 30 days after an attack is not a reference; the one before it is, and the
    # attack after it moves the reference to the first visit 30 days or more after the attack
    assert reference_visit([0, 100, 140, 200], [120], 170, LOOKBACK, **before) == 3


def test_first_visit_after_the_start_is_the_default_reference():
    """The first valid visit after the start day, within the window; a visit on the start day
    itself, one within 30 days after an attack, or one past the window is not it."""
    assert reference_visit([0, 170, 300, 400], [], 170, LOOKBACK) == 2
    assert reference_visit([0, 200, 300], [180], 170, LOOKBACK) == 2
    assert reference_visit([0, 170 + LOOKBACK + 1], [], 170, LOOKBACK) is None
    assert reference_visit([0, 170 + LOOKBACK], [], 170, LOOKBACK) == 1


def test_scores_before_the_start_are_not_the_yardstick():
    """A score of 2.0 before the start (the rater one step low), 3.0 ever after: from the
    default reference (the first visit after the start) there is no worsening, and follow-up
    begins at that visit."""
    edss = pd.DataFrame({"code": 0, "day": [0.0, 300.0, 400.0, 500.0], "score": [2, 3, 3, 3.0]})
    relapses = pd.DataFrame(columns=["code", "onset", "recovery"])
    start, end, lost = _one_patient(edss, relapses, 100, reference="first_after_start")
    assert start[0] == 1 and end[0] == 4 and not lost[0]
    assert not bool(first_cdw(edss, relapses, np.array([0]), start, end)["event"].iloc[0])
