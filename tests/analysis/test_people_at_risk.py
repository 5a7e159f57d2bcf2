"""A curve's disclosure counts are people, whatever its rows are.

Relapse recovery has a row per attack and a matched control chosen for several users has a
row per match; the disclosure rule must cut such a curve where fewer than k *people* remain
(``numerics.people_at_risk``, ``reports.disclosure``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ldn_outcomes.analysis.numerics.people_at_risk import people_counts
from ldn_outcomes.analysis.numerics.survival import curve_points, km_table
from ldn_outcomes.errors import InsufficientData
from ldn_outcomes.reports.disclosure import controlled_curve

K = 5


def _brute_force(
    times: np.ndarray, stop: np.ndarray, event: np.ndarray, entry: np.ndarray, person: np.ndarray
) -> tuple[list[int], list[int]]:
    """The definition, person by person: at risk when a row is (entry <= t <= stop); each
    person's events counted once, at the first."""
    at_risk = [
        len({p for p, s, e in zip(person, entry, stop, strict=True) if s <= t <= e}) for t in times
    ]
    firsts: dict[int, float] = {}
    for p, e, d in zip(person, stop, event, strict=True):
        if d:
            firsts[p] = min(firsts.get(p, np.inf), e)
    first_event = [sum(1 for f in firsts.values() if f == t) for t in times]
    return at_risk, first_event


@st.composite
def _rows(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(1, 30))
    person = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)))
    entry = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), dtype=float)
    length = np.array(draw(st.lists(st.integers(1, 8), min_size=n, max_size=n)), dtype=float)
    event = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return person, entry, entry + length, event


@settings(max_examples=150, deadline=None)
@given(_rows())
def test_people_counts_follow_the_definition(rows: tuple[np.ndarray, ...]) -> None:
    person, entry, stop, event = rows
    times = np.unique(np.r_[stop, entry, 0.5])
    at_risk, first_event = people_counts(times, stop, event, entry, person)
    expected_risk, expected_first = _brute_force(times, stop, event, entry, person)
    assert at_risk.tolist() == expected_risk
    assert first_event.tolist() == expected_first


@settings(max_examples=60, deadline=None)
@given(_rows())
def test_one_row_per_person_gives_lifelines_own_counts(rows: tuple[np.ndarray, ...]) -> None:
    """With one unweighted row per person the people are the rows: the counts equal the
    at-risk and event columns lifelines computes (its delayed-entry convention included)."""
    _, entry, stop, event = rows
    assume(event.any())
    try:
        table = km_table(stop, event, entry=entry, person=np.arange(len(stop)))
    except InsufficientData:  # lifelines refuses some delayed-entry samples (S reaches 0)
        assume(False)
    assert table["people_at_risk"].tolist() == table["n_risk"].tolist()
    assert table["people_first_event"].tolist() == table["n_event"].tolist()


def test_a_curve_of_attacks_is_cut_by_people_not_attacks() -> None:
    """Three people with eight attacks each: 24 rows, every one recovered. Counted by rows
    the curve would be drawn (24 attacks at risk, 24 events); counted by people it rests on 3,
    fewer than k, and is not."""
    person = np.repeat([1, 2, 3], 8)
    entry = np.zeros(24)
    days = np.tile(np.arange(10.0, 90.0, 10.0), 3) + np.repeat([0.0, 1.0, 2.0], 8)
    recovered = np.ones(24, dtype=bool)
    by_rows = curve_points(km_table(days, recovered, entry=entry))
    assert by_rows[1][4] == 24 and sum(p[5] for p in by_rows) == 24
    assert controlled_curve(by_rows, K) is not None
    by_people = curve_points(km_table(days, recovered, entry=entry, person=person))
    assert by_people[1][4] == 3 and sum(p[5] for p in by_people) == 3
    assert controlled_curve(by_people, K) is None


def test_a_weighted_control_counted_many_times_is_one_person() -> None:
    """A control matched to four users (four rows, weights summing to 4) is one person at risk,
    not four, and its event counts once."""
    stop = np.array([2.0, 2.0, 2.0, 2.0, 3.0, 4.0])
    event = np.array([True, True, True, True, False, True])
    person = np.array([7, 7, 7, 7, 8, 9])
    weights = np.ones(6)
    table = km_table(stop, event, weights=weights, person=person)
    assert table["n_risk"].iloc[0] == 6
    assert table["people_at_risk"].tolist() == [3.0, 1.0]
    assert table["people_first_event"].tolist() == [1.0, 1.0]
