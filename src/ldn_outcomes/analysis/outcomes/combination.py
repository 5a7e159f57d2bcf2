"""Side effects on LDN plus a disease-modifying drug vs on LDN alone (the "can't combine with
the CRAB drugs" claim).

Time on LDN (``adverse.ldn_intervals``) is split, per person, into time also covered by a DMT
exposure and time on LDN alone; adverse events on LDN are counted in each part. The headline
rate ratio (LDN plus DMT / LDN alone) is a negative binomial GLM on one row per person and part
with log person-years as offset and person-clustered errors (``numerics.ratemodels.rate_ratio``,
checked against R ``MASS::glm.nb``); beside it the pooled Poisson GLM ratio with its model-based
Wald interval, exp(log(r1/r0) +- z sqrt(1/d1 + 1/d0)) (Rothman, Epidemiology: An Introduction).
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ...errors import InsufficientData
from ..data.frames import DAYS_PER_YEAR, AnalysisData
from ..data.intervals import merged_intervals
from ..numerics.ratemodels import rate_ratio
from ..plan import AnalysisPlan
from ..results import FEW_EVENTS, AnalysisResult, Estimate, ModelFallback, SmallSample
from .adverse import ldn_intervals
from .within_person import label_scores

METHOD = (
    "adverse events per person-year on LDN plus a DMT vs on LDN alone: negative binomial GLM "
    "rate ratio (log person-years offset, person-clustered 95% CI); pooled Poisson GLM beside it"
)
WITH_DMT, ALONE = "LDN plus DMT", "LDN alone"


def poisson_rate_ratio(
    counts: np.ndarray, years: np.ndarray, exposed: np.ndarray, alpha: float, label: str, key: str
) -> Estimate:
    """exp(coefficient) of ``exposed`` in a Poisson GLM with log(years) offset; Wald interval."""
    design = sm.add_constant(np.asarray(exposed, dtype=float), has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(
            np.asarray(counts, dtype=float),
            design,
            family=sm.families.Poisson(),
            offset=np.log(np.asarray(years, dtype=float)),
        ).fit()
    coef, se = float(fit.params[1]), float(fit.bse[1])
    return Estimate.ratio_from_log(
        label,
        coef,
        se,
        alpha,
        n=int(np.sum(counts)),
        key=key,
    )


def person_parts(data: AnalysisData, plan: AnalysisPlan) -> pd.DataFrame:
    """One row per LDN user and part (``with_dmt`` 0/1): person-years and adverse events."""
    on = ldn_intervals(data, plan)
    if on.empty:
        raise InsufficientData("no recorded time on LDN within follow-up")
    dmt = data.exposures[data.exposures["drug_class"] == "dmt"]
    follow_end = data.patients["follow_end"].to_numpy()
    dmt = pd.DataFrame(
        {
            "code": dmt["code"].to_numpy(),
            "start": dmt["start"].to_numpy(),
            "end": np.where(
                np.isnan(dmt["stop"].to_numpy()),
                follow_end[dmt["code"].to_numpy()],
                dmt["stop"].to_numpy(),
            ),
        }
    )
    both = on.reset_index(drop=True).merge(
        merged_intervals(dmt), on="code", how="inner", suffixes=("", "_d")
    )
    lo = np.maximum(both["start"], both["start_d"])
    hi = np.minimum(both["end"], both["end_d"])
    overlap = both.assign(start=lo, end=hi)[hi > lo][["code", "start", "end"]]
    total = (on["end"] - on["start"]).groupby(on["code"]).sum()
    with_dmt = (overlap["end"] - overlap["start"]).groupby(overlap["code"]).sum()
    with_dmt = with_dmt.reindex(total.index, fill_value=0.0)
    ae = data.adverse_events.dropna(subset=["day"])
    on_ldn = label_scores(ae, on.assign(label="on"), settle_days=0) == "on"
    ae = ae[on_ldn.to_numpy()]
    in_dmt = label_scores(ae, overlap.assign(label="dmt"), settle_days=0) == "dmt"
    n_dmt = in_dmt.groupby(ae["code"]).sum().reindex(total.index, fill_value=0)
    n_all = ae.groupby("code").size().reindex(total.index, fill_value=0)
    codes = total.index.to_numpy()
    return pd.DataFrame(
        {
            "code": np.r_[codes, codes],
            "with_dmt": np.r_[np.ones(codes.size), np.zeros(codes.size)],
            "years": np.r_[with_dmt.to_numpy(), (total - with_dmt).to_numpy()] / DAYS_PER_YEAR,
            "events": np.r_[n_dmt.to_numpy(), (n_all - n_dmt).to_numpy()].astype(float),
        }
    )


def analyse_combination(data: AnalysisData, plan: AnalysisPlan) -> AnalysisResult:
    parts = person_parts(data, plan)
    parts = parts[parts["years"] > 0]
    users = parts.groupby("with_dmt")["code"].nunique()
    if users.get(1.0, 0) < plan.min_ldn_users or users.get(0.0, 0) < plan.min_ldn_users:
        raise InsufficientData(
            f"fewer than {plan.min_ldn_users} people with recorded time on LDN together with a "
            "DMT, or on LDN alone: the claim needs DMT exposures with dates beside LDN"
        )
    events = parts.groupby("with_dmt")["events"].sum()
    years = parts.groupby("with_dmt")["years"].sum()
    if not (events.get(1.0, 0) and events.get(0.0, 0)):
        raise InsufficientData(
            "no adverse events recorded on LDN plus a DMT or on LDN alone: no rate ratio"
        )
    result = AnalysisResult(name="combination", method=METHOD)
    label = f"all adverse events: rate ratio, {WITH_DMT} vs {ALONE}"
    pooled = poisson_rate_ratio(
        events.to_numpy(),
        years.to_numpy(),
        events.index.to_numpy(),
        plan.alpha,
        f"{label} (pooled Poisson)",
        "combination:poisson",
    )
    design = sm.add_constant(parts["with_dmt"].to_numpy(), has_constant="add")
    try:
        fitted = rate_ratio(
            parts["events"].to_numpy(),
            design,
            parts["years"].to_numpy(),
            parts["code"].to_numpy(),
            1,
            label,
            model="negbin",
            alpha=plan.alpha,
            note="negative binomial, person-clustered",
        )
        result.estimates.append(replace(fitted, key="combination:negbin"))
    except (InsufficientData, np.linalg.LinAlgError, ValueError) as error:
        result.warn(
            ModelFallback, f"negative binomial model not fitted ({error}); pooled Poisson shown"
        )
    result.estimates.append(pooled)
    result.population = {
        "n_patients": int(parts["code"].nunique()),
        "n_with_dmt": int(users.get(1.0, 0)),
        "n_alone": int(users.get(0.0, 0)),
        "events_with_dmt": int(events.get(1.0, 0)),
        "events_alone": int(events.get(0.0, 0)),
        "person_years_with_dmt": float(years.get(1.0, 0.0)),
        "person_years_alone": float(years.get(0.0, 0.0)),
    }
    result.caveats += [
        "people on a DMT differ from people on LDN alone (more active disease, more clinic "
        "visits, so more side effects noticed and recorded)",
        "any DMT is pooled: interferon beta and glatiramer acetate are not shown apart",
        "a rate ratio near 1 cannot exclude a rare interaction",
    ]
    if events.sum() < FEW_EVENTS:
        result.warn(SmallSample, f"only {int(events.sum())} adverse events on LDN")
    return result
