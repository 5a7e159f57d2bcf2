"""The vectorised CDW scan agrees with the domain rule (itself checked against pymsprog)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.analysis.cdw import first_cdw
from ldn_outcomes.domain.definitions.progression import (
    EdssPoint,
    confirmed_disability_events,
)

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


@settings(max_examples=150, deadline=None)
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
        points = [EdssPoint(EPOCH + dt.timedelta(days=int(d)), s)
                  for d, s in zip(days, scores, strict=True)]
        onsets = [EPOCH + dt.timedelta(days=int(r)) for r in rel]
        expected = confirmed_disability_events(points, onsets).first_cdw
        row = got.iloc[code]
        if expected is None:
            assert not row["event"], (code, days, scores, rel)
        else:
            assert row["event"], (code, days, scores, rel)
            assert (EPOCH + dt.timedelta(days=int(row["onset_day"]))) == expected.date
            assert (EPOCH + dt.timedelta(days=int(row["confirmation_day"]))
                    == expected.confirmation_date)


def test_simple_confirmed_worsening():
    edss = pd.DataFrame({"code": [0, 0, 0, 0], "day": [0.0, 100, 200, 300],
                         "score": [2.0, 3.0, 3.0, 3.5]})
    got = first_cdw(edss, pd.DataFrame(columns=["code", "onset", "recovery"]),
                    np.array([0]), np.array([0]), np.array([4]))
    assert bool(got["event"].iloc[0]) and got["onset_day"].iloc[0] == 100
    assert got["confirmation_day"].iloc[0] == 200


def test_unconfirmed_worsening_is_not_an_event():
    edss = pd.DataFrame({"code": [0, 0, 0], "day": [0.0, 100, 200],
                         "score": [2.0, 3.0, 2.0]})
    got = first_cdw(edss, pd.DataFrame(columns=["code", "onset", "recovery"]),
                    np.array([0]), np.array([0]), np.array([3]))
    assert not got["event"].iloc[0]
