"""Nearest candidates within calipers: the space matching is done in, and the k-d tree search.

The trajectory distance is a weighted L1 norm, each part in SD units of the users: the area
between the EDSS trajectories and between the fatigue trajectories over the previous 12
months, the EDSS and fatigue at the start itself (people start when fatigue peaks), age,
disease duration and relapses over the previous 12 and 3 months (weighted double: people start
after a bad spell). The k nearest within calipers are found with a k-d tree
(``scipy.spatial.cKDTree``, Minkowski p=1) per (phenotype, grid date, relapse stratum, DMT)
block,
so 10,000 users against 90,000 candidates take seconds. Matching is with replacement across
users.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ...errors import InsufficientData
from ..plan import AnalysisPlan
from .trajectories import EDSS_COLUMNS, FATIGUE_COLUMNS, trapezoid_weights


def strata(plan: AnalysisPlan) -> list[str]:
    """Users and candidates are compared only within the same block: phenotype, grid date,
    relapse stratum and, with ``exact_match_dmt``, being on a disease-modifying drug."""
    return ["phenotype", "grid", "relapse_stratum", *(["on_dmt"] if plan.exact_match_dmt else [])]


def scale(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    sd = float(values.std()) if values.size > 1 else 0.0
    return sd if sd > 0 else 1.0


def feature_scales(eligible: pd.DataFrame) -> dict[str, float]:
    """SD units of the distance, from the eligible users (the population matched for)."""
    return {
        "edss": scale(eligible[EDSS_COLUMNS].to_numpy().ravel()),
        "fatigue": scale(eligible[FATIGUE_COLUMNS].to_numpy().ravel()),
        "age": scale(eligible["age"].to_numpy()),
        "duration": scale(eligible["duration"].to_numpy()),
        "relapses": scale(eligible["relapses_12m"].to_numpy()),
        "recent": scale(eligible["relapses_3m"].to_numpy()),
    }


def distance_features(
    frame: pd.DataFrame, scales: dict[str, float], plan: AnalysisPlan
) -> np.ndarray:
    """Coordinates whose L1 distance is the trajectory distance described above."""
    w = trapezoid_weights(plan)
    parts = [
        frame[EDSS_COLUMNS].to_numpy() * w / scales["edss"],
        np.nan_to_num(frame[FATIGUE_COLUMNS].to_numpy()) * w / scales["fatigue"],
        np.nan_to_num(frame[[FATIGUE_COLUMNS[-1]]].to_numpy()) / scales["fatigue"] * 3.0,
        frame[[EDSS_COLUMNS[-1]]].to_numpy() / scales["edss"],
        # Project choices, not from a source (like the 3x and 2x weights here): a difference in
        # whether fatigue was recorded at all costs 10 SD units, more than the other parts
        # usually differ, so users are matched first to candidates recorded as they are.
        frame[["fatigue_missing"]].to_numpy() * 10.0,
        frame[["age"]].to_numpy() / scales["age"],
        frame[["duration"]].to_numpy() / scales["duration"],
        frame[["relapses_12m"]].to_numpy() / scales["relapses"] * 2.0,
        frame[["relapses_3m"]].to_numpy() / scales["recent"] * 2.0,
    ]
    return np.hstack(parts)


def matching_space(
    eligible: pd.DataFrame,
    cands: pd.DataFrame,
    plan: AnalysisPlan,
    logit_u: np.ndarray | None,
    logit_c: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Users' and candidates' coordinates and the caliper on their L1 distance: the logit of
    the propensity in SD units (``propensity``), or the trajectory distance (default)."""
    if plan.matching_method == "propensity":
        if logit_u is None or logit_c is None:
            raise InsufficientData("propensity-score matching needs a fitted propensity model")
        sd = float(scale(np.r_[logit_u, logit_c]))
        return (logit_u / sd)[:, None], (logit_c / sd)[:, None], plan.propensity_caliper_sd
    scales = feature_scales(eligible)
    return (
        distance_features(eligible, scales, plan),
        distance_features(cands, scales, plan),
        plan.caliper_distance,
    )


def nearest_within_calipers(
    eligible: pd.DataFrame,
    cands: pd.DataFrame,
    fu: np.ndarray,
    fc: np.ndarray,
    caliper: float,
    plan: AnalysisPlan,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (user row, candidate row): for each user the ``matches_per_user`` nearest
    candidates of their block within the distance caliper and the age and disease-duration
    calipers, never the user themself. The tree returns 4k neighbours so that k usually
    survive the age and duration calipers."""
    k = plan.matches_per_user
    chosen_user, chosen_cand = [], []
    blocks = strata(plan)
    cand_groups = cands.groupby(blocks, sort=False).indices
    u_age, c_age = eligible["age"].to_numpy(), cands["age"].to_numpy()
    u_dur, c_dur = eligible["duration"].to_numpy(), cands["duration"].to_numpy()
    u_code, c_code = eligible["code"].to_numpy(), cands["code"].to_numpy()
    for key, urows in eligible.groupby(blocks, sort=False).indices.items():
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
    return uidx, cidx
