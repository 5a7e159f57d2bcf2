"""Relapse qualification for whole registries, the rule of
``domain.definitions.relapse.qualify_relapses`` applied column-wise.

EXCLUDED: lasted under 24 h, or fever/infection at onset. SAME_EVENT: onset under 30 days
after the last counted onset of the same patient. UNCONFIRMED: duration or fever not recorded
(counted only when the plan says so, as ``annualised_relapse_rate(include_unconfirmed=...)``);
only a counted report opens the 30-day window, so with ``count_unconfirmed=False`` an
unconfirmed report does not absorb a qualifying one that follows it.
``tests/analysis/test_qualify.py`` checks agreement with the domain function.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...domain.definitions.relapse import MIN_SEPARATION_DAYS

QUALIFYING, SAME_EVENT, EXCLUDED, UNCONFIRMED = (
    "qualifying",
    "same_event",
    "excluded",
    "unconfirmed",
)


def _flag(values: pd.Series | np.ndarray) -> np.ndarray:
    """True / False / None as 1 / 0 / -1 (blank is not 'no')."""
    series = pd.Series(values, dtype="object")
    missing = series.isna().to_numpy()
    truthy = np.array([bool(v) if not m else False for v, m in zip(series, missing, strict=True)])
    return np.where(missing, -1, np.where(truthy, 1, 0)).astype(int)


def qualify(
    codes: np.ndarray,
    onsets: np.ndarray,
    lasted_24h,
    fever,
    min_separation_days: int = MIN_SEPARATION_DAYS,
    count_unconfirmed: bool = False,
) -> np.ndarray:
    """Status per relapse; rows must be sorted by (code, onset)."""
    lasted = _flag(lasted_24h)
    feverish = _flag(fever)
    excluded = (lasted == 0) | (feverish == 1)
    unconfirmed = (lasted == -1) | (feverish == -1)
    status = np.where(excluded, EXCLUDED, np.where(unconfirmed, UNCONFIRMED, QUALIFYING)).astype(
        object
    )
    last_code, last_counted = None, -np.inf
    for i in np.flatnonzero(~excluded):  # sequential: "30 days after the last counted onset"
        if codes[i] != last_code:
            last_code, last_counted = codes[i], -np.inf
        if onsets[i] - last_counted < min_separation_days:
            status[i] = SAME_EVENT
            continue
        if count_unconfirmed or not unconfirmed[i]:
            last_counted = onsets[i]
    return status
