"""The true progression hazard ratio as the engine's estimator defines it: confirmed disability
worsening (CDW) as recorded, with and without LDN's effect, for the same people.

Recorded CDW is not latent worsening: a rater's error of half a step or more (Noseworthy 1990)
makes some confirmed "worsening" that no treatment can prevent, which pulls every CDW hazard
ratio towards 1. So the truth uses the recorded scores: each EDSS visit of the registry also
records the score the same rater, with the same error, would have written in the world without
LDN's effect (``score_b``, see ``.observe``). That world also has the attacks LDN prevented:
their onsets (the rules keep scores near an onset out) and the clinic visits during them
(``relapses_b_only``, ``edss_b_only``), which catch worsening earlier; scored at the registry's
visits and attacks only, the world without the effect looked better than it is and the true
ratio lay about 1.6% nearer 1 (docs/analysis.md, "Progression under an effect: the attacks LDN
prevented"). For every LDN user the first CDW after the start is found in both series with the
domain rules (``domain.definitions.progression``, fixed reference chosen by
``domain.definitions.cdw_baseline`` as the engine's default plan does: the first EDSS in the
year after the start that is not within 30 days after a relapse onset, follow-up counted from
it; 12-week confirmation), and the Cox hazard ratio (delayed entry at the
reference) of the two potential outcomes of the same users (with vs without the effect) is their
effect on recorded CDW. Controls who later start LDN dilute an intention-to-treat comparison:
that dilution is taken from the expected worsening events of the hazard-weighted risk set
(``.estimands``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..domain.definitions.cdw_baseline import reference_visit
from ..domain.definitions.progression import (
    EdssPoint,
    ProgressionOptions,
    confirmed_disability_events,
)
from ..errors import LdnError
from .history import History

BASELINE_LOOKBACK_DAYS = 365
CONFIRMATION_DAYS = 84
EPOCH = dt.date(1970, 1, 1).toordinal()


def _date(day: int) -> dt.date:
    return dt.date.fromordinal(EPOCH + int(day))


def _first_cdw(
    days: np.ndarray, scores: np.ndarray, onsets: list[dt.date], start: int
) -> tuple[float, bool, float] | None:
    """(days from start to the first CDW or the last visit, event, days from start to the
    reference visit when it follows the start, else 0) or None without a reference or a visit
    after it."""
    options = ProgressionOptions(confirmation_days=CONFIRMATION_DAYS)
    onset_days = [d.toordinal() - EPOCH for d in onsets]
    first = reference_visit(
        days.tolist(),
        onset_days,
        start,
        BASELINE_LOOKBACK_DAYS,
        relapse_to_baseline_days=options.relapse_to_baseline_days,
    )
    if first is None or first == len(days) - 1:
        return None
    entry = float(max(days[first] - start, 0))
    points = [
        EdssPoint(_date(d), float(s)) for d, s in zip(days[first:], scores[first:], strict=True)
    ]
    try:
        found = confirmed_disability_events(points, onsets, options)
    except LdnError:
        return None
    cdw = [e for e in found.events if e.kind == "CDW"]
    if cdw:
        return float(cdw[0].date.toordinal() - EPOCH - start), True, entry
    return float(days[-1] - start), False, entry


class _Series:
    """Per patient, rows sorted by (patient, day), up to the patient's exit from this registry;
    ``of(p)`` gives one patient's slice of every column."""

    def __init__(
        self, n: int, pid: np.ndarray, day: np.ndarray, exit_day: np.ndarray, **cols: np.ndarray
    ) -> None:
        keep = day <= exit_day[pid]
        order = np.lexsort((day[keep], pid[keep]))
        self.day = day[keep][order]
        self.cols = {name: values[keep][order] for name, values in cols.items()}
        self.bounds = np.searchsorted(pid[keep][order], np.arange(n + 1))

    def of(self, p: int, name: str | None = None) -> np.ndarray:
        lo, hi = self.bounds[p], self.bounds[p + 1]
        return (self.day if name is None else self.cols[name])[lo:hi]


#: Packs (patient, onset day) into one integer key (day numbers are far below 2**32).
_KEY = 1 << 32


def _table(h: History, kind: str, *names: str) -> list[np.ndarray]:
    """Columns of one of the recorder's tables, empty where it recorded none."""
    table = h.recorded.table(kind)
    return [table.get(name, np.zeros(0, dtype=np.int64)) for name in names]


