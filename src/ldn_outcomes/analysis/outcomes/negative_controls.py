"""The negative-control exposure through each headline's own estimator.

Starters of a product that cannot work (``negative_control_class``, e.g. vitamin D) are matched
to non-users exactly as LDN users are; the relapse comparison of them is in ``diagnostics``.
Here the progression hazard ratio and the fatigue and spasm differences at the last planned
month are computed for them with the same code as the headlines. An interval that excludes no
effect means the design finds an "effect" of something that has none on this registry
(confounding it cannot remove, or a design flaw), so the headlines are not shown as findings
(Lipsitch, Tchetgen Tchetgen & Cohen 2010, Epidemiology 21:383,
doi 10.1097/EDE.0b013e3181d61eeb; Schuemie et al. 2018, Proc Natl Acad Sci USA 115:2571,
doi 10.1073/pnas.1708282114).
Only the headline instruments are checked: every further check raises the share of registries
without any bias that fail by chance (docs/analysis.md gives the measured share).
"""

from __future__ import annotations

import pandas as pd

from ...errors import InsufficientData
from ..data.frames import AnalysisData
from ..matching.match import MatchResult
from ..plan import AnalysisPlan
from ..results import Estimate
from .progression import endpoints, matched_hazard_ratio
from .symptoms import matched_difference

#: Instruments of the symptom headlines (fatigue, spasm) checked with the negative control.
HEADLINE_INSTRUMENTS = ("mfis", "nrs-spasticity")


def _progression(data: AnalysisData, plan: AnalysisPlan, cohort: pd.DataFrame) -> Estimate:
    ep = endpoints(data, plan, cohort)
    label = "negative control: hazard ratio of CDW vs matched non-users"
    return matched_hazard_ratio(data, plan, ep[ep["usable"]], label)


def outcome_negative_controls(
    data: AnalysisData, plan: AnalysisPlan, nc_match: MatchResult
) -> tuple[list[Estimate], dict[str, list[str]]]:
    """Estimates for the negative-control exposure and, per analysis, the failures."""
    estimates: list[Estimate] = []
    failures: dict[str, list[str]] = {"symptoms": [], "progression": []}
    cohort = nc_match.cohort
    last = plan.symptom_months[-1]
    for instrument in HEADLINE_INSTRUMENTS:
        if instrument not in plan.symptom_instruments or not len(data.symptom_series(instrument)):
            continue
        label = (
            f"negative control: {instrument} difference in change at {last} months vs "
            "matched non-users"
        )
        found = matched_difference(data, plan, cohort, instrument, label)
        if found is None:
            continue
        estimate = found[0]
        estimates.append(estimate)
        if estimate.excludes_null:
            failures["symptoms"].append(
                f"negative control for {instrument}: {estimate.value:+.2f} "
                f"({estimate.ci_low:+.2f} to {estimate.ci_high:+.2f}) excludes 0"
            )
    if not data.edss.empty:
        try:
            hr = _progression(data, plan, cohort)
        except InsufficientData:
            hr = None
        if hr is not None:
            estimates.append(hr)
            if hr.excludes_null:
                failures["progression"].append(
                    f"negative control for progression: hazard ratio {hr.value:.2f} "
                    f"({hr.ci_low:.2f}-{hr.ci_high:.2f}) excludes 1"
                )
    return estimates, failures
