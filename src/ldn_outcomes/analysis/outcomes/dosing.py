"""Dose timing and dose level within person: claims "take it at bedtime" and "stay at 3 mg".

Each LDN exposure is one dose step with its time of day and dose (a change is a new exposure).
For people who took LDN both ways, the mean symptom score under one condition minus the mean
under the other (scores in the first ``SETTLE_DAYS`` after a change count for neither), with a
paired t interval over people (``within_person``). Timing also compares sleep side effects
(insomnia, vivid dreams) per person-time, evening or bedtime vs morning, with a score interval
for the rate ratio (statsmodels ``confint_poisson_2indep``).

Not a randomised crossover: people switch timing because of sleep problems and dose because of
symptoms or side effects, and the periods differ in calendar time; a blinded n-of-1 trial
answers the question for one person without these biases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.rates import confint_poisson_2indep

from ...errors import InsufficientData
from ..data.frames import DAYS_PER_YEAR, AnalysisData
from ..plan import AnalysisPlan
from ..results import FEW_PEOPLE, AnalysisResult, Estimate, SmallSample
from .within_person import CONFOUNDING_CAVEATS, SETTLE_DAYS, condition_difference, label_scores

TIMING_METHOD = (
    "within-person mean difference in symptom score (evening or bedtime minus morning dosing), "
    "paired t 95% CI; sleep side effects: rate ratio with score 95% CI"
)
DOSE_METHOD = "within-person mean difference in symptom score (4.5 mg minus 3 mg), paired t 95% CI"

MORNING = "morning"
NIGHT = "evening or bedtime"
#: The doses the circulating claim compares (3 mg "and maintain that dosage" vs the 4.5 mg used
#: in the MS crossover trial, Cree et al. 2010, PMID 20695007).
LOWER_DOSE_MG = 3.0
HIGHER_DOSE_MG = 4.5
SLEEP_TERMS = ("insomnia", "vivid_dreams")
SPASTICITY = "nrs-spasticity"


def ldn_steps(data: AnalysisData) -> pd.DataFrame:
    """LDN dose steps: code, start, end (stop, or the end of follow-up), dose_mg, time_of_day."""
    exp = data.exposures[data.exposures["drug_class"] == "ldn"]
    if exp.empty or "dose_mg" not in exp:
        return pd.DataFrame(columns=["code", "start", "end", "dose_mg", "time_of_day"])
    follow_end = data.patients["follow_end"].to_numpy()[exp["code"].to_numpy()]
    stop = exp["stop"].to_numpy()
    end = np.minimum(np.where(np.isnan(stop), follow_end, stop), follow_end)
    return pd.DataFrame(
        {
            "code": exp["code"].to_numpy(),
            "start": exp["start"].to_numpy(),
            "end": end,
            "dose_mg": exp["dose_mg"].to_numpy(dtype=float),
            "time_of_day": exp["time_of_day"].astype(str).to_numpy(),
        }
    )


def _instruments(data: AnalysisData, plan: AnalysisPlan, first: str) -> list[str]:
    wanted = [first, *[i for i in plan.symptom_instruments if i != first]]
    return [i for i in dict.fromkeys(wanted) if not data.symptom_series(i).empty]


def _differences(
    data: AnalysisData,
    plan: AnalysisPlan,
    segments: pd.DataFrame,
    first: str,
    second: str,
    name: str,
    lead: str,
) -> tuple[list[Estimate], list[str]]:
    found, missing = [], []
    for instrument in _instruments(data, plan, lead):
        try:
            found.append(
                condition_difference(
                    data.symptom_series(instrument),
                    segments,
                    first,
                    second,
                    f"{instrument}: {first} minus {second}, same people",
                    plan.alpha,
                    plan.min_ldn_users,
                    key=f"{name}:{instrument}",
                )
            )
        except InsufficientData as error:
            missing.append(str(error))
    return found, missing


def _finish(result: AnalysisResult, estimates: list[Estimate], missing: list[str]) -> None:
    result.estimates += estimates
    result.population = {"n_patients": max((e.n or 0) for e in estimates)}
    result.caveats += [
        *CONFOUNDING_CAVEATS,
        f"scores in the first {SETTLE_DAYS} days after a change count for neither condition",
        "a blinded n-of-1 trial (ldn nof1) answers this for one person without these biases",
    ]
    result.details["not_estimable"] = missing
    if result.population["n_patients"] < FEW_PEOPLE:
        result.warn(
            SmallSample, f"only {result.population['n_patients']} people took LDN both ways"
        )


def _sleep_ratio(data: AnalysisData, segments: pd.DataFrame, alpha: float) -> Estimate | None:
    """Sleep side effects per person-year, evening or bedtime vs morning dosing."""
    years = (segments["end"] - segments["start"]).clip(lower=0) / DAYS_PER_YEAR
    by_label = years.groupby(segments["label"]).sum()
    ae = data.adverse_events[data.adverse_events["term"].isin(SLEEP_TERMS)].dropna(subset=["day"])
    labels = label_scores(ae, segments, settle_days=0)
    n_night, n_morning = int((labels == NIGHT).sum()), int((labels == MORNING).sum())
    t_night, t_morning = float(by_label.get(NIGHT, 0.0)), float(by_label.get(MORNING, 0.0))
    if not (n_night and n_morning and t_night > 0 and t_morning > 0):
        return None
    low, high = confint_poisson_2indep(
        n_night, t_night, n_morning, t_morning, method="score", compare="ratio", alpha=alpha
    )
    return Estimate(
        "insomnia or vivid dreams: rate ratio, evening or bedtime vs morning dosing",
        (n_night / t_night) / (n_morning / t_morning),
        float(low),
        float(high),
        "ratio",
        n=n_night + n_morning,
        note=f"{n_night} in {t_night:.1f} and {n_morning} in {t_morning:.1f} person-years",
        key="dose_timing:sleep_side_effects",
    )


def analyse_dose_timing(data: AnalysisData, plan: AnalysisPlan) -> AnalysisResult:
    steps = ldn_steps(data)
    timing = (
        steps["time_of_day"]
        .map({"morning": MORNING, "evening": NIGHT, "bedtime": NIGHT})
        .to_numpy()
    )
    segments = steps.assign(label=timing).dropna(subset=["label"])
    if segments.groupby("code")["label"].nunique().ge(2).sum() == 0:
        raise InsufficientData(
            f"nobody in {data.source} took LDN both in the morning and in the evening or at "
            "bedtime with the time of day recorded: the timing claim needs LDN exposures with "
            "their time of day, and symptom scores in both periods"
        )
    result = AnalysisResult(name="dose_timing", method=TIMING_METHOD)
    estimates, missing = _differences(
        data, plan, segments, NIGHT, MORNING, "dose_timing", plan.fatigue_instrument
    )
    if not estimates:
        raise InsufficientData("; ".join(missing) or "no symptom scores")
    sleep = _sleep_ratio(data, segments, plan.alpha)
    _finish(result, estimates + ([sleep] if sleep else []), missing)
    result.caveats.append(
        "people who sleep badly on LDN often move it to the morning: sleep side effects "
        "select who switches"
    )
    return result


def analyse_dose_level(data: AnalysisData, plan: AnalysisPlan) -> AnalysisResult:
    steps = ldn_steps(data)
    dose = steps["dose_mg"].to_numpy(dtype=float)
    label = pd.Series(None, index=steps.index, dtype=object)
    label[np.isclose(dose, LOWER_DOSE_MG)] = f"{LOWER_DOSE_MG:g} mg"
    label[np.isclose(dose, HIGHER_DOSE_MG)] = f"{HIGHER_DOSE_MG:g} mg"
    segments = steps.assign(label=label).dropna(subset=["label"])
    if segments.groupby("code")["label"].nunique().ge(2).sum() == 0:
        raise InsufficientData(
            f"nobody in {data.source} took both {LOWER_DOSE_MG:g} mg and {HIGHER_DOSE_MG:g} mg "
            "of LDN with the dose recorded: the dose claim needs each dose step as its own "
            "exposure, and symptom scores under both doses"
        )
    result = AnalysisResult(name="dose_level", method=DOSE_METHOD)
    estimates, missing = _differences(
        data,
        plan,
        segments,
        f"{HIGHER_DOSE_MG:g} mg",
        f"{LOWER_DOSE_MG:g} mg",
        "dose_level",
        SPASTICITY,
    )
    if not estimates:
        raise InsufficientData("; ".join(missing) or "no symptom scores")
    _finish(result, estimates, missing)
    result.caveats.append(
        "titration (1.5, 3, then 4.5 mg in the first weeks) puts the lower dose first: "
        "start-up effects and time since the start favour one dose"
    )
    return result
