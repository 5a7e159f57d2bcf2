"""Point-in-time patient summaries ("snapshots") used for matching and balance.

A snapshot of patient c at day t: age, disease duration, relapses in the previous 12 months,
and the EDSS and fatigue trajectories at t-12, t-9, t-6, t-3 months and t, each the last value
on or before that point (no older than the history window), else the first value after it up
to t. The area between two trajectories is the trapezoid rule over those five points, which is
a weighted L1 distance: ``TRAPEZOID_WEIGHTS`` (in years) times |a_k - b_k|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.frames import DAYS_PER_YEAR, AnalysisData
from ..data.intervals import merged_intervals
from ..numerics.cdw import keys
from ..plan import AnalysisPlan

POINTS = 5
#: The exposure class of disease-modifying drugs in the analysis frames.
DMT_CLASS = "dmt"


def offsets(plan: AnalysisPlan) -> np.ndarray:
    return np.linspace(-plan.history_days, 0, POINTS)


def trapezoid_weights(plan: AnalysisPlan) -> np.ndarray:
    step = plan.history_days / (POINTS - 1) / DAYS_PER_YEAR
    weights = np.full(POINTS, step)
    weights[[0, -1]] = step / 2
    return weights


@dataclass(frozen=True)
class Lookup:
    """A series sorted by (code, day), ready for many look-ups: its keys computed once."""

    keys: np.ndarray
    codes: np.ndarray
    days: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, series: pd.DataFrame, column: str) -> Lookup:
        codes, days = series["code"].to_numpy(), series["day"].to_numpy()
        return cls(keys(codes, days), codes, days, series[column].to_numpy(dtype=float))

    def value_at(
        self, codes: np.ndarray, at: np.ndarray, stale_days: float, until: np.ndarray
    ) -> np.ndarray:
        """See ``value_at``. Look-ups in (code, day) order are much faster (the bisections
        then walk the series in order)."""
        out = np.full(len(codes), np.nan)
        if not len(self.keys) or len(codes) == 0:
            return out
        right = np.searchsorted(self.keys, keys(codes, at), side="right")
        prev = right - 1
        ok = prev >= 0
        prev_c = np.maximum(prev, 0)
        ok &= (self.codes[prev_c] == codes) & (self.days[prev_c] >= at - stale_days)
        out[ok] = self.values[prev_c[ok]]
        nxt = np.minimum(right, len(self.keys) - 1)
        ok2 = (
            ~ok & (right < len(self.keys)) & (self.codes[nxt] == codes) & (self.days[nxt] <= until)
        )
        out[ok2] = self.values[nxt[ok2]]
        return out


def value_at(
    series: pd.DataFrame,
    column: str,
    codes: np.ndarray,
    at: np.ndarray,
    stale_days: float,
    until: np.ndarray,
) -> np.ndarray:
    """Last value on or before ``at`` (no older than ``stale_days``), else the first value in
    (at, until]; NaN if neither. ``series`` is sorted by (code, day)."""
    if series.empty or len(codes) == 0:
        return np.full(len(codes), np.nan)
    return Lookup.of(series, column).value_at(codes, at, stale_days, until)


def count_in(
    events: pd.DataFrame, column: str, codes: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Number of events with ``lo < day <= hi`` per (code, window); events sorted by code, day."""
    if events.empty or len(codes) == 0:
        return np.zeros(len(codes), dtype=np.int64)
    ekeys = keys(events["code"].to_numpy(), events[column].to_numpy())
    upper = np.searchsorted(ekeys, keys(codes, hi), side="right")
    lower = np.searchsorted(ekeys, keys(codes, lo), side="right")
    return (upper - lower).astype(np.int64)


def snapshots(
    data: AnalysisData, plan: AnalysisPlan, codes: np.ndarray, days: np.ndarray
) -> pd.DataFrame:
    """Snapshot features for each (code, day); see the module docstring.

    Computed on the snapshots sorted by (code, day), then put back in the given order: the
    look-ups into the EDSS, fatigue and relapse series are then in order, and much faster."""
    codes = np.asarray(codes, dtype=np.int64)
    days = np.asarray(days, dtype=float)
    order = np.argsort(keys(codes, days), kind="stable")
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    codes, days = codes[order], days[order]
    p = data.patients
    out = {
        "age": (days - p["birth_day"].to_numpy()[codes]) / DAYS_PER_YEAR,
        "duration": (days - p["onset_day"].to_numpy()[codes]) / DAYS_PER_YEAR,
        "female": p["female"].to_numpy()[codes].astype(float),
    }
    rel = data.relapses.dropna(subset=["onset"])
    out["relapses_12m"] = count_in(rel, "onset", codes, days - 365, days).astype(float)
    out["relapses_3m"] = count_in(rel, "onset", codes, days - 91, days).astype(float)
    fatigue = data.symptom_series(plan.fatigue_instrument)
    edss = Lookup.of(data.edss, "score")
    fat = Lookup.of(fatigue, "total")
    for k, off in enumerate(offsets(plan)):
        at = days + off
        out[f"edss_{k}"] = edss.value_at(codes, at, plan.history_days, days)
        out[f"fatigue_{k}"] = fat.value_at(codes, at, plan.history_days, days)
    # a missing fatigue point takes the nearest earlier one, else the nearest later one
    for k in range(1, POINTS):
        out[f"fatigue_{k}"] = np.where(
            np.isnan(out[f"fatigue_{k}"]), out[f"fatigue_{k - 1}"], out[f"fatigue_{k}"]
        )
    for k in range(POINTS - 2, -1, -1):
        out[f"fatigue_{k}"] = np.where(
            np.isnan(out[f"fatigue_{k}"]), out[f"fatigue_{k + 1}"], out[f"fatigue_{k}"]
        )
    out["fatigue_missing"] = np.isnan(out["fatigue_0"]).astype(float)
    out["on_dmt"] = DrugCourses.of(data, DMT_CLASS).on(codes, days)
    return pd.DataFrame({name: values[back] for name, values in out.items()})


