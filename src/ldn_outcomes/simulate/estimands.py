"""The true value of each quantity ``ldn analyze`` reports, as its estimator defines it.

Potential outcomes for the same people: the registry is simulated twice from the same seed,
once with the effect knobs as given (world A) and once with every LDN effect null and nobody
leaving the registry (world B: each patient's course without LDN's effect, followed to the
end). Both worlds draw the same random numbers (common random numbers), so up to a patient's
first LDN start the two courses are identical, and afterwards they differ only through LDN's
effect and its consequences (fewer attacks, less fatigue, later stopping).

The engine compares LDN users from their first start with matched patients who had not started
by then, followed by intention to treat (users stay in after stopping, controls after starting
later). Its target is therefore the effect of starting now versus not starting now, among
those who start: for users starting in month s,

    effect = mean over users of [A - B at s + h]  -  mean over the risk set of [A - B at s + h]

where the risk set is everyone under observation who has not yet started, weighted by their
hazard of starting that month (the simulator knows it; so the weighted risk set has exactly the
users' distribution of every latent trait: the ideal matched control group), and A - B in a
control is the effect of their own later starts (the dilution of an ITT comparison). Both terms
count only people still in the registry (world A) at s + h.

- Symptoms (``h`` = 12 months): expected questionnaire score at the latent level (the item
  model of ``.observe``, the response noise integrated out by Gauss-Hermite quadrature).
- Relapses: ratio of expected relapse counts in the two years (730.5 days) from the start day,
  A over B, users over controls (the ITT rate ratio given who stopped or switched): the
  engine's window (``relapse_window_years``). Counted from the start day, not from the first
  day of the start month: the days of that month before the start are not LDN's, and counting
  them (as whole months did) pulled the true ratio about 0.3% towards 1.
- Progression: the Cox hazard ratio of first recorded CDW in the users' EDSS visits with vs
  without the effect, the latter with the attacks LDN prevented and their visits
  (``.cdw_truth``), less the dilution by controls' later starts (the
  risk set's ratio of expected worsening events, on the log scale times the users' recorded
  over latent log ratio: rater error attenuates the controls' contrast as it does the users');
  the latent ratio of expected worsening
  events (independent worsening plus relapses leaving an EDSS residual) is given beside it.
  Both count from the start day to the end of the registry (the relapse ratio, from the start
  day for 730.5 days): whole months from the first day of the start month diluted them with
  untreated days.
- Relapse recovery: Cox hazard ratio (Breslow) of time to recovery of the attacks the engine
  counts as treated (LDN's first course started during the attack, onset <= start <= recovery,
  at most 90 days after the onset: ``AnalysisPlan.attack_course`` and ``attack_max_days``),
  with the effect against without it, each at risk from the start day on (delayed entry, as
  the engine counts them: the days before the start are the same in both worlds and are not
  LDN's), days counted from the onset, censored at 730 days: over many fresh draws of attacks
  like these (same severity, start day and patient), not over the registry's few dozen
  (``.recovery_truth``: a paired Cox fit on so few attacks lay further from 1 than its limit).
- Negative control: the supplement has no effect, so its ratio is 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..domain.definitions.relapse import DAYS_PER_YEAR
from .cdw_truth import recorded_cdw_hazard_ratio
from .history import History, child_stream
from .observe import FSS_STEPS, MFIS_ITEMS, MFIS_MAX
from .params import SimulationParams
from .recovery_truth import engine_treated, recovery_hazard_ratio

SYMPTOM_MONTHS = 12
#: The engine's relapse window after the (pseudo-)start (``AnalysisPlan.relapse_window_years``).
RELAPSE_YEARS = 2.0
RECOVERY_CENSOR_DAYS = 730.0
#: The engine's bound on a course counted as started during an attack
#: (``AnalysisPlan.attack_max_days``).
ATTACK_MAX_DAYS = 90.0
#: Child of the seed's SeedSequence that draws the recovery truth's attacks (``.recovery_truth``;
#: the registry's own streams are children 0-5 and 7, ``.history.CONFOUNDER_STREAM``, and 9,
#: ``.history.WORLD_B_RATER_STREAM``).
RECOVERY_TRUTH_STREAM = 8
#: Patients must have been in the registry this long to be a control (as the matching asks
#: for half of its one-year history window).
MIN_HISTORY_DAYS = 182
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def counterfactual_params(params: SimulationParams) -> SimulationParams:
    """World B: the same registry with every LDN effect null and no one leaving."""
    return params.replace(
        effects__relapse_rate_ratio=1.0,
        effects__progression_hazard_ratio=1.0,
        effects__fatigue_points=0.0,
        effects__relapse_recovery_ratio=1.0,
        effects__heterogeneity_sd=0.0,
        reporting__dropout_per_year=0.0,
    )


def _expected_share(mean: np.ndarray, sd: float) -> np.ndarray:
    """E[clip(mean + sd Z, 0, 1)], Z standard normal (quadrature)."""
    values = mean[..., None] + sd * _NODES
    return (np.clip(values, 0.0, 1.0) * _WEIGHTS).sum(axis=-1)


def symptom_scores(params: SimulationParams, h: History) -> dict[str, np.ndarray]:
    """Expected score of each instrument per (month, patient) from the latent course."""
    f = params.fatigue
    level, edss, flare = h.traced["fatigue"], h.traced["edss"], h.traced["flare"]
    mfis = MFIS_ITEMS * MFIS_MAX
    return {
        "mfis": mfis
        * _expected_share(
            (f.mfis_mean + f.mfis_sd * level) / mfis, f.mfis_sd * f.response_noise_sd / mfis
        ),
        "fss": 1.0
        + FSS_STEPS
        * _expected_share(
            (f.fss_mean - 1.0 + f.fss_sd * level) / FSS_STEPS,
            f.fss_sd * f.response_noise_sd / FSS_STEPS,
        ),
        "nrs-fatigue": 10.0
        * _expected_share(
            (f.nrs_mean + f.nrs_sd * level) / 10.0, f.nrs_sd * f.daily_noise_sd / 10.0
        ),
        "nrs-spasticity": 10.0
        * _expected_share((f.spasm_base + f.spasm_per_edss * (edss - 3.0) + flare) / 10.0, 0.1),
    }


def _first_starts(h: History) -> np.ndarray:
    """Each patient's first LDN start day (the int64 maximum: never started)."""
    pid, start, _ = h.ldn
    first = np.full(h.cohort.n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, pid, start)
    return first


