"""The bias-diagnostics rules: balance judged against chance, the pooled negative control,
and which matched comparison each failure flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from ldn_outcomes.analysis.matching.match import MatchResult
from ldn_outcomes.analysis.matching.trajectories import (
    BALANCE_COVARIATES,
    standardised_differences_with_se,
)
from ldn_outcomes.analysis.outcomes.diagnostics import (
    balance_failures,
    matched_summary,
    pooled_negative_control,
)
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.analysis.results import Estimate, Imbalance


def _balance(smd: float, se: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": ["age", "EDSS at start"],
            "smd_after": [0.01, smd],
            "smd_after_se": [se, se],
        }
    )


def test_a_chance_smd_above_0_1_with_few_users_passes() -> None:
    # 0.12 with SE 0.06 (about 300 users): well within chance of 0.1
    assert balance_failures(_balance(0.12, 0.06), AnalysisPlan()) == []


def test_an_smd_far_above_0_1_fails_naming_the_covariate() -> None:
    failures = balance_failures(_balance(-0.30, 0.03), AnalysisPlan())
    assert len(failures) == 1 and "EDSS at start" in failures[0]


def test_the_threshold_is_bonferroni_over_the_covariates() -> None:
    plan = AnalysisPlan()
    se = 0.02
    z = norm.isf(plan.alpha / 2)  # 2 covariates tested
    assert balance_failures(_balance(0.1 + (z + 0.05) * se, se), plan)
    assert not balance_failures(_balance(0.1 + (z - 0.05) * se, se), plan)


def test_without_a_standard_error_the_plain_threshold_applies() -> None:
    frame = _balance(0.12, np.nan)
    assert balance_failures(frame, AnalysisPlan())
    assert balance_failures(frame.drop(columns="smd_after_se"), AnalysisPlan())


def test_smd_standard_error_matches_the_two_sample_formula_without_weights() -> None:
    rng = np.random.default_rng(3)
    users = pd.DataFrame({c: rng.normal(0, 1, 400) for c in BALANCE_COVARIATES})
    controls = pd.DataFrame({c: rng.normal(0, 1, 1200) for c in BALANCE_COVARIATES})
    out = standardised_differences_with_se(users, controls)
    # SD of an SMD by chance: about sqrt(1/n1 + 1/n0)
    assert out["se"].to_numpy() == pytest.approx(np.sqrt(1 / 400 + 1 / 1200), rel=0.1)


def _ratio(log_value: float, se: float) -> Estimate:
    return Estimate.ratio_from_log("nc", log_value, se, 0.05)


def _difference(value: float, se: float) -> Estimate:
    z = norm.isf(0.025)
    return Estimate("nc", value, value - z * se, value + z * se, "difference")


def test_pooled_negative_control_is_stouffers_z() -> None:
    estimates = [_ratio(-0.2, 0.1), _difference(-1.5, 1.0), _ratio(-0.15, 0.1)]
    pooled = pooled_negative_control(estimates, 0.05)
    assert pooled is not None
    assert pooled.value == pytest.approx((-2.0 - 1.5 - 1.5) / np.sqrt(3))
    assert pooled.excludes_null  # none of them alone excludes 0 at 5% except the first
    assert pooled.n == 3


def test_correlated_negative_controls_pool_to_a_smaller_z() -> None:
    """k estimates with common correlation r: their sum has variance k + k(k-1)r."""
    estimates = [_ratio(-0.2, 0.1), _difference(-1.5, 1.0), _ratio(-0.15, 0.1)]
    pooled = pooled_negative_control(estimates, 0.05, correlation=0.3)
    assert pooled is not None
    assert pooled.value == pytest.approx(-5.0 / np.sqrt(3 + 6 * 0.3))


def test_pooled_negative_control_needs_two_estimates() -> None:
    assert pooled_negative_control([_ratio(-0.2, 0.1)], 0.05) is None


def test_opposite_negative_controls_cancel() -> None:
    pooled = pooled_negative_control([_ratio(-0.2, 0.1), _ratio(0.2, 0.1)], 0.05)
    assert pooled is not None and pooled.value == pytest.approx(0.0)
    assert not pooled.excludes_null


def _matched(balance: pd.DataFrame) -> MatchResult:
    users = pd.DataFrame({"matched": [True] * 4, "reason": [""] * 4})
    cohort = pd.DataFrame(
        {
            "group": ["ldn", "control"],
            "code": [0, 1],
            "index_day": [0.0, 0.0],
            "end_day": [1.0, 1.0],
        }
    )
    return MatchResult("nearest", cohort, users, balance, None, 10)


@pytest.mark.parametrize(("smd", "se", "warned"), [(0.12, 0.06, False), (-0.30, 0.03, True)])
def test_the_matched_summary_warns_imbalance_by_the_same_rule(
    smd: float, se: float, warned: bool
) -> None:
    """One balance rule: the summary's Imbalance warning agrees with the diagnostics' check
    (a chance |SMD| of 0.12 with a few hundred users warns neither)."""
    plan = AnalysisPlan()
    balance = _balance(smd, se)
    summary = matched_summary(_matched(balance), plan)
    kinds = [w.kind for w in summary.warnings]
    assert (Imbalance in kinds) is warned
    assert bool(balance_failures(balance, plan)) is warned
