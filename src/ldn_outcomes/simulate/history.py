"""The month-by-month natural history, treatment decisions and what gets recorded.

One loop over calendar months; inside it every step is a NumPy operation over all patients
(no per-patient Python code). Each month draws the same number of random numbers whatever
happened before, so two runs with the same seed and different effect knobs share their random
numbers (common random numbers): differences between them come from the knobs, not from noise.

Order within a month: relapses and pseudo-relapses; disability worsening (PIRA); latent fatigue;
registry dropout; LDN and supplement starts and stops; then the observations (clinic EDSS,
MFIS/FSS, daily check-ins, adverse events).
"""

from __future__ import annotations

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

    def on_at(self, day: int | np.ndarray) -> np.ndarray:
        return (self.start >= 0) & (self.start <= day) & ((self.stop < 0) | (self.stop >= day))

    def close_finished(self, before_day: int) -> None:
        done = np.flatnonzero((self.stop >= 0) & (self.stop < before_day))
        self._record(done, self.stop[done])

    def cancel_after(self, mask: np.ndarray, last_day: np.ndarray) -> None:
        """Forget starts planned after a patient's last contact."""
        gone = mask & (self.start > last_day)
        self.start[gone] = -1
        self.stop[gone] = -1

    def finish(self, exit_day: np.ndarray) -> None:
        open_ = np.flatnonzero((self.start >= 0) & (self.start <= exit_day))
        self._record(open_, self.stop[open_])

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


def _uptake(
    rng: np.random.Generator,
    courses: Courses,
    base_per_year: float,
    u: UptakeParams,
    *,
    candidates: np.ndarray,
    recent_relapse: np.ndarray,
    relapse_now: np.ndarray,
    onset: np.ndarray,
    fatigue_above_usual: np.ndarray,
    trait: np.ndarray,
    on_dmt: np.ndarray,
    years: np.ndarray,
    first: np.ndarray,
    d1: int,
) -> np.ndarray:
    """Start courses this month; returns the mask of patients who started."""
    n = courses.n
    log_hazard = (
        u.relapse_log_hazard * recent_relapse
        + u.fatigue_state_log_hazard * fatigue_above_usual
        + u.fatigue_trait_log_hazard * trait
        + u.dmt_log_hazard * on_dmt
        + np.log(u.restart_factor) * courses.had_course
    )
    hazard = base_per_year * np.exp(log_hazard)
    draw, when, delay = rng.random(n), rng.random(n), rng.random(n)
    started = candidates & (draw < -np.expm1(-hazard * years))
    lo, hi = u.start_delay_days
    triggered = onset + lo + (delay * (hi - lo + 1)).astype(np.int64)
    anytime = first + (when * (d1 - first)).astype(np.int64)
    start_day = np.where(relapse_now, triggered, anytime)
    courses.start[started] = start_day[started]
    courses.stop[started] = -1
    courses.had_course |= started
    return started


def _discontinue(
    rng: np.random.Generator,
    courses: Courses,
    u: UptakeParams,
    *,
    alive: np.ndarray,
    relapse_on: np.ndarray,
    fatigue: np.ndarray,
    years: np.ndarray,
    first: np.ndarray,
    d1: int,
    started: np.ndarray,
) -> None:
    n = courses.n
    running = alive & (courses.start >= 0) & (courses.start < d1) & (courses.stop < 0) & ~started
    worse = np.maximum(0.0, fatigue - courses.fatigue_at_start)
    hazard = u.stop_per_year * np.exp(
        u.stop_relapse_log_hazard * relapse_on + u.stop_worse_log_hazard * worse
    )
    draw, when = rng.random(n), rng.random(n)
    stopping = running & (draw < -np.expm1(-hazard * years))
    lo = np.maximum(courses.start, first)
    stop_day = lo + (when * (d1 - lo)).astype(np.int64)
    courses.stop[stopping] = stop_day[stopping]


