"""Relapse in progress: time to recovery when LDN was started during the attack.

Compared with (a) the same patients' earlier relapses off LDN and (b) relapses of matched
non-users. Because a relapse can only be "treated" if it has not resolved by the day LDN
starts, treated relapses enter the risk set on that day (left truncation, lifelines ``entry``);
without it the comparison would be biased for LDN (immortal time). Kaplan–Meier per group and a
Cox hazard ratio of recovery (> 1 = faster recovery), robust SE clustered on patient.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InsufficientData
from .frames import AnalysisData
from .matching import MatchResult
from .plan import AnalysisPlan
from .results import AnalysisResult, SmallSample
from .survival import cox_hazard_ratio, curve_points, km_table

METHOD = ("Kaplan-Meier of days from onset to recovery, treated relapses entering at LDN start "
          "(left truncation); Cox hazard ratio of recovery, robust SE clustered on patient")
ONGOING_DAYS = 90


def relapse_episodes(data: AnalysisData, plan: AnalysisPlan,
                     matched: MatchResult | None) -> pd.DataFrame:
    rel = data.relapses.dropna(subset=["onset"])
    p = data.patients
    codes = rel["code"].to_numpy()
    onset = rel["onset"].to_numpy()
    recovery = rel["recovery"].to_numpy()
    start = p["ldn_start"].to_numpy()[codes]
    follow_end = p["follow_end"].to_numpy()[codes]
    censor = np.minimum(follow_end, onset + plan.recovery_max_days)
    ongoing_at_start = np.isfinite(start) & (start >= onset) & (start - onset <= ONGOING_DAYS) & (
        ~np.isfinite(recovery) | (recovery > start))
    earlier = np.isfinite(start) & (onset < start) & ~ongoing_at_start
    censor = np.where(earlier, np.minimum(censor, start), censor)
    group = np.where(ongoing_at_start, "LDN started during attack",
                     np.where(earlier, "same patients, earlier relapses", ""))
    entry = np.where(ongoing_at_start, start - onset, 0.0)
    if matched is not None:
        ctrl = matched.cohort[matched.cohort["group"] == "control"]
        window = ctrl.groupby("code").agg(lo=("index_day", "min"), hi=("end_day", "max"))
        lo = pd.Series(window["lo"]).reindex(codes).to_numpy() - plan.history_days
        hi = pd.Series(window["hi"]).reindex(codes).to_numpy()
        is_ctrl = (group == "") & np.isfinite(lo) & (onset >= lo) & (onset <= hi)
        group = np.where(is_ctrl, "matched non-users' relapses", group)
    event = np.isfinite(recovery) & (recovery <= censor)
    days = np.where(event, recovery, censor) - onset
    frame = pd.DataFrame({"code": codes, "group": group, "days": days, "event": event,
                          "entry": entry})
    return frame[(frame["group"] != "") & (frame["days"] > frame["entry"])]


def analyse_recovery(data: AnalysisData, plan: AnalysisPlan,
                     matched: MatchResult | None = None) -> AnalysisResult:
    if data.relapses.empty:
        raise InsufficientData("no relapses recorded: nothing to measure recovery on")
    episodes = relapse_episodes(data, plan, matched)
    treated = episodes[episodes["group"] == "LDN started during attack"]
    if len(treated) < plan.min_ldn_users:
        raise InsufficientData(
            f"only {len(treated)} relapses in which LDN was started during the attack; at least "
            f"{plan.min_ldn_users} are needed")
    result = AnalysisResult(name="relapse_recovery", method=METHOD)
    curves = {}
    for name, part in episodes.groupby("group"):
        try:
            table = km_table(part["days"].to_numpy(), part["event"].to_numpy(),
                             entry=part["entry"].to_numpy(), alpha=plan.alpha)
        except InsufficientData as error:
            result.caveats.append(f"{name}: no curve ({error})")
            continue
        curves[str(name)] = curve_points(table)
    for other in ("matched non-users' relapses", "same patients, earlier relapses"):
        part = episodes[episodes["group"].isin(["LDN started during attack", other])]
        if (part["group"] == other).sum() < 2:
            result.caveats.append(f"no comparison with {other}: too few of them")
            continue
        part = part.assign(ldn=(part["group"] == "LDN started during attack").astype(int))
        try:
            result.estimates.append(cox_hazard_ratio(
                part, duration="days", event="event", covariate="ldn", entry="entry",
                cluster="code", label=f"hazard ratio of recovery, LDN during attack vs {other}",
                alpha=plan.alpha))
        except InsufficientData as error:
            result.caveats.append(str(error))
    if not result.estimates:
        raise InsufficientData("no comparable relapses without LDN to compare recovery with")
    result.population = {
        "n_patients": int(treated["code"].nunique()),
        "relapses_treated": int(len(treated)),
        "relapses_compared": int(len(episodes) - len(treated)),
        "person_years": float(episodes["days"].clip(lower=0).sum() / 365.25),
    }
    result.caveats += [
        "most relapses recover on their own within weeks to months; a relapse 'resolved after "
        "starting LDN' is expected without any effect",
        "treated relapses count only from the day LDN started (left truncation), so the time "
        "already survived is not credited to LDN",
    ]
    if treated["event"].sum() < 10:
        result.warn(SmallSample, f"only {int(treated['event'].sum())} recoveries among treated "
                    "relapses")
    result.details["curves"] = curves
    return result
