"""Effect sizes from what studies report, on the scale they are pooled on.

Ratio measures (RR, OR, HR) are pooled on the log scale; differences (MD, SMD) as they are.
The pooling itself is the project's one random-effects implementation,
:mod:`ldn_outcomes.stats.random_effects`, shared with the n-of-1 series.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from scipy import stats

from ..stats.random_effects import Z_975

# ---------------------------------------------------------------------------------------------
# effect sizes from what the studies report
# ---------------------------------------------------------------------------------------------

RATIO_MEASURES = {"RR", "OR", "HR", "IRR"}
#: The largest |natural log| of a ratio a study may give (about 1e-304 to 1e304). Beyond it the
#: ratio is not a study's result but a typing slip, and its exponential leaves the float range.
MAX_ABS_LOG_RATIO = 700.0
#: The largest |log| whose ratio a float still holds at full precision (e^±708).
_LOG_FLOAT_LIMIT = 708.0


def ratio_from_log(value: float) -> float | None:
    """A log-scale value as a ratio; None when the ratio is beyond what a float holds (never
    an overflow error, and never a tiny ratio silently rounded to 0)."""
    if not math.isfinite(value) or abs(value) > _LOG_FLOAT_LIMIT:
        return None
    return math.exp(value)


def ratio_text(value: float | None, log_value: float | None = None, digits: int = 3) -> str:
    """A ratio as a reader should see it: 0.512, 1.2e-40 (not 0.000), or e^812.3 when the
    ratio is beyond a float (then from its log-scale value)."""
    if value is None:
        return "—" if log_value is None else f"e^{log_value:.1f}"
    if value != 0 and not 10**-digits <= abs(value) < 10**6:
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


CONTROL_ARMS = ("placebo", "control", "sham", "usual_care", "comparator")


@dataclass(frozen=True)
class Effect:
    """One study's contribution on the analysis scale (log scale for ratio measures)."""

    study_id: str
    label: str
    measure: str
    yi: float
    vi: float
    derived_from: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ci(self) -> tuple[float, float]:
        half = Z_975 * math.sqrt(self.vi)
        return self.yi - half, self.yi + half


class NotPoolable(Exception):
    """Why a study's numbers cannot enter the pooled estimate (shown to readers)."""


def effect_from_input(
    study_id: str, label: str, measure: str | None, arm_stats: Any, reported: Any
) -> Effect:
    """Prefer the study's own between-group estimate with its 95% CI; else compute from arms."""
    if not measure:
        raise NotPoolable("no effect measure given")
    measure = measure.upper()
    if isinstance(reported, dict) and reported.get("estimate") is not None:
        ci = reported.get("ci95")
        if _pair(ci):
            low, high = (float(x) for x in cast(Sequence[float], ci))
            estimate = float(reported["estimate"])
            if measure in RATIO_MEASURES:
                if min(low, high, estimate) <= 0:
                    raise NotPoolable(f"a {measure} and its CI must be > 0")
                estimate, low, high = math.log(estimate), math.log(low), math.log(high)
                if max(abs(estimate), abs(low), abs(high)) > MAX_ABS_LOG_RATIO:
                    raise NotPoolable(
                        f"a {measure} and its CI must lie between e^-{MAX_ABS_LOG_RATIO:.0f} "
                        f"and e^{MAX_ABS_LOG_RATIO:.0f} (about 1e-304 to 1e304)"
                    )
            if not low < high:
                raise NotPoolable("the reported 95% CI has no width")
            # SE from a 95% CI (Cochrane Handbook 5.1, 7.7.3.3 and 7.7.7.2): width / 3.92.
            # A small trial's t-based CI is a little wider, so its SE errs on the large side.
            se = (high - low) / (2 * Z_975)
            return Effect(
                study_id,
                label,
                measure,
                estimate,
                se**2,
                "reported between-group estimate and 95% CI",
            )
    if measure not in ("MD", "SMD"):
        raise NotPoolable(f"no reported estimate with a 95% CI for measure {measure}")
    treatment, control = _arms(arm_stats)
    if all(_has(arm, "mean", "sd", "n") for arm in (treatment, control)):
        return _from_means(study_id, label, measure, treatment, control)
    with_ci = all(_has(arm, "mean_change", "ci95", "n") for arm in (treatment, control))
    if measure == "MD" and with_ci:
        se_t, se_c = (_se_from_ci(arm) for arm in (treatment, control))
        return Effect(
            study_id,
            label,
            measure,
            float(treatment["mean_change"]) - float(control["mean_change"]),
            se_t**2 + se_c**2,
            "difference of arm mean changes, SEs from their 95% CIs",
            ("arms treated as independent",),
        )
    raise NotPoolable("neither a between-group estimate with 95% CI nor arm means with SDs")


def _from_means(study_id: str, label: str, measure: str, t: dict, c: dict) -> Effect:
    n1, n2 = int(t["n"]), int(c["n"])
    m1, m2, sd1, sd2 = (float(x) for x in (t["mean"], c["mean"], t["sd"], c["sd"]))
    if min(n1, n2) < 2 or min(sd1, sd2) <= 0:
        raise NotPoolable("arms need n >= 2 and SD > 0")
    if measure == "MD":
        return Effect(
            study_id, label, measure, m1 - m2, sd1**2 / n1 + sd2**2 / n2, "arm means and SDs"
        )
    # Hedges' g as metafor's escalc(measure="SMD"): exact bias correction
    # c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = n1 + n2 - 2 (metafor's .cmicalc), and
    # the large-sample variance 1/n1 + 1/n2 + g^2 / (2 (n1 + n2)) (vtype "LS").
    m = n1 + n2 - 2
    pooled = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / m)
    correction = math.exp(math.lgamma(m / 2) - 0.5 * math.log(m / 2) - math.lgamma((m - 1) / 2))
    g = correction * (m1 - m2) / pooled
    variance = 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    return Effect(study_id, label, measure, g, variance, "arm means and SDs (Hedges' g)")


def _se_from_ci(arm: dict) -> float:
    low, high = (float(x) for x in arm["ci95"])
    n = int(arm["n"])
    if n < 2 or not low < high:
        raise NotPoolable("an arm CI needs n >= 2 and a width")
    return (high - low) / (2 * stats.t.ppf(0.975, n - 1))


def _arms(arm_stats: Any) -> tuple[dict, dict]:
    if not isinstance(arm_stats, dict) or len(arm_stats) != 2:
        raise NotPoolable("needs exactly two arms (treatment and control)")
    controls = [k for k in arm_stats if any(c in k.lower() for c in CONTROL_ARMS)]
    if len(controls) != 1:
        raise NotPoolable("cannot tell which arm is the control")
    treatment = next(k for k in arm_stats if k != controls[0])
    arms = (arm_stats[treatment], arm_stats[controls[0]])
    if not all(isinstance(a, dict) for a in arms):
        raise NotPoolable("arm statistics must be objects")
    return arms


def _has(arm: dict, *keys: str) -> bool:
    return all(arm.get(k) is not None for k in keys)


def _pair(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    )
