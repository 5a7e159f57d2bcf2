"""The causal headlines: where each lives, what the simulator calls its truth, its E-value.

One table, read by the engine (E-values beside each headline), the calibration bench (which
estimate to score against which true value) and the report (the bench's track record beside
each headline).
"""

from __future__ import annotations

from typing import Any

from scipy.stats import norm

from .numerics.evalue import EValue, e_value_difference, e_value_hazard_ratio, e_value_ratio
from .results import REGISTRY_SOURCE, AnalysisResult

#: headline -> analysis holding it, estimate key (``Estimate.key``), simulator truth key
#: (``truth["estimands"]``), ratio (bias on the log scale), a title for people and the measure
#: it is pooled as across sites (``ldn evidence meta --csv``: IRR rate ratio, HR hazard ratio,
#: MD mean difference).
HEADLINES: dict[str, dict[str, Any]] = {
    "relapses": {
        "analysis": "relapses",
        "key": "rate_ratio_matched",
        "truth": "relapse_rate_ratio",
        "ratio": True,
        "title": "relapse rate ratio",
        "measure": "IRR",
    },
    "fatigue": {
        "analysis": "symptoms",
        "key": "mfis_difference_12m_matched",
        "truth": "mfis_difference_12m",
        "ratio": False,
        "title": "fatigue (MFIS) difference at 12 months",
        "measure": "MD",
    },
    "spasm": {
        "analysis": "symptoms",
        "key": "nrs-spasticity_difference_12m_matched",
        "truth": "nrs-spasticity_difference_12m",
        "ratio": False,
        "title": "spasm (0-10) difference at 12 months",
        "measure": "MD",
    },
    "progression": {
        "analysis": "progression",
        "key": "cdw_hazard_ratio_matched",
        "truth": "progression_hazard_ratio",
        "ratio": True,
        "title": "progression hazard ratio",
        "measure": "HR",
    },
    "relapse_recovery": {
        "analysis": "relapse_recovery",
        "key": "recovery_hazard_ratio_matched",
        "truth": "relapse_recovery_hazard_ratio",
        "ratio": True,
        "title": "relapse recovery hazard ratio",
        "measure": "HR",
    },
    "negative_control": {
        "analysis": "diagnostics",
        "key": "negative_control_rate_ratio_matched",
        "truth": "negative_control_rate_ratio",
        "ratio": True,
        "title": "negative-control exposure",
        "measure": "IRR",
    },
}
#: Share with the outcome by the end of follow-up below which a hazard ratio is read as a
#: risk ratio (VanderWeele & Ding 2017).
RARE_OUTCOME = 0.15


def _e_value(headline: str, result: AnalysisResult, key: str, alpha: float) -> EValue | None:
    est = result.find(key)
    if est is None:
        return None
    if headline == "relapses":
        return e_value_ratio(est.value, est.ci_low, est.ci_high)
    if headline == "progression":
        n = result.population.get("n_patients") or 0
        rare = n > 0 and result.population.get("events", 0) / n < RARE_OUTCOME
        return e_value_hazard_ratio(est.value, est.ci_low, est.ci_high, rare=rare)
    if headline == "relapse_recovery":  # nearly every attack recovers: a common outcome
        return e_value_hazard_ratio(est.value, est.ci_low, est.ci_high, rare=False)
    sd = result.details.get("outcome_sd", {}).get(key)
    if sd is None:
        return None
    # The SE behind the interval, read back with the plan's own confidence level.
    z = float(norm.ppf(1 - alpha / 2))
    return e_value_difference(est.value, (est.ci_high - est.ci_low) / (2 * z), sd)


def attach_e_value(
    analysis: str,
    result: AnalysisResult,
    *,
    alpha: float = 0.05,
    source: str = REGISTRY_SOURCE,
) -> None:
    """Put the E-value of each causal headline of ``analysis`` in its details and, in plain
    words, among its caveats (the negative control is a diagnostic: no E-value)."""
    for headline, spec in HEADLINES.items():
        if spec["analysis"] != analysis or headline == "negative_control":
            continue
        e = _e_value(headline, result, spec["key"], alpha)
        if e is None or e.point != e.point:  # NaN: not computable
            continue
        result.details.setdefault("e_values", {})[headline] = {
            "key": spec["key"],
            "e_value": e.point,
            "e_value_ci": e.interval,
            "risk_ratio_scale": e.risk_ratio,
            "text": e.sentence(f"the {spec['title']}", source),
        }
        result.caveats.append(e.sentence(f"the {spec['title']}", source))
