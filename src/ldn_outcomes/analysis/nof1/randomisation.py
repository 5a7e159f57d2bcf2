"""Exact randomisation test over every allocation the design could have produced.

Under the sharp null hypothesis (LDN and placebo capsules act the same on every day), the
period means would have been the same whatever order the pairs were given; only the labels
would change. Re-labelling pair j swaps its two periods, which flips the sign of its
difference. The test statistic is the mean LDN-minus-placebo difference; its randomisation
distribution is its value under each of the 2^pairs allocations (each equally likely by the
design), and the p-value is the share of allocations at least as extreme as the one used.

The smallest attainable p-value is 1/2^pairs (two-sided: 2/2^pairs when no difference is 0):
0.25 one-sided for 2 pairs, 0.125 for 3, 0.0625 for 4, 0.03125 for 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...domain.nof1 import all_allocations
from ...errors import InsufficientData

#: Ties are judged with this tolerance so that floating-point noise does not break them.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class RandomisationTest:
    statistic: float  # observed mean (LDN - placebo)
    p_two_sided: float
    p_ldn_lower: float  # share with statistic <= observed
    p_ldn_higher: float  # share with statistic >= observed
    allocations: int
    smallest_possible_p: float

    def p_benefit(self, lower_is_better: bool) -> float:
        """One-sided p-value in the direction where LDN helps."""
        return self.p_ldn_lower if lower_is_better else self.p_ldn_higher

    def as_dict(self) -> dict[str, object]:
        return {
            "method": "exact randomisation test (all within-pair orders), statistic = mean "
            "LDN - placebo difference of period means",
            "statistic": self.statistic,
            "p_two_sided": self.p_two_sided,
            "p_ldn_lower": self.p_ldn_lower,
            "p_ldn_higher": self.p_ldn_higher,
            "allocations": self.allocations,
            "smallest_possible_one_sided_p": self.smallest_possible_p,
        }


def statistic_for(matrix: np.ndarray, ldn_first: np.ndarray) -> np.ndarray:
    """Mean LDN-minus-placebo difference for one or many allocations (last axis = pairs)."""
    first, second = matrix[:, 0], matrix[:, 1]
    diffs = np.where(ldn_first, first - second, second - first)
    return diffs.mean(axis=-1)


def randomisation_test(matrix: np.ndarray, ldn_first: np.ndarray) -> RandomisationTest:
    """Exact test from a (pairs x 2) matrix of period means and the allocation actually used.

    Pairs with a missing period are dropped before enumerating (the design's randomisation is
    within pairs, so the remaining pairs keep their exact distribution).
    """
    matrix = np.asarray(matrix, dtype=float)
    keep = ~np.isnan(matrix).any(axis=1)
    matrix, actual = matrix[keep], np.asarray(ldn_first, dtype=bool)[keep]
    pairs = matrix.shape[0]
    if pairs < 1:
        raise InsufficientData("no pair has analysed days in both of its periods")
    allocations = np.array(all_allocations(pairs), dtype=bool)  # (2^pairs, pairs)
    null = statistic_for(matrix, allocations)
    observed = float(statistic_for(matrix, actual[None, :])[0])
    total = allocations.shape[0]
    return RandomisationTest(
        statistic=observed,
        p_two_sided=float(np.sum(np.abs(null) >= abs(observed) - TOLERANCE) / total),
        p_ldn_lower=float(np.sum(null <= observed + TOLERANCE) / total),
        p_ldn_higher=float(np.sum(null >= observed - TOLERANCE) / total),
        allocations=total,
        smallest_possible_p=1.0 / total,
    )
