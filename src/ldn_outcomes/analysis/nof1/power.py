"""Operating characteristics by simulation, and the smallest effect a design can detect.

Simulated patients follow the analysis model's own assumptions unless told otherwise: a
stable baseline, an optional linear trend, AR(1) day-to-day noise, an optional extra
period-level shock (a misspecification check), blanks at random, and answers rounded and
clipped to the 0-10 scale as a real diary would record them. The verdict rule is the one in
``conclusion.py``. Generation is vectorised over trials; only the posterior is fitted per trial.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from ...domain.nof1 import DEFAULT_WASHOUT_DAYS, all_allocations
from ...errors import InsufficientData
from .bayes import DEFAULT_PRIOR, Prior, fit
from .conclusion import verdict_for
from .randomisation import TOLERANCE


@dataclass(frozen=True)
class SimulationSettings:
    baseline: float = 6.0
    innovation_sd: float = 1.0
    rho: float = 0.5
    trend_per_30_days: float = 0.0
    between_period_sd: float = 0.0
    missing_rate: float = 0.1
    round_to_scale: bool = True
    period_days: int = 28
    washout_days: int = DEFAULT_WASHOUT_DAYS


@dataclass(frozen=True)
class OperatingCharacteristics:
    pairs: int
    effect: float  # true LDN - placebo in points
    trials: int
    likely_helps: float
    likely_worse: float
    paired_t_one_sided: float  # share with one-sided paired-t p < 0.05 in the benefit direction
    randomisation_one_sided: float  # share with exact one-sided p <= 0.05
    mean_estimate: float
    settings: SimulationSettings

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["settings"] = asdict(self.settings)
        return data


def simulate_values(
    pairs: int,
    effect: float,
    trials: int,
    settings: SimulationSettings,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Allocations (trials x pairs, True = LDN first) and values (trials x days, NaN = blank)."""
    periods = 2 * pairs
    days = periods * settings.period_days
    ldn_first = rng.random((trials, pairs)) < 0.5
    period_is_ldn = np.empty((trials, periods), dtype=bool)
    period_is_ldn[:, 0::2] = ldn_first
    period_is_ldn[:, 1::2] = ~ldn_first
    on_ldn = np.repeat(period_is_ldn, settings.period_days, axis=1)
    noise = np.empty((trials, days))
    rho, sd = settings.rho, settings.innovation_sd
    noise[:, 0] = rng.normal(0, sd / np.sqrt(1 - rho**2), trials)
    shocks = rng.normal(0, sd, (trials, days))
    for t in range(1, days):
        noise[:, t] = rho * noise[:, t - 1] + shocks[:, t]
    day = np.arange(days)
    values = (
        settings.baseline
        + settings.trend_per_30_days * (day - day.mean()) / 30.0
        + effect * on_ldn
        + noise
    )
    if settings.between_period_sd > 0:
        values += np.repeat(
            rng.normal(0, settings.between_period_sd, (trials, periods)),
            settings.period_days,
            axis=1,
        )
    if settings.round_to_scale:
        values = np.clip(np.rint(values), 0, 10)
    if settings.missing_rate > 0:
        values[rng.random(values.shape) < settings.missing_rate] = np.nan
    return ldn_first, values


