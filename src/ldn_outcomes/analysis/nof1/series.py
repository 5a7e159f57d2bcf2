"""Pooling a series of n-of-1 trials: random-effects meta-analysis of per-patient effects.

Each patient contributes their mean LDN-minus-placebo difference and its squared standard
error (from the paired t on period means). The average effect and the between-patient
variance tau^2 come from :func:`statsmodels.stats.meta_analysis.combine_effects` with the
DerSimonian-Laird estimator (default) or Paule-Mandel ("pm"). REML is not offered by
statsmodels' ``combine_effects``. The 95% prediction interval for a new patient follows
Higgins, Thompson & Spiegelhalter 2009 (J R Stat Soc A 172:137-159):
mean ± t_{k-2} * sqrt(tau^2 + se^2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from ...errors import InsufficientData, Problem, ValidationFailed

METHODS = {"dl": "DerSimonian-Laird", "pm": "Paule-Mandel"}


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
    outcome: str
    method: str
    trials: int
    mean_effect: float
    standard_error: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    q: float
    prediction_low: float | None
    prediction_high: float | None
    fixed_effect: float
    per_patient: tuple[PatientEffect, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "method": f"random-effects meta-analysis ({METHODS[self.method]})",
            "trials": self.trials,
            "mean_effect": self.mean_effect,
            "standard_error": self.standard_error,
            "ci": [self.ci_low, self.ci_high],
            "tau2": self.tau2,
            "tau": float(np.sqrt(self.tau2)),
            "i2": self.i2,
            "q": self.q,
            "prediction_interval": (
                [self.prediction_low, self.prediction_high]
                if self.prediction_low is not None
                else None
            ),
            "fixed_effect": self.fixed_effect,
            "per_patient": [p.__dict__ for p in self.per_patient],
        }


def pool(effects: Sequence[PatientEffect], method: str = "dl") -> SeriesResult:
    if method not in METHODS:
        raise ValidationFailed(
            Problem("nof1_series", "method", f"must be one of {', '.join(METHODS)}", value=method)
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
    effect = np.array([e.effect for e in usable])
    variance = np.array([e.standard_error**2 for e in usable])
    result = combine_effects(effect, variance, method_re=method)
    _, (re_low, re_high), _, _ = result.conf_int(use_t=False)  # (fe, re, fe wls, re wls)
    k = len(usable)
    se = float(result.sd_eff_w_re)
    prediction: tuple[float, float] | tuple[None, None]
    if k >= 3:
        half = stats.t.ppf(0.975, k - 2) * np.sqrt(result.tau2 + se**2)
        prediction = (float(result.mean_effect_re - half), float(result.mean_effect_re + half))
    else:
        prediction = (None, None)
    return SeriesResult(
        outcome=usable[0].outcome,
        method=method,
        trials=k,
        mean_effect=float(result.mean_effect_re),
        standard_error=se,
        ci_low=float(re_low),
        ci_high=float(re_high),
        tau2=float(result.tau2),
        i2=float(result.i2),
        q=float(result.q),
        prediction_low=prediction[0],
        prediction_high=prediction[1],
        fixed_effect=float(result.mean_effect_fe),
        per_patient=tuple(usable),
    )
