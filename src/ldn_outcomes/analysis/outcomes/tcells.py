"""The "T-cells x 3" claim: paired fold-change in lymphocyte subset counts, by LOINC code.

Only the codes of ``domain.codes.T_CELL_LOINC`` (CD3, CD4, CD8 absolute counts in blood) count,
each on its own and in that order, so the headline is the CD3 count whatever lab happens to be
recorded first. Pairs as in ``labs``: the last value within ``lab_before_days`` before the LDN
start and the first ``lab_after_days`` after it. Counts are compared on the log scale: the
geometric mean fold-change exp(mean(log after - log before)) with a paired t interval (the
claims register's statistic). "By 300%" reads as a fold-change of 4, "to 300%" as 3.
"""

from __future__ import annotations

import numpy as np

from ...domain.codes import T_CELL_LOINC
from ...errors import InsufficientData
from ..data.frames import AnalysisData
from ..plan import AnalysisPlan
from ..results import FEW_PEOPLE, AnalysisResult, Estimate, SmallSample
from .labs import paired_values
from .within_person import paired_t

METHOD = (
    "geometric mean fold-change in CD3, CD4 and CD8 counts (after / before LDN start), paired t "
    "95% CI on log values, per LOINC code"
)
#: The claim's two readings: "to 300%" (x3) and "by 300%" (x4).
CLAIMED_FOLDS = (3.0, 4.0)


def analyse_t_cells(data: AnalysisData, plan: AnalysisPlan) -> AnalysisResult:
    labs = data.labs[data.labs["loinc"].isin(list(T_CELL_LOINC))]
    if labs.empty:
        raise InsufficientData(
            f"no CD3, CD4 or CD8 counts in {data.source} (LOINC "
            + ", ".join(T_CELL_LOINC)
            + "): the T-cell claim needs these counts before and after the LDN start"
        )
    users = data.ldn_users
    codes, start = users.index.to_numpy(), users["ldn_start"].to_numpy()
    result = AnalysisResult(name="t_cells", method=METHOD)
    missing = []
    for loinc, name in T_CELL_LOINC.items():
        before, after = paired_values(labs[labs["loinc"] == loinc], codes, start, plan)
        positive = (before > 0) & (after > 0)
        before, after = before[positive], after[positive]
        if len(before) < max(plan.min_ldn_users, 2):
            missing.append(f"{name} (LOINC {loinc}): {len(before)} pairs")
            continue
        mean, low, high = paired_t(np.log(after) - np.log(before), plan.alpha)
        fold, fold_low, fold_high = np.exp([mean, low, high])
        inside = [f"x{f:g}" for f in CLAIMED_FOLDS if fold_low <= f <= fold_high]
        result.estimates.append(
            Estimate(
                f"{name} (LOINC {loinc}): geometric mean fold-change after LDN start",
                float(fold),
                float(fold_low),
                float(fold_high),
                "ratio",
                n=len(before),
                note="claimed x3 or x4 "
                + (
                    "within the interval: " + ", ".join(inside)
                    if inside
                    else "outside the interval"
                ),
                key=f"t_cells:{loinc}",
            )
        )
    if not result.estimates:
        raise InsufficientData(
            f"too few CD3, CD4 or CD8 count pairs around the LDN start (one within "
            f"{plan.lab_before_days} days before and one {plan.lab_after_days[0]}-"
            f"{plan.lab_after_days[1]} days after): " + "; ".join(missing)
        )
    n = max(e.n or 0 for e in result.estimates)
    result.population = {"n_patients": n}
    result.details["not_estimable"] = missing
    result.caveats += [
        "no comparison group: counts vary with infections, steroids, DMTs, the time of day of "
        "the blood draw and the laboratory",
        "the claim mixes up T-cells and endorphins; neither change would show a clinical benefit",
    ]
    if n < FEW_PEOPLE:
        result.warn(SmallSample, f"only {n} users with paired T-cell counts")
    return result
