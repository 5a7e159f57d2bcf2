"""Cluster-robust variance when matching is with replacement: the match set and the person.

Why: a matched comparison's rows are correlated within a match set (a user and their controls
were chosen alike), and matching with replacement puts one person in several sets (a control
reused for several users, a user who was an earlier user's control). Clustering on the match
set alone treats a reused person's rows as independent and makes the interval too narrow.
Two-way clustering (Cameron, Gelbach & Miller 2011, J Bus Econ Stat 29:238-249) counts both:

    meat = meat(match set) + meat(person) - meat(match set x person)

Austin & Cafri 2020 (Stat Med 39:1623-1640, doi 10.1002/sim.8502, PMID 32109319) proposed it
for hazard ratios after matching with replacement; MatchIt's guide to estimating effects
recommends it (clusters: pair membership and unit id) for other outcomes too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

#: Plan values of ``AnalysisPlan.matched_se_clusters``.
MATCH_SET = "match_set"
MATCH_SET_AND_PERSON = "match_set_and_person"


def describe(clusters: str) -> str:
    """How a matched comparison's SE was clustered, for the method line."""
    if clusters == MATCH_SET_AND_PERSON:
        return "robust SE clustered two-way on match set and person"
    if clusters == MATCH_SET:
        return "robust SE clustered on match set"
    raise ValueError(f"unknown clustering {clusters!r}")


def matched_groups(frame: pd.DataFrame, clusters: str) -> np.ndarray:
    """Cluster labels of a matched frame (columns ``match_id`` and ``code``): one column (the
    match set) or two (match set, person), as integer codes; statsmodels' ``cov_type="cluster"``
    reads two columns as two-way clustering, as does :func:`score_meat`."""
    sets = pd.factorize(frame["match_id"].to_numpy())[0]
    if clusters == MATCH_SET:
        return sets
    if clusters == MATCH_SET_AND_PERSON:
        return np.column_stack([sets, pd.factorize(frame["code"].to_numpy())[0]])
    raise ValueError(f"unknown clustering {clusters!r}")


def matched_cluster_columns(clusters: str) -> str | tuple[str, str]:
    """The columns a Cox fit clusters a matched frame on (``survival.cox_hazard_ratio``)."""
    if clusters == MATCH_SET:
        return "match_id"
    if clusters == MATCH_SET_AND_PERSON:
        return ("match_id", "code")
    raise ValueError(f"unknown clustering {clusters!r}")


def _one_way(contributions: np.ndarray, codes: np.ndarray) -> float:
    return float(np.sum(np.bincount(codes, weights=contributions) ** 2))


def score_meat(contributions: np.ndarray, groups: np.ndarray | None) -> float:
    """Sum of squared cluster totals of one coefficient's score contributions (the sandwich's
    meat): per row without ``groups``, one-way with one column, two-way with two. A two-way
    meat that is not positive (it is a difference; Cameron, Gelbach & Miller 2011, section
    2.3, discuss such cases) falls back to the larger one-way meat."""
    contributions = np.asarray(contributions, float)
    if not contributions.size:
        return 0.0
    if groups is None:
        return float(np.sum(contributions**2))
    groups = np.asarray(groups)
    if groups.ndim == 1:
        return _one_way(contributions, pd.factorize(groups)[0])
    if groups.ndim != 2 or groups.shape[1] != 2:
        raise ValueError("groups must be one column or two")
    first = pd.factorize(groups[:, 0])[0]
    second = pd.factorize(groups[:, 1])[0]
    both = pd.factorize(first.astype(np.int64) * (int(second.max()) + 1) + second)[0]
    one, two = _one_way(contributions, first), _one_way(contributions, second)
    meat = one + two - _one_way(contributions, both)
    return meat if meat > 0 else max(one, two)


def clustered_fit(fit: Callable[[np.ndarray], Any], groups: np.ndarray, column: int) -> Any:
    """A statsmodels fit with cluster-robust covariance on ``groups``; with two columns, when
    the two-way variance of coefficient ``column`` is not positive (it is a difference), the
    one-way fit whose variance is the larger, as :func:`score_meat` does for the Cox model."""
    result = fit(groups)
    if groups.ndim == 1:
        return result
    variance = float(np.asarray(result.cov_params())[column, column])
    if np.isfinite(variance) and variance > 0:
        return result
    one_way = [fit(groups[:, i]) for i in range(groups.shape[1])]
    return max(one_way, key=lambda r: float(np.asarray(r.cov_params())[column, column]))


def cluster_count(groups: np.ndarray) -> int:
    """Number of clusters of the first (or only) grouping: the match sets."""
    groups = np.asarray(groups)
    return int(len(np.unique(groups if groups.ndim == 1 else groups[:, 0])))
