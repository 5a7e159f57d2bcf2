"""The matched difference in symptom change, users minus matched non-users, at equal earlier
scores: the estimator of the fatigue and spasm headlines and of their negative-control checks.

WLS of the change from baseline on the group (controls weighted 1/k, SE clustered as the plan's
``matched_se_clusters`` says), adjusted, as the plan says, for

* the baseline score (``symptom_adjust_baseline``; ANCOVA: Vickers & Altman 2001, BMJ
  323:1123, doi 10.1136/bmj.323.7321.1123): matched users' baselines sit above their controls'
  (people start at a peak), and a change score reads that gap's regression to the mean as a
  benefit;
* the scores at the matching's trajectory points before the start, 12, 9, 6 and 3 months by
  default (``symptom_adjust_history``; regression adjustment after matching, Ho, Imai, King &
  Stuart 2007, Polit Anal 15:199, doi 10.1093/pan/mpl013): one noisy baseline score cannot
  tell a person's usual level from a passing peak, and people with a higher usual level start
  more often. A row with no score before its baseline one ("no earlier score") has its own
  intercept and baseline slope (a missing-data pattern of its own) instead of pretending its
  baseline was its history;
* the mean of every score before the baseline one, however old (``symptom_adjust_earlier_mean``;
  the mean of repeated baseline measures as the covariate: Frison & Pocock 1992, Stat Med
  11:1685, doi 10.1002/sim.4780111304): the four points repeat the same one or two scores
  when a questionnaire is answered every few months, and the usual level is measured better
  by all of them. A row without an earlier score at the points (none within about two years)
  stays in the no-earlier-score pattern, so an older score alone does not enter its model.

Every covariate is measured on or before the (pseudo-)start. Columns that are constant or
repeat others (e.g. nobody has an earlier score) are left out; the earlier scores are left out
where the comparison has fewer than ``ROWS_PER_COEFFICIENT`` rows per coefficient, and the
estimate's note says so.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ...errors import InsufficientData
from ..matching.trajectories import POINTS, Lookup, offsets
from ..numerics.cdw import SPAN, keys
from ..numerics.clusters import clustered_fit, matched_groups
from ..plan import AnalysisPlan

MONTH = 30.4375
#: The scores at the trajectory points before the start (``earlier_scores``).
HISTORY_COLUMNS = [f"earlier_{k}" for k in range(POINTS - 1)]
#: 1.0 where none of those points read a score from before the baseline score.
NO_EARLIER = "no_earlier_score"
#: The mean of every score before the baseline one (``mean_before``).
EARLIER_MEAN = "earlier_mean"
#: Rows per coefficient below which the earlier scores are left out of the model. A project
#: choice, not from a source: a cautious bound for a linear model whose SE is a sandwich over
#: match sets (the ANCOVA on the baseline alone needs none).
ROWS_PER_COEFFICIENT = 10


class Difference(NamedTuple):
    value: float
    low: float
    high: float
    #: Empty, or why the plan's earlier scores were left out of this comparison.
    note: str = ""


def earlier_points(plan: AnalysisPlan) -> str:
    """'12, 9, 6 and 3 months' (the default): when ``earlier_scores`` reads them."""
    months = [f"{-offset / MONTH:.1f}".removesuffix(".0") for offset in offsets(plan)[:-1]]
    return f"{', '.join(months[:-1])} and {months[-1]} months"


def earlier_scores(
    series: pd.DataFrame,
    plan: AnalysisPlan,
    codes: np.ndarray,
    index: np.ndarray,
    baseline_day: np.ndarray,
) -> tuple[list[np.ndarray], np.ndarray]:
    """The score at each trajectory point before the (pseudo-)start, read as matching reads
    its trajectory (``trajectories.Lookup.value_at``: the last score on or before the point, no
    older than the history window, else the first one after it up to the start), and, per
    row, whether none of them is from before the day of the baseline score (then they are
    only the baseline score again, or nothing). A point with nothing to read takes the nearest
    point that has a score; ``changes`` gives a row without any the baseline score."""
    points, earlier = [], np.zeros(len(codes), dtype=bool)
    if series.empty:
        return [np.full(len(codes), np.nan) for _ in offsets(plan)[:-1]], ~earlier
    scores, days = Lookup.of(series, "total"), Lookup.of(series, "day")  # built once
    for offset in offsets(plan)[:-1]:
        at = index + offset
        points.append(scores.value_at(codes, at, plan.history_days, index))
        day = days.value_at(codes, at, plan.history_days, index)
        earlier |= np.isfinite(day) & (day < baseline_day)
    for k in range(len(points) - 2, -1, -1):
        points[k] = np.where(np.isnan(points[k]), points[k + 1], points[k])
    for k in range(1, len(points)):
        points[k] = np.where(np.isnan(points[k]), points[k - 1], points[k])
    return points, ~earlier


def mean_before(series: pd.DataFrame, codes: np.ndarray, before_day: np.ndarray) -> np.ndarray:
    """The mean of each row's person's scores dated before ``before_day`` (NaN: none, or no
    day). ``series`` is sorted by (code, day), as ``value_at`` reads it."""
    out = np.full(len(codes), np.nan)
    if series.empty or len(codes) == 0:
        return out
    lookup = Lookup.of(series, "total")
    known = np.isfinite(before_day)
    first = np.searchsorted(lookup.keys, np.asarray(codes, dtype=np.int64) * SPAN, side="left")
    end = np.searchsorted(lookup.keys, keys(codes, np.where(known, before_day, 0.0)), side="left")
    count = np.where(known, end - first, 0)
    totals = np.concatenate([[0.0], np.cumsum(lookup.values)])
    some = count > 0
    out[some] = (totals[end[some]] - totals[first[some]]) / count[some]
    return out


def _centred(values: np.ndarray, weights: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Values minus their weighted mean (over ``rows`` only, if given; the others get 0)."""
    rows = np.ones(len(values), dtype=bool) if rows is None else rows
    if not rows.any():
        return np.zeros(len(values))
    centre = np.average(values[rows], weights=weights[rows])
    return np.where(rows, values - centre, 0.0)


