"""The exact randomisation test, checked by full enumeration written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ldn_outcomes.analysis.nof1.randomisation import randomisation_test


def test_three_pairs_by_hand() -> None:
    # Period means (first, second period of each pair) and the order actually used:
    # pair 1 LDN first (4.0 vs 6.0), pair 2 placebo first (5.0 vs 4.5), pair 3 LDN first
    # (3.0 vs 4.0). Observed LDN - placebo: -2.0, -0.5, -1.0; mean = -3.5 / 3 = -1.1667.
    matrix = np.array([[4.0, 6.0], [5.0, 4.5], [3.0, 4.0]])
    used = np.array([True, False, True])
    # Every allocation flips the signs of the pairs it orders differently. All 8, by hand
    # (signs relative to the order used, then the mean of (-2.0, -0.5, -1.0) * signs):
    #   (+,+,+) -3.5/3 = -1.1667   observed
    #   (+,+,-) -1.5/3 = -0.5000
    #   (+,-,+) -2.5/3 = -0.8333
    #   (+,-,-) -0.5/3 = -0.1667
    #   (-,+,+) +0.5/3 = +0.1667
    #   (-,+,-) +2.5/3 = +0.8333
    #   (-,-,+) +1.5/3 = +0.5000
    #   (-,-,-) +3.5/3 = +1.1667
    # |T| >= 1.1667: 2 of 8 -> two-sided p = 0.25. T <= -1.1667: 1 of 8 -> 0.125.
    # T >= -1.1667: 8 of 8 -> 1.0.
    result = randomisation_test(matrix, used)
    assert result.statistic == pytest.approx(-3.5 / 3)
    assert result.allocations == 8
    assert result.p_two_sided == pytest.approx(0.25)
    assert result.p_ldn_lower == pytest.approx(0.125)
    assert result.p_ldn_higher == pytest.approx(1.0)
    assert result.p_benefit(lower_is_better=True) == pytest.approx(0.125)
    assert result.smallest_possible_p == pytest.approx(0.125)


def test_two_pairs_with_a_tie_by_hand() -> None:
    # Differences (LDN - placebo) +1 and -1: allocations give means 0, +1, -1, 0.
    # Observed 0; |T| >= 0 for all 4 -> p = 1. T <= 0: 3 of 4 -> 0.75.
    matrix = np.array([[6.0, 5.0], [6.0, 5.0]])
    result = randomisation_test(matrix, np.array([True, False]))
    assert result.statistic == pytest.approx(0.0)
    assert result.p_two_sided == pytest.approx(1.0)
    assert result.p_ldn_lower == pytest.approx(0.75)


def test_pair_with_missing_period_is_dropped() -> None:
    matrix = np.array([[4.0, 6.0], [np.nan, 4.5], [3.0, 4.0]])
    result = randomisation_test(matrix, np.array([True, False, True]))
    assert result.allocations == 4
    # Differences -2, -1: means -1.5 (obs), -0.5, +0.5, +1.5 -> two-sided 2/4.
    assert result.p_two_sided == pytest.approx(0.5)
