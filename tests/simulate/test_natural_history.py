"""Simulated untreated rates and instrument distributions match the configured values.

Each tolerance is four standard errors computed from the simulated sample itself, so a failure
means a real mismatch, not bad luck (a false alarm has probability < 1e-4 per check).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import integrate, stats

from ldn_outcomes.simulate import SimulationParams, simulate_registry

#: Untreated, no LDN or supplement, no decline with duration, no SPMS: one constant rate.
QUIET = SimulationParams(patients=4000, years=4, seed=101).replace(
    cohort__ppms_share=0.0,
    progression__spms_hazard=0.0,
    dmt__share_relapsing=0.0,
    relapses__decline_per_5_years=1.0,
    uptake__base_start_per_year=0.0,
    uptake__supplement_base_start_per_year=0.0,
)


def truth_frame(registry) -> pd.DataFrame:
    return pd.DataFrame(registry.truth["patients"])


def ratio_estimate(counts: np.ndarray, exposure: np.ndarray) -> tuple[float, float]:
    """Rate = sum(counts) / sum(exposure) with its robust (sandwich) standard error."""
    rate = counts.sum() / exposure.sum()
    se = np.sqrt(np.sum((counts - rate * exposure) ** 2)) / exposure.sum()
    return float(rate), float(se)


def test_untreated_relapse_rate_matches_the_configured_rate() -> None:
    registry = simulate_registry(QUIET)
    relapses = registry.frames["relapses"]
    true = relapses[relapses.lasted_24h & ~relapses.fever_or_infection]
    truth = truth_frame(registry)
    counts = true.groupby("patient_id").size().reindex(truth.patient_id, fill_value=0)
    rate, se = ratio_estimate(counts.to_numpy(float), truth.years_at_risk.to_numpy())
    assert true.shape[0] > 1000
    assert abs(rate - QUIET.relapses.base_rate_rr) < 4 * se, (rate, se)


def test_relapse_rate_declines_with_disease_duration() -> None:
    """17% lower every 5 years (Tremlett 2008): compare with a registry without the decline."""
    params = QUIET.replace(relapses__decline_per_5_years=0.83)
    registry = simulate_registry(params)
    truth = truth_frame(registry)
    relapses = registry.frames["relapses"]
    true = relapses[relapses.lasted_24h & ~relapses.fever_or_infection]
    counts = true.groupby("patient_id").size().reindex(truth.patient_id, fill_value=0)
    rate, se = ratio_estimate(counts.to_numpy(float), truth.years_at_risk.to_numpy())
    assert rate < QUIET.relapses.base_rate_rr - 4 * se


def test_progression_rate_in_ppms_matches_the_configured_hazard() -> None:
    params = QUIET.replace(
        cohort__ppms_share=1.0,
        relapses__base_rate_pp=0.0,
        relapses__pseudo_rate=0.0,
        dmt__share_ppms=0.0,
    )
    truth = truth_frame(simulate_registry(params))
    events = truth.pira_events.to_numpy(float)
    rate, se = ratio_estimate(events, truth.years_at_risk.to_numpy())
    assert events.sum() > 1000
    assert abs(rate - params.progression.pira_rate_pp) < 4 * se, (rate, se)


def test_edss_rater_error_has_the_published_agreement() -> None:
    """With no relapses and no worsening every visit rates the same latent EDSS: the share
    rated exactly right and the share one step off match Noseworthy 1990 (69%, 23%)."""
    params = QUIET.replace(
        relapses__base_rate_rr=0.0, relapses__pseudo_rate=0.0, progression__pira_rate_rr=0.0
    )
    registry = simulate_registry(params)
    truth = truth_frame(registry).set_index("patient_id")
    edss = registry.frames["edss"]
    latent = truth.edss_latent_entry.reindex(edss.patient_id).to_numpy()
    inner = (latent >= 2.0) & (latent <= 8.5)
    error = edss.score.to_numpy()[inner] - latent[inner]
    n = error.size
    exact, one, two = (np.isclose(np.abs(error), d).mean() for d in (0.0, 0.5, 1.0))
    p0, p1, p2 = params.edss.rater_error_probs
    for observed, expected in ((exact, p0), (one, p1), (two, p2)):
        assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
    assert abs(error.mean()) < 4 * error.std() / np.sqrt(n)


def expected_total(mean: float, sd: float, top: float, spread: float, lowest: float = 0.0):
    """E[lowest + top * clip((mean - lowest + sd * F) / top, 0, 1)] for F ~ N(0, spread^2)."""

    def integrand(z: float) -> float:
        share = np.clip((mean - lowest + sd * spread * z) / top, 0.0, 1.0)
        return (lowest + top * share) * stats.norm.pdf(z)

    return integrate.quad(integrand, -10, 10, limit=200)[0]


def test_instrument_means_match_the_configured_means() -> None:
    """First MFIS/FSS answer of each patient and all daily fatigue NRS, without flares,
    disability link or reporting that depends on how people feel."""
    params = QUIET.replace(
        fatigue__relapse_flare=0.0,
        fatigue__edss_coefficient=0.0,
        reporting__worse_reporting_log_odds=0.0,
        reporting__dropout_worse_log_hazard=0.0,
    )
    f = params.fatigue
    registry = simulate_registry(params)
    q = registry.frames["questionnaires"]
    spread = np.sqrt(1.0 + f.response_noise_sd**2)
    checks = {
        "mfis": expected_total(f.mfis_mean, f.mfis_sd, 84.0, spread),
        "fss": expected_total(f.fss_mean, f.fss_sd, 6.0, spread, lowest=1.0),
    }
    for instrument, expected in checks.items():
        first = q[q.instrument_id == instrument].groupby("patient_id").total.first()
        assert first.size > 1000
        se = first.std() / np.sqrt(first.size)
        assert abs(first.mean() - expected) < 4 * se + 0.005, (instrument, first.mean(), expected)
    assert abs(checks["mfis"] - f.mfis_mean) < 0.5  # clipping at the scale ends is small
    checkins = q[q.instrument_id == "checkin"]
    fatigue_nrs = checkins.groupby("patient_id").answers.first().map(lambda a: a[0])
    expected = expected_total(f.nrs_mean, f.nrs_sd, 10.0, np.sqrt(1.0 + f.daily_noise_sd**2))
    se = fatigue_nrs.std() / np.sqrt(fatigue_nrs.size)
    assert abs(fatigue_nrs.mean() - expected) < 4 * se


def test_people_report_more_when_they_feel_worse() -> None:
    """Same latent history (same seed), reporting with and without dependence on fatigue:
    each patient's reported MFIS runs higher when they answer more on bad days (paired by
    patient, so the standard error is that of the per-patient differences)."""
    base = QUIET.replace(fatigue__relapse_flare=0.0, fatigue__edss_coefficient=0.0)
    means = []
    for odds in (0.0, 1.0):
        q = simulate_registry(base.replace(reporting__worse_reporting_log_odds=odds)).frames[
            "questionnaires"
        ]
        means.append(q[q.instrument_id == "mfis"].groupby("patient_id").total.mean())
    paired = (means[1] - means[0]).dropna()
    assert paired.mean() > 4 * paired.std() / np.sqrt(paired.size), paired.describe()
