"""Relapse in progress: time to recovery when LDN was started during the attack.

Compared with (a) the same patients' earlier relapses off LDN and (b) relapses of matched
non-users. Because a relapse can only be "treated" if it has not resolved by the day LDN
starts, treated relapses enter the risk set on that day (left truncation, lifelines ``entry``);
without it the comparison would be biased for LDN (immortal time). Kaplan–Meier per group and a
Cox hazard ratio of recovery (> 1 = faster recovery), robust SE clustered on patient.

"Started during the attack" is the domain rule (``domain.definitions.exposure.
started_during_attack``: a course started with onset <= start <= recovery) with three plan
options where the analysis needs more than the domain says: which course counts
(``attack_course``, course gap ``ldn_course_gap_days``), how late after the onset a start may
be (``attack_max_days``), and what an unrecorded recovery means
(``attack_unrecorded_recovery``; the domain answers None). ``attack_status`` gives the domain's
three-way answer under those options and the analysis decision;
``tests/analysis/test_recovery_attack.py`` checks it against the domain function.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InsufficientData
from .cdw import keys
from .frames import AnalysisData
from .matching import MatchResult
from .plan import AnalysisPlan
from .results import AnalysisResult, SmallSample
from .survival import cox_hazard_ratio, curve_points, km_table

METHOD = ("Kaplan-Meier of days from onset to recovery, treated relapses (an LDN course started "
          "with onset <= start <= recovery) entering at LDN start (left truncation); Cox hazard "
          "ratio of recovery, robust SE clustered on patient")
DURING, NOT_DURING, UNKNOWN = "during", "not", "unknown"


def course_starts(exposures: pd.DataFrame, drug_class: str, gap_days: int) -> pd.DataFrame:
    """Start day of every continuous course (code, start), sorted: an exposure starting more
    than ``gap_days`` after the latest stop so far (NaN stop = ongoing) begins a new one, as
    ``frames._first_course`` joins the first course."""
    rows = exposures[(exposures["drug_class"] == drug_class) & exposures["start"].notna()]
    rows = rows.sort_values(["code", "start", "stop"])
    codes = rows["code"].to_numpy()
    start = rows["start"].to_numpy(dtype=float)
    stop = np.where(np.isnan(rows["stop"].to_numpy(dtype=float)), np.inf,
                    rows["stop"].to_numpy(dtype=float))
    reach = pd.Series(stop).groupby(codes).cummax().to_numpy()
    previous = np.r_[-np.inf, reach[:-1]]
    same = np.r_[False, codes[1:] == codes[:-1]]
    new = ~same | (start > previous + gap_days)
    return pd.DataFrame({"code": codes[new], "start": start[new]})


def attack_status(relapses: pd.DataFrame, exposures: pd.DataFrame, first_start: np.ndarray,
                  plan: AnalysisPlan) -> pd.DataFrame:
    """Per relapse row: ``course_day`` (the start of the first counted LDN course on or after
    the onset; NaN if none), ``status`` ("during", "not", "unknown": the domain's
    True/False/None under the plan's course choice and ``attack_max_days``) and ``treated``
    (the analysis decision: "during", or "unknown" when ``attack_unrecorded_recovery`` is
    "ongoing"). ``first_start`` is each patient's first LDN start (``patients.ldn_start``)."""
    codes = relapses["code"].to_numpy(dtype=np.int64)
    onset = relapses["onset"].to_numpy(dtype=float)
    recovery = relapses["recovery"].to_numpy(dtype=float)
    if plan.attack_course == "first":
        first = np.asarray(first_start, dtype=float)[codes]
        course = np.where(first >= onset, first, np.nan)
    else:
        starts = course_starts(exposures, "ldn", plan.ldn_course_gap_days)
        skeys = keys(starts["code"].to_numpy(), starts["start"].to_numpy())
        pos = np.searchsorted(skeys, keys(codes, np.ceil(onset)), side="left")
        hit = pos < len(skeys)
        hit[hit] &= starts["code"].to_numpy()[pos[hit]] == codes[hit]
        course = np.full(len(codes), np.nan)
        course[hit] = starts["start"].to_numpy()[pos[hit]]
    counted = np.isfinite(course)
    if plan.attack_max_days is not None:
        counted &= course - onset <= plan.attack_max_days
    status = np.where(~counted, NOT_DURING,
                      np.where(~np.isfinite(recovery), UNKNOWN,
                               np.where(course <= recovery, DURING, NOT_DURING)))
    treated = (status == DURING) | (
        (status == UNKNOWN) & (plan.attack_unrecorded_recovery == "ongoing"))
    return pd.DataFrame({"course_day": course, "status": status, "treated": treated})


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
    attack = attack_status(rel, data.exposures, p["ldn_start"].to_numpy(), plan)
    treated = attack["treated"].to_numpy()
    earlier = np.isfinite(start) & (onset < start) & ~treated
    censor = np.where(earlier, np.minimum(censor, start), censor)
    group = np.where(treated, "LDN started during attack",
                     np.where(earlier, "same patients, earlier relapses", ""))
    entry = np.where(treated, attack["course_day"].to_numpy() - onset, 0.0)
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
        _attack_caveat(plan),
    ]
    if treated["event"].sum() < 10:
        result.warn(SmallSample, f"only {int(treated['event'].sum())} recoveries among treated "
                    "relapses")
    attack = attack_status(data.relapses.dropna(subset=["onset"]), data.exposures,
                           data.patients["ldn_start"].to_numpy(), plan)
    result.details["attack_status"] = {
        kind: int((attack["status"] == kind).sum()) for kind in (DURING, NOT_DURING, UNKNOWN)}
    result.details["curves"] = curves
    return result


def _attack_caveat(plan: AnalysisPlan) -> str:
    course = ("the first LDN course" if plan.attack_course == "first" else
              f"any LDN course (exposures joined across gaps of {plan.ldn_course_gap_days} days)")
    bound = ("" if plan.attack_max_days is None else
             f", at most {plan.attack_max_days} days after the onset")
    unknown = ("counted as still going" if plan.attack_unrecorded_recovery == "ongoing" else
               "not counted as treated")
    return (f"'started during the attack': {course} started on or after the onset and on or "
            f"before the recorded recovery{bound}; attacks without a recorded recovery are "
            f"{unknown}")
