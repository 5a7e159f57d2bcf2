"""Relapses on vs off LDN: within-patient annualised relapse rates before and after the start.

Each patient contributes a pre-LDN window (up to ``relapse_window_years`` before the start) and
an on-LDN window (up to the same length after, ending at stopping or last contact). The rate
ratio comes from a Poisson regression with cluster-robust sandwich errors on the patient (a
GEE with independence working correlation; or an NB2 GLM with cluster-robust errors) with
log person-years as offset. The naive ratio uses the whole pre window; the lagged one leaves out the
``pre_start_exclusion_days`` right before the start, when people who start after a bad spell
have their excess relapses (regression to the mean). With matched non-users and their
pseudo-starts the same windows give a ratio of rate ratios (the interaction term), which
removes what happens to comparable people who did not start.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InsufficientData
from .cohorts import require_users
from .frames import DAYS_PER_YEAR, AnalysisData
from .matching import MatchResult
from .plan import AnalysisPlan
from .ratemodels import rate_ratio
from .results import AnalysisResult, Estimate, SmallSample
from .trajectories import count_in

METHOD_GEE = ("within-patient rate ratio, Poisson regression with cluster-robust (sandwich) SE "
              "on patient or match set (= GEE, independence working correlation), log "
              "person-years offset")
METHOD_NB = "within-patient rate ratio, negative binomial GLM (NB2, cluster-robust SE)"


def windows(data: AnalysisData, plan: AnalysisPlan, cohort: pd.DataFrame,
            exclusion_days: int) -> pd.DataFrame:
    """Two rows per cohort row: period 0 (before the start) and 1 (after), counts and years."""
    width = plan.relapse_window_years * DAYS_PER_YEAR
    codes = cohort["code"].to_numpy()
    index = cohort["index_day"].to_numpy()
    fs = data.patients["follow_start"].to_numpy()[codes]
    pre_lo = np.maximum(index - width, fs)
    pre_hi = index - exclusion_days
    post_lo = index
    post_hi = np.minimum(index + width, cohort["end_day"].to_numpy())
    rel = data.relapses.dropna(subset=["onset"])
    pre_n = count_in(rel, "onset", codes, pre_lo - 0.5, pre_hi - 0.5)
    post_n = count_in(rel, "onset", codes, post_lo - 0.5, post_hi - 0.5)
    pre_y = np.clip(pre_hi - pre_lo, 0, None) / DAYS_PER_YEAR
    post_y = np.clip(post_hi - post_lo, 0, None) / DAYS_PER_YEAR
    both = (pre_y > 0) & (post_y > 0)
    pre_n = np.where(pre_y > 0, pre_n, 0)
    post_n = np.where(post_y > 0, post_n, 0)
    n = int(both.sum())
    sel = np.flatnonzero(both)
    return pd.DataFrame({
        "code": np.r_[codes[sel], codes[sel]],
        "match_id": np.tile(cohort["match_id"].to_numpy()[sel], 2),
        "ldn": np.tile((cohort["group"].to_numpy()[sel] == "ldn").astype(int), 2),
        "post": np.r_[np.zeros(n, int), np.ones(n, int)],
        "count": np.r_[pre_n[sel], post_n[sel]],
        "years": np.r_[pre_y[sel], post_y[sel]],
    })


def _crude(frame: pd.DataFrame, post: int, ldn: int = 1) -> float:
    part = frame[(frame["post"] == post) & (frame["ldn"] == ldn)]
    years = part["years"].sum()
    return float(part["count"].sum() / years) if years > 0 else float("nan")


def within_ratio(frame: pd.DataFrame, plan: AnalysisPlan, label: str) -> Estimate:
    x = np.column_stack([np.ones(len(frame)), frame["post"].to_numpy()])
    return rate_ratio(frame["count"].to_numpy(float), x, frame["years"].to_numpy(),
                      frame["code"].to_numpy(), 1, label, plan.relapse_model, plan.alpha,
                      note=f"ARR before {_crude(frame, 0):.2f}, on LDN {_crude(frame, 1):.2f}")


def matched_ratio(frame: pd.DataFrame, plan: AnalysisPlan, label: str) -> Estimate:
    post, ldn = frame["post"].to_numpy(), frame["ldn"].to_numpy()
    x = np.column_stack([np.ones(len(frame)), post, ldn, post * ldn])
    note = (f"LDN users {_crude(frame, 0):.2f} -> {_crude(frame, 1):.2f}; matched non-users "
            f"{_crude(frame, 0, 0):.2f} -> {_crude(frame, 1, 0):.2f} relapses/year")
    return rate_ratio(frame["count"].to_numpy(float), x, frame["years"].to_numpy(),
                      frame["match_id"].to_numpy(), 3, label, plan.relapse_model, plan.alpha,
                      note=note)


def analyse_relapses(data: AnalysisData, plan: AnalysisPlan, users: pd.DataFrame,
                     matched: MatchResult | None = None) -> AnalysisResult:
    require_users(users, plan)
    naive = windows(data, plan, users, 0)
    if naive["code"].nunique() < plan.min_ldn_users:
        raise InsufficientData(
            f"only {naive['code'].nunique()} LDN users have follow-up both before and after "
            f"starting; at least {plan.min_ldn_users} are needed")
    method = METHOD_NB if plan.relapse_model == "negbin" else METHOD_GEE
    result = AnalysisResult(name="relapses", method=method)
    lagged = windows(data, plan, users, plan.pre_start_exclusion_days)
    naive_est = within_ratio(naive, plan, "naive before/after rate ratio (LDN users)")
    lagged_est = within_ratio(
        lagged, plan,
        f"before/after rate ratio leaving out the {plan.pre_start_exclusion_days} days before "
        "the start")
    estimates = [naive_est, lagged_est]
    if matched is not None and (matched.cohort["group"] == "control").any():
        mwin = windows(data, plan, matched.cohort, plan.pre_start_exclusion_days)
        if (mwin["ldn"] == 0).any() and (mwin["ldn"] == 1).any():
            adjusted = matched_ratio(
                mwin, plan, "ratio of rate ratios vs matched non-users (lagged, matched)")
            estimates.insert(0, adjusted)
            mwin0 = windows(data, plan, matched.cohort, 0)
            estimates.append(matched_ratio(
                mwin0, plan, "ratio of rate ratios vs matched non-users (no lag)"))
            result.population["matched_controls"] = int(mwin.loc[mwin["ldn"] == 0,
                                                                 "code"].count() // 2)
    result.estimates = estimates
    events = int(naive["count"].sum())
    result.population.update({
        "n_patients": int(naive["code"].nunique()),
        "person_years": float(naive["years"].sum()),
        "relapses": events,
    })
    result.caveats += [
        "people often start LDN after a bad spell; relapses then become rarer anyway "
        "(regression to the mean), so the naive before/after ratio flatters LDN",
        "relapses are as reported to the registry; under-reporting before joining is possible",
    ]
    reports = data.relapse_reports
    if reports is not None and len(reports):
        status = reports["status"].value_counts().to_dict()
        skipped = {k: int(v) for k, v in status.items() if k not in ("qualifying",)
                   and not (k == "unconfirmed" and plan.count_unconfirmed_relapses)}
        if skipped:
            result.caveats.append(
                "relapse reports not counted (domain rule: at least 24 h, no fever or "
                "infection, 30 days apart): " + ", ".join(f"{v} {k.replace('_', ' ')}"
                                                          for k, v in sorted(skipped.items())))
    if events < 20:
        result.warn(SmallSample, f"only {events} relapses in the windows compared")
    result.details["naive_vs_adjusted"] = [e.to_dict() for e in estimates]
    return result
