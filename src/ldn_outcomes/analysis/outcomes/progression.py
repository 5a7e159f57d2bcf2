"""Claim audit 1: the share of LDN users free of confirmed disability worsening (CDW).

Kaplan–Meier from LDN start (censored at stopping LDN, leaving the registry, or the last EDSS),
worsening measured from a reference EDSS (by default the first one after the start, follow-up
counted from it: delayed entry; the rule and why: ``domain.definitions.cdw_baseline``),
overall and by phenotype (relapsing: CIS/RRMS; progressive: SPMS/PPMS); the crude share without
CDW with a Wilson interval (what "98% show no further progression" counts); a worst-case
sensitivity analysis that counts everyone who stopped LDN or left the registry as progressed;
and, with matched non-users, their curve from the pseudo-start and a Cox hazard ratio.

Each first CDW is classed as relapse-associated worsening (RAW), progression independent of
relapse activity (PIRA) or undefined by the domain rule (``cdw.classify``). PIRA is what "no
further progression" in progressive MS is about, so the counts of each type (users and matched
non-users) and a PIRA-free Kaplan–Meier curve are reported too; none of them changes the CDW
figures above.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from ...domain.definitions.progression import ProgressionOptions
from ...errors import InsufficientData
from ..data.cohorts import person_years, require_users
from ..data.frames import DAYS_PER_YEAR, AnalysisData
from ..matching.match import MatchResult
from ..matching.trajectories import DMT_CLASS, DrugCourses
from ..numerics.cdw import baseline_rows, first_cdw
from ..numerics.clusters import describe, matched_cluster_columns
from ..numerics.survival import (
    cox_hazard_ratio,
    curve_points,
    km_table,
    logrank,
    survival_at,
)
from ..plan import AnalysisPlan
from ..results import FEW_EVENTS, AnalysisResult, Estimate, SmallSample

_METHOD = (
    "Kaplan-Meier (lifelines; log-transformed Greenwood 95% CI as R survfit) of time to "
    "first confirmed disability worsening (EDSS; fixed reference, by default the first EDSS "
    "in the year after the (pseudo-)start, follow-up counted from it (delayed entry); 12-week "
    "confirmation); "
    "crude proportion with Wilson CI; Cox hazard ratio vs matched non-users ({cox}, each "
    "of a user's k controls weighted 1/k{strata}) and a "
    "log-rank test of the matched curves (controls weighted 1/k, match sets not accounted "
    "for); each first CDW "
    "classed RAW / PIRA / undefined (domain rule: a relapse within 90 days before onset makes it "
    "RAW; PIRA windows "
    "-90/+30 d around onset and confirmation) and a Kaplan-Meier curve of time to a first "
    "CDW that is PIRA (a RAW or undefined first CDW censors)"
)


def method(plan: AnalysisPlan) -> str:
    """The method line, as the plan clusters the hazard ratio's SE. Breslow ties either way:
    the controls enter at their pseudo-start (delayed entry), and a robust SE with delayed
    entry is fitted by ``fastcox`` (``numerics.survival.fits_with_lifelines`` says why)."""
    strata = (
        "; stratified by being on a disease-modifying drug at the (pseudo-)start"
        if plan.cdw_strata_dmt
        else ""
    )
    return _METHOD.format(cox=f"Breslow ties, {describe(plan.matched_se_clusters)}", strata=strata)


CDW_TYPES = ("RAW", "PIRA", "undefined")
HAZARD_RATIO_KEY = "cdw_hazard_ratio_matched"
#: The headline is the LDN users' share free of CDW at this horizon, if it is one of the plan's
#: and estimable; else the last estimable horizon. A project choice, not from a source: the
#: middle of the plan's horizons (1, 2, 3, 5 years), where fewer people have left follow-up
#: than at 5 years and more events have happened than at 1; every horizon is shown beside it.
HEADLINE_HORIZON_YEARS = 3.0
#: Why a cohort row has no usable time to CDW (``endpoints``' ``excluded`` column).
NO_REFERENCE_AFTER = (
    "no EDSS score in the year after the start (none at least 30 days after a relapse)"
)
NO_EDSS_AFTER_REFERENCE = "no EDSS score after the first one after the start"
ENDED_BEFORE_REFERENCE = (
    "follow-up ended (LDN stopped or no contact) before an EDSS score after the start"
)
ENDED_AFTER_REFERENCE = (
    "follow-up ended (LDN stopped or no contact) before a second EDSS score after the start"
)
#: Follow-up that ends for these reasons ends early: the worst case counts it as progressed.
EARLY_ENDS = ("stopped", "lost")
NO_BASELINE = "no EDSS score in the year before the start"
NO_BASELINE_AFTER_RELAPSE = (
    "a relapse began after the last EDSS before the start, and no EDSS was scored at least "
    "30 days after it"
)
NO_EDSS_AFTER = "no EDSS score after the start"
WORSENED_BEFORE_START = (
    "a confirmed worsening began before the start (between the baseline EDSS and the start day)"
)
#: Every reason a row lacks the EDSS scores CDW needs (population ``excluded_no_edss``).
NO_EDSS_REASONS = (
    NO_REFERENCE_AFTER,
    NO_EDSS_AFTER_REFERENCE,
    ENDED_BEFORE_REFERENCE,
    ENDED_AFTER_REFERENCE,
    NO_BASELINE,
    NO_BASELINE_AFTER_RELAPSE,
    NO_EDSS_AFTER,
)
POPULATION_KEYS = {"RAW": "raw_events", "PIRA": "pira_events", "undefined": "undefined_cdw_events"}


def cdw_options(plan: AnalysisPlan) -> ProgressionOptions:
    """The domain CDW options the plan fixes (the rest are the domain defaults)."""
    return ProgressionOptions(confirmation_days=plan.cdw_confirmation_days)


def endpoints(data: AnalysisData, plan: AnalysisPlan, cohort: pd.DataFrame) -> pd.DataFrame:
    """Per cohort row: years from the (pseudo-)start to first CDW or censoring, the years at
    which follow-up for CDW begins (``entry``: the reference visit when it comes after the
    start, else 0; a later entry is delayed entry, left truncation), the event flag, its
    RAW/PIRA/undefined type, whether it is a PIRA event, and whether the row is usable."""
    options = cdw_options(plan)
    codes = cohort["code"].to_numpy()
    index = cohort["index_day"].to_numpy()
    after = plan.cdw_reference == "first_after_start"
    start, end, lost = baseline_rows(
        data.edss,
        data.relapses,
        codes,
        index,
        cohort["end_day"].to_numpy(),
        plan.cdw_baseline_lookback_days,
        options,
        rebaseline_after_relapse=plan.cdw_rebaseline_after_prestart_relapse,
        reference=plan.cdw_reference,
    )
    found = first_cdw(data.edss, data.relapses, codes, start, end, options)
    event = found["event"].to_numpy()
    cdw_type = found["cdw_type"].to_numpy()
    stop_day = np.where(event, found["onset_day"].to_numpy(), found["last_day"].to_numpy())
    years = (stop_day - index) / DAYS_PER_YEAR
    has_baseline = end > start
    reference_day = np.where(has_baseline, data.edss["day"].to_numpy()[start], np.nan)
    entry = np.where(has_baseline, np.maximum(reference_day - index, 0.0) / DAYS_PER_YEAR, 0.0)
    usable = np.isfinite(years) & (years > entry) & (years > 0)
    ended_early = np.isin(cohort["end_reason"].to_numpy(), EARLY_ENDS)
    if after:
        reasons = np.where(
            ~has_baseline,
            np.where(ended_early, ENDED_BEFORE_REFERENCE, NO_REFERENCE_AFTER),
            np.where(ended_early, ENDED_AFTER_REFERENCE, NO_EDSS_AFTER_REFERENCE),
        )
    else:
        reasons = np.where(
            ~has_baseline,
            np.where(lost, NO_BASELINE_AFTER_RELAPSE, NO_BASELINE),
            np.where(event, WORSENED_BEFORE_START, NO_EDSS_AFTER),
        )
    return pd.DataFrame(
        {
            "code": codes,
            "index_day": index,
            "group": cohort["group"].to_numpy(),
            "match_id": cohort["match_id"].to_numpy(),
            "weight": cohort["weight"].to_numpy(),
            "end_reason": cohort["end_reason"].to_numpy(),
            "years": years,
            "entry": entry,
            "end_years": (cohort["end_day"].to_numpy(dtype=float) - index) / DAYS_PER_YEAR,
            "event": event,
            "cdw_type": cdw_type,
            "pira": event & (cdw_type == "PIRA"),
            "usable": usable,
            "has_baseline": has_baseline,
            "excluded": np.where(usable, "", reasons),
        }
    )


def on_dmt_at(data: AnalysisData, codes: pd.Series, days: pd.Series) -> np.ndarray:
    """1 where the patient was on a disease-modifying drug that day, else 0: the strata of the
    matched hazard ratio (plan ``cdw_strata_dmt``)."""
    courses = DrugCourses.of(data, DMT_CLASS)
    return courses.on(codes.to_numpy(dtype=np.int64), days.to_numpy(dtype=float)).astype(int)


def matched_hazard_ratio(
    data: AnalysisData, plan: AnalysisPlan, rows: pd.DataFrame, label: str
) -> Estimate:
    """The Cox hazard ratio of first CDW, exposed vs matched non-users, on usable
    ``endpoints`` rows of a matched cohort: controls weighted 1/k, robust SE clustered as the
    plan says, delayed entry at the reference visit, with ``cdw_strata_dmt`` a baseline hazard
    per DMT status at the (pseudo-)start. The LDN headline and its negative-control check
    both fit it here, so that the check tests the headline's own estimator."""
    rows = rows.assign(ldn=(rows["group"] == "ldn").astype(int))
    if plan.cdw_strata_dmt:
        rows = rows.assign(on_dmt=on_dmt_at(data, rows["code"], rows["index_day"]))
    return cox_hazard_ratio(
        rows,
        duration="years",
        event="event",
        covariate="ldn",
        entry="entry",
        label=label,
        cluster=matched_cluster_columns(plan.matched_se_clusters),
        weights="weight",
        alpha=plan.alpha,
        strata="on_dmt" if plan.cdw_strata_dmt else None,
    )