def _independent(columns: list[np.ndarray]) -> list[np.ndarray]:
    """The columns, in order, that are not constant and not a combination of the intercept and
    the columns kept before them."""
    kept: list[np.ndarray] = []
    for column in columns:
        trial = np.column_stack([np.ones(len(column)), *kept, column])
        if np.linalg.matrix_rank(trial) == trial.shape[1]:
            kept.append(column)
    return kept


def _design(group: np.ndarray, covariates: list[np.ndarray]) -> list[np.ndarray] | None:
    """The group column and the covariates that are not constant or redundant, or None when
    the group is a combination of the intercept and those covariates (e.g. no user has an
    earlier score and every control has one): then no covariate may be dropped to keep it
    estimable, since that would silently assume the dropped term away."""
    kept = _independent(covariates)
    trial = np.column_stack([np.ones(len(group)), *kept, group])
    if np.linalg.matrix_rank(trial) < trial.shape[1]:
        return None
    return [group, *kept]


def _history_columns(part: pd.DataFrame, weights: np.ndarray, plan: AnalysisPlan) -> list:
    """The earlier scores and, as the plan says, their mean (centred over the rows that have
    them, 0 elsewhere), the no-earlier-score indicator and, with the baseline adjustment, its
    own baseline slope."""
    none = part[NO_EARLIER].to_numpy(float) > 0
    names = [*HISTORY_COLUMNS, *([EARLIER_MEAN] if plan.symptom_adjust_earlier_mean else [])]
    columns = [_centred(part[name].to_numpy(float), weights, ~none) for name in names]
    columns.append(_centred(none.astype(float), weights))
    if plan.symptom_adjust_baseline:
        columns.append(np.where(none, _centred(part["m0"].to_numpy(float), weights), 0.0))
    return columns


def difference(part: pd.DataFrame, column: str, alpha: float, plan: AnalysisPlan) -> Difference:
    """Users minus matched controls in mean change from ``m0`` to ``column`` (see the module
    docstring); ``part`` holds rows of ``symptoms.changes`` with both scores."""
    weights = part["weight"].to_numpy(float)
    group = part["ldn"].to_numpy(float)
    base = [_centred(part["m0"].to_numpy(float), weights)] if plan.symptom_adjust_baseline else []
    columns = _design(group, base)
    if columns is None or len(part) <= len(columns) + 1:
        raise InsufficientData(
            f"{len(part)} rows compared (users and matched controls): too few, or all in one "
            "group, for the difference in change"
        )
    note = ""
    if plan.symptom_adjust_history:
        wider = _design(group, [*base, *_history_columns(part, weights, plan)])
        if wider is None:
            note = (
                "the earlier scores were left out: whether a row has one is the same as its "
                "group here, so the two cannot be told apart"
            )
        elif len(part) < ROWS_PER_COEFFICIENT * (len(wider) + 1):
            note = (
                f"the earlier scores were left out: {len(part)} rows compared, fewer than "
                f"{ROWS_PER_COEFFICIENT} per coefficient"
            )
        else:
            columns = wider
    x = sm.add_constant(np.column_stack(columns), has_constant="add")
    y = (part[column] - part["m0"]).to_numpy()
    model = sm.WLS(y, x, weights=weights)
    fit = clustered_fit(
        lambda g: model.fit(cov_type="cluster", cov_kwds={"groups": g}),
        matched_groups(part, plan.matched_se_clusters),
        1,
    )
    lo, hi = fit.conf_int(alpha)[1]
    return Difference(float(fit.params[1]), float(lo), float(hi), note)
