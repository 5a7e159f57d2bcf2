"""Two-way clustering (match set and person) of matched comparisons' robust SEs.

Reference: Cameron, Gelbach & Miller 2011 (J Bus Econ Stat 29:238-249): the two-way variance
is the one-way variance on each grouping minus that on their intersection. The one-way parts
come from the libraries (statsmodels PHReg and GLM), so each test holds our two-way SE to the
libraries' own one-way fits. Austin & Cafri 2020 (Stat Med 39:1623, doi 10.1002/sim.8502)
propose this variance for hazard ratios after matching with replacement.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.duration.hazard_regression import PHReg

from ldn_outcomes.analysis.numerics.clusters import (
    MATCH_SET,
    MATCH_SET_AND_PERSON,
    clustered_fit,
    describe,
    matched_cluster_columns,
    matched_groups,
    score_meat,
)
from ldn_outcomes.analysis.numerics.fastcox import cox_one_covariate
from ldn_outcomes.analysis.numerics.ratemodels import rate_ratio
from ldn_outcomes.analysis.numerics.survival import cox_hazard_ratio
from ldn_outcomes.analysis.outcomes.symptom_difference import difference
from ldn_outcomes.analysis.plan import AnalysisPlan


def _matched_with_replacement(rng: np.random.Generator, users: int = 300, pool: int = 250):
    """Each user with 3 controls drawn with replacement from a small pool (heavy reuse), and
    some users serving as earlier users' controls, as trajectory matching allows."""
    user_codes = np.arange(users)
    rows = []
    for match_id, user in enumerate(user_codes):
        rows.append((user, match_id, 1, 1.0))
        controls = rng.choice(np.arange(users, users + pool), 3, replace=False)
        if match_id and rng.random() < 0.2:
            controls[0] = rng.integers(0, match_id)
        rows += [(int(c), match_id, 0, 1 / 3) for c in controls]
    return pd.DataFrame(rows, columns=["code", "match_id", "ldn", "weight"])


def _intersection(frame: pd.DataFrame) -> np.ndarray:
    return pd.factorize(frame["match_id"].astype(str) + ":" + frame["code"].astype(str))[0]


def test_cox_two_way_is_the_sum_of_phreg_one_way_variances() -> None:
    rng = np.random.default_rng(5)
    frame = _matched_with_replacement(rng)
    frailty = rng.gamma(2.0, 0.5, frame["code"].max() + 1)[frame["code"]]
    t = rng.exponential(1 / (0.3 * frailty * np.where(frame["ldn"] == 1, 0.8, 1.0)))
    c = rng.uniform(0.5, 6, len(frame))
    time, event = np.minimum(t, c), t <= c
    x = frame["ldn"].to_numpy(float)
    entry = np.where(rng.random(len(frame)) < 0.3, np.minimum(time * 0.5, 0.7 + 0.013), 0.0)
    groups = matched_groups(frame, MATCH_SET_AND_PERSON)
    _, se = cox_one_covariate(time, event, x, groups, entry)

    def phreg_var(labels: np.ndarray) -> float:
        model = PHReg(time, x[:, None], status=event.astype(float), entry=entry, ties="breslow")
        return float(model.fit(groups=labels).bse[0] ** 2)

    expected = phreg_var(groups[:, 0]) + phreg_var(groups[:, 1]) - phreg_var(_intersection(frame))
    assert se**2 == pytest.approx(expected, rel=1e-4)
    # the person's rows are correlated (shared frailty): two-way is wider than the set alone
    assert se**2 > phreg_var(groups[:, 0])


