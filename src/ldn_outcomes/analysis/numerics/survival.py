"""Kaplan–Meier and Cox helpers on top of lifelines, with R ``survival``'s default interval.

lifelines fits the curve; its default pointwise interval is the log(-log) ("exponential
Greenwood") one. R ``survfit`` defaults to ``conf.type="log"``:
``S(t) · exp(±z · sqrt(Σ d/(n(n-d))))`` (Greenwood variance of log S), upper limit capped at 1.
We report that one, so figures can be checked against R; ``tests/analysis/test_survival.py``
reproduces R's ``summary(survfit(Surv(time, status) ~ x, aml))`` to the printed digits.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, StatError
from lifelines.statistics import logrank_test
from scipy.stats import chi2 as chi2_dist
from scipy.stats import norm

from ...errors import InsufficientData
from ..results import Estimate
from .fastcox import cox_one_covariate
from .people_at_risk import people_counts


def km_table(
    durations: np.ndarray,
    events: np.ndarray,
    *,
    entry: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    person: np.ndarray | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Survival at each event time with R-style log confidence limits.

    Columns: time, n_risk, n_event, survival, std_err (of S, Greenwood), lower, upper; with
    ``person`` (who each row belongs to, when a person can have several rows) also
    people_at_risk and people_first_event (``people_counts``).
    """
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    if durations.size == 0:
        raise InsufficientData("no follow-up time to estimate a survival curve from")
    fitter = KaplanMeierFitter(alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fitter.fit(durations, events, entry=entry, weights=weights)
        except StatError as error:
            raise InsufficientData(f"survival curve not estimable: {error}") from error
    table = fitter.event_table
    table = table[table["observed"] > 0]
    n_risk = table["at_risk"].to_numpy(dtype=float)
    n_event = table["observed"].to_numpy(dtype=float)
    surv = fitter.survival_function_.loc[table.index].to_numpy()[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n_risk > n_event, n_event / (n_risk * (n_risk - n_event)), np.inf)
    var_log = np.cumsum(terms)
    se_log = np.sqrt(var_log)
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(over="ignore", invalid="ignore"):
        lower = surv * np.exp(-z * se_log)
        upper = np.minimum(1.0, surv * np.exp(z * se_log))
    dead = surv <= 0
    lower[dead | ~np.isfinite(se_log)] = np.nan
    upper[dead | ~np.isfinite(se_log)] = np.nan
    out = pd.DataFrame(
        {
            "time": table.index.to_numpy(dtype=float),
            "n_risk": n_risk,
            "n_event": n_event,
            "survival": surv,
            "std_err": surv * se_log,
            "lower": lower,
            "upper": upper,
        }
    )
    if person is not None:
        at_risk, first_event = people_counts(
            out["time"].to_numpy(),
            durations,
            events,
            np.zeros_like(durations) if entry is None else np.asarray(entry, dtype=float),
            np.asarray(person),
        )
        out["people_at_risk"] = at_risk
        out["people_first_event"] = first_event
    return out


def survival_at(table: pd.DataFrame, t: float) -> tuple[float, float, float]:
    """S(t), lower, upper from a ``km_table`` (a step function: last event time <= t)."""
    before = table[table["time"] <= t]
    if before.empty:
        return 1.0, 1.0, 1.0
    row = before.iloc[-1]
    return float(row["survival"]), float(row["lower"]), float(row["upper"])


def curve_points(table: pd.DataFrame, max_time: float | None = None) -> list[list[float]]:
    """[time, S, lower, upper, at risk, events] points for plotting, starting at (0, 1).

    The counts are not drawn: they let a page that shows aggregates only cut a curve where it
    rests on too few people (``reports.disclosure``). They are people (``people_counts``) when
    the table has them, else the rows at risk and their events, which are people only when
    each person has one unweighted row; a table whose rows are not people must be made with
    ``km_table(..., person=...)``."""
    people = "people_at_risk" in table.columns
    at_risk = table["people_at_risk" if people else "n_risk"].to_numpy(dtype=float)
    events = table["people_first_event" if people else "n_event"].to_numpy(dtype=float)
    points = [[0.0, 1.0, 1.0, 1.0, float(at_risk[0]) if len(table) else 0.0, 0.0]]
    for i, row in enumerate(table.itertuples(index=False)):
        if max_time is not None and row.time > max_time:
            break
        points.append(
            [
                float(row.time),
                float(row.survival),
                float(row.lower),
                float(row.upper),
                float(at_risk[i]),
                float(events[i]),
            ]
        )
    return points


#: Above this many rows the clustered Cox model is fitted by ``fastcox.cox_one_covariate``
#: (Breslow ties, vectorised cluster-robust variance; checked against statsmodels PHReg):
#: lifelines' and PHReg's robust variances loop over risk sets and take tens of seconds on the
#: ~100,000-row matched cohorts of a large registry. With event times in days over years, ties
#: are rare and Breslow and Efron agree closely (``tests/analysis/test_survival.py``).
LIFELINES_MAX_ROWS = 20_000
#: |log hazard ratio| above which a fit is taken to have diverged (separation: Newton steps
#: run towards infinity and stop wherever the iterations end). A project choice: a hazard
#: ratio of e^10 (22,000) is no estimate any registry gives.
MAX_LOG_HAZARD_RATIO = 10.0


def fits_with_lifelines(rows: int, *, robust: bool, two_way: bool, delayed_entry: bool) -> bool:
    """Whether ``cox_hazard_ratio(engine="auto")`` fits with lifelines (Efron ties) or with
    ``fastcox`` (Breslow ties).

    A robust (sandwich) SE with delayed entry always takes ``fastcox``: lifelines 0.30 fits
    the coefficient with the entry times but computes the score residuals of its robust
    variance (``CoxPHFitter._compute_score_within_strata``) over risk sets that ignore them,
    so every row counts as at risk before it entered. On the relapse-recovery comparison
    (treated attacks enter at the LDN start) that made the SE 14-18% too wide (statsmodels
    PHReg and ``fastcox`` agreed), and the interval covered 98-99% of the time
    (docs/analysis.md, "Relapse recovery: the robust SE with delayed entry")."""
    if two_way or (robust and delayed_entry):
        return False
    return not robust or rows <= LIFELINES_MAX_ROWS


def _cox_fast(
    data: pd.DataFrame,
    duration: str,
    event: str,
    covariate: str,
    cluster: str | tuple[str, str] | None,
    entry: str | None,
    weights: str | None = None,
    strata: str | None = None,
) -> tuple[float, float]:
    groups = None
    if cluster is not None:
        groups = data[list(cluster) if isinstance(cluster, tuple) else cluster].to_numpy()
    return cox_one_covariate(
        data[duration].to_numpy(float),
        data[event].to_numpy(bool),
        data[covariate].to_numpy(float),
        groups,
        None if entry is None else data[entry].to_numpy(float),
        weights=None if weights is None else data[weights].to_numpy(float),
        strata=None if strata is None else data[strata].to_numpy(),
    )


def _cox_lifelines(
    data: pd.DataFrame,
    duration: str,
    event: str,
    covariate: str,
    cluster: str | None,
    entry: str | None,
    alpha: float,
    weights: str | None = None,
    strata: str | None = None,
) -> tuple[float, float]:
    fitter = CoxPHFitter(alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter.fit(
            data,
            duration_col=duration,
            event_col=event,
            cluster_col=cluster,
            entry_col=entry,
            weights_col=weights,
            strata=None if strata is None else [strata],
            robust=cluster is not None or weights is not None,
        )
    return float(fitter.params_[covariate]), float(fitter.standard_errors_[covariate])


def cox_hazard_ratio(
    frame: pd.DataFrame,
    *,
    duration: str,
    event: str,
    covariate: str,
    label: str,
    cluster: str | tuple[str, str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    alpha: float = 0.05,
    engine: str = "auto",
    df: int | None = None,
    strata: str | None = None,
) -> Estimate:
    """Hazard ratio for a 0/1 covariate; robust (sandwich) SE clustered on ``cluster`` when
    given (robust too with case ``weights``, a column). lifelines fits it with Efron ties (R
    ``coxph``'s default), the project's ``fastcox`` with Breslow ties: two-way clustering
    (``cluster`` as two columns, ``clusters.score_meat``) and any robust SE with delayed
    ``entry`` take ``fastcox`` (``fits_with_lifelines`` says why), as do robust fits of more
    than ``LIFELINES_MAX_ROWS`` rows. ``engine``: auto, lifelines, fast. A fit whose log hazard
    ratio runs off to infinity (one group has every event or none: separation) is
    ``InsufficientData``, not a ratio of 10^15. ``df``: read the interval on Student's t with
    that many degrees of freedom (``Estimate.ratio_from_log``), for a robust SE on few
    clusters. ``strata``: a column whose values each get a baseline hazard of their own
    (R ``coxph`` ``strata()``)."""
    one_way = None if isinstance(cluster, tuple) else cluster
    two_way = isinstance(cluster, tuple)
    if two_way and engine == "lifelines":
        raise ValueError("lifelines clusters one way only; two-way clustering needs engine='fast'")
    robust = cluster is not None or weights is not None
    if robust and entry is not None and engine == "lifelines":
        raise ValueError(
            "lifelines' robust variance ignores delayed entry; a robust SE with entry times "
            "needs engine='fast'"
        )
    clusters = list(cluster) if isinstance(cluster, tuple) else [cluster] if cluster else []
    columns = [duration, event, covariate] + clusters + [c for c in (entry, weights, strata) if c]
    data = frame[list(dict.fromkeys(columns))].copy()
    if data[event].sum() < 2 or data[covariate].nunique() < 2:
        raise InsufficientData(f"{label}: too few events or only one group for a hazard ratio")
    use_lifelines = engine == "lifelines" or (
        engine == "auto"
        and fits_with_lifelines(
            len(data), robust=robust, two_way=two_way, delayed_entry=entry is not None
        )
    )
    try:
        if use_lifelines:
            coef, se = _cox_lifelines(
                data, duration, event, covariate, one_way, entry, alpha, weights, strata
            )
        else:
            coef, se = _cox_fast(data, duration, event, covariate, cluster, entry, weights, strata)
    except (ConvergenceError, StatError, np.linalg.LinAlgError) as error:
        raise InsufficientData(f"{label}: the Cox model could not be fitted ({error})") from error
    if not (np.isfinite(coef) and np.isfinite(se)) or abs(coef) > MAX_LOG_HAZARD_RATIO:
        raise InsufficientData(
            f"{label}: the Cox model gave no finite estimate (one group may have every event "
            "or none)"
        )
    return Estimate.ratio_from_log(
        label,
        coef,
        se,
        alpha,
        df=df,
        n=int(len(data)),
        note=f"{int(data[event].sum())} events"
        + (f"; interval on Student's t with {df} degrees of freedom" if df is not None else ""),
    )


@dataclass(frozen=True)
class LogRank:
    """A two-group log-rank (Mantel-Cox) test: chi-square on 1 df, observed and expected
    events of the first group."""

    label: str
    chi2: float
    p_value: float
    observed: float
    expected: float
    df: int = 1

    def to_dict(self) -> dict[str, float | int | str]:
        return {
            "label": self.label,
            "chi2": self.chi2,
            "df": self.df,
            "p_value": self.p_value,
            "observed": self.observed,
            "expected": self.expected,
        }

    @property
    def text(self) -> str:
        return (
            f"{self.label}: log-rank chi-square {self.chi2:.2f} on {self.df} df, "
            f"p = {self.p_value:.3g} ({self.observed:g} events observed, "
            f"{self.expected:.1f} expected if the curves were the same)"
        )


def logrank(
    durations: np.ndarray,
    events: np.ndarray,
    first_group: np.ndarray,
    *,
    label: str,
    entry: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> LogRank:
    """Log-rank test of two Kaplan-Meier curves (``first_group`` True vs False).

    Without ``entry`` this is lifelines' ``logrank_test`` (R ``survdiff``, rho = 0). With
    delayed entry (left truncation, as the relapse-recovery curves use) lifelines has none,
    so the same statistic is summed over risk sets that count a row from its entry on, as
    lifelines' Kaplan-Meier does (at risk at t when entry <= t <= duration):
    ``chi2 = (O1 - E1)^2 / V``, ``E1 = sum d n1/n``,
    ``V = sum d (n1/n)(1 - n1/n)(n - d)/(n - 1)``.
    """
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    group = np.asarray(first_group, dtype=bool)
    if group.all() or not group.any() or not events.any():
        raise InsufficientData(f"{label}: a log-rank test needs two groups and an event")
    w = np.ones(len(durations)) if weights is None else np.asarray(weights, dtype=float)
    if entry is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = logrank_test(
                durations[group],
                durations[~group],
                events[group],
                events[~group],
                weights_A=w[group],
                weights_B=w[~group],
            )
        observed = float(w[group & events].sum())
        start = np.full(len(durations), -np.inf)
        expected = _expected_first(durations, events, group, start, w)[0]
        return LogRank(
            label, float(result.test_statistic), float(result.p_value), observed, expected
        )
    expected, variance = _expected_first(
        durations, events, group, np.asarray(entry, dtype=float), w
    )
    observed = float(w[group & events].sum())
    if not variance > 0:
        raise InsufficientData(f"{label}: no variance for a log-rank test")
    chi2 = (observed - expected) ** 2 / variance
    return LogRank(label, float(chi2), float(chi2_dist.sf(chi2, 1)), observed, expected)


def _expected_first(
    durations: np.ndarray,
    events: np.ndarray,
    group: np.ndarray,
    entry: np.ndarray,
    weights: np.ndarray,
) -> tuple[float, float]:
    """(expected events of the first group, hypergeometric variance) over the distinct event
    times; at risk at t: entry <= t <= duration."""
    times = np.unique(durations[events])

    def at_risk(mask: np.ndarray) -> np.ndarray:
        order_in = np.argsort(entry[mask], kind="stable")
        order_out = np.argsort(durations[mask], kind="stable")
        cum_in = np.r_[0.0, np.cumsum(weights[mask][order_in])]
        cum_out = np.r_[0.0, np.cumsum(weights[mask][order_out])]
        entered = cum_in[np.searchsorted(entry[mask][order_in], times, side="right")]
        left = cum_out[np.searchsorted(durations[mask][order_out], times, side="left")]
        return entered - left

    def deaths(mask: np.ndarray) -> np.ndarray:
        pick = mask & events
        index = np.searchsorted(times, durations[pick])
        return np.bincount(index, weights=weights[pick], minlength=len(times))

    everyone = np.ones(len(durations), dtype=bool)
    n, n1 = at_risk(everyone), at_risk(group)
    d = deaths(everyone)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, n1 / n, 0.0)
        spread = np.where(n > 1, (n - d) / (n - 1), 0.0)
    expected = float((d * share).sum())
    variance = float((d * share * (1 - share) * spread).sum())
    return expected, variance
