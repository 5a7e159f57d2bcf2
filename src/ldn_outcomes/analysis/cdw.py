"""Vectorised first confirmed disability worsening (CDW) for many EDSS series at once.

Same rule as ``ldn_outcomes.domain.definitions.progression.confirmed_disability_events`` with
its defaults (fixed baseline, 12-week confirmation with -7/+730.5 days tolerance, every visit
up to the confirmation also worse, no confirmation or baseline within 30 days after a relapse
onset, minimum change 1.5/1.0/0.5 with cutoff 5.5), written column-wise so 100,000 patients
take seconds instead of minutes. ``tests/analysis/test_cdw.py`` checks event-for-event
agreement with the domain function on random series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..domain.definitions.progression import ProgressionOptions

OFFSET = 400_000  # shifts day numbers (1970-based, may be negative) to positive
SPAN = 1_000_000  # key = group * SPAN + day + OFFSET


def keys(groups: np.ndarray, days: np.ndarray) -> np.ndarray:
    return np.asarray(groups, dtype=np.int64) * SPAN + (np.asarray(days) + OFFSET).astype(
        np.int64)


def min_delta(reference: np.ndarray, cutoff: float) -> np.ndarray:
    return np.where(reference == 0, 1.5, np.where(reference <= cutoff, 1.0, 0.5))


def days_since_relapse(codes: np.ndarray, days: np.ndarray, relapses: pd.DataFrame) -> np.ndarray:
    """Days since the latest relapse onset on or before each (patient, day); inf if none."""
    out = np.full(len(days), np.inf)
    if relapses.empty or len(days) == 0:
        return out
    rel = relapses.dropna(subset=["onset"]).sort_values(["code", "onset"])
    rkeys = keys(rel["code"].to_numpy(), rel["onset"].to_numpy())
    rdays = rel["onset"].to_numpy()
    rcodes = rel["code"].to_numpy()
    pos = np.searchsorted(rkeys, keys(codes, days), side="right") - 1
    ok = pos >= 0
    ok[ok] &= rcodes[pos[ok]] == codes[ok]
    out[ok] = days[ok] - rdays[pos[ok]]
    return out


def first_cdw(
    edss: pd.DataFrame,
    relapses: pd.DataFrame,
    series_code: np.ndarray,
    series_start: np.ndarray,
    series_end: np.ndarray,
    options: ProgressionOptions | None = None,
) -> pd.DataFrame:
    """First CDW in each series: EDSS of patient ``series_code`` between the row positions
    ``series_start`` (the baseline visit) and ``series_end`` (exclusive) of ``edss``, which
    must be sorted by (code, day).

    Returns one row per series: event (bool), onset_day, confirmation_day, last_day,
    baseline_day, baseline_score.
    """
    opts = options or ProgressionOptions()
    n_series = len(series_code)
    lengths = np.maximum(np.asarray(series_end) - np.asarray(series_start), 0)
    out = pd.DataFrame({
        "event": np.zeros(n_series, dtype=bool),
        "onset_day": np.full(n_series, np.nan),
        "confirmation_day": np.full(n_series, np.nan),
        "last_day": np.full(n_series, np.nan),
        "baseline_day": np.full(n_series, np.nan),
        "baseline_score": np.full(n_series, np.nan),
    })
    if lengths.sum() == 0:
        return out
    day_all = edss["day"].to_numpy()
    score_all = edss["score"].to_numpy()
    since_all = days_since_relapse(edss["code"].to_numpy(), day_all, relapses)
    series = np.repeat(np.arange(n_series), lengths)
    first_row = np.repeat(np.asarray(series_start), lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    rows = first_row + within
    day = day_all[rows]
    value = score_all[rows]
    has = lengths > 0
    start = np.asarray(series_start)[has]
    out.loc[has, "baseline_day"] = day_all[start]
    out.loc[has, "baseline_score"] = score_all[start]
    last = np.asarray(series_end)[has] - 1
    out.loc[has, "last_day"] = day_all[last]
    reference = score_all[first_row]
    worse = (within > 0) & (value - reference >= min_delta(reference, opts.cutoff))
    can_confirm = (within > 0) & (since_all[rows] >= opts.relapse_to_confirmation_days)
    lo = opts.confirmation_days - opts.confirmation_tolerance_days[0]
    hi = opts.confirmation_days + opts.confirmation_tolerance_days[1]
    skey = series.astype(np.int64) * SPAN + (day + OFFSET).astype(np.int64)
    conf_idx = np.flatnonzero(can_confirm)
    candidates = np.flatnonzero(worse)
    if candidates.size == 0 or conf_idx.size == 0:
        return out
    pos = np.searchsorted(skey[conf_idx], skey[candidates] + int(np.ceil(lo)), side="left")
    found = pos < conf_idx.size
    j = np.full(candidates.size, -1)
    j[found] = conf_idx[pos[found]]
    found[found] &= (series[j[found]] == series[candidates[found]]) & (
        day[j[found]] - day[candidates[found]] <= hi)
    # first visit after i that is not worse; every visit up to the confirmation must be worse
    n = len(worse)
    marks = np.where(worse, n, np.arange(n))
    next_not_worse = np.r_[np.minimum.accumulate(marks[::-1])[::-1][1:], n]
    confirmed = found & (next_not_worse[candidates] > j)
    hits = candidates[confirmed]
    if hits.size == 0:
        return out
    hit_series, first_pos = np.unique(series[hits], return_index=True)
    chosen = hits[first_pos]
    out.loc[hit_series, "event"] = True
    out.loc[hit_series, "onset_day"] = day[chosen]
    out.loc[hit_series, "confirmation_day"] = day[j[confirmed][first_pos]]
    return out


def baseline_rows(
    edss: pd.DataFrame,
    relapses: pd.DataFrame,
    codes: np.ndarray,
    index_days: np.ndarray,
    end_days: np.ndarray,
    lookback_days: int,
    options: ProgressionOptions | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row range [start, end) of each series in ``edss``: start = the last EDSS within
    ``lookback_days`` before (or on) the index day that is not within 30 days after a relapse;
    end = one past the last visit on or before ``end_days``. start = end when no baseline."""
    opts = options or ProgressionOptions()
    codes = np.asarray(codes, dtype=np.int64)
    ekeys = keys(edss["code"].to_numpy(), edss["day"].to_numpy())
    ecodes = edss["code"].to_numpy()
    edays = edss["day"].to_numpy()
    since = days_since_relapse(ecodes, edays, relapses)
    valid = np.flatnonzero(since >= opts.relapse_to_baseline_days)
    start = np.zeros(len(codes), dtype=np.int64)
    end = np.zeros(len(codes), dtype=np.int64)
    if len(codes) == 0 or valid.size == 0:
        return start, end
    pos = np.searchsorted(ekeys[valid], keys(codes, index_days), side="right") - 1
    ok = pos >= 0
    cand = np.where(ok, valid[np.maximum(pos, 0)], 0)
    ok &= (ecodes[cand] == codes) & (edays[cand] >= np.asarray(index_days) - lookback_days)
    stop = np.searchsorted(ekeys, keys(codes, np.nan_to_num(end_days, nan=-OFFSET + 1)),
                           side="right")
    start[ok] = cand[ok]
    end[ok] = np.maximum(stop[ok], cand[ok] + 1)
    return start, end
