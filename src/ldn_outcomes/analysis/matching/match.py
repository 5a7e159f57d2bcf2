"""Matched non-users for LDN users, with pseudo-start dates (as PatientsLikeMe did for lithium
in ALS: Wicks et al. 2011, Nat Biotechnol 29:411, doi 10.1038/nbt.1837).

Each user's start date is snapped to a grid (``grid_days``); candidates are patients of the
same phenotype under observation at that grid date and not (yet) exposed then, which becomes
their pseudo-start (risk-set matching: Li, Propert & Rosenbaum, Balanced risk set matching,
J Am Stat Assoc 2001;96:870-882). By default (``matched_follow_up="intention_to_treat"``)
users stay in follow-up after stopping and controls after a later start: stopping and starting
follow worsening, so censoring there would remove the more active patients from one group's
later follow-up (informative censoring). The estimate is then the effect of starting LDN,
diluted a little by stopping and switching (both are counted and reported). Requiring controls
never to start at all would condition on the future in the same way.

The distance is a weighted L1 norm: the area between the EDSS trajectories over the previous
12 months and the area between the fatigue trajectories (each in SD units), plus the
differences in EDSS and fatigue at the start itself (people start when fatigue peaks),
|age difference|, |disease-duration difference| and |difference in relapses over the previous
12 and 3 months| (weighted double: people start after a bad spell), all in SD units. The k
nearest within calipers are found with a k-d tree (``scipy.spatial.cKDTree``, Minkowski p=1)
per (phenotype, grid date) block, so 10,000 users against 90,000 candidates take seconds.
Matching is with replacement across users. A propensity-score match (logistic model, nearest
neighbours on the logit within ``propensity_caliper_sd`` SD, Austin 2011, Pharm Stat 10:150,
doi 10.1002/pst.433) is the second option. Optionally (``relapse_exact_bins_days``) users are
matched only to candidates with the same coarsened relapse history, counts per window before
the (pseudo-)start (coarsened exact matching: Iacus, King & Porro 2012, Polit Anal 20:1, doi
10.1093/pan/mpr013); off by default, since the headline (rates after the start) was unbiased
on the project simulator without it (docs/analysis.md).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.spatial import cKDTree

from ...errors import InsufficientData
from ..data.cohorts import COLUMNS
from ..data.frames import AnalysisData
from ..numerics.logistic import logit_newton
from ..plan import AnalysisPlan
from .trajectories import (
    BALANCE_COVARIATES,
    EDSS_COLUMNS,
    FATIGUE_COLUMNS,
    count_in,
    snapshots,
    standardised_differences,
    trapezoid_weights,
)

PS_COLUMNS = [
    "age",
    "duration",
    "female",
    "relapses_12m",
    "relapses_3m",
    "edss_0",
    "edss_4",
    "fatigue_0",
    "fatigue_4",
    "fatigue_missing",
]


@dataclass
class MatchResult:
    method: str
    cohort: pd.DataFrame
    users: pd.DataFrame
    balance: pd.DataFrame
    equipoise: float | None
    n_candidates: int
    caveats: list[str] = field(default_factory=list)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_matched(self) -> int:
        return int(self.users["matched"].sum())

    @property
    def max_abs_smd(self) -> float:
        values = self.balance["smd_after"].abs().dropna()
        return float(values.max()) if len(values) else float("nan")


def _candidate_blocks(
    data: AnalysisData,
    plan: AnalysisPlan,
    users: pd.DataFrame,
    exposed_from: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """(code, grid day, phenotype) rows: patients under observation and not yet exposed at
    each users' grid day (conditioning on nothing after that day)."""
    p = data.patients
    phen_codes, phen_names = pd.factorize(p["phenotype"])
    lookup = {name: i for i, name in enumerate(phen_names)}
    fs, fe = p["follow_start"].to_numpy(), p["follow_end"].to_numpy()
    by_phenotype = {i: np.flatnonzero(phen_codes == i) for i in range(len(phen_names))}
    parts = []
    for (phenotype, grid), block in users.groupby(["phenotype", "grid"], sort=True):
        same = by_phenotype[lookup[phenotype]]
        ok = (
            ~(exposed_from[same] <= grid)
            & (fs[same] <= grid - plan.history_days / 2)
            & (fe[same] >= grid + 91)
        )
        pool = same[ok]
        cap = plan.candidate_pool_per_user * len(block)
        if pool.size > cap:
            pool = np.sort(rng.choice(pool, size=cap, replace=False))
        parts.append(pd.DataFrame({"code": pool, "grid": grid, "phenotype": phenotype}))
    if not parts:
        return pd.DataFrame({"code": [], "grid": [], "phenotype": []})
    return pd.concat(parts, ignore_index=True)


