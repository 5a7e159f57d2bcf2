"""Within-person comparisons shared by the dose, timing and stopping analyses.

Each person is their own control: a symptom score's mean under one condition minus its mean
under the other, then the mean of those differences with a paired t interval (the one-sample t
interval of the differences; Student 1908). Persons measured under only one condition add
nothing. The comparison is confounded by time (the disease and the season move on between the
two periods) and by why the person changed (people change dose or timing because of symptoms or
side effects), and every result that uses it says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import InsufficientData
from ..numerics.cdw import keys
from ..results import Estimate

#: Days after a change before scores count towards the new condition: a symptom rating made the
#: week a dose or timing changed still reflects the old one (a project choice, stated in docs).
SETTLE_DAYS = 14

CONFOUNDING_CAVEATS = (
    "within-person comparison: the two periods differ in calendar time, so the natural course "
    "of MS, the season and regression to the mean after a bad spell all enter the difference",
    "people change dose or timing for a reason (side effects, feeling worse or better): the "
    "reason for the change can cause the difference (confounding by indication)",
)


def paired_t(differences: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """Mean of paired differences with its two-sided t interval."""
    d = np.asarray(differences, dtype=float)
    mean = float(d.mean())
    half = float(stats.t.ppf(1 - alpha / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
    return mean, mean - half, mean + half


def label_scores(
    series: pd.DataFrame, segments: pd.DataFrame, settle_days: int = SETTLE_DAYS
) -> pd.Series:
    """The segment label of each score (NaN when outside every segment or while settling).

    ``segments``: code, start, end, label, non-overlapping per person; ``series``: code, day,
    total sorted by code and day."""
    out = pd.Series(np.nan, index=series.index, dtype=object)
    if series.empty or segments.empty:
        return out
    seg = segments.sort_values(["code", "start"]).reset_index(drop=True)
    skeys = keys(seg["code"].to_numpy(), seg["start"].to_numpy())
    codes, days = series["code"].to_numpy(), series["day"].to_numpy()
    pos = np.searchsorted(skeys, keys(codes, days), side="right") - 1
    p = np.maximum(pos, 0)
    inside = (
        (pos >= 0)
        & (seg["code"].to_numpy()[p] == codes)
        & (days >= seg["start"].to_numpy()[p] + settle_days)
        & (days <= seg["end"].to_numpy()[p])
    )
    out[inside] = seg["label"].to_numpy()[p[inside]]
    return out


def condition_difference(
    series: pd.DataFrame,
    segments: pd.DataFrame,
    first: str,
    second: str,
    label: str,
    alpha: float,
    min_people: int,
    key: str,
    settle_days: int = SETTLE_DAYS,
) -> Estimate:
    """Mean within-person difference of scores under ``first`` minus under ``second``."""
    labelled = series.assign(label=label_scores(series, segments, settle_days))
    labelled = labelled.dropna(subset=["label"])
    means = labelled.groupby(["code", "label"])["total"].mean().unstack()
    if first not in means or second not in means:
        raise InsufficientData(f"{label}: nobody has scores under both {first} and {second}")
    both = means[[first, second]].dropna()
    if len(both) < max(min_people, 2):
        raise InsufficientData(
            f"{label}: only {len(both)} people have scores under both {first} and {second} "
            f"(at least {max(min_people, 2)} needed)"
        )
    diff = both[first].to_numpy() - both[second].to_numpy()
    mean, low, high = paired_t(diff, alpha)
    return Estimate(
        label,
        mean,
        low,
        high,
        "difference",
        n=len(both),
        note=f"mean under {first} {both[first].mean():.3g}, under {second} "
        f"{both[second].mean():.3g}; paired t",
        key=key,
    )
