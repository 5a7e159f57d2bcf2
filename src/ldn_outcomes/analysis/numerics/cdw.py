"""Vectorised first confirmed disability worsening (CDW) for many EDSS series at once.

Same rule as ``ldn_outcomes.domain.definitions.progression.confirmed_disability_events`` with
its defaults (fixed baseline, 12-week confirmation with -7/+730.5 days tolerance, every visit
up to the confirmation also worse, no confirmation or baseline within 30 days after a relapse
onset, minimum change 1.5/1.0/0.5 with cutoff 5.5), written column-wise so 100,000 patients
take seconds instead of minutes. The numeric ``ProgressionOptions`` (windows, cutoff,
confirmation days) are honoured; baseline and event mode are always fixed and first CDW.

Each first CDW is classified as the domain's ``_classify`` does: RAW if its onset is within
``relapse_assoc_days`` after a relapse onset; PIRA if no relapse falls in the event window
around the onset and at least one sustained confirmation visit has none in its window;
otherwise undefined. A series is the domain call on the EDSS from its baseline visit on with
``history_start`` = the patient's first EDSS: as in the patient view (the domain call on the
whole history), only relapses more than ``relapse_to_baseline_days`` before the patient's
first EDSS are ignored, so a relapse 31-90 days before a later series baseline still makes
a worsening soon after that baseline RAW.

Options: the confirmation window may be open-ended (an infinite upper tolerance) and may
reach back to the onset (``confirmation_days`` minus the lower tolerance <= 0): a
confirmation is always a later visit, as in the domain. Roving baselines and "all events"
are not implemented here and are refused (``ValidationFailed`` naming the option).
``tests/analysis/test_cdw.py`` checks event-for-event and type-for-type agreement with the
domain function on random histories (a hypothesis property test).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...domain.definitions.cdw_baseline import REFERENCES, Reference
from ...domain.definitions.progression import ProgressionOptions
from ...errors import Problem, ValidationFailed

OFFSET = 400_000  # shifts day numbers (1970-based, may be negative) to positive
SPAN = 1_000_000  # key = group * SPAN + day + OFFSET


def check_options(options: ProgressionOptions) -> None:
    """Refuse the domain options this column-wise path does not implement, naming each."""
    problems = []
    if options.baseline != "fixed":
        problems.append(
            Problem(
                "options",
                "baseline",
                "the registry-wide CDW uses a fixed baseline; 'roving' is domain-only",
                value=options.baseline,
            )
        )
    if options.events != "first_cdw":
        problems.append(
            Problem(
                "options",
                "events",
                "the registry-wide CDW finds the first CDW only ('first_cdw')",
                value=options.events,
            )
        )
    if options.confirmation_days <= 0:
        problems.append(
            Problem(
                "options",
                "confirmation_days",
                "must be positive",
                value=options.confirmation_days,
            )
        )
    low, high = options.confirmation_tolerance_days
    if not (low >= 0 and high >= 0):  # also refuses NaN
        problems.append(
            Problem(
                "options",
                "confirmation_tolerance_days",
                "both tolerances must be >= 0 (the upper one may be infinite)",
                value=options.confirmation_tolerance_days,
            )
        )
    if problems:
        raise ValidationFailed(problems)


def confirmation_window(options: ProgressionOptions) -> tuple[int, float]:
    """Days after the onset a confirmation may fall on, as whole days: at least 1 (a later
    visit, never the onset visit itself) and up to ``hi`` (may be infinite)."""
    lo = options.confirmation_days - options.confirmation_tolerance_days[0]
    hi = options.confirmation_days + options.confirmation_tolerance_days[1]
    return max(int(np.ceil(lo)) if np.isfinite(lo) else 1, 1), float(np.floor(hi))


def _key_offset(days: float) -> int:
    """A day count as a key offset, capped below SPAN (an open window stays in its series)."""
    return int(min(days, SPAN - 1))


def keys(groups: np.ndarray, days: np.ndarray) -> np.ndarray:
    return np.asarray(groups, dtype=np.int64) * SPAN + (np.asarray(days) + OFFSET).astype(np.int64)


def min_delta(reference: np.ndarray, cutoff: float) -> np.ndarray:
    return np.where(reference == 0, 1.5, np.where(reference <= cutoff, 1.0, 0.5))


def relapse_keys(relapses: pd.DataFrame) -> np.ndarray:
    """Sorted (patient, onset) keys of the relapses with an onset."""
    rel = relapses.dropna(subset=["onset"])
    return np.sort(keys(rel["code"].to_numpy(), rel["onset"].to_numpy()))


def relapses_between(
    rkeys: np.ndarray, codes: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Relapse onsets of patient ``codes`` on days [lo, hi] (inclusive; 0 when lo > hi)."""
    lo_key = keys(codes, np.ceil(lo))
    hi_key = keys(codes, np.floor(hi))
    found = np.searchsorted(rkeys, hi_key, side="right") - np.searchsorted(
        rkeys, lo_key, side="left"
    )
    return np.maximum(found, 0)


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
    baseline_day, baseline_score, cdw_type ("RAW", "PIRA", "undefined"; None without event).
    """
    opts = options or ProgressionOptions()
    check_options(opts)
    n_series = len(series_code)
    lengths = np.maximum(np.asarray(series_end) - np.asarray(series_start), 0)
    out = pd.DataFrame(
        {
            "event": np.zeros(n_series, dtype=bool),
            "onset_day": np.full(n_series, np.nan),
            "confirmation_day": np.full(n_series, np.nan),
            "last_day": np.full(n_series, np.nan),
            "baseline_day": np.full(n_series, np.nan),
            "baseline_score": np.full(n_series, np.nan),
            "cdw_type": np.full(n_series, None, dtype=object),
        }
    )
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
    # relapses before this are ignored (the domain's history_start: the patient's first EDSS)
    code_all = edss["code"].to_numpy()
    patient_first = np.searchsorted(code_all, code_all[first_row], side="left")
    oldest = day_all[patient_first] - opts.relapse_to_baseline_days
    since = since_all[rows]
    since = np.where(day - since < oldest, np.inf, since)
    worse = (within > 0) & (value - reference >= min_delta(reference, opts.cutoff))
    can_confirm = (within > 0) & (since >= opts.relapse_to_confirmation_days)
    lo, hi = confirmation_window(opts)
    skey = series.astype(np.int64) * SPAN + (day + OFFSET).astype(np.int64)
    conf_idx = np.flatnonzero(can_confirm)
    candidates = np.flatnonzero(worse)
    if candidates.size == 0 or conf_idx.size == 0:
        return out
    pos = np.searchsorted(skey[conf_idx], skey[candidates] + lo, side="left")
    found = pos < conf_idx.size
    j = np.full(candidates.size, -1)
    j[found] = conf_idx[pos[found]]
    found[found] &= (series[j[found]] == series[candidates[found]]) & (
        day[j[found]] - day[candidates[found]] <= hi
    )
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
    confirmation = j[confirmed][first_pos]
    out.loc[hit_series, "event"] = True
    out.loc[hit_series, "onset_day"] = day[chosen]
    out.loc[hit_series, "confirmation_day"] = day[confirmation]
    per_row = SeriesRows(
        edss["code"].to_numpy()[rows], day, oldest, skey, can_confirm, next_not_worse
    )
    out.loc[hit_series, "cdw_type"] = classify(
        per_row, relapse_keys(relapses), chosen, confirmation, opts
    )
    return out


@dataclass(frozen=True)
class SeriesRows:
    """Per-row arrays of the concatenated series that ``classify`` needs."""

    patient: np.ndarray
    day: np.ndarray
    #: Earliest relapse onset the series' domain call would see (first EDSS day - 30).
    oldest: np.ndarray
    #: (series, day) key, sorted.
    skey: np.ndarray
    can_confirm: np.ndarray
    #: Row of the first later visit of the series that is not worse (series end if none).
    next_not_worse: np.ndarray


def classify(
    rows: SeriesRows,
    rkeys: np.ndarray,
    onset_row: np.ndarray,
    confirmation_row: np.ndarray,
    opts: ProgressionOptions,
) -> np.ndarray:
    """RAW / PIRA / undefined for each first CDW, as the domain's ``_classify``.

    RAW: a relapse onset in [onset - relapse_assoc_days, onset]. PIRA: none in the event
    window [onset - e0, onset + e1], and a confirmation visit that is still sustained (before
    the first visit after the first confirmation that is no longer worse) with none in
    [visit - c0, visit + c1]; a window with no length is not checked, as in the domain.
    """
    r = rows
    onset = r.day[onset_row]
    patient = r.patient[onset_row]
    oldest = r.oldest[onset_row]
    raw = (
        relapses_between(
            rkeys, patient, np.maximum(onset - max(opts.relapse_assoc_days, 0), oldest), onset
        )
        > 0
    )
    e0, e1 = opts.pira_event_window
    quiet_event = np.ones(len(onset_row), dtype=bool)
    if e0 + e1 > 0:
        quiet_event = (
            relapses_between(rkeys, patient, np.maximum(onset - e0, oldest), onset + e1) == 0
        )
    c0, c1 = opts.pira_confirmation_window
    quiet_visit = r.can_confirm.copy()
    if c0 + c1 > 0:
        quiet_visit &= (
            relapses_between(rkeys, r.patient, np.maximum(r.day - c0, r.oldest), r.day + c1) == 0
        )
    cumulative = np.r_[0, np.cumsum(quiet_visit)]
    _, hi = confirmation_window(opts)
    in_window = np.searchsorted(r.skey, r.skey[onset_row] + _key_offset(hi), side="right")
    end = np.minimum(r.next_not_worse[confirmation_row], in_window)
    quiet_confirmation = cumulative[end] - cumulative[confirmation_row] > 0
    pira = quiet_event & quiet_confirmation
    return np.where(raw, "RAW", np.where(pira, "PIRA", "undefined")).astype(object)


def baseline_rows(
    edss: pd.DataFrame,
    relapses: pd.DataFrame,
    codes: np.ndarray,
    index_days: np.ndarray,
    end_days: np.ndarray,
    lookback_days: int,
    options: ProgressionOptions | None = None,
    rebaseline_after_relapse: bool = True,
    reference: Reference = "first_after_start",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row range [start, end) of each series in ``edss``. With ``reference=
    "last_before_start"``: start = the last EDSS within
    ``lookback_days`` before (or on) the index day that is not within 30 days after a relapse;
    end = one past the last visit on or before ``end_days``. start = end when no baseline.

    ``rebaseline_after_relapse``: when a relapse began after that EDSS and on or before the
    index day, start = the first EDSS after the last such onset that is not within 30 days
    after a relapse (it may come after the index day); no baseline if there is none by
    ``end_days`` (the third array flags those rows). Why: a step of disability left by an
    attack before the start, not yet scored at the old baseline, is otherwise confirmed after
    the start and counted as an outcome, and people start treatments after attacks.

    ``reference="first_after_start"``: start = the first EDSS after the index day and at most
    ``lookback_days`` after it that is not within 30 days after a relapse (why:
    ``domain.definitions.cdw_baseline``, the rule this is the vectorised form of)."""
    if reference not in REFERENCES:
        raise ValueError(f"unknown CDW reference {reference!r}; one of {', '.join(REFERENCES)}")
    opts = options or ProgressionOptions()
    codes = np.asarray(codes, dtype=np.int64)
    index_days = np.asarray(index_days, dtype=float)
    ekeys = keys(edss["code"].to_numpy(), edss["day"].to_numpy())
    ecodes = edss["code"].to_numpy()
    edays = edss["day"].to_numpy()
    since = days_since_relapse(ecodes, edays, relapses)
    valid = np.flatnonzero(since >= opts.relapse_to_baseline_days)
    start = np.zeros(len(codes), dtype=np.int64)
    end = np.zeros(len(codes), dtype=np.int64)
    lost = np.zeros(len(codes), dtype=bool)
    if len(codes) == 0 or valid.size == 0:
        return start, end, lost
    pos = np.searchsorted(ekeys[valid], keys(codes, index_days), side="right") - 1
    ok = pos >= 0
    cand = np.where(ok, valid[np.maximum(pos, 0)], 0)
    ok &= (ecodes[cand] == codes) & (edays[cand] >= index_days - lookback_days)
    stop = np.searchsorted(
        ekeys, keys(codes, np.nan_to_num(end_days, nan=-OFFSET + 1)), side="right"
    )
    if reference == "first_after_start":
        after = np.searchsorted(ekeys[valid], keys(codes, index_days), side="right")
        after_c = np.minimum(after, len(valid) - 1)
        cand = valid[after_c]
        ok = (
            (after < len(valid))
            & (ecodes[cand] == codes)
            & (edays[cand] <= index_days + lookback_days)
            & (cand < stop)
        )
    elif rebaseline_after_relapse:
        before = ok
        cand, ok = _after_prestart_relapse(
            relapses, codes, index_days, cand, ok, stop, valid, ekeys, ecodes, edays
        )
        lost = before & ~ok
    start[ok] = cand[ok]
    end[ok] = np.maximum(stop[ok], cand[ok] + 1)
    return start, end, lost


