"""Random-effects meta-analysis (DerSimonian–Laird and REML) of comparable catalogue outcomes.

Model: y_i = mu + u_i + e_i, u_i ~ N(0, tau²), e_i ~ N(0, v_i) (Viechtbauer 2010, J Stat Softw
36(3), doi:10.18637/jss.v036.i03). DerSimonian–Laird comes from statsmodels
(``statsmodels.stats.meta_analysis.combine_effects``, ``method_re="dl"``). statsmodels has no
REML estimator, so REML is the Fisher-scoring iteration metafor uses::

    tau²_{t+1} = tau²_t + (y' P P y - tr P) / tr(P P),   P = W - W 1 1' W / 1' W 1,
    W = diag(1 / (v_i + tau²_t)),   truncated at 0,   SE(tau²) = sqrt(2 / tr(P P)).

Both are checked against metafor's published output for dat.bcg (tests/evidence/test_meta.py).
Heterogeneity as in metafor: Q = sum w_i (y_i - mu_FE)², w_i = 1/v_i; the typical sampling
variance s² = (k-1) sum w / ((sum w)² - sum w²); I² = tau² / (tau² + s²); H² = (tau² + s²) / s².
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

import numpy as np
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from ..errors import InsufficientData, Problem, ValidationFailed

Method = Literal["REML", "DL"]
Z_975 = stats.norm.ppf(0.975)


@dataclass(frozen=True)
class MetaResult:
    method: str
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p: float
    tau2: float
    tau2_se: float | None
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    pi_low: float
    pi_high: float
    weights: tuple[float, ...]
    converged: bool = True
    iterations: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {key: (list(v) if isinstance(v, tuple) else v) for key, v in asdict(self).items()}


def random_effects(
    yi: Sequence[float],
    vi: Sequence[float],
    *,
    method: Method = "REML",
    max_iter: int = 100,
    tol: float = 1e-10,
) -> MetaResult:
    """Pool effects ``yi`` with sampling variances ``vi`` under a random-effects model."""
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    problems = _check(y, v)
    if problems:
        raise ValidationFailed(problems)
    k = len(y)
    if k < 2:
        raise InsufficientData("a meta-analysis needs at least two studies")
    w_fe = 1.0 / v
    mu_fe = float(np.sum(w_fe * y) / np.sum(w_fe))
    q = float(np.sum(w_fe * (y - mu_fe) ** 2))
    s2 = (k - 1) * np.sum(w_fe) / (np.sum(w_fe) ** 2 - np.sum(w_fe**2))
    method_name = method.upper()
    iterations, converged = 0, True
    if method_name == "DL":
        tau2 = _dl_tau2(y, v)
        tau2_se = None
    elif method_name == "REML":
        tau2, tau2_se, iterations, converged = _reml_tau2(y, v, max_iter=max_iter, tol=tol)
    else:
        raise ValidationFailed(Problem("meta", "method", "must be REML or DL", value=method))
    w = 1.0 / (v + tau2)
    estimate = float(np.sum(w * y) / np.sum(w))
    se = float(math.sqrt(1.0 / np.sum(w)))
    z = estimate / se
    pi_half = Z_975 * math.sqrt(se**2 + tau2)
    return MetaResult(
        method=method_name,
        k=k,
        estimate=estimate,
        se=se,
        ci_low=estimate - Z_975 * se,
        ci_high=estimate + Z_975 * se,
        z=z,
        p=float(2 * stats.norm.sf(abs(z))),
        tau2=tau2,
        tau2_se=tau2_se,
        i2=float(100 * tau2 / (tau2 + s2)),
        h2=float((tau2 + s2) / s2),
        q=q,
        q_df=k - 1,
        q_p=float(stats.chi2.sf(q, k - 1)),
        pi_low=estimate - pi_half,
        pi_high=estimate + pi_half,
        weights=tuple(float(x) for x in 100 * w / np.sum(w)),
        converged=converged,
        iterations=iterations,
    )


def _check(y: np.ndarray, v: np.ndarray) -> list[Problem]:
    problems = []
    if y.shape != v.shape or y.ndim != 1:
        return [Problem("meta", "vi", "needs one variance per effect", value=(y.shape, v.shape))]
    for index, (effect, variance) in enumerate(zip(y, v, strict=True)):
        if not math.isfinite(effect):
            problems.append(
                Problem("meta", "yi", "must be a finite number", row=index, value=float(effect))
            )
        if not (math.isfinite(variance) and variance > 0):
            problems.append(
                Problem(
                    "meta", "vi", "must be a finite number > 0", row=index, value=float(variance)
                )
            )
    return problems


def _dl_tau2(y: np.ndarray, v: np.ndarray) -> float:
    """DerSimonian–Laird tau² from statsmodels, truncated at 0 as DerSimonian & Laird (1986)
    and metafor do: statsmodels 0.15 returns the negative moment estimate when Q < k - 1."""
    # statsmodels also derives I² from H² = Q / (k - 1), which overflows or divides by zero
    # when Q is (nearly) 0; tau² itself is unaffected, and I² is computed here from tau².
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return max(0.0, float(combine_effects(y, v, method_re="dl").tau2))


def _reml_tau2(
    y: np.ndarray, v: np.ndarray, *, max_iter: int, tol: float
) -> tuple[float, float, int, bool]:
    """Fisher scoring for the REML estimate of tau², started at the DerSimonian–Laird value."""
    tau2 = _dl_tau2(y, v)
    for iteration in range(1, max_iter + 1):
        w = 1.0 / (v + tau2)
        p_matrix = np.diag(w) - np.outer(w, w) / np.sum(w)
        py = p_matrix @ y
        trace_pp = float(np.sum(p_matrix * p_matrix))
        step = (float(py @ py) - float(np.trace(p_matrix))) / trace_pp
        new = max(0.0, tau2 + step)
        converged = abs(new - tau2) < tol
        tau2 = new
        if converged:
            return tau2, _tau2_se(v, tau2), iteration, True
    return tau2, _tau2_se(v, tau2), max_iter, False


def _tau2_se(v: np.ndarray, tau2: float) -> float:
    w = 1.0 / (v + tau2)
    p_matrix = np.diag(w) - np.outer(w, w) / np.sum(w)
    return float(math.sqrt(2.0 / np.sum(p_matrix * p_matrix)))


# ---------------------------------------------------------------------------------------------
# effect sizes from what the studies report
# ---------------------------------------------------------------------------------------------

RATIO_MEASURES = {"RR", "OR", "HR"}
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
