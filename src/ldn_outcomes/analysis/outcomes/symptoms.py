"""Fatigue and spasm: change from baseline at 3, 6 and 12 months on LDN.

Baseline: the last score within ``symptom_baseline_days`` before the start. Follow-up at m
months: the score nearest to start + m months within ``symptom_tolerance_days``, while still on
LDN. Reported per instrument: mean change with a t interval, the share improving by at least the
instrument's minimal clinically important difference (MCID, from the instrument definition,
with its source) with a Wilson interval, and, with matched non-users, the difference in mean
change at equal baseline scores (weighted least squares with the baseline score as a covariate,
ANCOVA, and the scores at the matching's trajectory points before it, as the plan says:
``symptom_difference``) and a linear
mixed model
(statsmodels MixedLM, random intercept per person) for the trajectories.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from ...domain.instruments.registry import get_instrument
from ...errors import InsufficientData, NotFound
from ..data.cohorts import require_users
from ..data.frames import AnalysisData
from ..matching.match import MatchResult
from ..matching.trajectories import value_at
from ..numerics.cdw import keys
from ..numerics.clusters import describe
from ..plan import AnalysisPlan
from ..results import FEW_PEOPLE, AnalysisResult, Estimate, ModelFallback, SmallSample
from .symptom_difference import (
    EARLIER_MEAN,
    HISTORY_COLUMNS,
    MONTH,
    NO_EARLIER,
    difference,
    earlier_points,
    earlier_scores,
    mean_before,
)


def method(plan: AnalysisPlan) -> str:
    """The method line of the result, as the plan runs it."""
    adjusted = [
        *(["the baseline score"] if plan.symptom_adjust_baseline else []),
        *(
            [
                f"the scores {earlier_points(plan)} before the start"
                + (
                    " and the mean of every score before the baseline one"
                    if plan.symptom_adjust_earlier_mean
                    else ""
                )
                + " (rows without an earlier score: their own intercept"
                + (" and baseline slope)" if plan.symptom_adjust_baseline else ")")
            ]
            if plan.symptom_adjust_history
            else []
        ),
    ]
    difference = (
        f"WLS adjusted for {' and '.join(adjusted)}, ANCOVA"
        if adjusted
        else "WLS of the change, not adjusted for earlier scores"
    )
    return (
        "change from baseline (mean, t 95% CI); MCID responder share (Wilson CI); "
        f"difference in change vs matched non-users ({difference}; "
        f"{describe(plan.matched_se_clusters)}); "
        "linear mixed model (MixedLM, random intercept)"
    )


def nearest_value(
    series: pd.DataFrame,
    codes: np.ndarray,
    target: np.ndarray,
    tolerance: float,
    latest: np.ndarray,
) -> np.ndarray:
    """Score nearest to ``target`` within ``tolerance`` days and not after ``latest``."""
    out = np.full(len(codes), np.nan)
    if series.empty or len(codes) == 0:
        return out
    skeys = keys(series["code"].to_numpy(), series["day"].to_numpy())
    scodes, sdays = series["code"].to_numpy(), series["day"].to_numpy()
    values = series["total"].to_numpy(float)
    right = np.searchsorted(skeys, keys(codes, target), side="right")
    best_gap = np.full(len(codes), np.inf)
    for pos in (right - 1, right):
        inside = (pos >= 0) & (pos < len(skeys))
        p = np.clip(pos, 0, len(skeys) - 1)
        gap = np.abs(sdays[p] - target)
        ok = (
            inside
            & (scodes[p] == codes)
            & (gap <= tolerance)
            & (sdays[p] <= latest)
            & (gap < best_gap)
        )
        out[ok] = values[p[ok]]
        best_gap[ok] = gap[ok]
    return out


def _weighted_mean(values: pd.Series, weights: pd.Series) -> float | None:
    """The mean of the values present, each control weighted 1/k as in the comparison it is
    drawn beside (an unweighted mean over-counts the controls of easily matched users)."""
    present = values.notna().to_numpy()
    if not present.any():
        return None
    return float(np.average(values.to_numpy()[present], weights=weights.to_numpy()[present]))


def changes(
    data: AnalysisData, plan: AnalysisPlan, cohort: pd.DataFrame, instrument: str
) -> pd.DataFrame:
    """Baseline and score at each planned month for every cohort row, and, when the plan
    adjusts for them, the earlier scores (``symptom_difference.earlier_scores``)."""
    series = data.symptom_series(instrument)
    codes = cohort["code"].to_numpy()
    index = cohort["index_day"].to_numpy()
    end = cohort["end_day"].to_numpy()
    frame = pd.DataFrame(
        {
            "code": codes,
            "match_id": cohort["match_id"].to_numpy(),
            "weight": cohort["weight"].to_numpy(),
            "ldn": (cohort["group"].to_numpy() == "ldn").astype(int),
        }
    )
    frame["m0"] = value_at(series, "total", codes, index, plan.symptom_baseline_days, index)
    if plan.symptom_adjust_history:  # the covariates of ``symptom_difference.difference``
        baseline_day = value_at(series, "day", codes, index, plan.symptom_baseline_days, index)
        points, none_earlier = earlier_scores(series, plan, codes, index, baseline_day)
        for column, values in zip(HISTORY_COLUMNS, points, strict=True):
            frame[column] = np.where(np.isfinite(values), values, frame["m0"].to_numpy())
        frame[NO_EARLIER] = none_earlier.astype(float)
        if plan.symptom_adjust_earlier_mean:
            mean = mean_before(series, codes, baseline_day)
            frame[EARLIER_MEAN] = np.where(np.isfinite(mean), mean, frame["m0"].to_numpy())
    for month, tol in zip(plan.symptom_months, plan.symptom_tolerance_days, strict=True):
        frame[f"m{month}"] = nearest_value(series, codes, index + month * MONTH, tol, end)
    return frame


def _mean_ci(values: np.ndarray, alpha: float) -> tuple[float, float, float]:
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(1 - alpha / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def difference_key(instrument: str, month: int) -> str:
    """Key of the difference in change vs matched non-users (``Estimate.key``)."""
    return f"{instrument}_difference_{month}m_matched"


def matched_difference(
    data: AnalysisData, plan: AnalysisPlan, cohort: pd.DataFrame, instrument: str, label: str
) -> tuple[Estimate, float] | None:
    """Difference in change at the last planned month, exposed vs matched non-users, and the
    SD of the change (for the E-value); None without enough of both groups. The same estimator
    serves the headline and its negative-control check."""
    last = plan.symptom_months[-1]
    both = changes(data, plan, cohort, instrument)
    part = both[np.isfinite(both["m0"]) & np.isfinite(both[f"m{last}"])]
    if part["ldn"].sum() < plan.min_ldn_users or (part["ldn"] == 0).sum() < 2:
        return None
    try:
        found = difference(part, f"m{last}", plan.alpha, plan)
    except InsufficientData:
        return None
    change = (part[f"m{last}"] - part["m0"]).to_numpy()
    estimate = Estimate(
        label, found.value, found.low, found.high, "difference", n=int(len(part)), note=found.note
    )
    return estimate, float(change.std())


def _mixed_model(frame: pd.DataFrame, plan: AnalysisPlan, last: int) -> Estimate:
    rng = np.random.default_rng(plan.seed)
    parts = []
    for flag in (1, 0):
        rows = frame[frame["ldn"] == flag]
        if len(rows) > plan.mixed_model_max_patients:
            rows = rows.iloc[
                np.sort(rng.choice(len(rows), plan.mixed_model_max_patients, replace=False))
            ]
        parts.append(rows)
    wide = pd.concat(parts).reset_index(drop=True)
    wide["row"] = np.arange(len(wide))
    # One random intercept per person, not per cohort row: matching with replacement makes a
    # control (or a user who was an earlier user's control) several rows of one person.
    wide["person"] = pd.factorize(wide["code"])[0]
    months = ["m0"] + [f"m{m}" for m in plan.symptom_months]
    long = wide.melt(
        id_vars=["row", "person", "ldn"], value_vars=months, var_name="month", value_name="score"
    ).dropna()
    long["month"] = pd.Categorical(long["month"], categories=months)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("score ~ C(month) * ldn", long, groups=long["person"]).fit(reml=True)
    term = f"C(month)[T.m{last}]:ldn"
    lo, hi = fit.conf_int(alpha=plan.alpha).loc[term]
    return Estimate(
        f"mixed model: difference in change at {last} months vs matched non-users",
        float(fit.params[term]),
        float(lo),
        float(hi),
        "difference",
        n=int(long["row"].nunique()),
        versus="matched",
    )


def analyse_symptoms(
    data: AnalysisData, plan: AnalysisPlan, users: pd.DataFrame, matched: MatchResult | None = None
) -> AnalysisResult:
    require_users(users, plan, source=data.source)
    present = [i for i in plan.symptom_instruments if len(data.symptom_series(i))]
    if not present:
        raise InsufficientData(
            "no fatigue or spasticity questionnaires ("
            + ", ".join(plan.symptom_instruments)
            + f") in {data.source}"
        )
    result = AnalysisResult(name="symptoms", method=method(plan))
    headline: Estimate | None = None
    trajectories: dict[str, dict[str, list]] = {}
    #: People behind each trajectory point (not drawn; ``reports.disclosure`` blanks the
    #: points that rest on too few of them on aggregate pages).
    trajectory_n: dict[str, dict[str, list[int]]] = {}
    n_patients = 0
    last = plan.symptom_months[-1]
    for instrument in present:
        try:
            definition = get_instrument(instrument)
            name, mcid = definition.name, definition.mcid
            worse_up = definition.higher_is_worse
        except NotFound:
            name, mcid, worse_up = instrument, None, True
        own = changes(data, plan, users, instrument)
        own = own[np.isfinite(own["m0"])]
        n_patients = max(n_patients, len(own))
        trajectories[instrument] = {
            "months": [0, *plan.symptom_months],
            "LDN users": [
                float(own[f"m{m}"].mean()) if len(own) else None for m in (0, *plan.symptom_months)
            ],
        }
        trajectory_n[instrument] = {
            "LDN users": [
                int(own.loc[own[f"m{m}"].notna(), "code"].nunique())
                for m in (0, *plan.symptom_months)
            ]
        }
        for month in plan.symptom_months:
            delta = (own[f"m{month}"] - own["m0"]).dropna().to_numpy()
            if len(delta) < plan.min_ldn_users:
                result.caveats.append(
                    f"{name} at {month} months: only {len(delta)} users with "
                    "a baseline and a follow-up score"
                )
                continue
            mean, lo, hi = _mean_ci(delta, plan.alpha)
            est = Estimate(
                f"{instrument}: mean change at {month} months (LDN users)",
                mean,
                lo,
                hi,
                "difference",
                n=len(delta),
            )
            result.estimates.append(est)
            if headline is None and month == last:
                headline = est
            if mcid is not None:
                improved = int(((-delta if worse_up else delta) >= mcid.value).sum())
                plo, phi = proportion_confint(
                    improved, len(delta), alpha=plan.alpha, method="wilson"
                )
                result.estimates.append(
                    Estimate(
                        f"{instrument}: share improved by >= MCID ({mcid.value:g}) "
                        f"at {month} months",
                        improved / len(delta),
                        float(plo),
                        float(phi),
                        "proportion",
                        n=len(delta),
                        note=f"MCID source: PMID {mcid.source.pmid}" if mcid.source.pmid else "",
                    )
                )
        if mcid is None:
            result.caveats.append(f"{name}: no published MCID is shipped, so no responder share")
        if matched is None or not (matched.cohort["group"] == "control").any():
            continue
        both = changes(data, plan, matched.cohort, instrument)
        both = both[np.isfinite(both["m0"])]
        controls = both[both["ldn"] == 0]
        trajectories[instrument]["matched non-users"] = [
            _weighted_mean(controls[f"m{m}"], controls["weight"]) for m in (0, *plan.symptom_months)
        ]
        trajectory_n[instrument]["matched non-users"] = [
            int(controls.loc[controls[f"m{m}"].notna(), "code"].nunique())
            for m in (0, *plan.symptom_months)
        ]
        for month in plan.symptom_months:
            part = both[np.isfinite(both[f"m{month}"])]
            if part["ldn"].sum() < plan.min_ldn_users or (part["ldn"] == 0).sum() < 2:
                continue
            try:
                found = difference(part, f"m{month}", plan.alpha, plan)
            except InsufficientData as error:
                result.caveats.append(f"{name}, {month} months vs matched non-users: {error}")
                continue
            change = (part[f"m{month}"] - part["m0"]).to_numpy()
            key = difference_key(instrument, month)
            result.details.setdefault("outcome_sd", {})[key] = float(change.std())
            est = Estimate(
                f"{instrument}: difference in change at {month} months vs matched non-users",
                found.value,
                found.low,
                found.high,
                "difference",
                n=int(len(part)),
                note=found.note,
                versus="matched",
                key=key,
            )
            result.estimates.append(est)
            if month == last and (headline is None or headline.versus != "matched"):
                headline = est
        if instrument == present[0]:
            try:
                result.estimates.append(_mixed_model(both, plan, last))
            except (ValueError, np.linalg.LinAlgError, KeyError) as error:
                result.warn(
                    ModelFallback,
                    f"mixed model not fitted ({error}); the per-visit differences stand alone",
                )
    if not result.estimates:
        raise InsufficientData("no LDN user has a symptom score both at the start and later")
    if headline is not None:
        result.estimates.remove(headline)
        result.estimates.insert(0, headline)
    result.population = {"n_patients": int(n_patients), "instruments": present}
    if n_patients < FEW_PEOPLE:
        result.warn(SmallSample, f"only {n_patients} users with a baseline score")
    result.caveats += [
        "fatigue varies from week to week; people tend to start when it is at its worst, so "
        "some improvement follows anyway: the matched non-users show how much",
        "questionnaire answers are self-reported and not blinded",
    ]
    result.details["trajectories"] = trajectories
    result.details["trajectory_n"] = trajectory_n
    return result
