"""Relapses on vs off LDN: within-patient annualised relapse rates before and after the start.

Each patient contributes a pre-LDN window (up to ``relapse_window_years`` before the start) and
an on-LDN window (up to the same length after, ending at stopping or last contact). The rate
ratio comes from a Poisson regression with cluster-robust sandwich errors on the patient (a
GEE with independence working correlation; or an NB2 GLM with cluster-robust errors) with
log person-years as offset. The naive ratio uses the whole pre window; the lagged one leaves out the
``pre_start_exclusion_days`` right before the start, when people who start after a bad spell
have their excess relapses (regression to the mean).

With matched non-users and their pseudo-starts, the headline is the ratio of relapse rates
after the (pseudo-)start, LDN users versus their matched controls (risk-set matching compares
outcomes after the matching date: Li, Propert & Rosenbaum, J Am Stat Assoc
2001;96:870-882). Controls are weighted 1/k (k = the user's number of matched
controls), as variable-ratio matching with replacement requires (Stuart 2010, Stat Sci 25:1,
doi 10.1214/09-STS313, section 5). Matching on one year of history leaves part of a person's
lasting relapse tendency unbalanced, so the headline model also adjusts for the relapse counts
in windows up to two years before the (pseudo-)start (regression adjustment after matching:
Ho, Imai, King & Stuart 2007, Polit Anal 15:199, doi 10.1093/pan/mpl013); the unadjusted
ratio is shown beside it. The ratio of before/after rate ratios (a difference in
differences) is shown as well but is not the headline: people start LDN because of a recent,
transient relapse, so the matched groups' pre-start rates differ by more than their lasting
relapse tendency and the difference in differences is biased by regression to the mean (Daw &
Hatfield 2018, Health Serv Res 53:4138, doi 10.1111/1475-6773.12993); on the project simulator
with no effect it showed a spurious benefit (docs/analysis.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import InsufficientData
from ..data.cohorts import require_users
from ..data.frames import DAYS_PER_YEAR, AnalysisData
from ..matching.match import MatchResult
from ..matching.trajectories import count_in
from ..numerics.clusters import describe, matched_groups
from ..numerics.ratemodels import rate_ratio
from ..plan import AnalysisPlan
from ..results import FEW_RELAPSES, AnalysisResult, Estimate, SmallSample

METHOD_GEE = (
    "Poisson regression with cluster-robust (sandwich) SE on patient (within patient) or "
    "as stated for the matched comparison "
    "(= GEE, independence working correlation), log person-years offset"
)
METHOD_NB = "negative binomial GLM (NB2, cluster-robust SE), log person-years offset"


def method_text(plan: AnalysisPlan) -> str:
    """What was fitted, as the result states it (the plan decides the model and adjustment)."""
    bins = plan.relapse_adjust_bins_days
    adjusted = f", adjusted for relapse counts in the {bins[-1]} days before" if bins else ""
    model = METHOD_NB if plan.relapse_model == "negbin" else METHOD_GEE
    return (
        "headline: relapse rates after the (pseudo-)start, LDN users vs matched non-users "
        f"(weighted 1/k){adjusted}, {describe(plan.matched_se_clusters)}; also "
        f"within-patient before/after rate ratios; {model}"
    )


MATCHED_LABEL = "rate ratio after the start vs matched non-users (matched)"
#: ``Estimate.key`` of the naive before/after ratio, the one the report sets against the headline.
NAIVE_KEY = "naive_before_after"
#: The headline: rates after the (pseudo-)start vs matched non-users, adjusted.
HEADLINE_KEY = "rate_ratio_matched"


def windows(
    data: AnalysisData, plan: AnalysisPlan, cohort: pd.DataFrame, exclusion_days: int
) -> pd.DataFrame:
    """Two rows per cohort row: period 0 (before the start) and 1 (after), counts, years and
    the cohort row's weight (1 for users, 1/k for each of a user's k matched controls)."""
    width = plan.relapse_window_years * DAYS_PER_YEAR
    codes = cohort["code"].to_numpy()
    index = cohort["index_day"].to_numpy()
    fs = data.patients["follow_start"].to_numpy()[codes]
    pre_lo = np.maximum(index - width, fs)
    pre_hi = index - exclusion_days
    post_lo = index
    post_hi = np.minimum(index + width, cohort["end_day"].to_numpy())
    rel = data.relapses.dropna(subset=["onset"])
    pre_n = count_in(rel, "onset", codes, pre_lo - 0.5, pre_hi - 0.5)
    post_n = count_in(rel, "onset", codes, post_lo - 0.5, post_hi - 0.5)
    pre_y = np.clip(pre_hi - pre_lo, 0, None) / DAYS_PER_YEAR
    post_y = np.clip(post_hi - post_lo, 0, None) / DAYS_PER_YEAR
    both = (pre_y > 0) & (post_y > 0)
    pre_n = np.where(pre_y > 0, pre_n, 0)
    post_n = np.where(post_y > 0, post_n, 0)
    n = int(both.sum())
    sel = np.flatnonzero(both)
    frame = pd.DataFrame(
        {
            "code": np.r_[codes[sel], codes[sel]],
            "match_id": np.tile(cohort["match_id"].to_numpy()[sel], 2),
            "ldn": np.tile((cohort["group"].to_numpy()[sel] == "ldn").astype(int), 2),
            "weight": np.tile(cohort["weight"].to_numpy(dtype=float)[sel], 2),
            "post": np.r_[np.zeros(n, int), np.ones(n, int)],
            "count": np.r_[pre_n[sel], post_n[sel]],
            "years": np.r_[pre_y[sel], post_y[sel]],
        }
    )
    for name, values in history_covariates(rel, plan, codes, index, fs).items():
        frame[name] = np.tile(values[sel], 2)
    return frame


def history_covariates(
    rel: pd.DataFrame,
    plan: AnalysisPlan,
    codes: np.ndarray,
    index: np.ndarray,
    follow_start: np.ndarray,
) -> dict[str, np.ndarray]:
    """Relapse counts in each adjustment window before the (pseudo-)start (capped), and the
    years observed before it (capped at the longest window): the headline's covariates."""
    bins = plan.relapse_adjust_bins_days
    if not bins:
        return {}
    out: dict[str, np.ndarray] = {}
    lo_day = 0
    for hi_day in bins:
        lo = np.maximum(index - hi_day, follow_start)
        hi = index - lo_day
        counts = count_in(rel, "onset", codes, lo - 0.5, hi - 0.5)
        out[f"history_{lo_day}_{hi_day}"] = np.minimum(
            np.where(hi > lo, counts, 0), plan.relapse_exact_cap
        ).astype(float)
        lo_day = hi_day
    out["history_years"] = np.clip(index - follow_start, 0, bins[-1]) / DAYS_PER_YEAR
    return out


