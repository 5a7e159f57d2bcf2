"""Who can be matched, and at which date: the users at their (grid-snapped) start, and the
candidates at the same grid date, which becomes their pseudo-start.

Risk-set matching (Li, Propert & Rosenbaum, Balanced risk set matching, J Am Stat Assoc
2001;96:870-882): a candidate is a patient of the same phenotype under observation at the
user's grid date and not (yet) exposed then; a candidate who starts LDN later is still a fair
control at that date. One thing after that date is looked at: a candidate must still be
followed 91 days after it (a user need not be after the start). Scored paired without that
condition, no headline moved beyond its noise (docs/analysis.md, "Progression: the reference
visit's timing, the visits and the controls' follow-up").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import InsufficientData
from ..data.frames import AnalysisData
from ..plan import AnalysisPlan
from .trajectories import DMT_CLASS, EDSS_COLUMNS, DrugCourses, count_in, snapshots

#: Why a user without an EDSS history is not matched (the distance needs their prior course).
NO_HISTORY = "no EDSS in the 12 months before the start"


def users_at_start(
    data: AnalysisData, plan: AnalysisPlan, exposed: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Index dates: each exposed row with its phenotype, its start snapped to the matching
    grid (users and candidates are compared at the same date), its snapshot at the start and
    its coarsened relapse history; ``reason`` says why a user cannot be matched ('' if they
    can). Also returns the snapshot's columns, which only matching needs."""
    p = data.patients
    users = exposed[["code", "index_day", "end_day", "end_reason", "match_id"]].copy()
    users["phenotype"] = p["phenotype"].to_numpy()[users["code"]]
    users["grid"] = np.round(users["index_day"] / plan.grid_days) * plan.grid_days
    features = snapshots(data, plan, users["code"].to_numpy(), users["index_day"].to_numpy())
    users = pd.concat([users.reset_index(drop=True), features], axis=1)
    users["relapse_stratum"] = relapse_strata(
        data, plan, users["code"].to_numpy(), users["index_day"].to_numpy()
    )
    users["reason"] = np.where(has_edss_history(users), "", NO_HISTORY)
    return users, [*features.columns, "relapse_stratum"]


def has_edss_history(frame: pd.DataFrame) -> np.ndarray:
    """Eligibility: an EDSS value at every trajectory point, since the distance (and the
    claim that matched people had the same course) rests on it."""
    return np.isfinite(frame[EDSS_COLUMNS].to_numpy()).all(axis=1)


def eligible_users(users: pd.DataFrame) -> pd.DataFrame:
    """The users who can be matched; none is an error that says why, not an empty match."""
    eligible = users[has_edss_history(users)].reset_index(drop=True)
    if eligible.empty:
        raise InsufficientData(
            "no LDN user has an EDSS score in the 12 months before starting, "
            "so nobody can be matched on their prior course"
        )
    return eligible


def candidate_snapshots(
    data: AnalysisData,
    plan: AnalysisPlan,
    eligible: pd.DataFrame,
    exposed_from: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Pseudo-starts: every candidate at each grid date of the users, with the same snapshot
    and relapse stratum as a user has at their start. Only snapshots with an EDSS history are
    kept, assembled column by column (filtering a frame of a million rows with a text column
    copies it block by block)."""
    blocks = candidate_blocks(data, plan, eligible, exposed_from, rng)
    codes = blocks["code"].to_numpy().astype(np.int64)
    features = snapshots(data, plan, codes, blocks["grid"].to_numpy())
    strata = relapse_strata(data, plan, codes, blocks["grid"].to_numpy())
    keep = has_edss_history(features)
    return pd.DataFrame(
        {
            **{c: blocks[c].to_numpy()[keep] for c in blocks},
            **{c: features[c].to_numpy()[keep] for c in features},
            "relapse_stratum": strata[keep],
        }
    )


def candidate_blocks(
    data: AnalysisData,
    plan: AnalysisPlan,
    users: pd.DataFrame,
    exposed_from: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """(code, grid day, phenotype) rows: patients under observation and not yet exposed at
    each users' grid day (and still followed 91 days later), with ``exact_match_dmt``
    only those with the users' DMT status then. A block larger than ``candidate_pool_per_user``
    per user is sampled down (seeded; None keeps every candidate), to bound time and memory:
    drawn within the DMT status, so a user's nearest candidates are not thinned by the other
    status. The draw makes the estimates depend on the seed (docs/analysis.md)."""
    p = data.patients
    phen_codes, phen_names = pd.factorize(p["phenotype"])
    lookup = {name: i for i, name in enumerate(phen_names)}
    fs, fe = p["follow_start"].to_numpy(), p["follow_end"].to_numpy()
    by_phenotype = {i: np.flatnonzero(phen_codes == i) for i in range(len(phen_names))}
    dmt = DrugCourses.of(data, DMT_CLASS)
    parts = []
    by = ["phenotype", "grid", *(["on_dmt"] if plan.exact_match_dmt else [])]
    for key, block in users.groupby(by, sort=True):
        phenotype, grid = key[0], key[1]
        same = by_phenotype[lookup[phenotype]]
        ok = (
            ~(exposed_from[same] <= grid)
            & (fs[same] <= grid - plan.history_days / 2)
            & (fe[same] >= grid + 91)
        )
        pool = same[ok]
        if plan.exact_match_dmt:
            status = dmt.on(pool, np.full(len(pool), float(grid)))
            pool = pool[status == key[2]]
        if plan.candidate_pool_per_user is not None:
            cap = plan.candidate_pool_per_user * len(block)
            if pool.size > cap:
                pool = np.sort(rng.choice(pool, size=cap, replace=False))
        parts.append(pd.DataFrame({"code": pool, "grid": grid, "phenotype": phenotype}))
    if not parts:
        return pd.DataFrame({"code": [], "grid": [], "phenotype": []})
    return pd.concat(parts, ignore_index=True)


def relapse_strata(
    data: AnalysisData, plan: AnalysisPlan, codes: np.ndarray, days: np.ndarray
) -> np.ndarray:
    """One integer per snapshot: its coarsened relapse history (counts per window before the
    day, capped), so that users are matched only to candidates with the same history."""
    stratum = np.zeros(len(codes), dtype=np.int64)
    if not plan.relapse_exact_bins_days or len(codes) == 0:
        return stratum
    rel = data.relapses.dropna(subset=["onset"])
    base = plan.relapse_exact_cap + 1
    lo_days = 0
    for hi_days in plan.relapse_exact_bins_days:
        n = count_in(rel, "onset", codes, days - hi_days, days - lo_days)
        stratum = stratum * base + np.minimum(n, plan.relapse_exact_cap)
        lo_days = hi_days
    return stratum


def fill_missing_duration(eligible: pd.DataFrame, cands: pd.DataFrame) -> str | None:
    """Give patients without an onset or diagnosis date the median disease duration (in
    place), so they can still be matched on everything else; returns the caveat, if any."""
    missing = int(eligible["duration"].isna().sum() + cands["duration"].isna().sum())
    if not missing:
        return None
    both = np.r_[eligible["duration"], cands["duration"]]
    fill = float(np.nanmedian(both)) if np.isfinite(both).any() else 0.0
    eligible["duration"] = eligible["duration"].fillna(fill)
    cands["duration"] = cands["duration"].fillna(fill)
    return (
        f"{missing} patients without a symptom-onset or diagnosis date "
        "were given the median disease duration for matching"
    )
