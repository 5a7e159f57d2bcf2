"""Side effects: adverse events per 100 patient-years on and off LDN, by term.

Time on LDN: the union of each patient's LDN exposures within their observed follow-up; time
off: the rest of the follow-up of every patient (users before/after LDN and non-users). Rates
have exact (Garwood) Poisson intervals (statsmodels ``confint_poisson(method="exact-c")``); the
on/off rate ratio a score interval (``confint_poisson_2indep``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.rates import confint_poisson, confint_poisson_2indep

from ...errors import InsufficientData
from ..data.frames import DAYS_PER_YEAR, AnalysisData
from ..numerics.cdw import keys
from ..plan import AnalysisPlan
from ..results import FEW_EVENTS, AnalysisResult, Estimate, SmallSample

METHOD = (
    "events per 100 patient-years with exact Poisson (Garwood) 95% CI; on/off rate ratio "
    "with score CI (statsmodels)"
)


def ldn_intervals(data: AnalysisData, plan: AnalysisPlan) -> pd.DataFrame:
    """Merged LDN intervals per patient, clipped to follow-up: code, start, end."""
    exp = data.exposures[data.exposures["drug_class"] == "ldn"]
    if exp.empty:
        return pd.DataFrame({"code": [], "start": [], "end": []})
    p = data.patients
    exp = exp.sort_values(["code", "start"])
    codes = exp["code"].to_numpy()
    fe = p["follow_end"].to_numpy()[codes]
    start = np.maximum(exp["start"].to_numpy(), p["follow_start"].to_numpy()[codes])
    end = np.minimum(np.where(np.isnan(exp["stop"].to_numpy()), fe, exp["stop"].to_numpy()), fe)
    reach = pd.Series(end).groupby(codes).cummax().to_numpy()
    previous = np.r_[-np.inf, reach[:-1]]
    new = np.r_[True, codes[1:] != codes[:-1]] | (start > previous)
    block = np.cumsum(new)
    merged = pd.DataFrame({"code": codes, "start": start, "end": end, "block": block})
    merged = (
        merged.groupby("block")
        .agg(code=("code", "first"), start=("start", "min"), end=("end", "max"))
        .reset_index(drop=True)
    )
    return merged[merged["end"] > merged["start"]]


def _rate(count: int, years: float, label: str, alpha: float) -> Estimate:
    lo, hi = confint_poisson(count, years / 100, method="exact-c", alpha=alpha)
    return Estimate(
        label,
        count / years * 100 if years > 0 else float("nan"),
        float(lo),
        float(hi),
        "rate",
        n=int(count),
        note="per 100 patient-years",
    )


def analyse_adverse_events(data: AnalysisData, plan: AnalysisPlan) -> AnalysisResult:
    if int(data.patients["ever_ldn"].sum()) < plan.min_ldn_users:
        raise InsufficientData(f"fewer than {plan.min_ldn_users} LDN users: no side-effect rates")
    p = data.patients
    total_years = float(np.nansum(p["follow_end"] - p["follow_start"]) / DAYS_PER_YEAR)
    on = ldn_intervals(data, plan)
    on_years = float((on["end"] - on["start"]).sum() / DAYS_PER_YEAR)
    off_years = total_years - on_years
    if on_years <= 0:
        raise InsufficientData("no recorded time on LDN within follow-up")
    ae = data.adverse_events.dropna(subset=["day"])
    okeys = keys(on["code"].to_numpy(), on["start"].to_numpy())
    pos = (
        np.searchsorted(okeys, keys(ae["code"].to_numpy(), ae["day"].to_numpy()), side="right") - 1
    )
    valid = pos >= 0
    pc = np.maximum(pos, 0)
    on_flag = (
        valid
        & (on["code"].to_numpy()[pc] == ae["code"].to_numpy())
        & (ae["day"].to_numpy() <= on["end"].to_numpy()[pc])
        if len(on)
        else np.zeros(len(ae), bool)
    )
    ae = ae.assign(on=on_flag)
    result = AnalysisResult(name="adverse_events", method=METHOD)
    rows = []
    for term, part in [("all terms", ae), *sorted(ae.groupby("term"))]:
        n_on, n_off = int(part["on"].sum()), int((~part["on"]).sum())
        rate_on = _rate(n_on, on_years, f"{term}: on LDN", plan.alpha)
        rate_off = _rate(n_off, off_years, f"{term}: off LDN", plan.alpha)
        if n_on and n_off and off_years > 0:
            lo, hi = confint_poisson_2indep(
                n_on, on_years, n_off, off_years, method="score", compare="ratio", alpha=plan.alpha
            )
            ratio = (n_on / on_years) / (n_off / off_years)
            note = ""
        else:
            lo = hi = ratio = float("nan")
            note = "not estimable: no events " + ("off" if not n_off else "on") + " LDN"
        rr = Estimate(
            f"{term}: rate ratio on vs off LDN",
            ratio,
            float(lo),
            float(hi),
            "ratio",
            n=n_on + n_off,
            note=note,
        )
        result.estimates += [rate_on, rate_off, rr]
        rows.append(
            {
                "term": term,
                "on": n_on,
                "off": n_off,
                "rate_on": rate_on.value,
                "rate_off": rate_off.value,
                "ratio": ratio,
                "ci": [float(lo), float(hi)],
            }
        )
    result.population = {
        "n_patients": int(len(p)),
        "n_ldn_users": int(p["ever_ldn"].sum()),
        "person_years": total_years,
        "person_years_on_ldn": on_years,
        "person_years_off_ldn": off_years,
        "events": int(len(ae)),
    }
    result.caveats += [
        "not adjusted for who chooses LDN; side effects are self-reported and people on a new "
        "drug look for them more (notice bias)",
        "time off LDN includes non-users, whose disease and age may differ",
    ]
    if not int((~ae["on"]).sum()):
        result.caveats.append(
            "no adverse events were recorded off LDN: the registry may only "
            "ask LDN users about side effects, so on/off ratios cannot be "
            "estimated"
        )
    if len(ae) < FEW_EVENTS:
        result.warn(SmallSample, f"only {len(ae)} adverse events recorded")
    result.details["by_term"] = rows
    return result