def test_rate_ratio_two_way_is_the_sum_of_glm_one_way_variances() -> None:
    rng = np.random.default_rng(9)
    frame = _matched_with_replacement(rng)
    frailty = rng.gamma(1.5, 1 / 1.5, frame["code"].max() + 1)[frame["code"]]
    years = rng.uniform(0.5, 2.0, len(frame))
    counts = rng.poisson(0.4 * frailty * years * np.where(frame["ldn"] == 1, 0.8, 1.0))
    x = sm.add_constant(frame["ldn"].to_numpy(float))
    w = frame["weight"].to_numpy()
    groups = matched_groups(frame, MATCH_SET_AND_PERSON)
    got = rate_ratio(counts.astype(float), x, years, groups, 1, "rr", weights=w)

    def glm_var(labels: np.ndarray) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # var_weights with a cluster covariance
            fit = sm.GLM(
                counts, x, family=sm.families.Poisson(), offset=np.log(years), var_weights=w
            ).fit(cov_type="cluster", cov_kwds={"groups": labels})
        return float(fit.cov_params()[1, 1])

    expected = glm_var(groups[:, 0]) + glm_var(groups[:, 1]) - glm_var(_intersection(frame))
    se = (np.log(got.ci_high) - np.log(got.ci_low)) / (2 * 1.959963984540054)
    assert se**2 == pytest.approx(expected, rel=1e-6)
    assert got.n == frame["match_id"].nunique()


def test_cox_hazard_ratio_takes_two_cluster_columns() -> None:
    """Two cluster columns: the fast engine's two-way SE, the same point estimate as its
    one-way fit; lifelines, which clusters one way only, is refused."""
    rng = np.random.default_rng(3)
    frame = _matched_with_replacement(rng, users=120, pool=100)
    frame["years"] = rng.exponential(3.0, len(frame))
    frame["event"] = rng.random(len(frame)) < 0.5
    common = {"duration": "years", "event": "event", "covariate": "ldn", "label": "hr"}
    two = cox_hazard_ratio(
        frame, cluster=matched_cluster_columns(MATCH_SET_AND_PERSON), weights="weight", **common
    )
    one = cox_hazard_ratio(
        frame, cluster=matched_cluster_columns(MATCH_SET), weights="weight", engine="fast", **common
    )
    assert two.value == pytest.approx(one.value, rel=1e-9)
    assert two.ci_high / two.ci_low != pytest.approx(one.ci_high / one.ci_low, rel=1e-9)
    with pytest.raises(ValueError, match="two-way"):
        cox_hazard_ratio(frame, cluster=("match_id", "code"), engine="lifelines", **common)


def test_two_way_symptom_se_matches_the_spread_where_one_way_is_too_narrow() -> None:
    """Each person's change has a lasting part of their own; controls are reused. Over 200
    seeded registries the two-way SE of the matched difference is close to the estimates'
    spread, while the match set alone understates it."""
    one_way, two_way, estimates = [], [], []
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        frame = _matched_with_replacement(rng, users=150, pool=60)
        people = frame["code"].max() + 1
        level = rng.normal(0.0, 8.0, people)[frame["code"]]
        change = rng.normal(0.0, 6.0, people)[frame["code"]]
        frame["m0"] = 40 + level + rng.normal(0.0, 4.0, len(frame))
        frame["m12"] = 40 + level + change + rng.normal(0.0, 4.0, len(frame))
        z = 1.959963984540054
        for clusters, store in ((MATCH_SET, one_way), (MATCH_SET_AND_PERSON, two_way)):
            diff, lo, hi, _ = difference(
                frame,
                "m12",
                0.05,
                AnalysisPlan(
                    symptom_adjust_baseline=False,
                    symptom_adjust_history=False,
                    matched_se_clusters=clusters,
                ),
            )
            store.append((hi - lo) / (2 * z))
        estimates.append(diff)
    spread = float(np.std(estimates, ddof=1))
    assert np.mean(two_way) == pytest.approx(spread, rel=0.15)
    assert np.mean(one_way) < 0.85 * spread


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 6), st.floats(-5, 5, allow_nan=False)),
        min_size=1,
        max_size=40,
    )
)
def test_two_way_meat_definition(rows: list[tuple[int, int, float]]) -> None:
    """The meat is the sum over pairs of rows sharing either cluster, or, when that difference
    is not positive, the larger one-way meat; one column is one-way clustering."""
    a = np.array([r[0] for r in rows])
    b = np.array([r[1] for r in rows])
    u = np.array([r[2] for r in rows])
    share = (a[:, None] == a[None, :]) | (b[:, None] == b[None, :])
    pairs = float((u[:, None] * u[None, :] * share).sum())
    one = float((u[:, None] * u[None, :] * (a[:, None] == a[None, :])).sum())
    two = float((u[:, None] * u[None, :] * (b[:, None] == b[None, :])).sum())
    got = score_meat(u, np.column_stack([a, b]))
    expected = pairs if pairs > 0 else max(one, two)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert score_meat(u, a) == pytest.approx(one, rel=1e-9, abs=1e-9)
    assert score_meat(u, None) == pytest.approx(float((u**2).sum()), rel=1e-9, abs=1e-9)