def _distance_features(
    frame: pd.DataFrame, scales: dict[str, float], plan: AnalysisPlan
) -> np.ndarray:
    w = trapezoid_weights(plan)
    parts = [
        frame[EDSS_COLUMNS].to_numpy() * w / scales["edss"],
        np.nan_to_num(frame[FATIGUE_COLUMNS].to_numpy()) * w / scales["fatigue"],
        np.nan_to_num(frame[[FATIGUE_COLUMNS[-1]]].to_numpy()) / scales["fatigue"] * 3.0,
        frame[[EDSS_COLUMNS[-1]]].to_numpy() / scales["edss"],
        frame[["fatigue_missing"]].to_numpy() * 10.0,
        frame[["age"]].to_numpy() / scales["age"],
        frame[["duration"]].to_numpy() / scales["duration"],
        frame[["relapses_12m"]].to_numpy() / scales["relapses"] * 2.0,
        frame[["relapses_3m"]].to_numpy() / scales["recent"] * 2.0,
    ]
    return np.hstack(parts)


def _relapse_strata(
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


def _scale(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    sd = float(values.std()) if values.size > 1 else 0.0
    return sd if sd > 0 else 1.0


def _propensity(users: pd.DataFrame, cands: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, float]:
    """Logit of the propensity for users and candidates, and the users' share in the model."""
    x = pd.concat([users[PS_COLUMNS], cands[PS_COLUMNS]], ignore_index=True).fillna(0.0)
    x = x.loc[:, x.std() > 0]
    x = (x - x.mean()) / x.std()  # standardised: Newton converges in a few steps
    y = np.r_[np.ones(len(users)), np.zeros(len(cands))]
    design = sm.add_constant(x.to_numpy(), has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = logit_newton(y, design, maxiter=50)
    linear = design @ params
    return linear[: len(users)], linear[len(users) :], float(y.mean())


def _equipoise(
    logit_users: np.ndarray, logit_cands: np.ndarray, share: float, bounds: tuple[float, float]
) -> float:
    """Share of patients with preference score in ``bounds`` (Walker et al. 2013, Comp Eff
    Res 3:11, doi 10.2147/CER.S40357): logit(F) = logit(ps) - logit(share of users)."""
    logit = np.r_[logit_users, logit_cands] - np.log(share / (1 - share))
    preference = 1 / (1 + np.exp(-logit))
    return float(np.mean((preference >= bounds[0]) & (preference <= bounds[1])))


def match_users(
    data: AnalysisData,
    plan: AnalysisPlan,
    exposed: pd.DataFrame,
    exposed_from: np.ndarray | None = None,
    overlap: bool = True,
) -> MatchResult:
    """Match each row of the exposure cohort ``exposed`` to up to k patients not exposed at
    the pseudo-start. ``exposed_from``: per patient, the first day they count as exposed
    (NaN = never); default: their LDN start. ``overlap=False`` skips the propensity model
    where only the matched cohort is wanted (no equipoise figure), unless it matches on it."""
    if exposed.empty:
        raise InsufficientData("no exposed patients to match")
    rng = np.random.default_rng(plan.seed)
    p = data.patients
    if exposed_from is None:
        exposed_from = p["ldn_start"].to_numpy()
    users = exposed[["code", "index_day", "end_day", "end_reason", "match_id"]].copy()
    users["phenotype"] = p["phenotype"].to_numpy()[users["code"]]
    users["grid"] = np.round(users["index_day"] / plan.grid_days) * plan.grid_days
    ufeat = snapshots(data, plan, users["code"].to_numpy(), users["index_day"].to_numpy())
    users = pd.concat([users.reset_index(drop=True), ufeat], axis=1)
    users["relapse_stratum"] = _relapse_strata(
        data, plan, users["code"].to_numpy(), users["index_day"].to_numpy()
    )
    has_history = np.isfinite(users[EDSS_COLUMNS].to_numpy()).all(axis=1)
    users["reason"] = np.where(has_history, "", "no EDSS in the 12 months before the start")
    eligible = users[has_history].reset_index(drop=True)
    if eligible.empty:
        raise InsufficientData(
            "no LDN user has an EDSS score in the 12 months before starting, "
            "so nobody can be matched on their prior course"
        )
    blocks = _candidate_blocks(data, plan, eligible, exposed_from, rng)
    cfeat = snapshots(
        data, plan, blocks["code"].to_numpy().astype(np.int64), blocks["grid"].to_numpy()
    )
    strata_c = _relapse_strata(
        data, plan, blocks["code"].to_numpy().astype(np.int64), blocks["grid"].to_numpy()
    )
    # only snapshots with an EDSS history, assembled column by column (filtering a frame of
    # a million rows with a text column copies it block by block)
    keep = np.isfinite(cfeat[EDSS_COLUMNS].to_numpy()).all(axis=1)
    cands = pd.DataFrame(
        {
            **{c: blocks[c].to_numpy()[keep] for c in blocks},
            **{c: cfeat[c].to_numpy()[keep] for c in cfeat},
            "relapse_stratum": strata_c[keep],
        }
    )
    caveats = []
    missing_duration = int(eligible["duration"].isna().sum() + cands["duration"].isna().sum())
    if missing_duration:
        fill = (
            float(np.nanmedian(np.r_[eligible["duration"], cands["duration"]]))
            if np.isfinite(np.r_[eligible["duration"], cands["duration"]]).any()
            else 0.0
        )
        eligible["duration"] = eligible["duration"].fillna(fill)
        cands["duration"] = cands["duration"].fillna(fill)
        caveats.append(
            f"{missing_duration} patients without a symptom-onset or diagnosis date "
            "were given the median disease duration for matching"
        )
    scales = {
        "edss": _scale(eligible[EDSS_COLUMNS].to_numpy().ravel()),
        "fatigue": _scale(eligible[FATIGUE_COLUMNS].to_numpy().ravel()),
        "age": _scale(eligible["age"].to_numpy()),
        "duration": _scale(eligible["duration"].to_numpy()),
        "relapses": _scale(eligible["relapses_12m"].to_numpy()),
        "recent": _scale(eligible["relapses_3m"].to_numpy()),
    }
    equipoise = None
    logit_u = logit_c = None
    if len(cands) and len(eligible) >= 2 and (overlap or plan.matching_method == "propensity"):
        try:
            logit_u, logit_c, share = _propensity(eligible, cands)
            equipoise = _equipoise(logit_u, logit_c, share, plan.equipoise_bounds)
        except (np.linalg.LinAlgError, ValueError):
            caveats.append(
                "the propensity model could not be fitted (separation); no overlap figure"
            )
    if plan.matching_method == "propensity":
        if logit_u is None or logit_c is None:
            raise InsufficientData("propensity-score matching needs a fitted propensity model")
        sd = float(_scale(np.r_[logit_u, logit_c]))
        fu, fc = (logit_u / sd)[:, None], (logit_c / sd)[:, None]
        caliper = plan.propensity_caliper_sd
    else:
        fu = _distance_features(eligible, scales, plan)
        fc = _distance_features(cands, scales, plan)
        caliper = plan.caliper_distance
    k = plan.matches_per_user
    chosen_user, chosen_cand = [], []
    strata = ["phenotype", "grid", "relapse_stratum"]
    cand_groups = cands.groupby(strata, sort=False).indices
    u_age, c_age = eligible["age"].to_numpy(), cands["age"].to_numpy()
    u_dur, c_dur = eligible["duration"].to_numpy(), cands["duration"].to_numpy()
    u_code, c_code = eligible["code"].to_numpy(), cands["code"].to_numpy()
    for key, urows in eligible.groupby(strata, sort=False).indices.items():
        crows = cand_groups.get(key)
        if crows is None or len(crows) == 0:
            continue
        kq = min(len(crows), 4 * k)
        tree = cKDTree(fc[crows])
        dist, idx = tree.query(fu[urows], k=kq, p=1)
        dist = dist.reshape(len(urows), kq)
        idx = crows[idx.reshape(len(urows), kq)]
        ok = dist <= caliper
        age_gap = np.abs(u_age[urows][:, None] - c_age[idx])
        dur_gap = np.abs(u_dur[urows][:, None] - c_dur[idx])
        ok &= (age_gap <= plan.caliper_age_years) & (dur_gap <= plan.caliper_duration_years)
        ok &= c_code[idx] != u_code[urows][:, None]
        rank = np.cumsum(ok, axis=1)
        ok &= rank <= k
        rows, cols = np.nonzero(ok)
        chosen_user.append(urows[rows])
        chosen_cand.append(idx[rows, cols])
    uidx = np.concatenate(chosen_user) if chosen_user else np.array([], dtype=int)
    cidx = np.concatenate(chosen_cand) if chosen_cand else np.array([], dtype=int)
    per_user = np.bincount(uidx, minlength=len(eligible))
    eligible["matched"] = per_user > 0
    users["matched"] = False
    users.loc[has_history, "matched"] = eligible["matched"].to_numpy()
    no_match = has_history & ~users["matched"].to_numpy()
    users.loc[no_match, "reason"] = "no non-user of the same phenotype within the calipers"
    users["n_controls"] = 0
    users.loc[has_history, "n_controls"] = per_user
    matched_users = eligible[eligible["matched"]]
    fe = p["follow_end"].to_numpy()
    ccodes = cands["code"].to_numpy()[cidx].astype(np.int64)
    own_start = exposed_from[ccodes]
    starts_later = np.isfinite(own_start) & (own_start < fe[ccodes])
    censor = starts_later & (plan.matched_follow_up == "as_treated")
    cend = np.where(censor, own_start, fe[ccodes])
    lost = fe[ccodes] < data.cutoff_day - plan.lost_to_follow_up_days
    controls = pd.DataFrame(
        {
            "code": ccodes,
            "index_day": cands["grid"].to_numpy()[cidx],
            "end_day": cend,
            "end_reason": np.where(censor, "started", np.where(lost, "lost", "ongoing")),
            "group": "control",
            "match_id": eligible["match_id"].to_numpy()[uidx],
            "weight": 1.0 / per_user[uidx],
        }
    )
    treated = matched_users.assign(group="ldn", weight=1.0)
    if plan.matched_follow_up == "intention_to_treat":
        stopped = treated["end_reason"] == "stopped"
        if stopped.any():
            caveats.append(
                f"{int(stopped.sum())} matched users stopped within follow-up; they "
                "are still followed (intention to treat)"
            )
        uend = fe[treated["code"].to_numpy()]
        ulost = uend < data.cutoff_day - plan.lost_to_follow_up_days
        treated = treated.assign(end_day=uend, end_reason=np.where(ulost, "lost", "ongoing"))
    treated = treated[COLUMNS]
    cohort = pd.concat([treated, controls[COLUMNS]], ignore_index=True)
    smd_before = standardised_differences(eligible, cands)
    smd_after = standardised_differences(
        matched_users, cands.iloc[cidx], controls["weight"].to_numpy()
    )
    balance = pd.DataFrame(
        {
            "covariate": list(BALANCE_COVARIATES),
            "label": list(BALANCE_COVARIATES.values()),
            "smd_before": smd_before.to_numpy(),
            "smd_after": smd_after.to_numpy(),
        }
    )
    users = users.drop(
        columns=[c for c in [*ufeat.columns, "relapse_stratum"] if c not in BALANCE_COVARIATES]
    )
    if starts_later.any():
        caveats.append(
            f"{int(starts_later.sum())} of {len(ccodes)} matched controls started the "
            "exposure later; "
            + (
                "they were censored then"
                if censor.any()
                else "they stay in the control group (intention to treat), which dilutes a "
                "true effect a little"
            )
        )
    return MatchResult(
        method=plan.matching_method,
        cohort=cohort,
        users=users,
        balance=balance,
        equipoise=equipoise,
        n_candidates=len(cands),
        caveats=caveats,
    )