def simulate(
    pairs: int,
    effect: float,
    trials: int = 500,
    *,
    lower_is_better: bool = True,
    settings: SimulationSettings | None = None,
    prior: Prior = DEFAULT_PRIOR,
    seed: int = 20261125,
) -> OperatingCharacteristics:
    """Share of simulated trials concluding "likely helps" (and the frequentist tests' rates)."""
    settings = settings or SimulationSettings()
    rng = np.random.default_rng(seed)
    ldn_first, values = simulate_values(pairs, effect, trials, settings, rng)
    periods = 2 * pairs
    day = np.arange(periods * settings.period_days)
    analysed = (day % settings.period_days) >= settings.washout_days
    period_of_day = day // settings.period_days
    by_period = values.reshape(trials, periods, settings.period_days)[:, :, settings.washout_days :]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-blank period gives NaN
        means = np.nanmean(by_period, axis=2).reshape(trials, pairs, 2)
    diffs = np.where(ldn_first, means[..., 0] - means[..., 1], means[..., 1] - means[..., 0])
    sign = -1.0 if lower_is_better else 1.0
    benefit = sign * diffs  # positive = LDN better
    # Paired t, one-sided in the benefit direction.
    mean_b = benefit.mean(axis=1)
    se_b = benefit.std(axis=1, ddof=1) / np.sqrt(pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_stat = mean_b / se_b
    p_t = stats.t.sf(t_stat, pairs - 1)
    # Exact randomisation test: flip each pair's sign under every allocation.
    signs = np.where(np.array(all_allocations(pairs)), 1.0, -1.0)  # (2^pairs, pairs)
    null = benefit @ signs.T / pairs  # (trials, 2^pairs); identity allocation is the observed
    p_rand = np.mean(null >= mean_b[:, None] - TOLERANCE, axis=1)
    helps = worse = 0
    ldn_days = np.repeat(
        np.where(
            np.repeat(ldn_first, 2, axis=1),
            np.tile([1.0, 0.0], pairs),
            np.tile([0.0, 1.0], pairs),
        ),
        settings.period_days,
        axis=1,
    )
    for i in range(trials):
        keep = analysed & ~np.isnan(values[i])
        posterior = fit(
            day[keep], ldn_days[i, keep], values[i, keep], prior, period=period_of_day[keep]
        )
        verdict = verdict_for(
            posterior.p_benefit(0.0, lower_is_better), posterior.p_harm(0.0, lower_is_better)
        )
        helps += verdict == "likely helps"
        worse += verdict == "likely worse"
    return OperatingCharacteristics(
        pairs=pairs,
        effect=effect,
        trials=trials,
        likely_helps=helps / trials,
        likely_worse=worse / trials,
        paired_t_one_sided=float(np.mean(p_t < 0.05)),
        randomisation_one_sided=float(np.mean(p_rand <= 0.05 + TOLERANCE)),
        mean_estimate=float(np.nanmean(diffs)),
        settings=settings,
    )


@dataclass(frozen=True)
class DetectableEffect:
    effect: float
    daily_sd: float
    lag1_autocorrelation: float
    baseline_days: int
    alpha: float
    power: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def minimum_detectable_effect(
    baseline: np.ndarray,
    pairs: int,
    analysed_days: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> DetectableEffect:
    """Smallest LDN-placebo difference a one-sided paired t at ``alpha`` finds with ``power``.

    From the patient's own earlier diary (consecutive daily values; NaN for blanks): the daily
    SD and lag-1 autocorrelation give the variance of a period mean under AR(1),
    ``sd^2 / m^2 * sum_ij rho^|i-j|``; a pair difference has twice that variance. The
    noncentral t is approximated by shifting the central t (the usual sample-size formula).
    Pair-to-pair drift is not in the baseline, so this is a lower bound on what can be missed.
    """
    values = np.asarray(baseline, dtype=float)
    observed = values[~np.isnan(values)]
    if observed.size < 14:
        raise InsufficientData(
            f"at least 14 earlier daily values are needed to estimate variability "
            f"(found {observed.size})"
        )
    sd = float(observed.std(ddof=1))
    both = ~np.isnan(values[:-1]) & ~np.isnan(values[1:])
    centred = values - np.nanmean(values)
    denominator = np.nansum(centred**2) / observed.size
    rho = float(np.mean(centred[:-1][both] * centred[1:][both]) / denominator) if both.any() else 0
    rho = float(np.clip(rho, -0.95, 0.95))
    lags = np.abs(np.subtract.outer(np.arange(analysed_days), np.arange(analysed_days)))
    var_mean = sd**2 * float(np.sum(rho**lags)) / analysed_days**2
    df = pairs - 1
    multiplier = stats.t.ppf(1 - alpha, df) + stats.t.ppf(power, df)
    effect = float(multiplier * np.sqrt(2 * var_mean / pairs))
    return DetectableEffect(effect, sd, rho, int(observed.size), alpha, power)