def cdw_series(h: History) -> tuple[_Series, _Series, _Series, _Series] | None:
    """EDSS visits (column ``score``) and attack onsets of every patient in this registry
    (with LDN's effect) and in the world without it, each up to the patient's exit; None
    without a counterfactual. That world's visits are this registry's that are its own too
    (``in_b``: not a visit during an attack LDN made) scored as it would score them, and the
    visits during the attacks LDN prevented; its onsets are this registry's less the attacks
    LDN made, and the attacks it prevented (``.observe.Recorder._world_b_only``)."""
    table = h.recorded.table("edss")
    if "score_b" not in table or "in_b" not in table:
        return None
    n, exit_day = h.cohort.n, h.exit_day
    rel = h.recorded.table("relapses")
    real = rel["lasted_24h"] & ~rel["fever"]
    pid, onset = rel["pid"][real], rel["onset"][real]
    visits_a = _Series(n, table["pid"], table["day"], exit_day, score=table["score"])
    onsets_a = _Series(n, pid, onset, exit_day)
    made_pid, made_onset = _table(h, "relapses_a_only", "pid", "onset")
    kept = ~np.isin(pid * _KEY + onset, made_pid * _KEY + made_onset)
    only_pid, only_onset = _table(h, "relapses_b_only", "pid", "onset")
    onsets_b = _Series(n, np.r_[pid[kept], only_pid], np.r_[onset[kept], only_onset], exit_day)
    extra_pid, extra_day, extra_score = _table(h, "edss_b_only", "pid", "day", "score_b")
    own = table["in_b"].astype(bool)
    visits_b = _Series(
        n,
        np.r_[table["pid"][own], extra_pid],
        np.r_[table["day"][own], extra_day],
        exit_day,
        score=np.r_[table["score_b"][own], extra_score],
    )
    return visits_a, onsets_a, visits_b, onsets_b


def recorded_cdw_hazard_ratio(h: History) -> float | None:
    """Cox hazard ratio of first recorded CDW after the first LDN start, the users' series
    with LDN's effect vs the world without it (``cdw_series``; None without a
    counterfactual)."""
    series = cdw_series(h)
    if series is None:
        return None
    visits_a, onsets_a, visits_b, onsets_b = series
    users, starts, _ = h.ldn
    first_start: dict[int, int] = {}
    for p, s in zip(users.tolist(), starts.tolist(), strict=True):
        first_start.setdefault(p, s)
    times: list[tuple[float, bool, float, float, bool, float]] = []
    for p, start in first_start.items():
        day = visits_a.of(p)
        if len(day) < 2:
            continue
        a = _first_cdw(day, visits_a.of(p, "score"), [_date(d) for d in onsets_a.of(p)], start)
        b = _first_cdw(
            visits_b.of(p), visits_b.of(p, "score"), [_date(d) for d in onsets_b.of(p)], start
        )
        if a is None or b is None or a[0] <= a[2] or b[0] <= b[2] or a[0] <= 0 or b[0] <= 0:
            continue
        times.append((*a, *b))
    if len(times) < 2:
        return None
    t = np.asarray(times, dtype=float)
    return cox_two_groups(
        t[:, 3], t[:, 4].astype(bool), t[:, 0], t[:, 1].astype(bool), entry0=t[:, 5], entry1=t[:, 2]
    )


def cox_two_groups(
    time0: np.ndarray,
    event0: np.ndarray,
    time1: np.ndarray,
    event1: np.ndarray,
    entry0: np.ndarray | None = None,
    entry1: np.ndarray | None = None,
) -> float | None:
    """Hazard ratio of group 1 vs group 0 by Cox partial likelihood (Breslow ties); with
    ``entry`` times, delayed entry (left truncation): a subject is at risk at t when
    entry <= t <= time, as in lifelines and statsmodels."""
    if len(time0) == 0 or len(time1) == 0:
        return None
    time = np.r_[time0, time1].astype(float)
    event = np.r_[event0, event1].astype(bool)
    entry = np.r_[
        np.zeros(len(time0)) if entry0 is None else entry0,
        np.zeros(len(time1)) if entry1 is None else entry1,
    ].astype(float)
    x = np.r_[np.zeros(len(time0)), np.ones(len(time1))]
    times = np.unique(time[event])
    by_time, by_entry = np.argsort(time, kind="stable"), np.argsort(entry, kind="stable")
    # at risk at t: time >= t (suffix sums in time order) less entry > t (in entry order)
    out_at = np.searchsorted(time[by_time], times, side="left")
    in_at = np.searchsorted(entry[by_entry], times, side="right")
    slot = np.searchsorted(times, time[event])
    deaths = np.bincount(slot, minlength=len(times)).astype(float)
    deaths1 = np.bincount(slot, weights=x[event], minlength=len(times))

    def suffix(values: np.ndarray, order: np.ndarray, at: np.ndarray) -> np.ndarray:
        return np.r_[np.cumsum(values[order][::-1])[::-1], 0.0][at]

    beta = 0.0
    for _ in range(50):
        r = np.exp(beta * x)
        s0 = suffix(r, by_time, out_at) - suffix(r, by_entry, in_at)
        s1 = suffix(r * x, by_time, out_at) - suffix(r * x, by_entry, in_at)
        share = np.divide(s1, s0, out=np.zeros_like(s0), where=s0 > 0)
        score = float(np.sum(deaths1 - deaths * share))
        info = float(np.sum(deaths * share * (1 - share)))
        if info <= 0:
            return None
        step = score / info
        beta += step
        if abs(step) < 1e-10:
            break
    return float(np.exp(beta))
