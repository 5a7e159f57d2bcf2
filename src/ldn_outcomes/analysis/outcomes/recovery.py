"""Relapse in progress: time to recovery when LDN was started during the attack.

Compared with (a) the same patients before LDN and (b) relapses of matched non-users. Because
a relapse can only be "treated" if it has not resolved by the day LDN starts, treated relapses
enter the risk set on that day (left truncation, lifelines ``entry``), and their days before it
are days off LDN: they count in (a), censored at the start, like the earlier relapses. Exposure
is thus time-dependent, which avoids immortal-time bias both ways: crediting the days before the
start to LDN, or dropping them, which leaves in (a) only the attacks that recovered before an
LDN start and makes it look faster (Suissa 2008, Am J Epidemiol 167:492, doi
10.1093/aje/kwm324). Kaplan–Meier per group and a Cox hazard ratio of recovery (> 1 = faster
recovery), robust SE clustered on patient, its score residuals over the same delayed-entry risk
sets (``numerics.survival.fits_with_lifelines``: lifelines' robust variance ignores the entry
times and was 14-18% too wide here). A matched non-user who starts LDN during an attack
counts in (b) up to that day (censored there), as a user's earlier relapse does in (a): the
rest of that attack is on LDN, and counting it would lend LDN's effect to the comparison group
(on simulated registries with a true effect it pulled the hazard ratio towards 1).

"Started during the attack" is the domain rule (``domain.definitions.exposure.
started_during_attack``: a course started with onset <= start <= recovery) with three plan
options where the analysis needs more than the domain says: which course counts
(``attack_course``, course gap ``ldn_course_gap_days``), how late after the onset a start may
be (``attack_max_days``), and what an unrecorded recovery means
(``attack_unrecorded_recovery``; the domain answers None). ``attack_status`` gives the domain's
three-way answer under those options and the analysis decision;
``tests/analysis/test_recovery_attack.py`` checks it against the domain function.

A relapse without a recovery date has an unknown outcome, not a long one: by default
(``attack_unrecorded_recovery="complete_case"``) it is left out of every group and counted.
Complete-case analysis is unbiased when being a complete case does not depend on the outcome
(Hughes, Heron, Sterne & Tilling 2019, Int J Epidemiol 48:1294, doi 10.1093/ije/dyz032);
reading the missing date as "not recovered by the last contact" ("ongoing") biased the
hazard ratio on a registry with no effect (docs/analysis.md, section 4).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ...errors import InsufficientData
from ..data.frames import AnalysisData
from ..matching.match import MatchResult
from ..numerics.cdw import keys
from ..numerics.survival import cox_hazard_ratio, curve_points, km_table, logrank
from ..plan import AnalysisPlan
from ..results import FEW_EVENTS, AnalysisResult, SmallSample

METHOD = (
    "Kaplan-Meier of days from onset to recovery, treated relapses (an LDN course started "
    "with onset <= start <= recovery) entering at LDN start (left truncation) and their "
    "days before it counted off LDN (time-dependent exposure); Cox hazard ratio of "
    "recovery (Breslow ties), robust SE clustered on patient (score residuals over the "
    "delayed-entry risk sets); log-rank test of each pair of curves compared (risk sets with "
    "the same delayed entry; it treats relapses as independent, the Cox interval does not)"
)
REFERENCE_METHOD = {
    "t": (
        "hazard ratio intervals on Student's t with (patients of the treated relapses - 1) "
        "degrees of freedom (few clusters: Imbens & Kolesar, NBER working paper 18478)"
    ),
    "normal": "hazard ratio intervals on the normal distribution",
}
UNRECORDED_METHOD = {
    "complete_case": "relapses without a recovery date left out of every group (complete case)",
    "ongoing": "relapses without a recovery date read as not recovered by the last contact",
}
DURING, NOT_DURING, UNKNOWN = "during", "not", "unknown"
TREATED = "LDN started during attack"
EARLIER = "same patients before LDN"
CONTROLS = "matched non-users' relapses"
HAZARD_RATIO_KEY = "recovery_hazard_ratio_matched"


def course_starts(exposures: pd.DataFrame, drug_class: str, gap_days: int) -> pd.DataFrame:
    """Start day of every continuous course (code, start), sorted: an exposure starting more
    than ``gap_days`` after the latest stop so far (NaN stop = ongoing) begins a new one, as
    ``frames._first_course`` joins the first course."""
    rows = exposures[(exposures["drug_class"] == drug_class) & exposures["start"].notna()]
    rows = rows.sort_values(["code", "start", "stop"])
    codes = rows["code"].to_numpy()
    start = rows["start"].to_numpy(dtype=float)
    stop = np.where(
        np.isnan(rows["stop"].to_numpy(dtype=float)), np.inf, rows["stop"].to_numpy(dtype=float)
    )
    reach = pd.Series(stop).groupby(codes).cummax().to_numpy()
    previous = np.r_[-np.inf, reach[:-1]]
    same = np.r_[False, codes[1:] == codes[:-1]]
    new = ~same | (start > previous + gap_days)
    return pd.DataFrame({"code": codes[new], "start": start[new]})


def attack_status(
    relapses: pd.DataFrame, exposures: pd.DataFrame, first_start: np.ndarray, plan: AnalysisPlan
) -> pd.DataFrame:
    """Per relapse row: ``course_day`` (the start of the first counted LDN course on or after
    the onset; NaN if none), ``status`` ("during", "not", "unknown": the domain's
    True/False/None under the plan's course choice and ``attack_max_days``) and ``treated``
    (the analysis decision: "during", or "unknown" when ``attack_unrecorded_recovery`` is
    "ongoing"; under "complete_case" an "unknown" relapse is in no group at all, see
    ``relapse_episodes``). ``first_start`` is each patient's first LDN start
    (``patients.ldn_start``)."""
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
    status = np.where(
        ~counted,
        NOT_DURING,
        np.where(~np.isfinite(recovery), UNKNOWN, np.where(course <= recovery, DURING, NOT_DURING)),
    )
    treated = (status == DURING) | (
        (status == UNKNOWN) & (plan.attack_unrecorded_recovery == "ongoing")
    )
    return pd.DataFrame({"course_day": course, "status": status, "treated": treated})


def relapse_episodes(
    data: AnalysisData, plan: AnalysisPlan, matched: MatchResult | None
) -> pd.DataFrame:
    """One row per relapse with time at risk in a group: relapse (its position in
    ``data.relapses``), code, group, days (onset to recovery or censoring), event, entry (days
    from onset to LDN start, treated relapses), ``recorded`` (a recovery date exists) and
    ``before_start`` (an extra row for a treated relapse that began before the first LDN start:
    its days up to the start, off LDN, in the "before LDN" group; listed after every first row).
    Rows with ``recorded`` False are grouped as "ongoing" reads them (an LDN start within
    ``attack_max_days`` makes them treated) under either option, so that ``analyse_recovery``
    can count per group the relapses that "complete_case" leaves out."""
    rel = data.relapses.dropna(subset=["onset"])
    p = data.patients
    codes = rel["code"].to_numpy()
    onset = rel["onset"].to_numpy()
    recovery = rel["recovery"].to_numpy()
    start = p["ldn_start"].to_numpy()[codes]
    follow_end = p["follow_end"].to_numpy()[codes]
    censor = np.minimum(follow_end, onset + plan.recovery_max_days)
    attack = attack_status(
        rel,
        data.exposures,
        p["ldn_start"].to_numpy(),
        plan.with_options(attack_unrecorded_recovery="ongoing"),
    )
    treated = attack["treated"].to_numpy()
    before = np.isfinite(start) & (onset < start)  # the days up to the first start are off LDN
    group = np.where(treated, TREATED, np.where(before, EARLIER, ""))
    if matched is not None:
        ctrl = matched.cohort[matched.cohort["group"] == "control"]
        window = ctrl.groupby("code").agg(lo=("index_day", "min"), hi=("end_day", "max"))
        lo = pd.Series(window["lo"]).reindex(codes).to_numpy() - plan.history_days
        hi = pd.Series(window["hi"]).reindex(codes).to_numpy()
        # a control's relapse after their own later LDN start is not a non-user's relapse:
        # counting it (as intention to treat would) dilutes a true effect towards 1
        on_ldn = np.isfinite(start) & (onset >= start)
        is_ctrl = (group == "") & ~on_ldn & np.isfinite(lo) & (onset >= lo) & (onset <= hi)
        group = np.where(is_ctrl, CONTROLS, group)
    # days on LDN are not days off it: a relapse before the first start counts up to the
    # start, in the users' earlier relapses and in the controls' (a control who starts LDN
    # during an attack would otherwise lend LDN's effect to the comparison group)
    stop = np.where((group == EARLIER) | (group == CONTROLS), np.fmin(censor, start), censor)
    entry = np.where(treated, attack["course_day"].to_numpy() - onset, 0.0)
    split = treated & before
    frame = pd.concat(
        [
            _rows(codes, group, onset, recovery, stop, entry, group != "", before_start=False),
            _rows(
                codes,
                np.full(len(codes), EARLIER),
                onset,
                recovery,
                np.minimum(censor, start),
                np.zeros(len(codes)),
                split,
                before_start=True,
            ),
        ],
        ignore_index=True,
    )
    return frame[frame["days"] > frame["entry"]]


def _rows(
    codes: np.ndarray,
    group: np.ndarray,
    onset: np.ndarray,
    recovery: np.ndarray,
    stop: np.ndarray,
    entry: np.ndarray,
    keep: np.ndarray,
    *,
    before_start: bool,
) -> pd.DataFrame:
    """Episodes observed from onset (or ``entry`` days later) to recovery or ``stop``."""
    recorded = np.isfinite(recovery)
    event = recorded & (recovery <= stop)
    days = np.where(event, recovery, stop) - onset
    return pd.DataFrame(
        {
            "relapse": np.flatnonzero(keep),
            "code": codes[keep],
            "group": group[keep],
            "days": days[keep],
            "event": event[keep],
            "entry": entry[keep],
            "recorded": recorded[keep],
            "before_start": before_start,
        }
    )


def _reference_df(plan: AnalysisPlan, treated_people: int) -> int | None:
    """The t reference's degrees of freedom (``AnalysisPlan.recovery_reference``): one fewer
    than the patients of the treated attacks, the clusters the LDN coefficient rests on.
    None: the normal reference."""
    return max(treated_people - 1, 1) if plan.recovery_reference == "t" else None


def analyse_recovery(
    data: AnalysisData, plan: AnalysisPlan, matched: MatchResult | None = None
) -> AnalysisResult:
    if data.relapses.empty:
        raise InsufficientData("no relapses recorded: nothing to measure recovery on")
    episodes = relapse_episodes(data, plan, matched)
    # Each relapse counted once, in the group of its first row.
    unrecorded = episodes[~episodes["recorded"]].drop_duplicates("relapse")
    left_out = {
        name: int((unrecorded["group"] == name).sum()) for name in (TREATED, EARLIER, CONTROLS)
    }
    if plan.attack_unrecorded_recovery == "complete_case":
        episodes = episodes[episodes["recorded"]]
    treated = episodes[episodes["group"] == TREATED]
    if len(treated) < plan.min_ldn_users:
        raise InsufficientData(
            f"only {len(treated)} relapses in which LDN was started during the attack; at least "
            f"{plan.min_ldn_users} are needed"
        )
    # People too, not only attacks: the SE is clustered on the person, and a few people's
    # many attacks are neither a sample to cluster over nor a group a page may describe.
    if treated["code"].nunique() < plan.min_ldn_users:
        raise InsufficientData(
            f"the relapses in which LDN was started during the attack are of only "
            f"{treated['code'].nunique()} people; at least {plan.min_ldn_users} are needed"
        )
    result = AnalysisResult(
        name="relapse_recovery",
        method=(
            f"{METHOD}; {REFERENCE_METHOD[plan.recovery_reference]}; "
            f"{UNRECORDED_METHOD[plan.attack_unrecorded_recovery]}"
        ),
    )
    curves = {}
    for name, part in episodes.groupby("group"):
        try:
            table = km_table(
                part["days"].to_numpy(),
                part["event"].to_numpy(),
                entry=part["entry"].to_numpy(),
                person=part["code"].to_numpy(),  # a row per attack: count people, not attacks
                alpha=plan.alpha,
            )
        except InsufficientData as error:
            result.caveats.append(f"{name}: no curve ({error})")
            continue
        curves[str(name)] = curve_points(table)
    for other in (CONTROLS, EARLIER):
        part = episodes[episodes["group"].isin([TREATED, other])]
        if (part["group"] == other).sum() < 2:
            result.caveats.append(f"no comparison with {other}: too few of them")
            continue
        part = part.assign(ldn=(part["group"] == TREATED).astype(int))
        treated_people = int(part.loc[part["ldn"] == 1, "code"].nunique())
        try:
            test = logrank(
                part["days"].to_numpy(),
                part["event"].to_numpy(),
                part["ldn"].to_numpy(dtype=bool),
                entry=part["entry"].to_numpy(),
                label=f"recovery curves, LDN during attack vs {other}",
            )
            result.details.setdefault("logrank", []).append(test.to_dict())
        except InsufficientData as error:
            result.caveats.append(str(error))
        try:
            hr = cox_hazard_ratio(
                part,
                duration="days",
                event="event",
                covariate="ldn",
                entry="entry",
                cluster="code",
                label=f"hazard ratio of recovery, LDN during attack vs {other}",
                alpha=plan.alpha,
                df=_reference_df(plan, treated_people),
            )
            # n counts people, as every comparison's n does (disclosure reads it as people);
            # the note keeps the attacks behind it
            attacks = f" events in {len(part)} relapses"
            hr = replace(
                hr, n=int(part["code"].nunique()), note=hr.note.replace(" events", attacks, 1)
            )
            result.estimates.append(
                hr.against_matched().named(HAZARD_RATIO_KEY) if other == CONTROLS else hr
            )
        except InsufficientData as error:
            result.caveats.append(str(error))
    if not result.estimates:
        raise InsufficientData("no comparable relapses without LDN to compare recovery with")
    result.population = {
        "n_patients": int(treated["code"].nunique()),
        "relapses_treated": int(len(treated)),
        "relapses_compared": int(episodes["relapse"].nunique() - len(treated)),
        "relapses_without_recovery_date": int(len(unrecorded)),
        "person_years": float(episodes["days"].clip(lower=0).sum() / 365.25),
    }
    result.caveats += [
        "most relapses recover on their own within weeks to months; a relapse 'resolved after "
        "starting LDN' is expected without any effect",
        "treated relapses count only from the day LDN started (left truncation), so the time "
        "already survived is not credited to LDN; their days before it count as days off LDN",
        _attack_caveat(plan),
        _unrecorded_caveat(plan, left_out),
    ]
    if treated["event"].sum() < FEW_EVENTS:
        result.warn(
            SmallSample, f"only {int(treated['event'].sum())} recoveries among treated relapses"
        )
    attack = attack_status(
        data.relapses.dropna(subset=["onset"]),
        data.exposures,
        data.patients["ldn_start"].to_numpy(),
        plan,
    )
    result.details["attack_status"] = {
        kind: int((attack["status"] == kind).sum()) for kind in (DURING, NOT_DURING, UNKNOWN)
    }
    result.details["without_recovery_date"] = {
        "handling": plan.attack_unrecorded_recovery,
        "by_group": left_out,
    }
    result.details["curves"] = curves
    return result


def _attack_caveat(plan: AnalysisPlan) -> str:
    course = (
        "the first LDN course"
        if plan.attack_course == "first"
        else f"any LDN course (exposures joined across gaps of {plan.ldn_course_gap_days} days)"
    )
    bound = (
        ""
        if plan.attack_max_days is None
        else f", at most {plan.attack_max_days} days after the onset"
    )
    return (
        f"'started during the attack': {course} started on or after the onset and on or "
        f"before the recorded recovery{bound}"
    )


def _unrecorded_caveat(plan: AnalysisPlan, left_out: dict[str, int]) -> str:
    """Says how many relapses lack a recovery date, per group, and what assumption the chosen
    handling makes about them."""
    total = sum(left_out.values())
    counts = "; ".join(f"{name}: {n}" for name, n in left_out.items())
    start = (
        "an LDN start after the onset"
        if plan.attack_max_days is None
        else f"an LDN start within {plan.attack_max_days} days of the onset"
    )
    if plan.attack_unrecorded_recovery == "complete_case":
        return (
            f"{total} relapses without a recorded recovery date were left out of every "
            f"group ({counts}; '{TREATED}' counts those with {start}). This complete-case "
            "analysis assumes the dates are missing independently of how long recovery "
            "took; an attack still going at the last contact has no date either and is "
            "left out too, which can make recovery look faster in a group with more recent "
            "attacks"
        )
    return (
        f"{total} relapses without a recorded recovery date ({counts}) were read as not "
        f"recovered by the last contact (at most {plan.recovery_max_days} days): if a "
        "date is merely missing, this makes recovery look slower, most in the treated "
        f"group, which takes every such relapse with {start}"
    )
