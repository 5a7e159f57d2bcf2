"""Paired estimate against a published reference result."""

from __future__ import annotations

import numpy as np
import pytest

from ldn_outcomes.analysis.nof1.estimate import pair_differences, paired_estimate
from ldn_outcomes.errors import InsufficientData

# Student's sleep data (Cushny & Peebles; Student 1908, Biometrika 6:1-25), as shipped in R's
# datasets::sleep. R: t.test(extra ~ group, data = sleep, paired = TRUE) gives
# t = -4.0621, df = 9, p-value = 0.002833, 95% CI -2.4598858 -0.7001142, mean diff -1.58.
GROUP1 = np.array([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])
GROUP2 = np.array([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])


def test_paired_t_matches_r_on_the_sleep_data() -> None:
    result = paired_estimate(GROUP1 - GROUP2)
    assert result.mean_difference == pytest.approx(-1.58)
    assert result.t == pytest.approx(-4.0621, abs=1e-4)
    assert result.df == 9
    assert result.p_two_sided == pytest.approx(0.002833, abs=1e-6)
    assert result.ci_low == pytest.approx(-2.4598858, abs=1e-7)
    assert result.ci_high == pytest.approx(-0.7001142, abs=1e-7)


def test_differences_follow_the_allocation() -> None:
    matrix = np.array([[5.0, 6.0], [4.0, 7.0]])
    # Pair 1 LDN first: 5 - 6 = -1; pair 2 placebo first: 7 - 4 = 3.
    assert pair_differences(matrix, np.array([True, False])).tolist() == [-1.0, 3.0]


def test_missing_pairs_are_dropped_and_too_few_refused() -> None:
    result = paired_estimate(np.array([-1.0, np.nan, -2.0]))
    assert result.pairs_used == 2 and result.pairs_dropped == 1
    with pytest.raises(InsufficientData):
        paired_estimate(np.array([-1.0, np.nan]))