def test_weighted_cox_two_way_is_the_sum_of_lifelines_one_way_variances() -> None:
    """With the matching weights (controls 1/k) and no tied times (Breslow = Efron), the
    two-way variance is lifelines' weighted one-way variances on the set, the person and
    their intersection combined."""
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(21)
    frame = _matched_with_replacement(rng, users=150, pool=120)
    frailty = rng.gamma(2.0, 0.5, frame["code"].max() + 1)[frame["code"]]
    t = rng.exponential(1 / (0.3 * frailty * np.where(frame["ldn"] == 1, 0.8, 1.0)))
    c = rng.uniform(0.5, 6, len(frame))
    frame["years"], frame["event"] = np.minimum(t, c), t <= c
    frame["both"] = _intersection(frame)
    common = {"duration": "years", "event": "event", "covariate": "ldn", "label": "hr"}
    two = cox_hazard_ratio(frame, cluster=("match_id", "code"), weights="weight", **common)

    def lifelines_var(cluster: str) -> float:
        columns = ["years", "event", "ldn", "weight", cluster]
        fitter = CoxPHFitter().fit(
            frame[columns],
            "years",
            "event",
            weights_col="weight",
            cluster_col=cluster,
            robust=True,
        )
        return float(fitter.standard_errors_["ldn"] ** 2)

    expected = lifelines_var("match_id") + lifelines_var("code") - lifelines_var("both")
    se = (np.log(two.ci_high) - np.log(two.ci_low)) / (2 * 1.959963984540054)
    assert se**2 == pytest.approx(expected, rel=1e-4)


class _Fit:
    def __init__(self, variance: float) -> None:
        self.variance = variance

    def cov_params(self) -> np.ndarray:
        return np.array([[1.0, 0.0], [0.0, self.variance]])


def test_a_non_positive_two_way_variance_falls_back_to_the_larger_one_way_fit() -> None:
    groups = np.column_stack([np.arange(6) // 2, np.arange(6) % 3])
    variances = {2: -0.1, 0: 0.04, 1: 0.09}  # keyed by the grouping's number of columns/index

    def fit(g: np.ndarray) -> _Fit:
        if g.ndim == 2:
            return _Fit(variances[2])
        return _Fit(variances[0] if (g == groups[:, 0]).all() else variances[1])

    assert clustered_fit(fit, groups, 1).variance == 0.09
    variances[2] = 0.05
    assert clustered_fit(fit, groups, 1).variance == 0.05
    assert clustered_fit(fit, groups[:, 0], 1).variance == 0.04


def test_an_unknown_clustering_is_refused() -> None:
    frame = pd.DataFrame({"match_id": [0, 0], "code": [1, 2]})
    for call in (describe, matched_cluster_columns, lambda c: matched_groups(frame, c)):
        with pytest.raises(ValueError, match="unknown clustering"):
            call("person")


def test_the_plan_refuses_an_unknown_clustering_naming_the_option() -> None:
    from ldn_outcomes.analysis.plan import AnalysisPlan
    from ldn_outcomes.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="matched_se_clusters"):
        AnalysisPlan(matched_se_clusters="person")  # type: ignore[arg-type]
    assert AnalysisPlan(matched_se_clusters=MATCH_SET).matched_se_clusters == MATCH_SET
