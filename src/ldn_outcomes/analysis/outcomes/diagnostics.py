"""Bias diagnostics, computed before results are read (as OHDSI CohortMethod does).

- Balance: a covariate is out of balance when its standardised mean difference after matching
  exceeds ``smd_target`` (0.1; Austin 2009, Stat Med 28:3083, doi 10.1002/sim.3697) by more
  than chance explains: one-sided test of |SMD| > 0.1 with the SMD's standard error, family-wise
  ``alpha`` over the covariates (Bonferroni), the rule of OHDSI CohortMethod
  (``computeCovariateBalance``, ``threshold`` 0.1, ``alpha`` 0.05; Hripcsak et al. 2025,
  "Assessing covariate balance with small sample sizes", Stat Med, doi 10.1002/sim.70212).
  A plain |SMD| >= 0.1 fired by chance in half of the simulated registries of 3,000 patients
  without any bias (a few hundred matched users), docs/analysis.md.
- Overlap: share of patients with a preference score in [0.3, 0.7] (Walker et al. 2013,
  doi 10.2147/CER.S40357); empirical equipoise if at least half are.
- Minimal detectable rate ratio at 80% power, two-sided alpha 0.05 (Schoenfeld 1983,
  Biometrics 39:499; the formula of OHDSI CohortMethod ``computeMdrr``):
  ``exp(sqrt((z_{1-a/2} + z_{power})^2 / (events · p · (1 - p))))``, p = users' share.
- Negative-control exposure: the same matched relapse analysis for starters of a product that
  cannot work (``negative_control_class``); its ratio estimates the residual bias and should
  include 1. The progression, fatigue and spasm headlines' own estimators are run for it too
  (``negative_controls``). Each headline is flagged by its own negative-control estimate
  (relapses by the relapse ratio, progression by the hazard ratio, the symptoms by the fatigue
  and spasm differences) excluding its null, and every matched comparison by the pooled check:
  the negative-control estimates as z-scores combined by Stouffer's method (sum / sqrt(k);
  Stouffer et al. 1949, The American Soldier, vol. 1), two-sided at ``alpha``. Confounding that
  makes starters of anything fare better (or worse) shifts all of them the same way; pooled,
  a shift none of them shows alone is seen (docs/analysis.md gives the measured rates).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

from ...errors import InsufficientData
from ..data.cohorts import exposure_cohort
from ..data.frames import AnalysisData
from ..matching.match import MatchResult, match_users
from ..plan import AnalysisPlan
from ..results import AnalysisResult, DiagnosticsFailed, Estimate, Imbalance
from .negative_controls import outcome_negative_controls
from .relapses import matched_after_ratio, windows, within_ratio

NEGATIVE_CONTROL_KEY = "negative_control_rate_ratio_matched"
POOLED_NEGATIVE_CONTROL_KEY = "negative_control_pooled_z"
METHOD = (
    "standardised mean differences after matching; preference-score overlap; minimal "
    "detectable rate ratio (Schoenfeld); negative-control exposure through the same "
    "matched relapse analysis"
)


def minimal_detectable_ratio(
    events: int, share_exposed: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    if events <= 0 or not 0 < share_exposed < 1:
        return float("inf")
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    return float(np.exp(np.sqrt(z**2 / (events * share_exposed * (1 - share_exposed)))))


def matched_summary(matched: MatchResult, plan: AnalysisPlan) -> AnalysisResult:
    users = matched.users
    result = AnalysisResult(
        name="matched",
        method=(
            f"{matched.method} matching, up to {plan.matches_per_user} non-users per user, same "
            "phenotype, pseudo-start at the user's start date (grid "
            f"{plan.grid_days} days), calipers age ±{plan.caliper_age_years:g} y, disease "
            f"duration ±{plan.caliper_duration_years:g} y"
        ),
    )
    n = len(users)
    k = matched.n_matched
    lo, hi = proportion_confint(k, n, alpha=plan.alpha, method="wilson")
    result.estimates.append(
        Estimate("share of LDN users matched", k / n, float(lo), float(hi), "proportion", n=n)
    )
    result.estimates.append(
        Estimate(
            "largest |standardised mean difference| after matching",
            matched.max_abs_smd,
            float("nan"),
            float("nan"),
            "value",
            note=f"target < {plan.smd_target:g}, judged against chance (bias diagnostics)",
        )
    )
    controls = matched.cohort[matched.cohort["group"] == "control"]
    reasons = users.loc[~users["matched"], "reason"].value_counts().to_dict()
    result.population = {
        "n_patients": int(n),
        "n_matched": int(k),
        "n_unmatched": int(n - k),
        "control_rows": int(len(controls)),
        "distinct_controls": int(controls["code"].nunique()),
        "candidate_snapshots": int(matched.n_candidates),
        "person_years": float(
            np.clip(controls["end_day"] - controls["index_day"], 0, None).sum() / 365.25
        ),
    }
    result.details["unmatched_reasons"] = reasons
    result.details["balance"] = matched.balance.to_dict(orient="records")
    result.caveats += matched.caveats
    result.caveats.append(
        "matching balances what was recorded; it cannot balance what was not "
        "(motivation, diet, other treatments)"
    )
    if n - k:
        result.caveats.append(
            f"{n - k} LDN users found no match and are left out of every matched comparison"
        )
    # one balance rule (``balance_failures``) for this warning and the diagnostics' check
    for failure in balance_failures(matched.balance.dropna(subset=["smd_after"]), plan):
        result.warn(Imbalance, failure)
    return result


def negative_control_match(
    data: AnalysisData, plan: AnalysisPlan
) -> tuple[pd.DataFrame, MatchResult]:
    """Starters of the negative-control exposure and their matched non-users (the slow part
    of the negative control; it needs nothing of the LDN analyses, so it can run beside them).
    """
    cohort = exposure_cohort(data, plan, exposure=plan.negative_control_class)
    if len(cohort) < plan.min_ldn_users:
        raise InsufficientData(
            f"fewer than {plan.min_ldn_users} starters of the negative "
            f"control ({plan.negative_control_class})"
        )
    exposed_from = np.fmin(
        data.patients["nc_start"].to_numpy(), data.patients["ldn_start"].to_numpy()
    )
    return cohort, match_users(data, plan, cohort, exposed_from=exposed_from, overlap=False)


NegativeMatch = Callable[[], tuple[pd.DataFrame, MatchResult]]


def negative_control(
    data: AnalysisData, plan: AnalysisPlan, matched: NegativeMatch | None = None
) -> tuple[Estimate, Estimate, MatchResult]:
    """Naive and matched relapse ratios for the negative-control exposure, and its matched
    cohort; ``matched`` gives ``negative_control_match``'s result if it was started earlier."""
    cohort, nc_match = matched() if matched is not None else negative_control_match(data, plan)
    naive = within_ratio(
        windows(data, plan, cohort, 0), plan, "negative control: naive before/after rate ratio"
    )
    mwin = windows(data, plan, nc_match.cohort, plan.pre_start_exclusion_days)
    adjusted = matched_after_ratio(
        mwin, plan, "negative control: rate ratio after the start vs matched non-users (matched)"
    ).named(NEGATIVE_CONTROL_KEY)
    return naive, adjusted, nc_match


