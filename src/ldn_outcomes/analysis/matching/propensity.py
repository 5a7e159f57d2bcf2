"""The propensity model: how likely each snapshot is to be a user's start rather than a
candidate's pseudo-start. It gives the equipoise figure of the bias diagnostics and, with
``matching_method="propensity"``, the space that matching is done in (Austin 2011, Pharm Stat
10:150, doi 10.1002/pst.433)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ..numerics.logistic import logit_newton
from ..plan import AnalysisPlan

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
    "on_dmt",
]


def overlap_model(
    eligible: pd.DataFrame,
    cands: pd.DataFrame,
    plan: AnalysisPlan,
    overlap: bool,
    caveats: list[str],
) -> tuple[np.ndarray | None, np.ndarray | None, float | None]:
    """Fit the propensity model when it is wanted (the equipoise figure, or propensity
    matching): the users' and candidates' logits and the share in equipoise. A model that
    cannot be fitted (separation) is a caveat, not an error: trajectory matching does not
    need it."""
    if not (
        len(cands) and len(eligible) >= 2 and (overlap or plan.matching_method == "propensity")
    ):
        return None, None, None
    logit_u = logit_c = figure = None
    try:
        logit_u, logit_c, share = propensity_logits(eligible, cands)
        figure = equipoise(logit_u, logit_c, share, plan.equipoise_bounds)
    except (np.linalg.LinAlgError, ValueError):
        caveats.append("the propensity model could not be fitted (separation); no overlap figure")
    return logit_u, logit_c, figure


def propensity_logits(
    users: pd.DataFrame, cands: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, float]:
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


def equipoise(
    logit_users: np.ndarray, logit_cands: np.ndarray, share: float, bounds: tuple[float, float]
) -> float:
    """Share of patients with preference score in ``bounds`` (Walker et al. 2013, Comp Eff
    Res 3:11, doi 10.2147/CER.S40357): logit(F) = logit(ps) - logit(share of users)."""
    logit = np.r_[logit_users, logit_cands] - np.log(share / (1 - share))
    preference = 1 / (1 + np.exp(-logit))
    return float(np.mean((preference >= bounds[0]) & (preference <= bounds[1])))
