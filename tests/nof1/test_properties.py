"""Property tests: the vectorised randomisation test against a naive enumeration, folding."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.analysis.nof1.estimate import paired_estimate
from ldn_outcomes.analysis.nof1.randomisation import randomisation_test
from ldn_outcomes.reports.nof1_sheets import _escape, _fold

score = st.floats(0, 10, allow_nan=False).map(lambda v: round(v, 2))


@st.composite
def trials(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    pairs = draw(st.integers(1, 6))
    matrix = np.array([[draw(score), draw(score)] for _ in range(pairs)])
    used = np.array([draw(st.booleans()) for _ in range(pairs)])
    return matrix, used


def naive_p(matrix: np.ndarray, used: np.ndarray) -> float:
    def stat(order: tuple[bool, ...]) -> float:
        diffs = [
            (m[0] - m[1]) if ldn_first else (m[1] - m[0])
            for m, ldn_first in zip(matrix, order, strict=True)
        ]
        return sum(diffs) / len(diffs)

    observed = stat(tuple(used))
    orders = list(itertools.product((True, False), repeat=len(used)))
    return sum(abs(stat(o)) >= abs(observed) - 1e-9 for o in orders) / len(orders)


@settings(max_examples=200, deadline=None)
@given(trials())
def test_randomisation_p_matches_naive_enumeration(trial) -> None:
    matrix, used = trial
    result = randomisation_test(matrix, used)
    assert abs(result.p_two_sided - naive_p(matrix, used)) < 1e-12
    assert result.p_two_sided >= 1 / 2 ** len(used) - 1e-12
    assert min(result.p_ldn_lower, result.p_ldn_higher) >= 1 / 2 ** len(used) - 1e-12
    # Swapping the labels of every pair leaves the two-sided p-value unchanged.
    assert abs(randomisation_test(matrix, ~used).p_two_sided - result.p_two_sided) < 1e-12


@settings(deadline=None)  # timing varies on a loaded machine; correctness does not
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=8))
def test_paired_interval_contains_the_estimate(diffs) -> None:
    result = paired_estimate(np.array(diffs))
    assert result.ci_low <= result.mean_difference <= result.ci_high


@settings(deadline=None)
@given(st.text(min_size=0, max_size=300))
def test_folding_is_reversible_and_short(text: str) -> None:
    line = "DESCRIPTION:" + _escape(text)
    folded = _fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line
