"""The month-by-month natural history, treatment decisions and what gets recorded.

One loop over calendar months; inside it every step is a NumPy operation over all patients
(no per-patient Python code). Each month draws the same number of random numbers whatever
happened before, so two runs with the same seed and different effect knobs share their random
numbers (common random numbers): differences between them come from the knobs, not from noise.

Treatment decisions taken in a month (start or stop LDN, based on that month's relapses and
fatigue) take effect on a day of the following month, so within a month the LDN status of every
day is known before events are drawn. Relapses and worsening events are drawn by thinning: a
candidate event at the highest rate on a uniform day, kept with probability rate(day)/highest;
the effect therefore applies exactly to the days on LDN, as the exposure records show them.

Order within a month: relapses and pseudo-relapses; disability worsening (PIRA); latent fatigue;
registry dropout; LDN and supplement decisions; then the observations (clinic EDSS, MFIS/FSS,
daily check-ins, adverse events).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .cohort import DAYS_PER_YEAR, Cohort, draw_cohort, month_boundaries, step_up
from .observe import Recorder
from .params import SimulationParams, UptakeParams


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


@dataclass
class History:
    """Everything simulated: the cohort, per-patient latent tallies and the recorded events."""

    params: SimulationParams
    bounds: np.ndarray
    cohort: Cohort
    exit_day: np.ndarray
    dropped: np.ndarray
    edss_exit: np.ndarray
    pira_events: np.ndarray
    pira_events_on_ldn: np.ndarray
    relapses_true: np.ndarray
    relapses_on_ldn: np.ndarray
    years_at_risk: np.ndarray
    years_on_ldn: np.ndarray
    ldn: tuple[np.ndarray, np.ndarray, np.ndarray]
    supplement: tuple[np.ndarray, np.ndarray, np.ndarray]
    recorder: Recorder


def _decide(
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
    years: np.ndarray,
    next_lo: int,
    next_len: int,
) -> np.ndarray:
    """Starts and stops decided this month, effective on a day of next month.

    Returns the mask of patients who will start.
    """
    n = courses.n
    draw_start, draw_stop, when = rng.random(n), rng.random(n), rng.random(n)
    if next_len <= 0:
        return np.zeros(n, dtype=bool)
    day = next_lo + (when * next_len).astype(np.int64)
    log_hazard = (
        u.relapse_log_hazard * recent_relapse
        + u.fatigue_state_log_hazard * fatigue_above_usual
        + u.fatigue_trait_log_hazard * trait
        + u.dmt_log_hazard * on_dmt
        + np.log(u.restart_factor) * courses.had_course
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
    return starting


def simulate_history(
    params: SimulationParams, on_month: Callable[[int], None] | None = None
) -> History:
    """Run the whole simulation; returns latent tallies and the recorded events.

    ``on_month(m)`` is called after each simulated month (for progress bars).
    """
    streams = [
        np.random.Generator(np.random.PCG64(s))
        for s in np.random.SeedSequence(params.seed).spawn(5)
    ]
    cohort_rng, hist_rng, ldn_rng, supp_rng, obs_rng = streams
    bounds = month_boundaries(params)
    cohort = draw_cohort(params, cohort_rng, bounds)
    n = cohort.n
    r, pr, f, rep, u = (
        params.relapses,
        params.progression,
        params.fatigue,
        params.reporting,
        params.uptake,
    )
    end_day = int(bounds[-1] - 1)

    edss = cohort.edss_entry.copy()
    state = cohort.fatigue_state0.copy()
    flare = np.zeros(n)
    dropped = np.zeros(n, dtype=bool)
    exit_day = np.full(n, end_day, dtype=np.int64)
    active_from = np.full(n, -1, dtype=np.int64)
    active_until = np.full(n, -1, dtype=np.int64)
    last_relapse = np.full(n, -(10**6), dtype=np.int64)
    tallies = {
        name: np.zeros(n, dtype=np.int64) for name in ("pira", "pira_on", "relapses", "relapses_on")
    }
    years_at_risk = np.zeros(n)
    years_on_ldn = np.zeros(n)
    ldn, supp = Courses(n), Courses(n)
    recorder = Recorder(params, cohort, obs_rng, end_day)
    phi = f.monthly_autocorrelation
    state_sd = np.sqrt(1.0 - f.trait_share)
    fatigue_effect_sd_units = cohort.effect_fatigue_points / f.mfis_sd
    severity_cut = np.cumsum(r.severity_shares) / np.sum(r.severity_shares)
    recovery_median = np.asarray(r.recovery_median_days)
    relapse_top = np.maximum(1.0, cohort.effect_rr)
    pira_top = np.maximum(1.0, cohort.effect_hr)
    months = len(bounds) - 1

    for m in range(months):
        d0, d1 = int(bounds[m]), int(bounds[m + 1])
        ldn.close_finished(d0)
        supp.close_finished(d0)
        alive = (cohort.entry_day < d1) & ~dropped
        first = np.maximum(d0, cohort.entry_day)
        at_risk_days = np.where(alive, d1 - first, 0)
        years = at_risk_days / DAYS_PER_YEAR
        years_at_risk += years
        on_days = np.where(alive, ldn.days_on(first, d1 - 1), 0)
        on_share = np.divide(on_days, at_risk_days, out=np.zeros(n), where=at_risk_days > 0)
        years_on_ldn += on_days / DAYS_PER_YEAR
        duration = np.maximum(0.0, (d0 - cohort.onset_day) / DAYS_PER_YEAR)
        sp_now = ~cohort.ppms & (cohort.sp_day <= d0)
        dmt_on = (
            (cohort.dmt_start >= 0)
            & (cohort.dmt_start <= d0)
            & ((cohort.dmt_stop < 0) | (cohort.dmt_stop >= d0))
        )
        draws = hist_rng.random((9, n), dtype=np.float32)

        # Relapses, thinned by the LDN status of the onset day.
        base = np.where(
            cohort.ppms, r.base_rate_pp, np.where(sp_now, r.base_rate_sp, r.base_rate_rr)
        )
        rate = (
            base
            * r.decline_per_5_years ** (duration / 5.0)
            * cohort.frailty
            * np.where(dmt_on, params.dmt.relapse_rate_ratio, 1.0)
        )
        onset = first + (draws[1] * np.maximum(at_risk_days, 1)).astype(np.int64)
        on_at_onset = ldn.on_day(onset)
        keep = np.where(on_at_onset, cohort.effect_rr, 1.0) / relapse_top
        relapse = alive & (draws[0] < rate * relapse_top * years) & (draws[2] < keep)
        severity = np.searchsorted(severity_cut, draws[3], side="right").clip(0, 2)
        recovery_days = recovery_median[severity] * np.exp(
            r.recovery_log_sd * hist_rng.standard_normal(n)
        )
        recovery_days *= np.where(on_at_onset, cohort.effect_recovery, 1.0)
        recovery = onset + np.ceil(recovery_days).astype(np.int64)
        residual = np.where(
            draws[4] < r.residual_full_step,
            1.0,
            np.where(draws[4] < r.residual_full_step + r.residual_half_step, 0.5, 0.0),
        )
        edss = np.where(relapse, step_up(edss, residual, pr.edss_max), edss)
        tallies["relapses"] += relapse
        tallies["relapses_on"] += relapse & on_at_onset
        recent = relapse | (last_relapse >= d0 - 61)
        last_relapse = np.where(relapse, onset, last_relapse)
        pseudo = alive & (draws[5] < r.pseudo_rate * years)

        # Worsening independent of relapses: one EDSS step (1.0 up to 5.5, then 0.5).
        pira_rate = np.where(
            cohort.ppms, pr.pira_rate_pp, np.where(sp_now, pr.pira_rate_sp, pr.pira_rate_rr)
        )
        pira_day = first + (draws[7] * np.maximum(at_risk_days, 1)).astype(np.int64)
        pira_on_day = ldn.on_day(pira_day)
        keep = np.where(pira_on_day, cohort.effect_hr, 1.0) / pira_top
        worsening = alive & (draws[6] < pira_rate * pira_top * years) & (draws[8] < keep)
        step = np.where(edss < 5.5, 1.0, 0.5)
        edss = np.where(worsening, step_up(edss, step, pr.edss_max), edss)
        tallies["pira"] += worsening
        tallies["pira_on"] += worsening & pira_on_day

        # Latent fatigue (population SD units): usual level + AR(1) state + flare + disability,
        # plus the LDN effect for the share of the month spent on LDN.
        state = phi * state + np.sqrt(1 - phi * phi) * state_sd * hist_rng.standard_normal(n)
        flare = flare * f.flare_monthly_decay + np.where(relapse, f.relapse_flare, 0.0)
        fatigue = (
            cohort.fatigue_trait
            + state
            + flare
            + f.edss_coefficient * (edss - 3.0)
            + on_share * fatigue_effect_sd_units
        )
        above_usual = fatigue - cohort.fatigue_trait

        # Informative dropout at the end of the month.
        hazard = rep.dropout_per_year * np.exp(rep.dropout_worse_log_hazard * above_usual)
        leaving = alive & (hist_rng.random(n) < -np.expm1(-hazard * years)) & (d1 <= end_day)
        dropped |= leaving
        exit_day = np.where(leaving, d1 - 1, exit_day)

        # LDN and the negative-control supplement: same reasons, same self-selection.
        next_len = int(bounds[m + 2] - bounds[m + 1]) if m + 1 < months else 0
        ldn_started = np.zeros(n, dtype=bool)
        for courses, rng, base_rate in (
            (ldn, ldn_rng, u.base_start_per_year),
            (supp, supp_rng, u.supplement_base_start_per_year),
        ):
            started = _decide(
                rng,
                courses,
                base_rate,
                u,
                alive=alive & ~leaving,
                recent_relapse=recent,
                relapse_on=relapse & on_at_onset,
                fatigue=fatigue,
                fatigue_above_usual=above_usual,
                trait=cohort.fatigue_trait,
                on_dmt=dmt_on,
                years=years,
                next_lo=d1,
                next_len=next_len,
            )
            if courses is ldn:
                ldn_started = started
        # An attack during which LDN is started recovers faster (or slower) from that day on.
        during = relapse & ldn_started & (ldn.start < recovery)
        remaining = np.ceil((recovery - ldn.start) * cohort.effect_recovery).astype(np.int64)
        recovery = np.where(during, ldn.start + remaining, recovery)
        active_from = np.where(relapse, onset, active_from)
        active_until = np.where(relapse, recovery, active_until)

        recorder.month(
            d0=d0,
            d1=d1,
            alive=alive,
            first=first,
            years=years,
            edss=edss,
            active_from=active_from,
            active_until=active_until,
            fatigue=fatigue,
            above_usual=above_usual,
            flare=flare,
            relapse=relapse,
            onset=onset,
            recovery=recovery,
            severity=severity,
            pseudo=pseudo,
            exit_day=exit_day,
            ldn=ldn,
            ldn_started=ldn_started,
        )
        if on_month:
            on_month(m)

    ldn.finish(exit_day)
    supp.finish(exit_day)
    return History(
        params=params,
        bounds=bounds,
        cohort=cohort,
        exit_day=exit_day,
        dropped=dropped,
        edss_exit=edss,
        pira_events=tallies["pira"],
        pira_events_on_ldn=tallies["pira_on"],
        relapses_true=tallies["relapses"],
        relapses_on_ldn=tallies["relapses_on"],
        years_at_risk=years_at_risk,
        years_on_ldn=years_on_ldn,
        ldn=ldn.arrays(),
        supplement=supp.arrays(),
        recorder=recorder,
    )
