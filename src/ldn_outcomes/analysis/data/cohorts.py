"""Exposure cohorts: who starts when, when follow-up ends and why.

A cohort is a frame with one row per (patient, index date): ``code``, ``index_day``,
``end_day``, ``end_reason`` (``stopped`` = stopped the exposure, ``lost`` = no contact for
``lost_to_follow_up_days`` before the data cut-off, ``started`` = a control who started the
exposure later, ``ongoing``), ``group`` (``ldn``/``control``),
``match_id`` (the user's row; controls carry their user's), ``weight`` (1 for users, 1/k for
each of a user's k controls).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import InsufficientData
from ..plan import AnalysisPlan
from ..results import REGISTRY_SOURCE
from .frames import AnalysisData

COLUMNS = ["code", "index_day", "end_day", "end_reason", "group", "match_id", "weight"]


def exposure_cohort(data: AnalysisData, plan: AnalysisPlan, exposure: str = "ldn") -> pd.DataFrame:
    """Starters of ``exposure`` (``ldn`` or the negative control), censored when they stop."""
    p = data.patients
    if exposure == "ldn":
        start, stop = p["ldn_start"].to_numpy(), p["ldn_stop"].to_numpy()
        chosen = p["ever_ldn"].to_numpy()
    else:
        # negative control: starters not on LDN at that point; censored if they start LDN
        start = p["nc_start"].to_numpy()
        ldn = p["ldn_start"].to_numpy()
        stop = np.where(ldn > start, ldn, np.nan)
        chosen = np.isfinite(start) & ~(ldn <= start)
    codes = np.flatnonzero(chosen)
    follow_end = p["follow_end"].to_numpy()[codes]
    stop = stop[codes]
    end = np.where(np.isfinite(stop), np.minimum(stop, follow_end), follow_end)
    lost = follow_end < data.cutoff_day - plan.lost_to_follow_up_days
    reason = np.where(
        np.isfinite(stop) & (stop <= follow_end), "stopped", np.where(lost, "lost", "ongoing")
    )
    cohort = pd.DataFrame(
        {
            "code": codes,
            "index_day": start[codes],
            "end_day": end,
            "end_reason": reason,
            "group": "ldn",
            "match_id": np.arange(len(codes)),
            "weight": 1.0,
        }
    )
    return cohort[COLUMNS]


def require_users(
    cohort: pd.DataFrame, plan: AnalysisPlan, what: str = "LDN users", source: str = REGISTRY_SOURCE
) -> None:
    users = int((cohort["group"] == "ldn").sum())
    if users < plan.min_ldn_users:
        raise InsufficientData(
            f"only {users} {what} in {source}; at least {plan.min_ldn_users} are needed "
            "for any estimate"
        )


def person_years(cohort: pd.DataFrame) -> float:
    return float(np.clip(cohort["end_day"] - cohort["index_day"], 0, None).sum() / 365.25)
