"""Pooling a series of n-of-1 trials: random-effects meta-analysis of per-patient effects.

Each patient contributes their mean LDN-minus-placebo difference and its squared standard
error (from the paired t on period means). The average effect, the between-patient variance
tau² (never negative), I² (in percent) and the 95% prediction interval for a new patient
(Higgins, Thompson & Spiegelhalter 2009) come from the project's one random-effects
implementation, :func:`ldn_outcomes.stats.random_effects.random_effects`, the same the evidence
hub pools published studies with: DerSimonian-Laird (default here), Paule-Mandel or REML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InsufficientData, Problem, ValidationFailed
from ...stats.random_effects import METHODS, MetaResult, random_effects


@dataclass(frozen=True)
class PatientEffect:
    trial_id: str
    patient_id: str
    outcome: str
    effect: float  # LDN - placebo
    standard_error: float
    pairs_used: int


@dataclass(frozen=True)
class SeriesResult:
    """The pooled result (one :class:`MetaResult`) with the patients that went into it."""

    outcome: str
    pooled: MetaResult
    per_patient: tuple[PatientEffect, ...]

    @property
    def method(self) -> str:
        return self.pooled.method

    @property
    def trials(self) -> int:
        return self.pooled.k

    @property
    def mean_effect(self) -> float:
        return self.pooled.estimate

    @property
    def standard_error(self) -> float:
        return self.pooled.se

    @property
    def ci_low(self) -> float:
        return self.pooled.ci_low

    @property
    def ci_high(self) -> float:
        return self.pooled.ci_high

    @property
    def tau2(self) -> float:
        return self.pooled.tau2

    @property
    def i2(self) -> float:
        """Percent, 0-100, as everywhere in the project."""
        return self.pooled.i2

    @property
    def q(self) -> float:
        return self.pooled.q

    @property
    def prediction_low(self) -> float | None:
        return self.pooled.pi_low

    @property
    def prediction_high(self) -> float | None:
        return self.pooled.pi_high

    @property
    def fixed_effect(self) -> float:
        return self.pooled.fixed_effect

    def as_dict(self) -> dict[str, Any]:
        pooled = self.pooled
        return {
            "outcome": self.outcome,
            "method": f"random-effects meta-analysis ({pooled.method_name})",
            "fallback_reason": pooled.fallback_reason,
            "trials": pooled.k,
            "mean_effect": pooled.estimate,
            "standard_error": pooled.se,
            "ci": [pooled.ci_low, pooled.ci_high],
            "tau2": pooled.tau2,
            "tau": pooled.tau,
            "i2": pooled.i2,
            "i2_unit": "percent",
            "q": pooled.q,
            "prediction_interval": (
                [pooled.pi_low, pooled.pi_high] if pooled.pi_low is not None else None
            ),
            "fixed_effect": pooled.fixed_effect,
            "per_patient": [p.__dict__ for p in self.per_patient],
        }


def pool(effects: Sequence[PatientEffect], method: str = "dl") -> SeriesResult:
    if method.upper() not in METHODS:
        raise ValidationFailed(
            Problem(
                "nof1_series",
                "method",
                f"must be one of {', '.join(m.lower() for m in METHODS)}",
                value=method,
            )
        )
    outcomes = {e.outcome for e in effects}
    if len(outcomes) > 1:
        raise ValidationFailed(
            Problem(
                "nof1_series",
                "outcome",
                "trials of different outcomes cannot be pooled together",
                value=sorted(outcomes),
            )
        )
    usable = [e for e in effects if e.standard_error > 0 and np.isfinite(e.standard_error)]
    if len(usable) < 2:
        raise InsufficientData(
            f"pooling needs at least 2 analysed trials with a standard error (got {len(usable)})"
        )
    pooled = random_effects(
        [e.effect for e in usable], [e.standard_error**2 for e in usable], method=method
    )
    return SeriesResult(outcome=usable[0].outcome, pooled=pooled, per_patient=tuple(usable))
