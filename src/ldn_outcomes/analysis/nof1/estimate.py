"""LDN minus placebo, with a confidence interval that respects the pairs.

Each pair gives one difference of period means (LDN period minus placebo period, analysed days
only); the estimate is their mean and the interval a one-sample t interval on the differences
(a paired t). With few pairs the t distribution has few degrees of freedom and the interval is
honestly wide. Computed with :func:`scipy.stats.ttest_1samp`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ...errors import InsufficientData


@dataclass(frozen=True)
class PairedEstimate:
    differences: tuple[float, ...]  # LDN - placebo, one per usable pair
    mean_difference: float
    standard_error: float
    ci_low: float
    ci_high: float
    df: int
    t: float
    p_two_sided: float
    pairs_used: int
    pairs_dropped: int
    confidence: float = 0.95

    def as_dict(self) -> dict[str, object]:
        return {
            "method": "paired t on per-pair period means (LDN - placebo)",
            "differences": list(self.differences),
            "mean_difference": self.mean_difference,
            "standard_error": self.standard_error,
            "ci": [self.ci_low, self.ci_high],
            "confidence": self.confidence,
            "df": self.df,
            "t": self.t,
            "p_two_sided": self.p_two_sided,
            "pairs_used": self.pairs_used,
            "pairs_dropped": self.pairs_dropped,
        }


def pair_differences(matrix: np.ndarray, ldn_first: np.ndarray) -> np.ndarray:
    """LDN minus placebo per pair from a (pairs x 2) matrix of period means."""
    first, second = matrix[:, 0], matrix[:, 1]
    return np.where(ldn_first, first - second, second - first)


def paired_estimate(differences: np.ndarray, confidence: float = 0.95) -> PairedEstimate:
    values = np.asarray(differences, dtype=float)
    usable = values[~np.isnan(values)]
    dropped = int(values.size - usable.size)
    if usable.size < 2:
        raise InsufficientData(
            f"only {usable.size} pair(s) have analysed days in both periods; at least 2 are "
            "needed for an estimate with an interval"
        )
    mean = float(usable.mean())
    if np.allclose(usable, usable[0]):
        # Identical differences: no spread, the t statistic is undefined; report a zero-width
        # interval rather than dividing by zero.
        return PairedEstimate(
            tuple(map(float, usable)),
            mean,
            0.0,
            mean,
            mean,
            usable.size - 1,
            float("inf") if mean else 0.0,
            0.0 if mean else 1.0,
            usable.size,
            dropped,
            confidence,
        )
    result = stats.ttest_1samp(usable, 0.0)
    interval = result.confidence_interval(confidence)
    se = float(usable.std(ddof=1) / np.sqrt(usable.size))
    return PairedEstimate(
        differences=tuple(map(float, usable)),
        mean_difference=mean,
        standard_error=se,
        ci_low=float(interval.low),
        ci_high=float(interval.high),
        df=int(result.df),
        t=float(result.statistic),
        p_two_sided=float(result.pvalue),
        pairs_used=int(usable.size),
        pairs_dropped=dropped,
        confidence=confidence,
    )