def _history_design(after: pd.DataFrame) -> np.ndarray:
    """The adjustment columns that vary (a constant column would make the design singular)."""
    columns = [c for c in after.columns if c.startswith("history_")]
    if not columns:
        return np.empty((len(after), 0))
    values = after[columns].to_numpy(dtype=float)
    return values[:, values.std(axis=0) > 0]


def _crude(frame: pd.DataFrame, post: int, ldn: int = 1) -> float:
    """Weighted crude rate (relapses per person-year) of one group in one period."""
    part = frame[(frame["post"] == post) & (frame["ldn"] == ldn)]
    weight = part.get("weight", 1.0)
    years = (part["years"] * weight).sum()
    return float((part["count"] * weight).sum() / years) if years > 0 else float("nan")


def weighted_rate_ratio(
    frame: pd.DataFrame,
    exog: np.ndarray,
    column: int,
    label: str,
    plan: AnalysisPlan,
    note: str = "",
) -> Estimate:
    """The rate ratio of a matched frame: :func:`ratemodels.rate_ratio` weighted by the
    matching weights (controls 1/k), clustered as the plan's ``matched_se_clusters``."""
    return rate_ratio(
        frame["count"].to_numpy(dtype=float),
        exog,
        frame["years"].to_numpy(dtype=float),
        matched_groups(frame, plan.matched_se_clusters),
        column,
        label,
        plan.relapse_model,
        plan.alpha,
        note=note,
        weights=frame["weight"].to_numpy(dtype=float),
    )


def within_ratio(frame: pd.DataFrame, plan: AnalysisPlan, label: str) -> Estimate:
    x = np.column_stack([np.ones(len(frame)), frame["post"].to_numpy()])
    return rate_ratio(
        frame["count"].to_numpy(float),
        x,
        frame["years"].to_numpy(),
        frame["code"].to_numpy(),
        1,
        label,
        plan.relapse_model,
        plan.alpha,
        note=f"ARR before {_crude(frame, 0):.2f}, on LDN {_crude(frame, 1):.2f}",
    )


def matched_ratio(frame: pd.DataFrame, plan: AnalysisPlan, label: str) -> Estimate:
    """Ratio of before/after rate ratios, users vs matched controls (weighted): a difference
    in differences, biased when starting follows a transient relapse (module docstring)."""
    post, ldn = frame["post"].to_numpy(), frame["ldn"].to_numpy()
    x = np.column_stack([np.ones(len(frame)), post, ldn, post * ldn])
    note = (
        f"LDN users {_crude(frame, 0):.2f} -> {_crude(frame, 1):.2f}; matched non-users "
        f"{_crude(frame, 0, 0):.2f} -> {_crude(frame, 1, 0):.2f} relapses/year"
    )
    return weighted_rate_ratio(frame, x, 3, label, plan, note=note).against_matched()


