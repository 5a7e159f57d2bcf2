"""Baseline draws: who enters the registry, when, with which disease and latent traits.

All days are integers counted from 1970-01-01 (``numpy.datetime64`` days), so the whole
simulation stays in integer arithmetic and is exactly reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import SimulationParams

DAYS_PER_YEAR = 365.25
NEVER = np.iinfo(np.int32).max


def to_day(value: np.datetime64 | str) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))


def month_boundaries(params: SimulationParams) -> np.ndarray:
    """First day of each simulated month, plus the day after the end date (length M + 1)."""
    end = np.datetime64(params.end_date, "D")
    end_month = end.astype("datetime64[M]")
    months = max(1, int(round(params.years * 12)))
    starts = np.arange(end_month - months + 1, end_month + 1, dtype="datetime64[M]")
    days = starts.astype("datetime64[D]").astype(np.int64)
    return np.append(days, end.astype(np.int64) + 1).astype(np.int64)


def snap_edss(values: np.ndarray) -> np.ndarray:
    """Nearest valid EDSS (0, 1.0 ... 9.5): half steps, and 0.5 becomes 0 or 1.0."""
    snapped = np.round(np.clip(values, 0.0, 9.5) * 2) / 2
    return np.where(snapped == 0.5, np.where(values >= 0.5, 1.0, 0.0), snapped)


def step_up(edss: np.ndarray, step: np.ndarray, cap: float) -> np.ndarray:
    """Raise EDSS by ``step`` on its scale (a rise from 0 lands on 1.0)."""
    raised = edss + step
    raised = np.where((edss == 0) & (step > 0), np.maximum(raised, 1.0), raised)
    return np.minimum(raised, cap)


@dataclass
class Cohort:
    """Per-patient baseline values (arrays of length n)."""

    n: int
    female: np.ndarray
    ppms: np.ndarray
    onset_age: np.ndarray
    onset_day: np.ndarray
    diagnosis_day: np.ndarray
    birth_year: np.ndarray
    entry_day: np.ndarray
    sp_day: np.ndarray
    edss_entry: np.ndarray
    frailty: np.ndarray
    fatigue_trait: np.ndarray
    fatigue_state0: np.ndarray
    responder_z: np.ndarray
    effect_rr: np.ndarray
    effect_hr: np.ndarray
    effect_fatigue_points: np.ndarray
    effect_recovery: np.ndarray
    adherence: np.ndarray
    checkin_user: np.ndarray
    pro_reporter: np.ndarray
    engagement: np.ndarray
    dmt_drug: np.ndarray
    dmt_start: np.ndarray
    dmt_stop: np.ndarray
    site: np.ndarray
    clinician: np.ndarray


def draw_cohort(params: SimulationParams, rng: np.random.Generator, bounds: np.ndarray) -> Cohort:
    n = params.patients
    c, pr, f = params.cohort, params.progression, params.fatigue
    months = len(bounds) - 1
    female = rng.random(n) < c.female_share
    ppms = rng.random(n) < c.ppms_share
    onset_age = rng.normal(c.onset_age_mean, c.onset_age_sd, n) + np.where(
        ppms, c.ppms_onset_age_shift, 0.0
    )
    onset_age = np.clip(onset_age, 16.0, 65.0)
    entry_month = rng.integers(0, max(1, int(months * c.entry_spread)), n)
    month_len = bounds[entry_month + 1] - bounds[entry_month]
    entry_day = bounds[entry_month] + (rng.random(n) * month_len).astype(np.int64)
    duration = np.minimum(rng.gamma(2.0, c.duration_at_entry_mean / 2.0, n), 40.0)
    onset_day = entry_day - np.round(duration * DAYS_PER_YEAR).astype(np.int64)
    delay = np.minimum(rng.exponential(c.diagnostic_delay_mean, n), duration)
    diagnosis_day = onset_day + np.floor(delay * DAYS_PER_YEAR).astype(np.int64)
    birth_day = onset_day - np.round(onset_age * DAYS_PER_YEAR).astype(np.int64)
    birth_year = birth_day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970

    if pr.spms_hazard > 0:
        to_sp = rng.exponential(1.0 / pr.spms_hazard, n)
    else:
        rng.exponential(1.0, n)
        to_sp = np.full(n, np.inf)
    sp_day = np.where(
        ppms | ~np.isfinite(to_sp),
        NEVER,
        onset_day + np.round(np.minimum(to_sp, 200.0) * DAYS_PER_YEAR),
    ).astype(np.int64)
    years_sp = np.clip((entry_day - sp_day) / DAYS_PER_YEAR, 0.0, None)
    sp_at_entry = sp_day <= entry_day
    edss_raw = (
        np.where(ppms, 2.5, 1.0)
        + c.edss_slope_entry * duration * np.where(ppms, 2.0, 1.0)
        + np.where(sp_at_entry, 2.0 + 0.2 * years_sp, 0.0)
        + rng.normal(0.0, 1.0, n)
    )
    edss_entry = snap_edss(np.clip(edss_raw, 0.0, 8.5))

    r = params.relapses
    frailty = rng.gamma(r.frailty_shape, 1.0 / r.frailty_shape, n)
    trait = rng.normal(0.0, np.sqrt(f.trait_share), n)
    state0 = rng.normal(0.0, np.sqrt(1.0 - f.trait_share), n)

    e = params.effects
    z = rng.normal(0.0, 1.0, n)
    h = e.heterogeneity_sd
    effect_rr = e.relapse_rate_ratio * np.exp(-h * z)
    effect_hr = e.progression_hazard_ratio * np.exp(-h * z)
    effect_recovery = e.relapse_recovery_ratio * np.exp(-h * z)
    effect_fatigue = e.fatigue_points * np.exp(h * z - h * h / 2.0)

    u = params.uptake
    adherence = rng.beta(u.adherence_beta[0], u.adherence_beta[1], n)
    rep = params.reporting
    checkin_user = rng.random(n) < rep.checkin_user_share
    pro_reporter = rng.random(n) < rep.pro_reporter_share
    engagement = rng.normal(0.0, rep.checkin_engagement_sd, n)

    d = params.dmt
    on_dmt = rng.random(n) < np.where(ppms, d.share_ppms, d.share_relapsing)
    shares = np.asarray(d.drug_shares, dtype=float)
    drug = rng.choice(len(d.drugs), size=n, p=shares / shares.sum())
    ocrelizumab = d.drugs.index("ocrelizumab") if "ocrelizumab" in d.drugs else 0
    drug = np.where(ppms, ocrelizumab, drug)
    dmt_drug = np.where(on_dmt, drug, -1)
    back = (rng.random(n) * 5 * DAYS_PER_YEAR).astype(np.int64)
    dmt_start = np.where(on_dmt, np.maximum(diagnosis_day, entry_day - back), -1)
    stops = (
        on_dmt & (sp_day > entry_day) & (sp_day < NEVER) & (rng.random(n) < d.stop_at_spms_share)
    )
    stop_day = sp_day + (rng.random(n) * 180).astype(np.int64)
    dmt_stop = np.where(stops, np.maximum(stop_day, dmt_start), -1)

    sites = max(1, min(c.sites, n // 100 or 1))
    site = rng.integers(0, sites, n)
    clinician = site * c.clinicians_per_site + rng.integers(0, c.clinicians_per_site, n)
    return Cohort(
        n=n,
        female=female,
        ppms=ppms,
        onset_age=onset_age,
        onset_day=onset_day,
        diagnosis_day=diagnosis_day,
        birth_year=birth_year,
        entry_day=entry_day,
        sp_day=sp_day,
        edss_entry=edss_entry,
        frailty=frailty,
        fatigue_trait=trait,
        fatigue_state0=state0,
        responder_z=z,
        effect_rr=effect_rr,
        effect_hr=effect_hr,
        effect_fatigue_points=effect_fatigue,
        effect_recovery=effect_recovery,
        adherence=adherence,
        checkin_user=checkin_user,
        pro_reporter=pro_reporter,
        engagement=engagement,
        dmt_drug=dmt_drug,
        dmt_start=dmt_start,
        dmt_stop=dmt_stop,
        site=site,
        clinician=clinician,
    )