def analyse_diagnostics(
    data: AnalysisData,
    plan: AnalysisPlan,
    matched: MatchResult | None,
    negative_match: NegativeMatch | None = None,
) -> AnalysisResult:
    if matched is None:
        raise InsufficientData("no matched comparison, so no bias diagnostics")
    bal = matched.balance.dropna(subset=["smd_after"])
    if matched.n_matched == 0 or bal.empty:
        # a check with nobody to check is no data, not a pass
        raise InsufficientData("no LDN user was matched, so there is no data for bias checks")
    result = AnalysisResult(name="diagnostics", method=METHOD)
    failures = balance_failures(bal, plan)
    if matched.equipoise is not None:
        result.estimates.append(
            Estimate(
                "share of patients in empirical equipoise (preference 0.3-0.7)",
                matched.equipoise,
                float("nan"),
                float("nan"),
                "value",
            )
        )
        if matched.equipoise < 0.5:
            failures.append(f"overlap: only {matched.equipoise:.0%} of patients in equipoise")
    mwin = windows(data, plan, matched.cohort, plan.pre_start_exclusion_days)
    post = mwin[mwin["post"] == 1]
    years_users = post.loc[post["ldn"] == 1, "years"].sum()
    share = years_users / post["years"].sum() if post["years"].sum() > 0 else 0.0
    mdrr = minimal_detectable_ratio(int(post["count"].sum()), float(share), plan.alpha, plan.power)
    result.estimates.append(
        Estimate(
            "minimal detectable relapse rate ratio (80% power)",
            mdrr,
            float("nan"),
            float("nan"),
            "value",
            n=int(post["count"].sum()),
            note="rate ratios closer to 1 than this (or 1/this) could be missed",
        )
    )
    own: dict[str, list[str]] = {}
    try:
        naive_nc, matched_nc, nc_match = negative_control(data, plan, negative_match)
        result.estimates[:0] = [matched_nc, naive_nc]  # the residual-bias estimate leads
        if matched_nc.excludes_null:
            own["relapses"] = [
                f"negative control: matched estimate {matched_nc.value:.2f} "
                f"({matched_nc.ci_low:.2f}-{matched_nc.ci_high:.2f}) excludes 1, "
                "so residual bias is likely"
            ]
        result.details["negative_control"] = {
            "naive": naive_nc.to_dict(),
            "matched": matched_nc.to_dict(),
        }
        outcome_nc, outcome_failures = outcome_negative_controls(data, plan, nc_match)
        result.estimates += outcome_nc
        own["symptoms"] = outcome_failures.get("symptoms", [])
        own["progression"] = outcome_failures.get("progression", [])
        result.details["symptom_failures"] = own["symptoms"]
        pooled = pooled_negative_control([matched_nc, *outcome_nc], plan.alpha)
        if pooled is not None:
            result.estimates.append(pooled)
            if pooled.excludes_null:
                failures.append(
                    f"negative control, pooled: the {pooled.n} estimates together "
                    f"(Stouffer z {pooled.value:+.2f}) find an effect of a product that has "
                    "none"
                )
    except InsufficientData as error:
        result.caveats.append(f"negative control not estimable: {error}")
    result.details["balance"] = matched.balance.to_dict(orient="records")
    # every matched comparison carries the shared failures and its own negative control's
    # (the symptoms' own failures carry their own message, engine.run_all)
    result.details["failures_by_analysis"] = {
        name: failures + (own.get(name, []) if name != "symptoms" else [])
        for name in ("progression", "relapses", "symptoms", "relapse_recovery", "matched")
    }
    failures = failures + [
        f for name in ("relapses", "symptoms", "progression") for f in own.get(name, [])
    ]
    result.details["failures"] = failures
    result.details["passed"] = not failures
    result.population = {"n_patients": int(matched.n_matched)}
    for failure in failures:
        result.warn(DiagnosticsFailed, failure)
    return result


