"""Mechanism claims: change in recorded lab values after LDN start, per LOINC code.

Paired design: the last value within ``lab_before_days`` before the start and the first value
``lab_after_days`` after it; mean change with a t interval. With no such pairs the result says
there are no data rather than showing a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import InsufficientData
from ..data.frames import AnalysisData
from ..numerics.cdw import keys
from ..plan import AnalysisPlan
from ..results import FEW_PEOPLE, AnalysisResult, Estimate, SmallSample

METHOD = "paired change (after - before LDN start), mean with t 95% CI, per LOINC code"


def paired_values(
    labs: pd.DataFrame, codes: np.ndarray, start: np.ndarray, plan: AnalysisPlan
) -> tuple[np.ndarray, np.ndarray]:
    """Before and after values of one lab code for the patients ``codes`` starting at
    ``start`` (only those with both); none when the code was never recorded (one CD3 count
    and no CD4 count must not fail the CD4 pairs)."""
    if labs.empty:
        empty = np.array([], dtype=float)
        return empty, empty.copy()
    labs = labs.sort_values(["code", "day"])
    lk = keys(labs["code"].to_numpy(), labs["day"].to_numpy())
    lc, ld, lv = labs["code"].to_numpy(), labs["day"].to_numpy(), labs["value"].to_numpy()
    before_pos = np.searchsorted(lk, keys(codes, start), side="right") - 1
    bp = np.maximum(before_pos, 0)
    before_ok = (before_pos >= 0) & (lc[bp] == codes) & (ld[bp] >= start - plan.lab_before_days)
    after_pos = np.searchsorted(lk, keys(codes, start + plan.lab_after_days[0]), side="left")
    ap = np.minimum(after_pos, len(lk) - 1)
    after_ok = (
        (after_pos < len(lk)) & (lc[ap] == codes) & (ld[ap] <= start + plan.lab_after_days[1])
    )
    ok = before_ok & after_ok
    return lv[bp[ok]], lv[ap[ok]]


def analyse_labs(data: AnalysisData, plan: AnalysisPlan) -> AnalysisResult:
    if data.labs.empty:
        raise InsufficientData(
            f"no lab data in {data.source}: claims about immune effects "
            "(e.g. 'T-cells x3') cannot be checked"
        )
    users = data.ldn_users
    codes = users.index.to_numpy()
    start = users["ldn_start"].to_numpy()
    result = AnalysisResult(name="labs", method=METHOD)
    n_total = 0
    for loinc, part in data.labs.groupby("loinc"):
        before, after = paired_values(part, codes, start, plan)
        if len(before) < plan.min_ldn_users:
            continue
        delta = after - before
        mean = float(delta.mean())
        half = (
            stats.t.ppf(1 - plan.alpha / 2, len(delta) - 1)
            * delta.std(ddof=1)
            / np.sqrt(len(delta))
        )
        name = part["name"].dropna().iloc[0] if part["name"].notna().any() else loinc
        unit = part["unit"].iloc[0]
        result.estimates.append(
            Estimate(
                f"{name} (LOINC {loinc}): mean change after LDN start",
                mean,
                mean - half,
                mean + half,
                "difference",
                n=len(delta),
                note=f"{unit}; before {before.mean():.3g}, after {after.mean():.3g}",
            )
        )
        n_total = max(n_total, len(delta))
    if not result.estimates:
        raise InsufficientData(
            f"no lab value pairs around LDN start (one within {plan.lab_before_days} days "
            f"before and one {plan.lab_after_days[0]}-{plan.lab_after_days[1]} days after) "
            f"for at least {plan.min_ldn_users} users"
        )
    result.population = {"n_patients": n_total}
    result.caveats += [
        "no comparison group: lab values drift and vary between labs",
        "a change in a blood count is not evidence of a clinical benefit",
    ]
    if n_total < FEW_PEOPLE:
        result.warn(SmallSample, f"only {n_total} users with paired lab values")
    return result
