"""Does the n-of-1 design's "smallest detectable effect" deliver the power it states?

Run: ``.venv/bin/python bench/bench_nof1_detectable.py [baselines]``. For each design (pairs,
day-to-day autocorrelation, days of diary before the start), many baselines are simulated from
the model of ``analysis/nof1/power.py`` (AR(1), answers rounded to 0-10, 10% blanks); for each,
the smallest detectable effect is computed from that baseline, and the power of the analysis's
two-sided paired-t interval (95%) at that effect is simulated with the true parameters.
Printed: the mean delivered power (with its Monte-Carlo SE) of the simulation method now used,
and of the closed form it replaced (shifted central t with plugged-in SD and autocorrelation,
here for the same two-sided criterion), which promised 80% too.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from machine_info import machine
from scipy import stats

from ldn_outcomes.analysis.nof1.power import (
    SimulationSettings,
    minimum_detectable_effect,
    paired_t_power,
    simulate_values,
)

DESIGNS = ((2, 0.5, 28), (3, 0.5, 28), (3, 0.0, 21), (4, 0.3, 42), (6, 0.7, 56))
TRIALS_PER_BASELINE = 40
ANALYSED_DAYS = 21


def closed_form(baseline: np.ndarray, pairs: int, days: int) -> float:
    """The formula used before: (t_0.95 + t_0.80) sqrt(2 var(period mean) / pairs)."""
    observed = baseline[~np.isnan(baseline)]
    sd = observed.std(ddof=1)
    both = ~np.isnan(baseline[:-1]) & ~np.isnan(baseline[1:])
    centred = baseline - np.nanmean(baseline)
    variance = np.nansum(centred**2) / observed.size
    rho = np.clip(np.mean(centred[:-1][both] * centred[1:][both]) / variance, -0.95, 0.95)
    lags = np.abs(np.subtract.outer(np.arange(days), np.arange(days)))
    var_mean = sd**2 * np.sum(rho**lags) / days**2
    df = pairs - 1
    return float((stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * np.sqrt(2 * var_mean / pairs))


def main(baselines: int) -> None:
    print(f"machine: {machine()}")
    print(f"baselines per design: {baselines}; trials per baseline: {TRIALS_PER_BASELINE}")
    print("| pairs | rho | baseline days | delivered power (simulation) | closed form before |")
    print("|---:|---:|---:|---:|---:|")
    for pairs, rho, days in DESIGNS:
        started = time.perf_counter()
        settings = SimulationSettings(rho=rho)
        before = SimulationSettings(rho=rho, period_days=days, washout_days=0)
        rng = np.random.default_rng(20261205 + pairs)
        new, old = [], []
        for b in range(baselines):
            _, values = simulate_values(1, 0.0, 1, before, rng)
            baseline = values[0][:days]
            effect = minimum_detectable_effect(baseline, pairs, ANALYSED_DAYS).effect
            seed = 7000 + b
            new.append(paired_t_power(pairs, effect, TRIALS_PER_BASELINE, settings, seed=seed))
            formula = closed_form(baseline, pairs, ANALYSED_DAYS)
            old.append(paired_t_power(pairs, formula, TRIALS_PER_BASELINE, settings, seed=seed))
        se = np.std(new, ddof=1) / np.sqrt(baselines)
        print(
            f"| {pairs} | {rho} | {days} | {np.mean(new):.3f} ± {se:.3f} | {np.mean(old):.3f} |"
            f"  ({time.perf_counter() - started:.0f} s)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