def balance_failures(balance: pd.DataFrame, plan: AnalysisPlan) -> list[str]:
    """The balance check (module docstring): covariates whose |SMD| after matching exceeds
    ``smd_target`` by more than chance, family-wise ``alpha`` (Bonferroni); without a standard
    error, the plain threshold."""
    smd = balance["smd_after"].to_numpy(dtype=float)
    se = (
        balance["smd_after_se"].to_numpy(dtype=float)
        if "smd_after_se" in balance
        else np.full(len(smd), np.nan)
    )
    tested = np.isfinite(smd)
    k = max(int(tested.sum()), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = norm.sf((np.abs(smd) - plan.smd_target) / se)
    out = np.where(np.isfinite(se) & (se > 0), p < plan.alpha / k, np.abs(smd) >= plan.smd_target)
    out &= tested
    if not out.any():
        return []
    worst = int(np.nanargmax(np.where(out, np.abs(smd), np.nan)))
    label = balance["label"].iloc[worst]
    return [
        f"balance: {label} SMD {smd[worst]:.2f}, above {plan.smd_target:g} by more than "
        f"chance (SE {se[worst]:.2f}, family-wise alpha {plan.alpha:g})"
    ]


def pooled_negative_control(
    estimates: list[Estimate], alpha: float, correlation: float = 0.0
) -> Estimate | None:
    """The negative-control estimates as z-scores (estimate / SE from its interval, log scale
    for ratios; below 0: the product that cannot work looks beneficial) combined by Stouffer's
    method, sum / sqrt(k), with its interval +- z_{1-alpha/2}: excludes 0 when the estimates
    together find an effect. None with fewer than two estimates.

    ``correlation``: a common correlation r between the estimates, sum / sqrt(k + k(k-1)r)
    (the SD of a sum of k correlated standard normals). The engine uses 0 (independence); the
    calibration bench rescores stored registries with other values (``--rescore``), since the
    estimates come from one cohort and are not independent (docs/analysis.md)."""
    z_crit = float(norm.isf(alpha / 2))
    zs = []
    for e in estimates:
        if not (np.isfinite(e.ci_low) and np.isfinite(e.ci_high)):
            continue
        if e.scale == "ratio":
            if min(e.value, e.ci_low, e.ci_high) <= 0:
                continue
            value, lo, hi = np.log(e.value), np.log(e.ci_low), np.log(e.ci_high)
        else:
            value, lo, hi = e.value, e.ci_low, e.ci_high
        se = (hi - lo) / (2 * z_crit)
        if se > 0:
            zs.append(value / se)
    if len(zs) < 2:
        return None
    k = len(zs)
    z = float(np.sum(zs) / np.sqrt(max(k + k * (k - 1) * correlation, 1.0)))
    return Estimate(
        "negative control, pooled: Stouffer z of the negative-control estimates",
        z,
        z - z_crit,
        z + z_crit,
        "difference",
        n=len(zs),
        note="below 0: the product that cannot work looks beneficial; the interval should "
        "include 0",
        key=POOLED_NEGATIVE_CONTROL_KEY,
    )


def balance_frame(matched: MatchResult) -> pd.DataFrame:
    return matched.balance.copy()