class _Design:
    """Users (first LDN start) and the hazard-weighted risk set of each start month."""

    def __init__(self, h: History) -> None:
        months = len(h.bounds) - 1
        first = _first_starts(h)
        self.months = months
        self.alive = h.traced["alive"] > 0
        started = np.flatnonzero(first < np.iinfo(np.int64).max)
        self.user = started
        self.user_day = first[started]
        self.user_month = np.searchsorted(h.bounds, first[started], side="right") - 1
        self.bounds = h.bounds
        ends = h.bounds[1:]
        history_ok = h.cohort.entry_day[None, :] <= ends[:, None] - MIN_HISTORY_DAYS
        not_started = first[None, :] > ends[:, None]
        self.weight = np.where(
            self.alive & history_ok & not_started, h.traced["start_hazard"], 0.0
        ).astype(float)

    def control_weights(self, s: int) -> np.ndarray:
        """Weights of the risk set for users starting in month s (decided in month s - 1)."""
        return self.weight[s - 1] if s >= 1 else np.zeros(self.weight.shape[1])


def _difference_at(design: _Design, diff: np.ndarray, horizon: int) -> float | None:
    users, months = design.user, design.user_month
    ok = (months + horizon < design.months) & (months >= 1)
    ok[ok] &= design.alive[months[ok] + horizon, users[ok]]
    if not ok.any():
        return None
    own = diff[months[ok] + horizon, users[ok]]
    control = np.zeros(design.months)
    for s in np.unique(months[ok]):
        w = design.control_weights(int(s)) * design.alive[s + horizon]
        control[s] = float(w @ diff[s + horizon] / w.sum()) if w.sum() > 0 else 0.0
    return float(np.mean(own - control[months[ok]]))


