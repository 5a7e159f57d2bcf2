"""The one random-effects meta-analysis of the project (evidence hub and n-of-1 series alike).

Model: y_i = mu + u_i + e_i, u_i ~ N(0, tau²), e_i ~ N(0, v_i) (Viechtbauer 2010, J Stat Softw
36(3), doi:10.18637/jss.v036.i03). Three estimators of tau², each truncated at 0 (a variance):

* ``DL``, DerSimonian & Laird (1986, Control Clin Trials 7:177): the method of moments,
  tau² = max(0, (Q - (k - 1)) / (sum w - sum w² / sum w)), w_i = 1 / v_i.
* ``PM``, Paule & Mandel (1982; DerSimonian & Kacker 2007, Contemp Clin Trials 28:105): the
  tau² at which the generalised Q, sum w_i(tau²) (y_i - mu(tau²))², equals its expectation
  k - 1 (0 when even tau² = 0 gives less), found by bracketing root search.
* ``REML``, metafor's default: Fisher scoring started at the DL value::

      tau²_{t+1} = max(0, tau²_t + (y' P P y - tr P) / tr(P P)),  P = W - W 1 1' W / 1' W 1,
      W = diag(1 / (v_i + tau²_t)),   SE(tau²) = sqrt(2 / tr(P P)).

  Fisher scoring can oscillate without settling in ``max_iter`` steps; it is then retried
  with shorter steps (1/2, then 1/4). If none settles it never returns silently: the result
  falls back to Paule–Mandel and says so (``method``, ``requested_method``,
  ``fallback_reason``), and every page and command that shows a result shows that reason.

Heterogeneity as in metafor: Q = sum w_i (y_i - mu_FE)², the typical sampling variance
s² = (k-1) sum w / ((sum w)² - sum w²), **I² = 100 tau² / (tau² + s²) in percent**, H² =
(tau² + s²) / s². The 95% CI of mu is mu ± z_0.975 SE (metafor's default). The 95% prediction
interval for the effect in a new study (or patient) is the one rule of Higgins, Thompson &
Spiegelhalter 2009 (J R Stat Soc A 172:137, eq. 6): mu ± t_{k-2, 0.975} sqrt(tau² + SE²),
defined from three studies on (None below).

Checked against metafor's published output for dat.bcg (tests/stats/test_random_effects.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

from ..errors import InsufficientData, Problem, ValidationFailed

Method = Literal["REML", "DL", "PM"]
METHODS: dict[str, str] = {
    "REML": "restricted maximum likelihood",
    "DL": "DerSimonian-Laird",
    "PM": "Paule-Mandel",
}
#: What REML falls back to when Fisher scoring does not converge: Paule–Mandel is, like REML,
#: an iterative estimator with good coverage, and its root search always converges.
REML_FALLBACK = "PM"
Z_975 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class MetaResult:
    """A pooled random-effects estimate; ``method`` is the estimator of tau² actually used."""

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
    i2: float  # percent, 0-100
    h2: float
    q: float
    q_df: int
    q_p: float
    pi_low: float | None  # Higgins-Thompson-Spiegelhalter 95% prediction interval, k >= 3
    pi_high: float | None
    fixed_effect: float
    weights: tuple[float, ...]  # percent of the total random-effects weight
    requested_method: str = ""
    converged: bool = True
    iterations: int = 0
    fallback_reason: str | None = None

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def method_name(self) -> str:
        return METHODS[self.method]

    def as_dict(self) -> dict[str, Any]:
        data = {key: (list(v) if isinstance(v, tuple) else v) for key, v in asdict(self).items()}
        data["tau"] = self.tau
        data["i2_unit"] = "percent"
        return data


def random_effects(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    *,
    method: str = "REML",
    max_iter: int = 100,
    tol: float = 1e-10,
) -> MetaResult:
    """Pool effects ``yi`` with sampling variances ``vi`` under a random-effects model."""
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    requested = str(method).upper()
    if requested not in METHODS:
        raise ValidationFailed(
            Problem("meta", "method", f"must be one of {', '.join(METHODS)}", value=method)
        )
    problems = _check(y, v)
    if problems:
        raise ValidationFailed(problems)
    k = len(y)
    if k < 2:
        raise InsufficientData("a meta-analysis needs at least two studies")
    used, tau2_se, iterations, converged, fallback = requested, None, 0, True, None
    if requested == "DL":
        tau2 = dl_tau2(y, v)
    elif requested == "PM":
        tau2 = pm_tau2(y, v)
    else:
        tau2, tau2_se, iterations, converged = reml_tau2(y, v, max_iter=max_iter, tol=tol)
        if not converged:
            used, tau2_se = REML_FALLBACK, None
            tau2 = pm_tau2(y, v)
            fallback = (
                f"REML did not converge ({max_iter} iterations at each of "
                f"{len(STEP_LENGTHS)} step lengths); tau² is the "
                f"{METHODS[REML_FALLBACK]} estimate instead"
            )
    return _summarise(y, v, tau2, used, requested, tau2_se, iterations, converged, fallback)


def _summarise(
    y: np.ndarray,
    v: np.ndarray,
    tau2: float,
    used: str,
    requested: str,
    tau2_se: float | None,
    iterations: int,
    converged: bool,
    fallback: str | None,
) -> MetaResult:
    k = len(y)
    w_fe = 1.0 / v
    mu_fe = float(np.sum(w_fe * y) / np.sum(w_fe))
    q = float(np.sum(w_fe * (y - mu_fe) ** 2))
    s2 = float((k - 1) * np.sum(w_fe) / (np.sum(w_fe) ** 2 - np.sum(w_fe**2)))
    w = 1.0 / (v + tau2)
    estimate = float(np.sum(w * y) / np.sum(w))
    se = float(math.sqrt(1.0 / np.sum(w)))
    z = estimate / se
    pi_low = pi_high = None
    if k >= 3:
        half = float(stats.t.ppf(0.975, k - 2)) * math.sqrt(tau2 + se**2)
        pi_low, pi_high = estimate - half, estimate + half
    return MetaResult(
        method=used,
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
        pi_low=pi_low,
        pi_high=pi_high,
        fixed_effect=mu_fe,
        weights=tuple(float(x) for x in 100 * w / np.sum(w)),
        requested_method=requested,
        converged=converged,
        iterations=iterations,
        fallback_reason=fallback,
    )


def _check(y: np.ndarray, v: np.ndarray) -> list[Problem]:
    if y.shape != v.shape or y.ndim != 1:
        return [Problem("meta", "vi", "needs one variance per effect", value=(y.shape, v.shape))]
    problems = []
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


def dl_tau2(y: np.ndarray, v: np.ndarray) -> float:
    """DerSimonian–Laird moment estimate, truncated at 0 as DerSimonian & Laird (1986) and
    metafor do."""
    w = 1.0 / v
    mu = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu) ** 2))
    scale = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    return max(0.0, (q - (len(y) - 1)) / scale)


def generalised_q(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """sum w_i (y_i - mu)² with w_i = 1 / (v_i + tau²): decreasing in tau²."""
    w = 1.0 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    return float(np.sum(w * (y - mu) ** 2))


def pm_tau2(y: np.ndarray, v: np.ndarray) -> float:
    """Paule–Mandel: the root of generalised Q(tau²) = k - 1, or 0 when Q(0) <= k - 1."""
    target = len(y) - 1
    if generalised_q(y, v, 0.0) <= target:
        return 0.0
    upper = max(float(np.var(y, ddof=1)), float(np.max(v)), 1e-12)
    while generalised_q(y, v, upper) > target:  # Q -> sum (y - mean)² / tau² -> 0
        upper *= 4
    return float(
        optimize.brentq(
            lambda t: generalised_q(y, v, t) - target, 0.0, upper, xtol=1e-14, rtol=1e-12
        )
    )


def reml_tau2(
    y: np.ndarray, v: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10
) -> tuple[float, float, int, bool]:
    """Fisher scoring for the REML estimate of tau², started at the DerSimonian–Laird value.

    Full steps first, as metafor takes them; when they oscillate without settling, scoring is
    retried with the step halved and then quartered (metafor's own advice on non-convergence is
    to shorten the step, ``control = list(stepadj = 0.5)``). Returns (tau², its SE, iterations
    over all attempts, converged)."""
    used = 0
    tau2 = 0.0
    for step_length in STEP_LENGTHS:
        tau2, iterations, converged = _fisher_scoring(y, v, step_length, max_iter, tol)
        used += iterations
        if converged:
            return tau2, _tau2_se(v, tau2), used, True
    return tau2, _tau2_se(v, tau2), used, False


#: Step lengths tried in turn by :func:`reml_tau2`.
STEP_LENGTHS = (1.0, 0.5, 0.25)


def _fisher_scoring(
    y: np.ndarray, v: np.ndarray, step_length: float, max_iter: int, tol: float
) -> tuple[float, int, bool]:
    tau2 = dl_tau2(y, v)
    for iteration in range(1, max_iter + 1):
        p_matrix = _p_matrix(v, tau2)
        py = p_matrix @ y
        trace_pp = float(np.sum(p_matrix * p_matrix))
        step = (float(py @ py) - float(np.trace(p_matrix))) / trace_pp
        new = max(0.0, tau2 + step_length * step)
        converged = abs(new - tau2) < tol
        tau2 = new
        if converged:
            return tau2, iteration, True
    return tau2, max_iter, False


def _p_matrix(v: np.ndarray, tau2: float) -> np.ndarray:
    w = 1.0 / (v + tau2)
    return np.diag(w) - np.outer(w, w) / np.sum(w)


def _tau2_se(v: np.ndarray, tau2: float) -> float:
    p_matrix = _p_matrix(v, tau2)
    return float(math.sqrt(2.0 / np.sum(p_matrix * p_matrix)))
