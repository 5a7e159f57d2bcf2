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

``match_users`` runs the steps in order, each a function that says why it is there:
eligibility and index dates (``candidates.users_at_start``, ``candidates.eligible_users``),
pseudo-starts (``candidates.candidate_snapshots``), the propensity model
(``propensity.overlap_model``), caliper matching (``nearest.matching_space``,
``nearest.nearest_within_calipers``), then here the matched cohort with its follow-up and
weights (``matched_cohort``) and the balance before and after (``balance_table``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...errors import InsufficientData
from ..data.cohorts import COLUMNS
from ..data.frames import AnalysisData
from ..plan import AnalysisPlan
from .candidates import (
    candidate_snapshots,
    eligible_users,
    fill_missing_duration,
    has_edss_history,
    users_at_start,
)
from .nearest import matching_space, nearest_within_calipers
from .propensity import overlap_model
from .trajectories import (
    BALANCE_COVARIATES,
    standardised_differences,
    standardised_differences_with_se,
)

#: Why an eligible user has no control.
NO_MATCH = "no non-user of the same phenotype within the calipers"


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
    if exposed_from is None:
        exposed_from = data.patients["ldn_start"].to_numpy()
    users, snapshot_columns = users_at_start(data, plan, exposed)
    eligible = eligible_users(users)
    cands = candidate_snapshots(data, plan, eligible, exposed_from, rng)
    caveats: list[str] = []
    filled = fill_missing_duration(eligible, cands)
    if filled:
        caveats.append(filled)
    logit_u, logit_c, equipoise = overlap_model(eligible, cands, plan, overlap, caveats)
    fu, fc, caliper = matching_space(eligible, cands, plan, logit_u, logit_c)
    uidx, cidx = nearest_within_calipers(eligible, cands, fu, fc, caliper, plan)
    per_user = _record_matches(users, eligible, uidx)
    cohort, weights, started = matched_cohort(
        data, plan, eligible, cands, uidx, cidx, per_user, exposed_from, caveats
    )
    balance = balance_table(eligible, cands, cidx, weights)
    users = users.drop(columns=[c for c in snapshot_columns if c not in BALANCE_COVARIATES])
    if started is not None:
        caveats.append(started)
    return MatchResult(
        method=plan.matching_method,
        cohort=cohort,
        users=users,
        balance=balance,
        equipoise=equipoise,
        n_candidates=len(cands),
        caveats=caveats,
    )


def _record_matches(users: pd.DataFrame, eligible: pd.DataFrame, uidx: np.ndarray) -> np.ndarray:
    """Per user, whether and how often they were matched and why not (in place), so the
    result can count unmatched users by reason; returns the controls per eligible user."""
    has_history = has_edss_history(users)
    per_user = np.bincount(uidx, minlength=len(eligible))
    eligible["matched"] = per_user > 0
    users["matched"] = False
    users.loc[has_history, "matched"] = eligible["matched"].to_numpy()
    no_match = has_history & ~users["matched"].to_numpy()
    users.loc[no_match, "reason"] = NO_MATCH
    users["n_controls"] = 0
    users.loc[has_history, "n_controls"] = per_user
    return per_user


def matched_cohort(
    data: AnalysisData,
    plan: AnalysisPlan,
    eligible: pd.DataFrame,
    cands: pd.DataFrame,
    uidx: np.ndarray,
    cidx: np.ndarray,
    per_user: np.ndarray,
    exposed_from: np.ndarray,
    caveats: list[str],
) -> tuple[pd.DataFrame, np.ndarray, str | None]:
    """The matched users and their controls from the pseudo-start, with follow-up and
    weights: each control weighs 1/(controls of its user), so every matched user counts
    once. Follow-up runs to the last contact (intention to treat: stopping and a later start
    stay in) or, with ``matched_follow_up="as_treated"``, a control is censored at a later
    start. Returns the cohort, the controls' weights and the caveat on later starters."""
    fe = data.patients["follow_end"].to_numpy()
    ccodes = cands["code"].to_numpy()[cidx].astype(np.int64)
    own_start = exposed_from[ccodes]
    starts_later = np.isfinite(own_start) & (own_start < fe[ccodes])
    censor = starts_later & (plan.matched_follow_up == "as_treated")
    cend = np.where(censor, own_start, fe[ccodes])
    lost = fe[ccodes] < data.cutoff_day - plan.lost_to_follow_up_days
    weights = 1.0 / per_user[uidx]
    controls = pd.DataFrame(
        {
            "code": ccodes,
            "index_day": cands["grid"].to_numpy()[cidx],
            "end_day": cend,
            "end_reason": np.where(censor, "started", np.where(lost, "lost", "ongoing")),
            "group": "control",
            "match_id": eligible["match_id"].to_numpy()[uidx],
            "weight": weights,
        }
    )
    treated = eligible[eligible["matched"]].assign(group="ldn", weight=1.0)
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
    cohort = pd.concat([treated[COLUMNS], controls[COLUMNS]], ignore_index=True)
    started = None
    if starts_later.any():
        started = (
            f"{int(starts_later.sum())} of {len(ccodes)} matched controls started the "
            "exposure later; "
            + (
                "they were censored then"
                if censor.any()
                else "they stay in the control group (intention to treat), which dilutes a "
                "true effect a little"
            )
        )
    return cohort, controls["weight"].to_numpy(), started


def balance_table(
    eligible: pd.DataFrame, cands: pd.DataFrame, cidx: np.ndarray, weights: np.ndarray
) -> pd.DataFrame:
    """Standardised mean differences before (all eligible users vs all candidates) and after
    matching (matched users vs their weighted controls): the balance diagnostic."""
    smd_before = standardised_differences(eligible, cands)
    after = standardised_differences_with_se(
        eligible[eligible["matched"]], cands.iloc[cidx], weights
    )
    return pd.DataFrame(
        {
            "covariate": list(BALANCE_COVARIATES),
            "label": list(BALANCE_COVARIATES.values()),
            "smd_before": smd_before.to_numpy(),
            "smd_after": after["smd"].to_numpy(),
            "smd_after_se": after["se"].to_numpy(),
        }
    )