def _at_days(design: _Design, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Month of each day and the share of that month elapsed before it: the expected count
    from the registry's start to the day is ``cum[month] + fraction * per_month[month]``."""
    bounds = design.bounds.astype(float)
    days = np.clip(days.astype(float), bounds[0], bounds[-1])
    month = np.clip(np.searchsorted(bounds, days, side="right") - 1, 0, design.months - 1)
    return month, (days - bounds[month]) / (bounds[month + 1] - bounds[month])


def _cumulative(per_month: np.ndarray) -> np.ndarray:
    return np.vstack([np.zeros((1, per_month.shape[1])), np.cumsum(per_month, axis=0)])


def _day_ratio_parts(
    design: _Design, treated: np.ndarray, untreated: np.ndarray, days: float | None
) -> tuple[float, float, float, float] | None:
    """Expected counts with (A) and without (B) the effect, users' and the hazard-weighted
    risk set's scaled to the users' start months: from each user's start day for ``days`` days
    (``None``: to the end of the registry), and the risk set over the same days as its users.
    Months are split in proportion to their days; the days of the start month before the start
    are not LDN's (counted at the untreated rate in both worlds, then left out)."""
    keep = design.user_month >= 1
    users, start, months = design.user[keep], design.user_day[keep], design.user_month[keep]
    if not users.size:
        return None
    m0, f0 = _at_days(design, start)
    end = start + days if days is not None else np.full(start.shape, design.bounds[-1])
    m1, f1 = _at_days(design, end)
    plain = untreated.astype(float)
    parts: list[float] = []
    for values in (treated, untreated):
        per_month = values.astype(float)
        cum = _cumulative(per_month)
        own = cum[m1, users] + f1 * per_month[m1, users] - cum[m0, users] - f0 * plain[m0, users]
        control = 0.0
        for s in np.unique(months):
            w = design.control_weights(int(s))
            if w.sum() <= 0:
                continue
            mine = months == s
            total = np.zeros(per_month.shape[1])
            for sign, m, f in ((1.0, m1[mine], f1[mine]), (-1.0, m0[mine], f0[mine])):
                for month in np.unique(m):
                    at = m == month
                    total += sign * (at.sum() * cum[month] + f[at].sum() * per_month[month])
            control += float(w @ total / w.sum())
        parts += [float(own.sum()), control]
    user_a, ctrl_a, user_b, ctrl_b = parts
    if min(user_a, user_b, ctrl_a, ctrl_b) <= 0:
        return None
    return user_a, user_b, ctrl_a, ctrl_b


def _recorded_dilution(
    user_a: float, user_b: float, ctrl_a: float, ctrl_b: float, recorded: float
) -> float:
    """The controls' own later starts as a ratio on the users' recorded-CDW scale: their latent
    ratio of expected worsening events, its log multiplied by the users' recorded over latent
    log ratio. That factor carries everything that separates the users' recorded Cox ratio from
    their latent event ratio (rater error, confirmation, the reference visit, first events
    only), and the controls' later starts are taken to pass through the same; it is one
    registry's draw, so it is bounded to [0, 1] (these only attenuate, in expectation, and
    with a small effect the factor is noise). An approximation: the controls' recorded CDW in
    both worlds is not simulated. Without it the latent dilution, larger than the recorded
    one, pulled the true ratio towards 1 (docs/analysis.md, "Progression under an effect")."""
    users_latent = np.log(user_a / user_b)
    attenuation = np.log(recorded) / users_latent if abs(users_latent) > 1e-12 else 1.0
    return float(np.exp(np.clip(attenuation, 0.0, 1.0) * np.log(ctrl_a / ctrl_b)))


def estimands(params: SimulationParams, actual: History, counterfactual: History) -> dict[str, Any]:
    """The true value of each headline, with its definition (module docstring);
    ``counterfactual`` is the run with ``counterfactual_params`` (no effect, no one leaving)."""
    design = _Design(actual)
    scores_a = symptom_scores(params, actual)
    scores_b = symptom_scores(params, counterfactual)
    out: dict[str, Any] = {}
    for instrument in ("mfis", "fss", "nrs-fatigue", "nrs-spasticity"):
        diff = scores_a[instrument] - scores_b[instrument]
        out[f"{instrument}_difference_12m"] = _rounded(_difference_at(design, diff, SYMPTOM_MONTHS))
    relapses = _day_ratio_parts(
        design,
        actual.traced["relapse_expected"],
        actual.traced["relapse_untreated"],
        RELAPSE_YEARS * DAYS_PER_YEAR,
    )
    out["relapse_rate_ratio"] = _rounded(
        None if relapses is None else (relapses[0] / relapses[1]) / (relapses[2] / relapses[3])
    )
    residual = params.relapses.residual_full_step + params.relapses.residual_half_step
    worsening = _day_ratio_parts(
        design,
        actual.traced["pira_expected"] + residual * actual.traced["relapse_expected"],
        actual.traced["pira_untreated"] + residual * actual.traced["relapse_untreated"],
        None,
    )
    recorded = recorded_cdw_hazard_ratio(actual)
    out["progression_hazard_ratio"] = _rounded(
        None
        if worsening is None or recorded is None
        else recorded / _recorded_dilution(*worsening, recorded)
    )
    out["progression_latent_rate_ratio"] = _rounded(
        None if worsening is None else (worsening[0] / worsening[1]) / (worsening[2] / worsening[3])
    )
    out["relapse_recovery_hazard_ratio"] = _rounded(
        recovery_hazard_ratio(
            engine_treated(actual.traced.attack_days(), _first_starts(actual), ATTACK_MAX_DAYS),
            params.relapses.recovery_log_sd,
            RECOVERY_CENSOR_DAYS,
            child_stream(params.seed, RECOVERY_TRUTH_STREAM),
        )
    )
    out["negative_control_rate_ratio"] = 1.0
    out["definitions"] = {
        "symptoms": "difference in expected score 12 months after the first LDN start, "
        "users minus the hazard-weighted risk set of non-starters, with vs without LDN's "
        "effect (intention to treat)",
        "relapse_rate_ratio": "ratio of expected relapses in the 730.5 days from the start day, "
        "with vs without the effect, users over the hazard-weighted risk set",
        "progression_hazard_ratio": "Cox hazard ratio of first recorded CDW after the start, "
        "the users' EDSS visits with vs without the effect (same visits, same rater error, "
        "and the attacks LDN prevented with the clinic visits they would have brought), "
        "divided by the hazard-weighted risk set's ratio of expected worsening events",
        "progression_latent_rate_ratio": "ratio of expected worsening events (independent "
        "worsening and relapses leaving a residual) over all follow-up, users over the "
        "hazard-weighted risk set: the effect on disability itself, before rater error",
        "relapse_recovery_hazard_ratio": "Cox hazard ratio of recovery from the LDN start on "
        "(delayed entry), attacks like those during which the first LDN course was started "
        "(at most 90 days after the onset; 400 fresh draws of each, given its severity, start "
        "day and patient) with vs without its effect, censored at 730 days after the onset",
        "negative_control_rate_ratio": "the supplement has no effect",
    }
    return out


def _rounded(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)