def simulate_history(params: SimulationParams) -> History:
    """Run the whole simulation; returns latent tallies and the recorded events."""
    streams = [np.random.Generator(np.random.PCG64(s))
               for s in np.random.SeedSequence(params.seed).spawn(5)]
    cohort_rng, hist_rng, ldn_rng, supp_rng, obs_rng = streams
    bounds = month_boundaries(params)
    cohort = draw_cohort(params, cohort_rng, bounds)
    n = cohort.n
    r, pr, f, rep, u = (params.relapses, params.progression, params.fatigue, params.reporting,
                        params.uptake)
    end_day = int(bounds[-1] - 1)

    edss = cohort.edss_entry.copy()
    state = cohort.fatigue_state0.copy()
    flare = np.zeros(n)
    dropped = np.zeros(n, dtype=bool)
    exit_day = np.full(n, end_day, dtype=np.int64)
    active_until = np.full(n, -1, dtype=np.int64)
    last_relapse = np.full(n, -(10**6), dtype=np.int64)
    pira = np.zeros(n, dtype=np.int64)
    pira_on = np.zeros(n, dtype=np.int64)
    relapses_true = np.zeros(n, dtype=np.int64)
    relapses_on = np.zeros(n, dtype=np.int64)
    years_at_risk = np.zeros(n)
    years_on_ldn = np.zeros(n)
    ldn, supp = Courses(n), Courses(n)
    recorder = Recorder(params, cohort, obs_rng, end_day)
    phi = f.monthly_autocorrelation
    state_sd = np.sqrt(1.0 - f.trait_share)
    fatigue_effect_sd_units = cohort.effect_fatigue_points / f.mfis_sd
    severity_p = np.asarray(r.severity_shares) / np.sum(r.severity_shares)
    recovery_median = np.asarray(r.recovery_median_days)

    for m in range(len(bounds) - 1):
        d0, d1 = int(bounds[m]), int(bounds[m + 1])
        ldn.close_finished(d0)
        supp.close_finished(d0)
        alive = (cohort.entry_day < d1) & ~dropped
        first = np.maximum(d0, cohort.entry_day)
        years = np.where(alive, (d1 - first) / DAYS_PER_YEAR, 0.0)
        years_at_risk += years
        duration = np.maximum(0.0, (d0 - cohort.onset_day) / DAYS_PER_YEAR)
        sp_now = ~cohort.ppms & (cohort.sp_day <= d0)
        ldn_on = ldn.on_at(d0) & alive
        years_on_ldn += np.where(ldn_on, years, 0.0)
        dmt_on = (cohort.dmt_start >= 0) & (cohort.dmt_start <= d0) & (
            (cohort.dmt_stop < 0) | (cohort.dmt_stop >= d0)
        )

        # Relapses: Bernoulli per month with probability rate x time at risk (rate << 12/year).
        base = np.where(cohort.ppms, r.base_rate_pp, np.where(sp_now, r.base_rate_sp,
                                                              r.base_rate_rr))
        rate = (base * r.decline_per_5_years ** (duration / 5.0) * cohort.frailty
                * np.where(dmt_on, params.dmt.relapse_rate_ratio, 1.0)
                * np.where(ldn_on, cohort.effect_rr, 1.0))
        draws = hist_rng.random((6, n))
        relapse = alive & (draws[0] < rate * years)
        onset = first + (draws[1] * (d1 - first)).astype(np.int64)
        severity = np.searchsorted(np.cumsum(severity_p), draws[2], side="right").clip(0, 2)
        recovery_days = recovery_median[severity] * np.exp(r.recovery_log_sd
                                                          * hist_rng.standard_normal(n))
        recovery_days *= np.where(ldn_on, cohort.effect_recovery, 1.0)
        recovery = onset + np.ceil(recovery_days).astype(np.int64)
        residual = np.where(draws[3] < r.residual_full_step, 1.0,
                            np.where(draws[3] < r.residual_full_step + r.residual_half_step,
                                     0.5, 0.0))
        edss = np.where(relapse, step_up(edss, residual, pr.edss_max), edss)
        relapses_true += relapse
        relapses_on += relapse & ldn_on
        recent = relapse | (last_relapse >= d0 - 61)
        last_relapse = np.where(relapse, onset, last_relapse)
        pseudo = alive & (draws[4] < r.pseudo_rate * years)

        # Disability worsening independent of relapses: one EDSS step (1.0 up to 5.5, then 0.5).
        pira_rate = np.where(cohort.ppms, pr.pira_rate_pp,
                             np.where(sp_now, pr.pira_rate_sp, pr.pira_rate_rr))
        pira_rate = pira_rate * np.where(ldn_on, cohort.effect_hr, 1.0)
        worsening = alive & (draws[5] < pira_rate * years)
        step = np.where(edss < 5.5, 1.0, 0.5)
        edss = np.where(worsening, step_up(edss, step, pr.edss_max), edss)
        pira += worsening
        pira_on += worsening & ldn_on

        # Latent fatigue (population SD units): usual level + AR(1) state + flare + disability.
        state = phi * state + np.sqrt(1 - phi * phi) * state_sd * hist_rng.standard_normal(n)
        flare = flare * f.flare_monthly_decay + np.where(relapse, f.relapse_flare, 0.0)
        fatigue = (cohort.fatigue_trait + state + flare + f.edss_coefficient * (edss - 3.0)
                   + np.where(ldn_on, fatigue_effect_sd_units, 0.0))
        above_usual = fatigue - cohort.fatigue_trait

        # Informative dropout at the end of the month.
        hazard = rep.dropout_per_year * np.exp(rep.dropout_worse_log_hazard * above_usual)
        leaving = alive & (hist_rng.random(n) < -np.expm1(-hazard * years)) & (d1 <= end_day)
        dropped |= leaving
        exit_day = np.where(leaving, d1 - 1, exit_day)

        # LDN and the negative-control supplement: same reasons, same self-selection.
        started = {}
        for courses, rng, base_rate in ((ldn, ldn_rng, u.base_start_per_year),
                                        (supp, supp_rng, u.supplement_base_start_per_year)):
            started[id(courses)] = _uptake(
                rng, courses, base_rate, u, candidates=alive & (courses.start < 0),
                recent_relapse=recent, relapse_now=relapse, onset=onset,
                fatigue_above_usual=above_usual, trait=cohort.fatigue_trait, on_dmt=dmt_on,
                years=years, first=first, d1=d1,
            )
            courses.fatigue_at_start = np.where(started[id(courses)], fatigue,
                                                courses.fatigue_at_start)
            _discontinue(rng, courses, u, alive=alive, relapse_on=relapse & ldn_on,
                         fatigue=fatigue, years=years, first=first, d1=d1,
                         started=started[id(courses)])
            courses.cancel_after(leaving, exit_day)
        ldn_started = started[id(ldn)] & (ldn.start >= 0)
        # An attack during which LDN is started recovers faster (or slower) from that day on.
        during = relapse & ldn_started & (ldn.start < recovery) & ~ldn_on
        remaining = np.ceil((recovery - ldn.start) * cohort.effect_recovery).astype(np.int64)
        recovery = np.where(during, ldn.start + remaining, recovery)
        active_until = np.where(relapse, recovery, active_until)

        recorder.month(
            d0=d0, d1=d1, alive=alive, first=first, years=years, edss=edss,
            active_until=active_until, fatigue=fatigue, above_usual=above_usual, flare=flare,
            relapse=relapse, onset=onset, recovery=recovery, severity=severity, pseudo=pseudo,
            exit_day=exit_day, ldn=ldn, ldn_started=ldn_started,
        )

    ldn.finish(exit_day)
    supp.finish(exit_day)
    return History(
        params=params, bounds=bounds, cohort=cohort, exit_day=exit_day, dropped=dropped,
        edss_exit=edss, pira_events=pira, pira_events_on_ldn=pira_on,
        relapses_true=relapses_true, relapses_on_ldn=relapses_on, years_at_risk=years_at_risk,
        years_on_ldn=years_on_ldn, ldn=ldn.arrays(), supplement=supp.arrays(),
        recorder=recorder,
    )