def _worst_case(ok: pd.DataFrame, ep: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Years, event and entry of the worst case: the usable users with stopping or leaving as
    progression, and the users whose follow-up ended early before the EDSS scores worsening is
    measured with, progressed at their end day (counted from the start). Without them the
    worst case would leave out the earliest stoppers, the people it is about."""
    early = ep[~ep["usable"] & np.isin(ep["end_reason"], EARLY_ENDS) & (ep["end_years"] > 0)]
    years = np.r_[ok["years"].to_numpy(), early["end_years"].to_numpy()]
    event = np.r_[
        ok["event"].to_numpy() | np.isin(ok["end_reason"].to_numpy(), EARLY_ENDS),
        np.ones(len(early), dtype=bool),
    ]
    entry = np.r_[ok["entry"].to_numpy(), np.zeros(len(early))]
    return years, event, entry


def _horizon_estimates(
    table: pd.DataFrame,
    plan: AnalysisPlan,
    label: str,
    n: int,
    outcome: str = "CDW",
    followed: np.ndarray | None = None,
) -> list[Estimate]:
    """Survival at each planned horizon. With ``followed`` (every follow-up time), a horizon
    is not estimable only when no one was followed that long; without it, the rule the CDW
    lines have always used, which looks at event times only."""
    out = []
    for horizon in plan.horizons_years:
        s, lo, hi = survival_at(table, horizon)
        note = ""
        if followed is not None:
            beyond = not (followed >= horizon).any()
        else:
            at_risk = table.loc[table["time"] > horizon, "n_risk"]
            note = "" if len(at_risk) else "no one still followed at this time: last value carried"
            beyond = table["time"].max() < horizon and not len(at_risk)
        if beyond:
            note = "beyond the longest follow-up: not estimable"
            s = lo = hi = float("nan")
        out.append(
            Estimate(
                f"{label}: free of {outcome} at {horizon:g} y",
                s,
                lo,
                hi,
                "proportion",
                n=n,
                note=note,
            )
        )
    return out


def _type_counts(frame: pd.DataFrame) -> dict[str, int]:
    """First CDWs of each type (RAW, PIRA, undefined)."""
    types = frame.loc[frame["event"].to_numpy(dtype=bool), "cdw_type"]
    return {kind: int((types == kind).sum()) for kind in CDW_TYPES}


def _pira_free(
    result: AnalysisResult,
    plan: AnalysisPlan,
    users: dict[str, pd.DataFrame],
    controls: pd.DataFrame | None,
) -> None:
    """PIRA-free Kaplan–Meier per group (a first CDW of another type censors at its onset;
    controls weighted 1/k as in the CDW curve), the crude share without PIRA for users, and
    the count of each CDW type in users and matched non-users."""
    groups = dict(users)
    if controls is not None:
        groups["matched non-users"] = controls
    result.details["cdw_types"] = {name: _type_counts(part) for name, part in groups.items()}
    for name, part in groups.items():
        if len(part) < plan.min_ldn_users:
            continue
        years = part["years"].to_numpy()
        table = km_table(
            years,
            part["pira"].to_numpy(),
            entry=part["entry"].to_numpy(),
            weights=part["weight"].to_numpy(),
            alpha=plan.alpha,
        )
        # n counts people: a control matched to several users has a row per match
        people = int(part["code"].nunique())
        result.estimates += _horizon_estimates(table, plan, name, people, "PIRA", years)
        if name in users:
            free = int((~part["pira"]).sum())
            lo, hi = proportion_confint(free, len(part), alpha=plan.alpha, method="wilson")
            result.estimates.append(
                Estimate(
                    f"{name}: crude share without PIRA (any follow-up length)",
                    free / len(part),
                    float(lo),
                    float(hi),
                    "proportion",
                    n=len(part),
                    note="ignores how long each person was followed",
                )
            )
    result.caveats.append(
        "PIRA-free: only the first CDW is classified; when it is relapse-associated (RAW) or "
        "undefined, follow-up for PIRA ends there (censored), as if those people would later "
        "show PIRA as often as those still followed"
    )


def analyse_progression(
    data: AnalysisData, plan: AnalysisPlan, users: pd.DataFrame, matched: MatchResult | None = None
) -> AnalysisResult:
    require_users(users, plan, source=data.source)
    if data.edss.empty:
        raise InsufficientData(f"no EDSS visits in {data.source}: progression cannot be assessed")
    ep = endpoints(data, plan, users)
    ok = ep[ep["usable"]]
    if len(ok) < plan.min_ldn_users:
        raise InsufficientData(
            f"only {len(ok)} LDN users have the EDSS scores confirmed worsening is measured "
            f"with (a reference score near the start and one after it); at least "
            f"{plan.min_ldn_users} are needed"
        )
    result = AnalysisResult(name="progression", method=method(plan))
    table = km_table(
        ok["years"].to_numpy(),
        ok["event"].to_numpy(),
        entry=ok["entry"].to_numpy(),
        person=ok["code"].to_numpy(),
        alpha=plan.alpha,
    )
    horizon_estimates = _horizon_estimates(table, plan, "LDN users", len(ok))
    headline = next(
        (
            e
            for horizon, e in zip(plan.horizons_years, horizon_estimates, strict=True)
            if horizon == HEADLINE_HORIZON_YEARS and np.isfinite(e.value)
        ),
        None,
    )
    if headline is None:
        finite = [e for e in horizon_estimates if np.isfinite(e.value)]
        headline = finite[-1] if finite else horizon_estimates[0]
    result.estimates.append(headline)
    result.estimates += [e for e in horizon_estimates if e is not headline]
    free = int((~ok["event"]).sum())
    lo, hi = proportion_confint(free, len(ok), alpha=plan.alpha, method="wilson")
    result.estimates.append(
        Estimate(
            "crude share without CDW (any follow-up length)",
            free / len(ok),
            float(lo),
            float(hi),
            "proportion",
            n=len(ok),
            note="ignores how long each person was followed",
        )
    )
    curves = {"LDN users": curve_points(table)}
    for name, mask in (
        ("relapsing (CIS/RRMS)", ~data.patients["progressive"].to_numpy()),
        ("progressive (SPMS/PPMS)", data.patients["progressive"].to_numpy()),
    ):
        part = ok[mask[ok["code"].to_numpy()]]
        if len(part) < plan.min_ldn_users:
            result.caveats.append(f"{name}: only {len(part)} users; no separate estimate")
            continue
        sub = km_table(
            part["years"].to_numpy(),
            part["event"].to_numpy(),
            entry=part["entry"].to_numpy(),
            person=part["code"].to_numpy(),
            alpha=plan.alpha,
        )
        result.estimates += _horizon_estimates(sub, plan, name, len(part))
        curves[name] = curve_points(sub)
    worst_years, worst_event, worst_entry = _worst_case(ok, ep)
    worst = km_table(worst_years, worst_event, entry=worst_entry, alpha=plan.alpha)
    result.estimates += _horizon_estimates(
        worst, plan, "worst case (stopping or leaving = progressed)", len(worst_years)
    )
    curves["worst case"] = curve_points(worst)
    stopped = int((ok["end_reason"] == "stopped").sum())
    lost = int((ok["end_reason"] == "lost").sum())
    result.population = {
        "n_patients": int(len(ok)),
        "n_ldn_users": int(len(users)),
        "person_years": float(np.clip(ok["years"] - ok["entry"], 0, None).sum()),
        "events": int(ok["event"].sum()),
        "stopped_ldn": stopped,
        "left_registry": lost,
        **{POPULATION_KEYS[kind]: count for kind, count in _type_counts(ok).items()},
        "excluded_no_edss": int(ep["excluded"].isin(NO_EDSS_REASONS).sum()),
        "excluded_worsened_before_start": int((ep["excluded"] == WORSENED_BEFORE_START).sum()),
    }
    result.details["excluded"] = {
        reason: int(n) for reason, n in ep.loc[~ep["usable"], "excluded"].value_counts().items()
    }
    result.caveats += [
        f"{n} LDN users are not counted: {reason}"
        for reason, n in sorted(result.details["excluded"].items())
    ]
    result.caveats += [
        f"{stopped} stopped LDN and {lost} left {data.source}; they are censored (the worst-case "
        "line counts them as progressed, and so also those whose follow-up ended before the "
        "EDSS scores worsening is measured with)",
        "a share free of progression means little without the same figure in comparable "
        "non-users: MS often stays stable for years without any treatment",
    ]
    if int(ok["event"].sum()) < FEW_EVENTS:
        result.warn(SmallSample, f"only {int(ok['event'].sum())} progression events")
    progressive = data.patients["progressive"].to_numpy()[ok["code"].to_numpy()]
    pira_users = {"LDN users": ok, "progressive (SPMS/PPMS)": ok[progressive]}
    pira_controls = None
    if matched is not None and (matched.cohort["group"] == "control").any():
        mep = endpoints(data, plan, matched.cohort)
        mep = mep[mep["usable"]]
        ctrl = mep[mep["group"] == "control"]
        if len(ctrl) >= plan.min_ldn_users:
            ctable = km_table(
                ctrl["years"].to_numpy(),
                ctrl["event"].to_numpy(),
                entry=ctrl["entry"].to_numpy(),
                weights=ctrl["weight"].to_numpy(),
                # a control matched to several users has a row per match: count people
                person=ctrl["code"].to_numpy(),
                alpha=plan.alpha,
            )
            result.estimates += _horizon_estimates(
                ctable, plan, "matched non-users", int(ctrl["code"].nunique())
            )
            curves["matched non-users"] = curve_points(ctable)
            mep = mep.assign(ldn=(mep["group"] == "ldn").astype(int))
            try:  # the two curves drawn: matched users vs matched non-users (weighted 1/k)
                test = logrank(
                    mep["years"].to_numpy(),
                    mep["event"].to_numpy(),
                    mep["ldn"].to_numpy(dtype=bool),
                    entry=mep["entry"].to_numpy(),
                    weights=mep["weight"].to_numpy(),
                    label="time to CDW, matched LDN users vs matched non-users",
                )
                result.details["logrank"] = [test.to_dict()]
            except InsufficientData as error:
                result.caveats.append(str(error))
            try:
                hr = (
                    matched_hazard_ratio(
                        data, plan, mep, "hazard ratio of CDW, LDN vs matched non-users"
                    )
                    .against_matched()
                    .named(HAZARD_RATIO_KEY)
                )
                result.estimates.append(hr)
                result.details["matched_hazard_ratio"] = hr.to_dict()
            except InsufficientData as error:
                result.caveats.append(str(error))
            result.population["matched_controls"] = int(len(ctrl))
            pira_controls = ctrl
    _pira_free(result, plan, pira_users, pira_controls)
    result.details["curves"] = curves
    result.details["person_years_on_ldn"] = person_years(users)
    return result
