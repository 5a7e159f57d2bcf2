"""The true relapse-recovery hazard ratio of a registry's treated attacks, as a population
quantity: what the engine's Cox estimate converges to for attacks like these, not a Cox fit on
the few dozen attacks one registry happens to hold.

Fitting the Cox model to the registry's own attacks, each with and without LDN's effect,
gives a truth with the finite-sample bias of a Cox fit on that many events (maximum partial
likelihood is biased in small samples, e.g. Heinze & Schemper 2001, Biometrics 57:114, doi
10.1111/j.0006-341x.2001.00114.x; how much depends on the design). Here it lay further from 1
than its limit, by an amount that shrank with the number of attacks: on attacks of the
simulator's model (remaining days times 0.7 once LDN starts) the paired fit gave a mean log
hazard ratio of 0.384 with 65 attacks, 0.364 with 215 and 0.350 with 5,000
(``tests/simulate/test_recovery_truth.py``, seed 1). The calibration bench read that excess
of the truth (registries of 3,000 patients have 60-70 treated attacks) as a bias of the
estimate.

The attacks are those the engine counts as treated under its default plan
(``engine_treated``): LDN's first course started during the attack (onset <= start <=
recovery, both inclusive), at most 90 days after the onset. Each is drawn again
``REPLICATES`` times from the simulator's own model (``recovery_days``), given what made it a
treated attack: its severity's median days to recovery, the days from the onset to the start
``s``, and that it had not recovered before the start day. Both worlds are at risk from ``s``
(delayed entry) and censored at the engine's 730 days. The Cox hazard ratio (Breslow, as the
engine) of the two worlds over all draws is the truth.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .cdw_truth import cox_two_groups
from .trace import TreatedAttacks

#: Draws of each treated attack. A project choice: enough that the truth's own Monte-Carlo
#: spread (0.002 on the log scale at 65 attacks) is small beside the estimate's standard error
#: (about 0.15).
REPLICATES = 400
#: At most this many draws in all, a project choice bounding the truth's memory and time (a
#: registry with over 1,000 treated attacks gets fewer per attack, and needs fewer).
MAX_DRAWS = 400_000


def engine_treated(
    attacks: TreatedAttacks, first_start: np.ndarray, max_days: float
) -> TreatedAttacks:
    """The attacks the engine counts as treated under its default plan: the patient's first
    LDN start (``attack_course="first"``), at most ``max_days`` after the onset
    (``attack_max_days``)."""
    first = first_start[attacks.patient] == attacks.start_day
    return attacks.rows(first & (attacks.start <= max_days))


def recovery_days(
    start: np.ndarray,
    median: np.ndarray,
    ratio: np.ndarray,
    log_sd: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Days from the onset to recovery without and with LDN's effect of an attack of this
    ``median`` during which LDN was started ``start`` days after the onset, as ``.history``
    makes them: D log-normal, without the effect ``ceil(D)``, given ``ceil(D) >= start`` (the
    engine's "during" is inclusive; for whole days, ``D > start - 1``); with it ``start +
    ceil((ceil(D) - start) * ratio)``, or ``ceil(D * ratio)`` for a start on the onset day
    (then LDN is on at the onset)."""
    lower = np.maximum(start - 1.0, 0.0)
    with np.errstate(divide="ignore"):
        floor = stats.norm.cdf((np.log(lower) - np.log(median)) / log_sd)
    z = stats.norm.ppf(floor + (1.0 - floor) * rng.random(len(start)))
    days = median * np.exp(log_sd * z)
    untreated = np.maximum(np.ceil(days), np.maximum(start, 1.0))  # the tail's rounding
    treated = np.where(
        start == 0, np.ceil(days * ratio), start + np.ceil((untreated - start) * ratio)
    )
    return untreated, treated


def recovery_hazard_ratio(
    attacks: TreatedAttacks, log_sd: float, censor_days: float, rng: np.random.Generator
) -> float | None:
    """The population Cox hazard ratio of recovery with vs without LDN's effect, for attacks
    like ``attacks`` (module docstring); None without any."""
    if len(attacks.start) == 0:
        return None
    replicates = int(np.clip(MAX_DRAWS // len(attacks.start), 1, REPLICATES))
    start = np.repeat(attacks.start, replicates)
    untreated, treated = recovery_days(
        start,
        np.repeat(attacks.median, replicates),
        np.repeat(attacks.ratio, replicates),
        log_sd,
        rng,
    )
    return cox_two_groups(
        np.minimum(untreated, censor_days),
        untreated <= censor_days,
        np.minimum(treated, censor_days),
        treated <= censor_days,
        entry0=start,
        entry1=start,
    )
