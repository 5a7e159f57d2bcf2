"""Symptoms after stopping LDN: the "possibility of addiction" claim (withdrawal-like symptoms).

A stop is the end of a merged LDN interval (``adverse.ldn_intervals``) before the end of the
person's follow-up, with at least ``WINDOW_DAYS`` observed after it. For these stops:

* the share of people with any adverse event reported within ``WINDOW_DAYS`` after stopping,
  with a Wilson score interval (Newcombe 1998, Stat Med 17:857);
* the rate of adverse events in the ``WINDOW_DAYS`` after vs the ``WINDOW_DAYS`` before the
  stop in the same people, with a score interval (statsmodels ``confint_poisson_2indep``);
* the within-person change in each symptom score, mean in the window after minus before, with
  a paired t interval.

The registry has no "withdrawal" term: any adverse event counts, an upper bound on
withdrawal-like symptoms. People often stop because of side effects or feeling worse, which
the before-window captures only in part.
"""

from __future__ import annotations

import pandas as pd
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson_2indep

from ...errors import InsufficientData
from ..data.frames import DAYS_PER_YEAR, AnalysisData
from ..plan import AnalysisPlan
from ..results import FEW_PEOPLE, AnalysisResult, Estimate, SmallSample
from .adverse import ldn_intervals
from .within_person import CONFOUNDING_CAVEATS, condition_difference, label_scores

#: The claims register's statistic: "incidence of withdrawal-like symptoms within 14 days of
#: stopping" (evidence/data/claims.json, possibility-of-addiction).
WINDOW_DAYS = 14
METHOD = (
    f"people with any adverse event within {WINDOW_DAYS} days of stopping LDN (Wilson 95% CI); "
    f"event rate {WINDOW_DAYS} days after vs before stopping (score 95% CI); within-person "
    "symptom change after vs before (paired t 95% CI)"
)
BEFORE, AFTER = "before stopping", "after stopping"


def stop_windows(data: AnalysisData, plan: AnalysisPlan) -> pd.DataFrame:
    """One row per observed stop: code, stop day, and its before and after windows."""
    on = ldn_intervals(data, plan).sort_values(["code", "start"]).reset_index(drop=True)
    follow_end = data.patients["follow_end"].to_numpy()
    codes = on["code"].to_numpy().astype(int)
    next_start = on["start"].shift(-1).where(on["code"].shift(-1) == on["code"]).to_numpy()
    observed = on["end"].to_numpy() + WINDOW_DAYS <= follow_end[codes]
    # A restart within the window is not a stop: the "after" days would be on LDN again.
    restarted = next_start <= on["end"].to_numpy() + WINDOW_DAYS
    stops = on[observed & ~restarted]
    return pd.DataFrame({"code": stops["code"].to_numpy(), "stop": stops["end"].to_numpy()})


def _windows(stops: pd.DataFrame) -> pd.DataFrame:
    before = stops.assign(start=stops["stop"] - WINDOW_DAYS + 1, end=stops["stop"], label=BEFORE)
    after = stops.assign(start=stops["stop"] + 1, end=stops["stop"] + WINDOW_DAYS, label=AFTER)
    return pd.concat([before, after], ignore_index=True)[["code", "start", "end", "label"]]


def wilson_share(events: int, total: int, alpha: float, label: str, key: str) -> Estimate:
    low, high = proportion_confint(events, total, alpha=alpha, method="wilson")
    return Estimate(label, events / total, float(low), float(high), "proportion", n=total, key=key)


def analyse_after_stopping(data: AnalysisData, plan: AnalysisPlan) -> AnalysisResult:
    stops = stop_windows(data, plan)
    n_people = int(stops["code"].nunique())
    if n_people < plan.min_ldn_users:
        raise InsufficientData(
            f"fewer than {plan.min_ldn_users} people stopped LDN with {WINDOW_DAYS} days of "
            "follow-up after: the claim needs stop dates and side effects or symptom scores "
            "recorded after stopping"
        )
    windows = _windows(stops)
    ae = data.adverse_events.dropna(subset=["day"])
    where = label_scores(ae, windows, settle_days=0)
    n_after, n_before = int((where == AFTER).sum()), int((where == BEFORE).sum())
    people_after = int(ae.loc[(where == AFTER).to_numpy(), "code"].nunique())
    result = AnalysisResult(name="after_stopping", method=METHOD)
    result.estimates.append(
        wilson_share(
            people_after,
            n_people,
            plan.alpha,
            f"people with any adverse event within {WINDOW_DAYS} days after stopping LDN",
            "after_stopping:share",
        )
    )
    window_years = len(stops) * WINDOW_DAYS / DAYS_PER_YEAR
    if n_after and n_before:
        low, high = confint_poisson_2indep(
            n_after,
            window_years,
            n_before,
            window_years,
            method="score",
            compare="ratio",
            alpha=plan.alpha,
        )
        ratio, note = n_after / n_before, ""
    else:
        low = high = ratio = float("nan")
        note = f"not estimable: {n_after} events after, {n_before} before"
    result.estimates.append(
        Estimate(
            f"adverse events: rate ratio, {WINDOW_DAYS} days after vs before stopping",
            ratio,
            float(low),
            float(high),
            "ratio",
            n=n_after + n_before,
            note=note,
            key="after_stopping:rate_ratio",
        )
    )
    for instrument in plan.symptom_instruments:
        series = data.symptom_series(instrument)
        if series.empty:
            continue
        try:
            result.estimates.append(
                condition_difference(
                    series,
                    windows,
                    AFTER,
                    BEFORE,
                    f"{instrument}: mean {WINDOW_DAYS} days after minus before stopping",
                    plan.alpha,
                    plan.min_ldn_users,
                    key=f"after_stopping:{instrument}",
                    settle_days=0,
                )
            )
        except InsufficientData as error:
            result.details.setdefault("not_estimable", []).append(str(error))
    result.population = {"n_patients": n_people, "n_stops": int(len(stops))}
    result.caveats += [
        "the registry has no 'withdrawal' term: any adverse event after stopping counts, so "
        "the share is an upper bound on withdrawal-like symptoms",
        "people often stop because of side effects or feeling worse; symptoms after stopping "
        "may continue what made them stop",
        CONFOUNDING_CAVEATS[0],
    ]
    if n_people < FEW_PEOPLE:
        result.warn(SmallSample, f"only {n_people} people stopped LDN with follow-up after")
    return result