def _after_prestart_relapse(
    relapses: pd.DataFrame,
    codes: np.ndarray,
    index_days: np.ndarray,
    cand: np.ndarray,
    ok: np.ndarray,
    stop: np.ndarray,
    valid: np.ndarray,
    ekeys: np.ndarray,
    ecodes: np.ndarray,
    edays: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``baseline_rows``' re-baseline: the baseline rows (``cand`` where ``ok``) moved past a
    relapse between them and the index day, or dropped (``ok`` False) when no valid visit
    follows it within the series' rows before ``stop``."""
    rel = relapses.dropna(subset=["onset"])
    if rel.empty:
        return cand, ok
    rel = rel.sort_values(["code", "onset"])
    rkeys = keys(rel["code"].to_numpy(), rel["onset"].to_numpy())
    rcodes, ronsets = rel["code"].to_numpy(), rel["onset"].to_numpy(dtype=float)
    last = np.searchsorted(rkeys, keys(codes, np.floor(index_days)), side="right") - 1
    last_c = np.maximum(last, 0)
    onset = ronsets[last_c]
    moved = ok & (last >= 0) & (rcodes[last_c] == codes) & (onset > edays[cand])
    if not moved.any():
        return cand, ok
    after = np.searchsorted(ekeys[valid], keys(codes, onset), side="right")
    after_c = np.minimum(after, len(valid) - 1)
    row = valid[after_c]
    found = (after < len(valid)) & (ecodes[row] == codes) & (row < stop)
    cand = np.where(moved, row, cand)
    ok = ok & (~moved | found)
    return cand, ok
