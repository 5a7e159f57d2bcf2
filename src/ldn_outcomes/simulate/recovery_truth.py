"""The true relapse-recovery hazard ratio of a registry's treated attacks, as a population
quantity: what the engine's Cox estimate converges to for attacks like these, not a Cox fit on
the few dozen attacks one registry happens to hold.

Fitting the Cox model to the registry's own attacks, each with and without LDN's effect,
gives a truth with the finite-sample bias of a Cox fit on that many events: the maximum
partial-likelihood estimate lies further from 1 than the hazard ratio it estimates, by an
amount that shrinks with the number of events (e.g. Heinze & Schemper 2001, Biometrics 57:114,
doi 10.1111/j.0006-341x.2001.00114.x). On attacks of the simulator's model (remaining days
times 0.7 once LDN starts) the paired fit gave a mean log hazard ratio of 0.390 with 65
attacks, 0.370 with 215 and 0.356 with 5,000 (``tests/simulate/test_recovery_truth.py``); on
the simulator's own registries, 0.372 against 0.344 at 3,000 patients (60-70 treated attacks;
20 registries) and 0.357 against 0.342 at 10,000. The calibration bench read that excess of
the truth as a bias of the estimate.

Here each treated attack is drawn again ``REPLICATES`` times from the simulator's own model,
given what made it a treated attack: its severity's median days to recovery, the days from the
onset to the LDN start ``s``, and recovery without the effect after that start (the attack was
still going on the start day: days to recovery ``ceil(D) > s``, D log-normal). Without the
effect it recovers at ``ceil(D)`` days, with it at ``s + ceil((ceil(D) - s) * ratio)`` (the
patient's ratio, as ``.history`` applies it), both at risk from ``s`` (delayed entry) and
censored at the engine's 730 days. The Cox hazard ratio (Breslow, as the engine) of the two
worlds over all replicates is the truth.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .cdw_truth import cox_two_groups
from .trace import TreatedAttacks

#: Draws of each treated attack: enough that the truth's own Monte-Carlo spread (0.002 on the
#: log scale at 65 attacks) is small beside the estimate's standard error (about 0.15).
REPLICATES = 400


def untreated_days(
    start: np.ndarray, median: np.ndarray, log_sd: float, rng: np.random.Generator
) -> np.ndarray:
    """Days from the onset to recovery without LDN's effect of an attack of this ``median``
    still going ``start`` days after its onset: ``ceil(D)``, D log-normal given ``D > start``
    (the same as ``ceil(D) > start`` for whole days; ``.history`` draws D unconditioned)."""
    with np.errstate(divide="ignore"):
        floor = stats.norm.cdf((np.log(start) - np.log(median)) / log_sd)
    z = stats.norm.ppf(floor + (1.0 - floor) * rng.random(len(start)))
    return np.maximum(np.ceil(median * np.exp(log_sd * z)), start + 1)  # the tail's rounding


def recovery_hazard_ratio(
    attacks: TreatedAttacks, log_sd: float, censor_days: float, rng: np.random.Generator
) -> float | None:
    """The population Cox hazard ratio of recovery with vs without LDN's effect, for attacks
    like ``attacks`` (module docstring); None without any."""
    if len(attacks.start) == 0:
        return None
    start = np.repeat(attacks.start, REPLICATES)
    ratio = np.repeat(attacks.ratio, REPLICATES)
    untreated = untreated_days(start, np.repeat(attacks.median, REPLICATES), log_sd, rng)
    treated = start + np.ceil((untreated - start) * ratio)
    return cox_two_groups(
        np.minimum(untreated, censor_days),
        untreated <= censor_days,
        np.minimum(treated, censor_days),
        treated <= censor_days,
        entry0=start,
        entry1=start,
    )
