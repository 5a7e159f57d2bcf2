"""The causal headlines: where each lives, what the simulator calls its truth, its E-value.

One table, read by the engine (E-values beside each headline), the calibration bench (which
estimate to score against which true value) and the report (the bench's track record beside
each headline).
"""

from __future__ import annotations

from typing import Any

from .evalue import EValue, e_value_difference, e_value_hazard_ratio, e_value_ratio
from .results import AnalysisResult

#: headline -> analysis holding it, estimate label, simulator truth key
#: (``truth["estimands"]``), ratio (bias on the log scale) and a title for people.
HEADLINES: dict[str, dict[str, Any]] = {
    "relapses": {
        "analysis": "relapses",
        "label": "rate ratio after the start vs matched non-users (matched)",
        "truth": "relapse_rate_ratio",
        "ratio": True,
        "title": "relapse rate ratio",
    },
    "fatigue": {
        "analysis": "symptoms",
        "label": "mfis: difference in change at 12 months vs matched non-users",
        "truth": "mfis_difference_12m",
        "ratio": False,
        "title": "fatigue (MFIS) difference at 12 months",
    },
    "spasm": {
        "analysis": "symptoms",
        "label": "nrs-spasticity: difference in change at 12 months vs matched non-users",
        "truth": "nrs-spasticity_difference_12m",
        "ratio": False,
        "title": "spasm (0-10) difference at 12 months",
    },
    "progression": {
        "analysis": "progression",
        "label": "hazard ratio of CDW, LDN vs matched non-users",
        "truth": "progression_hazard_ratio",
        "ratio": True,
        "title": "progression hazard ratio",
    },
    "relapse_recovery": {
        "analysis": "relapse_recovery",
        "label": "hazard ratio of recovery, LDN during attack vs matched non-users' relapses",
        "truth": "relapse_recovery_hazard_ratio",
        "ratio": True,
        "title": "relapse recovery hazard ratio",
    },
    "negative_control": {
        "analysis": "diagnostics",
        "label": "negative control: rate ratio after the start vs matched non-users (matched)",
        "truth": "negative_control_rate_ratio",
        "ratio": True,
        "title": "negative-control exposure",
    },
}
#: Share with the outcome by the end of follow-up below which a hazard ratio is read as a
#: risk ratio (VanderWeele & Ding 2017).
RARE_OUTCOME = 0.15
Z95 = 1.959964


def _e_value(headline: str, result: AnalysisResult, label: str) -> EValue | None:
    found = [e for e in result.estimates if e.label == label]
    if not found:
        return None
    est = found[0]
    if headline == "relapses":
        return e_value_ratio(est.value, est.ci_low, est.ci_high)
    if headline == "progression":
        n = result.population.get("n_patients") or 0
        rare = n > 0 and result.population.get("events", 0) / n < RARE_OUTCOME
        return e_value_hazard_ratio(est.value, est.ci_low, est.ci_high, rare=rare)
    if headline == "relapse_recovery":  # nearly every attack recovers: a common outcome
        return e_value_hazard_ratio(est.value, est.ci_low, est.ci_high, rare=False)
    sd = result.details.get("outcome_sd", {}).get(label)
    if sd is None:
        return None
    return e_value_difference(est.value, (est.ci_high - est.ci_low) / (2 * Z95), sd)


def attach_e_value(analysis: str, result: AnalysisResult) -> None:
    """Put the E-value of each causal headline of ``analysis`` in its details and, in plain
    words, among its caveats (the negative control is a diagnostic: no E-value)."""
    for headline, spec in HEADLINES.items():
        if spec["analysis"] != analysis or headline == "negative_control":
            continue
        e = _e_value(headline, result, spec["label"])
        if e is None or e.point != e.point:  # NaN: not computable
            continue
        result.details.setdefault("e_values", {})[headline] = {
            "label": spec["label"],
            "e_value": e.point,
            "e_value_ci": e.interval,
            "risk_ratio_scale": e.risk_ratio,
            "text": e.sentence(f"the {spec['title']}"),
        }
        result.caveats.append(e.sentence(f"the {spec['title']}"))