def matched_after_ratio(
    frame: pd.DataFrame, plan: AnalysisPlan, label: str = MATCHED_LABEL, adjust: bool = True
) -> Estimate:
    """Relapse rate after the start, LDN users vs their matched controls after the
    pseudo-start (weighted 1/k, clustered as the plan says): the headline comparison.

    With ``adjust`` and history columns in ``frame`` (see :func:`history_covariates`), the
    model also adjusts for the relapse history before the (pseudo-)start."""
    after = frame[frame["post"] == 1]
    if not ((after["ldn"] == 1).any() and (after["ldn"] == 0).any()):
        raise InsufficientData(f"{label}: users or matched controls have no follow-up")
    x = np.column_stack([np.ones(len(after)), after["ldn"].to_numpy()])
    note = (
        f"LDN users {_crude(frame, 1):.2f}, matched non-users {_crude(frame, 1, 0):.2f} "
        "relapses/year after the (pseudo-)start"
    )
    history = _history_design(after) if adjust else np.empty((len(after), 0))
    if history.shape[1]:
        adjusted = np.column_stack([x, history])
        if np.linalg.matrix_rank(adjusted) == adjusted.shape[1]:
            x = adjusted
            note += "; adjusted for relapse history before the (pseudo-)start"
    return weighted_rate_ratio(after, x, 1, label, plan, note=note).against_matched()


def analyse_relapses(
    data: AnalysisData, plan: AnalysisPlan, users: pd.DataFrame, matched: MatchResult | None = None
) -> AnalysisResult:
    require_users(users, plan, source=data.source)
    naive = windows(data, plan, users, 0)
    if naive["code"].nunique() < plan.min_ldn_users:
        raise InsufficientData(
            f"only {naive['code'].nunique()} LDN users have follow-up both before and after "
            f"starting; at least {plan.min_ldn_users} are needed"
        )
    method = method_text(plan)
    result = AnalysisResult(name="relapses", method=method)
    lagged = windows(data, plan, users, plan.pre_start_exclusion_days)
    naive_est = within_ratio(naive, plan, "naive before/after rate ratio (LDN users)").named(
        NAIVE_KEY
    )
    lagged_est = within_ratio(
        lagged,
        plan,
        f"before/after rate ratio leaving out the {plan.pre_start_exclusion_days} days before "
        "the start",
    )
    estimates = [naive_est, lagged_est]
    if matched is not None and (matched.cohort["group"] == "control").any():
        mwin = windows(data, plan, matched.cohort, plan.pre_start_exclusion_days)
        if (mwin["ldn"] == 0).any() and (mwin["ldn"] == 1).any():
            estimates.insert(0, matched_after_ratio(mwin, plan).named(HEADLINE_KEY))
            if plan.relapse_adjust_bins_days:
                estimates.insert(
                    1,
                    matched_after_ratio(
                        mwin,
                        plan,
                        MATCHED_LABEL + ", not adjusted for relapse history",
                        adjust=False,
                    ),
                )
            estimates.append(
                matched_ratio(
                    mwin,
                    plan,
                    "ratio of before/after rate ratios vs matched non-users "
                    "(lagged, matched; biased by regression to the mean)",
                )
            )
            mwin0 = windows(data, plan, matched.cohort, 0)
            estimates.append(
                matched_ratio(
                    mwin0, plan, "ratio of before/after rate ratios vs matched non-users (no lag)"
                )
            )
            result.population["matched_controls"] = int(
                mwin.loc[mwin["ldn"] == 0, "code"].count() // 2
            )
    result.estimates = estimates
    events = int(naive["count"].sum())
    result.population.update(
        {
            "n_patients": int(naive["code"].nunique()),
            "person_years": float(naive["years"].sum()),
            "relapses": events,
        }
    )
    result.caveats += [
        "people often start LDN after a bad spell; relapses then become rarer anyway "
        "(regression to the mean), so the naive before/after ratio flatters LDN",
        f"relapses are as reported to {data.source}; under-reporting before joining is possible",
    ]
    if len(estimates) > 2:
        result.caveats.append(
            "the headline compares relapse rates after the start with matched non-users after "
            "the same date, adjusted for relapses in the two years before it (matching on one "
            "year of history leaves part of a lasting relapse tendency unbalanced); the ratio "
            "of before/after rate ratios is shown for reference only: people start LDN after a "
            "recent relapse, so it flatters LDN even with matching"
        )
    reports = data.relapse_reports
    if reports is not None and len(reports):
        status = reports["status"].value_counts().to_dict()
        skipped = {
            k: int(v)
            for k, v in status.items()
            if k not in ("qualifying",)
            and not (k == "unconfirmed" and plan.count_unconfirmed_relapses)
        }
        if skipped:
            result.caveats.append(
                "relapse reports not counted (domain rule: at least 24 h, no fever or "
                "infection, 30 days apart): "
                + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(skipped.items()))
            )
    if events < FEW_RELAPSES:
        result.warn(SmallSample, f"only {events} relapses in the windows compared")
    result.details["naive_vs_adjusted"] = [e.to_dict() for e in estimates]
    return result
