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
from dataclasses import dataclass

import numpy as np

from .cohort import DAYS_PER_YEAR, Cohort, draw_cohort, month_boundaries, step_up
from .courses import Courses, decide
from .observe import Recorder, WorldB
from .params import SimulationParams
from .trace import Trace

#: Child of the seed's SeedSequence that draws the unrecorded confounder (children 0-5 are
#: the cohort, history, LDN, supplement, observation and dose streams).
CONFOUNDER_STREAM = 7
#: Child that draws the dose steps of LDN courses (``.generate``).
DOSE_STREAM = 5
#: Child that draws the rater error of clinic visits only the world without LDN's effect has
#: (its own stream: the registry's records do not depend on whether the truth is computed).
WORLD_B_RATER_STREAM = 9


def child_stream(seed: int, child: int) -> np.random.Generator:
    """The generator of one child of the seed's SeedSequence (each draw of its own kind has
    its own child, so turning one on or off moves no other draw)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(child + 1)[-1]))


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
    recorder: Recorder | None
    unmeasured: np.ndarray
    trace: Trace | None

    @property
    def recorded(self) -> Recorder:
        """The observations (a run with ``record=False`` has none)."""
        if self.recorder is None:
            raise ValueError("this history was simulated without recording observations")
        return self.recorder

    @property
    def traced(self) -> Trace:
        """The latent course month by month (only from a run with ``trace=True``)."""
        if self.trace is None:
            raise ValueError("this history was simulated without a trace")
        return self.trace


def unmeasured_factor(params: SimulationParams) -> np.ndarray:
    """Each patient's unrecorded factor U ~ N(0, 1), from its own stream (the knob changes no
    other draw)."""
    return child_stream(params.seed, CONFOUNDER_STREAM).standard_normal(params.patients)


def simulate_history(
    params: SimulationParams,
    on_month: Callable[[int], None] | None = None,
    *,
    record: bool = True,
    trace: bool = False,
    counterfactual: Trace | None = None,
) -> History:
    """Run the whole simulation; returns latent tallies and the recorded events.

    ``on_month(m)`` is called after each simulated month (for progress bars). ``record=False``
    skips the observations (a counterfactual run needs only the latent course); ``trace=True``
    keeps each month's latent values per patient for the estimands (``.estimands``);
    ``counterfactual`` (the trace of the run without LDN's effect) makes every EDSS visit also
    record the score that world would have shown, and records that world's own attacks and the
    clinic visits during them (``.observe.Recorder``).
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
    # the latest attack's recovery day without LDN's effect, and whether LDN's effect applies
    active_untreated = np.full(n, -1, dtype=np.int64)
    active_median = np.zeros(n)  # its severity's median days to recovery
    active_treated = np.zeros(n, dtype=bool)
    last_relapse = np.full(n, -(10**6), dtype=np.int64)
    tallies = {
        name: np.zeros(n, dtype=np.int64) for name in ("pira", "pira_on", "relapses", "relapses_on")
    }
    years_at_risk = np.zeros(n)
    years_on_ldn = np.zeros(n)
    ldn, supp = Courses(n), Courses(n)
    recorder = (
        Recorder(
            params,
            cohort,
            obs_rng,
            end_day,
            world_b_rng=child_stream(params.seed, WORLD_B_RATER_STREAM),
        )
        if record
        else None
    )
    months = len(bounds) - 1
    tracer = Trace(n, months) if trace else None
    cf = params.confounding
    unmeasured = unmeasured_factor(params)
    strength_u = cf.strength * unmeasured
    relapse_confounding = np.exp(cf.relapse_log_rate * strength_u)
    pira_confounding = np.exp(cf.pira_log_rate * strength_u)
    phi = f.monthly_autocorrelation
    state_sd = np.sqrt(1.0 - f.trait_share)
    fatigue_effect_sd_units = cohort.effect_fatigue_points / f.mfis_sd
    severity_cut = np.cumsum(r.severity_shares) / np.sum(r.severity_shares)
    recovery_median = np.asarray(r.recovery_median_days)
    relapse_top = np.maximum(1.0, cohort.effect_rr)
    pira_top = np.maximum(1.0, cohort.effect_hr)

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
            * relapse_confounding
        )
        onset = first + (draws[1] * np.maximum(at_risk_days, 1)).astype(np.int64)
        on_at_onset = ldn.on_day(onset)
        keep = np.where(on_at_onset, cohort.effect_rr, 1.0) / relapse_top
        relapse = alive & (draws[0] < rate * relapse_top * years) & (draws[2] < keep)
        severity = np.searchsorted(severity_cut, draws[3], side="right").clip(0, 2)
        recovery_days = recovery_median[severity] * np.exp(
            r.recovery_log_sd * hist_rng.standard_normal(n)
        )
        untreated_recovery = onset + np.ceil(recovery_days).astype(np.int64)
        recovery_days *= np.where(on_at_onset, cohort.effect_recovery, 1.0)
        recovery = onset + np.ceil(recovery_days).astype(np.int64)
        # a start set last month for a day after this onset falls inside the attack: from
        # that day on it recovers faster (or slower), as below for later starts
        start_inside = relapse & ~on_at_onset & (ldn.start > onset) & (ldn.start < recovery)
        recovery = np.where(
            start_inside,
            ldn.start + np.ceil((recovery - ldn.start) * cohort.effect_recovery).astype(np.int64),
            recovery,
        )
        if tracer is not None:
            # the engine's "started during the attack": onset <= start <= recovery, both
            # inclusive (a start on the onset day is "on at onset" here; one on the recovery
            # day changes nothing)
            traced = start_inside | (
                relapse
                & (ldn.start >= onset)
                & (ldn.start == np.where(on_at_onset, onset, untreated_recovery))
            )
            tracer.attacks(
                np.flatnonzero(traced),
                onset[traced],
                ldn.start[traced],
                untreated_recovery[traced],
                recovery[traced],
                recovery_median[severity][traced],
                cohort.effect_recovery[traced],
            )
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
        pira_rate = (
            np.where(
                cohort.ppms, pr.pira_rate_pp, np.where(sp_now, pr.pira_rate_sp, pr.pira_rate_rr)
            )
            * pira_confounding
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
            + cf.fatigue_sd_per_year * strength_u * (d0 - cohort.entry_day) / DAYS_PER_YEAR
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
        start_hazard = np.zeros(n)
        for courses, rng, base_rate in (
            (ldn, ldn_rng, u.base_start_per_year),
            (supp, supp_rng, u.supplement_base_start_per_year),
        ):
            started, hazard = decide(
                rng,
                courses,
                base_rate,
                u,
                alive=alive & ~leaving,
                recent_relapse=recent,
                relapse_on=relapse & courses.on_day(onset),  # on this product
                fatigue=fatigue,
                fatigue_above_usual=above_usual,
                trait=cohort.fatigue_trait,
                on_dmt=dmt_on,
                unmeasured=strength_u,
                years=years,
                next_lo=d1,
                next_len=next_len,
            )
            if courses is ldn:
                ldn_started, start_hazard = started, hazard
        # An attack during which LDN is started recovers faster (or slower) from that day on:
        # this month's, or an earlier one still going on the start day (a start follows an
        # attack by up to two months, ``courses.decide``).
        active_from = np.where(relapse, onset, active_from)
        active_until = np.where(relapse, recovery, active_until)
        active_untreated = np.where(relapse, untreated_recovery, active_untreated)
        active_median = np.where(relapse, recovery_median[severity], active_median)
        active_treated = np.where(relapse, on_at_onset | start_inside, active_treated)
        during = ldn_started & (active_from >= 0) & ~active_treated & (ldn.start < active_until)
        remaining = np.ceil((active_until - ldn.start) * cohort.effect_recovery).astype(np.int64)
        changed = during & (ldn.start + remaining != active_until)
        active_until = np.where(during, ldn.start + remaining, active_until)
        active_treated |= during
        recovery = np.where(relapse, active_until, recovery)
        if recorder is not None:  # attacks recorded in an earlier month
            recorder.attack_recovery_changed(
                np.flatnonzero(changed & ~relapse), active_until[changed & ~relapse]
            )

        if tracer is not None:
            tracer.month(
                m,
                alive=alive,
                on_share=on_share,
                fatigue=fatigue,
                edss=edss,
                flare=flare,
                relapse_untreated=rate * years,
                relapse_expected=rate * years * (1 + on_share * (cohort.effect_rr - 1)),
                pira_untreated=pira_rate * years,
                pira_expected=pira_rate * years * (1 + on_share * (cohort.effect_hr - 1)),
                start_hazard=start_hazard,
                attack_from=active_from,
                attack_until=active_until,
            )
            # the engine's treated attacks: those during which LDN was started (one that
            # recovers on the start day too: the engine's rule is inclusive)
            traced = during | (
                ldn_started & (active_from >= 0) & ~active_treated & (ldn.start == active_until)
            )
            tracer.attacks(
                np.flatnonzero(traced),
                active_from[traced],
                ldn.start[traced],
                active_untreated[traced],
                active_until[traced],
                active_median[traced],
                cohort.effect_recovery[traced],
            )
        if recorder is not None:
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
                on_share=on_share,
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
                world_b=None if counterfactual is None else WorldB.of(counterfactual, m),
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
        unmeasured=unmeasured,
        trace=tracer,
    )
