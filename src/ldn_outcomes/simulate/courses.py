"""Treatment courses (LDN, or the negative-control supplement) and the monthly decisions to
start and stop them.

One open course per patient at a time; finished courses are collected as arrays. Starts follow
relapses, fatigue peaks and usual fatigue (self-selection), and, when the confounding knob is
on, a factor the registry never records; stops follow relapses on treatment and fatigue that
got worse since the start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .params import UptakeParams


@dataclass
class Courses:
    """One open course per patient at a time (LDN, or the negative-control supplement)."""

    n: int
    start: np.ndarray = field(init=False)
    stop: np.ndarray = field(init=False)
    fatigue_at_start: np.ndarray = field(init=False)
    had_course: np.ndarray = field(init=False)
    pid: list[np.ndarray] = field(default_factory=list)
    starts: list[np.ndarray] = field(default_factory=list)
    stops: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start = np.full(self.n, -1, dtype=np.int64)
        self.stop = np.full(self.n, -1, dtype=np.int64)
        self.fatigue_at_start = np.zeros(self.n)
        self.had_course = np.zeros(self.n, dtype=bool)

    def close_finished(self, before_day: int) -> None:
        done = np.flatnonzero((self.stop >= 0) & (self.stop < before_day))
        self._record(done, self.stop[done])

    def finish(self, exit_day: np.ndarray) -> None:
        """Record courses still open at the last contact (a later planned stop is unknown)."""
        open_ = np.flatnonzero((self.start >= 0) & (self.start <= exit_day))
        stops = self.stop[open_]
        self._record(open_, np.where(stops <= exit_day[open_], stops, -1))

    def days_on(self, lo: np.ndarray, hi: int) -> np.ndarray:
        """Days on the course within [lo, hi] (inclusive)."""
        first = np.maximum(lo, self.start)
        last = np.where(self.stop >= 0, np.minimum(hi, self.stop), hi)
        return np.where(self.start >= 0, np.clip(last - first + 1, 0, None), 0)

    def on_day(self, day: np.ndarray) -> np.ndarray:
        return (self.start >= 0) & (self.start <= day) & ((self.stop < 0) | (day <= self.stop))

    def _record(self, rows: np.ndarray, stops: np.ndarray) -> None:
        if rows.size:
            self.pid.append(rows.copy())
            self.starts.append(self.start[rows].copy())
            self.stops.append(stops.copy())
        self.start[rows] = -1
        self.stop[rows] = -1

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.pid:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        pid = np.concatenate(self.pid)
        start = np.concatenate(self.starts)
        stop = np.concatenate(self.stops)
        order = np.lexsort((start, pid))
        return pid[order], start[order], stop[order]


def decide(
    rng: np.random.Generator,
    courses: Courses,
    base_per_year: float,
    u: UptakeParams,
    *,
    alive: np.ndarray,
    recent_relapse: np.ndarray,
    relapse_on: np.ndarray,
    fatigue: np.ndarray,
    fatigue_above_usual: np.ndarray,
    trait: np.ndarray,
    on_dmt: np.ndarray,
    unmeasured: np.ndarray,
    years: np.ndarray,
    next_lo: int,
    next_len: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Starts and stops decided this month, effective on a day of next month.

    ``unmeasured``: each patient's extra log hazard of starting from the unrecorded factor.
    Returns the mask of patients who will start and everyone's start hazard this month (per
    year; the truth weights the risk set by it).
    """
    n = courses.n
    draw_start, draw_stop, when = rng.random(n), rng.random(n), rng.random(n)
    if next_len <= 0:
        return np.zeros(n, dtype=bool), np.zeros(n)
    day = next_lo + (when * next_len).astype(np.int64)
    log_hazard = (
        u.relapse_log_hazard * recent_relapse
        + u.fatigue_state_log_hazard * fatigue_above_usual
        + u.fatigue_trait_log_hazard * trait
        + u.dmt_log_hazard * on_dmt
        + np.log(u.restart_factor) * courses.had_course
        + unmeasured
    )
    hazard = base_per_year * np.exp(log_hazard)
    starting = alive & (courses.start < 0) & (draw_start < -np.expm1(-hazard * years))
    running = alive & (courses.start >= 0) & (courses.start < next_lo) & (courses.stop < 0)
    worse = np.maximum(0.0, fatigue - courses.fatigue_at_start)
    stop_hazard = u.stop_per_year * np.exp(
        u.stop_relapse_log_hazard * relapse_on + u.stop_worse_log_hazard * worse
    )
    stopping = running & (draw_stop < -np.expm1(-stop_hazard * years))
    courses.start[starting] = day[starting]
    courses.stop[starting] = -1
    courses.stop[stopping] = day[stopping]
    courses.had_course |= starting
    courses.fatigue_at_start = np.where(starting, fatigue, courses.fatigue_at_start)
    return starting, hazard