@dataclass(frozen=True)
class DrugCourses:
    """One drug class's courses merged per patient (overlapping or touching courses become
    one), sorted by (code, start), ready for many "on it that day?" look-ups."""

    keys: np.ndarray
    codes: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, data: AnalysisData, drug_class: str) -> DrugCourses:
        rows = data.exposures[data.exposures["drug_class"] == drug_class]
        rows = rows.dropna(subset=["start"])
        merged = merged_intervals(
            pd.DataFrame(
                {
                    "code": rows["code"].to_numpy().astype(np.int64),
                    "start": rows["start"].to_numpy(dtype=float),
                    "end": rows["stop"].fillna(np.inf).to_numpy(dtype=float),
                }
            )
        )
        code = merged["code"].to_numpy().astype(np.int64)
        return cls(keys(code, merged["start"].to_numpy()), code, merged["end"].to_numpy())

    def on(self, codes: np.ndarray, days: np.ndarray) -> np.ndarray:
        """1.0 where the patient is on the drug that day (start <= day < stop; no stop: still
        on it), else 0.0: the last merged course starting on or before the day decides."""
        codes = np.asarray(codes, dtype=np.int64)
        out = np.zeros(len(codes))
        if not len(self.keys) or len(codes) == 0:
            return out
        at = np.searchsorted(self.keys, keys(codes, days), side="right") - 1
        at_c = np.maximum(at, 0)
        ok = (at >= 0) & (self.codes[at_c] == codes) & (self.ends[at_c] > days)
        out[ok] = 1.0
        return out


EDSS_COLUMNS = [f"edss_{k}" for k in range(POINTS)]
FATIGUE_COLUMNS = [f"fatigue_{k}" for k in range(POINTS)]
BALANCE_COVARIATES = {
    "age": "age (years)",
    "duration": "disease duration (years)",
    "female": "female",
    "relapses_12m": "relapses in previous 12 months",
    "relapses_3m": "relapses in previous 3 months",
    "edss_0": "EDSS 12 months before",
    f"edss_{POINTS - 1}": "EDSS at start",
    "fatigue_0": "fatigue 12 months before",
    f"fatigue_{POINTS - 1}": "fatigue at start",
    "on_dmt": "on a disease-modifying drug at start",
}


def standardised_differences(
    users: pd.DataFrame, controls: pd.DataFrame, control_weights: np.ndarray | None = None
) -> pd.Series:
    """SMD = (mean_users - mean_controls) / sqrt((var_users + var_controls) / 2) per covariate
    (Austin 2009, Stat Med 28:3083, doi 10.1002/sim.3697); controls may be weighted."""
    return standardised_differences_with_se(users, controls, control_weights)["smd"]


def standardised_differences_with_se(
    users: pd.DataFrame, controls: pd.DataFrame, control_weights: np.ndarray | None = None
) -> pd.DataFrame:
    """Per covariate (index): ``smd`` (``standardised_differences``) and ``se``, its standard
    error by chance alone, as OHDSI CohortMethod computes it for weighted groups
    (``computeCovariateBalance``, Hripcsak et al. 2025, Stat Med, doi 10.1002/sim.70212):
    sqrt(sum over both groups of w^2 (x - mean)^2, weights summing to 1 in each group) /
    pooled SD. With a few hundred users an |SMD| of 0.1 is within chance."""
    smd, se = {}, {}
    for column in BALANCE_COVARIATES:
        a = users[column].to_numpy(dtype=float)
        b = controls[column].to_numpy(dtype=float)
        w = np.ones(len(b)) if control_weights is None else np.asarray(control_weights, float)
        ma, mb = np.isfinite(a), np.isfinite(b)
        if ma.sum() < 2 or mb.sum() < 2:
            smd[column] = se[column] = np.nan
            continue
        a, b, w = a[ma], b[mb], w[mb]
        mean_b = np.average(b, weights=w)
        var_b = np.average((b - mean_b) ** 2, weights=w)
        pooled = np.sqrt((a.var(ddof=1) + var_b) / 2)
        if pooled == 0:
            smd[column], se[column] = 0.0, np.nan
            continue
        smd[column] = (a.mean() - mean_b) / pooled
        wn = w / w.sum()
        spread = ((a - a.mean()) ** 2).sum() / len(a) ** 2 + (wn**2 * (b - mean_b) ** 2).sum()
        se[column] = np.sqrt(spread) / pooled
    return pd.DataFrame({"smd": pd.Series(smd), "se": pd.Series(se)})
