"""Random-effects meta-analysis against metafor's published results for dat.bcg.

Data: dat.bcg (Colditz et al. 1994, JAMA 271:698), 13 BCG vaccine trials, as shipped with
metafor/metadat: tpos, tneg (vaccinated: TB / no TB), cpos, cneg (not vaccinated). The counts
are printed by ``print(dat.bcg)`` (e.g. https://shixiangwang.github.io/home/cn/post/2019-11-20-use-metafor)
and agree with the Stata ``metan`` listing of the same trials (cases/total per arm).

Expected values, log risk ratios (``escalc(measure="RR")``):
* DerSimonian–Laird: metafor's own test file
  wviechtb/metafor tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r
  (commit d6da65eee91004b9ef7060409a88f80834c2e4f3): estimate -0.7141, CI [-1.0644, -0.3638],
  z -3.9952, tau² 0.3088, I² 92.1173; FE Q 152.2330. H² 12.6861 from
  tests/testthat/test_misc_confint.r (``confint(res)$random[4,]``).
* REML (``rma(yi, vi, data=dat)``; metafor's default), printed output quoted in the RoBMA
  vignette "Bayesian Meta-Analysis" (CRAN, stat.ethz.ch mirror) and in the course page
  https://cttir.github.io/courses/course3_design_causal/labs/lab_week4_session2_slides.html:
  tau² 0.3132 (SE 0.1664), I² 92.22%, H² 12.86, Q(df = 12) 152.2330,
  estimate -0.7145, se 0.1798, z -3.9744, CI [-1.0669, -0.3622].
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.meta_analysis import combine_effects

from ldn_outcomes.domain.evidence import Catalogue
from ldn_outcomes.errors import InsufficientData, NotFound, ValidationFailed
from ldn_outcomes.evidence.forest import forest_svg
from ldn_outcomes.evidence.meta import NotPoolable, effect_from_input, random_effects
from ldn_outcomes.evidence.pooling import pool_outcome

BCG = np.array(
    [
        [4, 119, 11, 128],
        [6, 300, 29, 274],
        [3, 228, 11, 209],
        [62, 13536, 248, 12619],
        [33, 5036, 47, 5761],
        [180, 1361, 372, 1079],
        [8, 2537, 10, 619],
        [505, 87886, 499, 87892],
        [29, 7470, 45, 7232],
        [17, 1699, 65, 1600],
        [186, 50448, 141, 27197],
        [5, 2493, 3, 2338],
        [27, 16886, 29, 17825],
    ],
    dtype=float,
)


def bcg_log_rr() -> tuple[np.ndarray, np.ndarray]:
    """escalc(measure="RR"): yi = log((a/n1)/(c/n2)), vi = 1/a - 1/n1 + 1/c - 1/n2."""
    a, b, c, d = BCG.T
    n1, n2 = a + b, c + d
    return np.log((a / n1) / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2


def test_reml_reproduces_metafor_dat_bcg() -> None:
    yi, vi = bcg_log_rr()
    result = random_effects(yi, vi, method="REML")
    assert result.converged
    assert round(result.estimate, 4) == -0.7145
    assert round(result.se, 4) == 0.1798
    assert round(result.z, 4) == -3.9744
    assert round(result.ci_low, 4) == -1.0669
    assert round(result.ci_high, 4) == -0.3622
    assert round(result.tau2, 4) == 0.3132
    assert round(result.tau2_se, 4) == 0.1664
    assert round(result.i2, 2) == 92.22
    assert round(result.h2, 2) == 12.86
    assert round(result.q, 4) == 152.2330
    assert result.q_df == 12
    assert result.p < 1e-4 and result.q_p < 1e-4


def test_dersimonian_laird_reproduces_metafor_dat_bcg() -> None:
    yi, vi = bcg_log_rr()
    result = random_effects(yi, vi, method="DL")
    assert round(result.estimate, 4) == -0.7141
    assert round(result.ci_low, 4) == -1.0644
    assert round(result.ci_high, 4) == -0.3638
    assert round(result.z, 4) == -3.9952
    assert round(result.tau2, 4) == 0.3088
    assert round(result.i2, 4) == 92.1173
    assert round(result.h2, 4) == 12.6861
    assert round(result.q, 4) == 152.2330
    # exp(estimate, CI) as in metafor's predict(res, transf=exp): 0.4896 [0.3449, 0.6950]
    assert [round(math.exp(v), 4) for v in (result.estimate, result.ci_low, result.ci_high)] == [
        0.4896,
        0.3449,
        0.6950,
    ]


def test_weights_sum_to_100_and_prediction_interval_contains_ci() -> None:
    yi, vi = bcg_log_rr()
    result = random_effects(yi, vi)
    assert sum(result.weights) == pytest.approx(100)
    assert result.pi_low < result.ci_low < result.ci_high < result.pi_high


def test_refuses_bad_input_with_named_problems() -> None:
    with pytest.raises(InsufficientData):
        random_effects([0.1], [0.01])
    with pytest.raises(ValidationFailed) as caught:
        random_effects([0.1, float("nan")], [0.01, 0.0])
    fields = {p.field for p in caught.value.problems}
    assert fields == {"yi", "vi"}
    with pytest.raises(ValidationFailed):
        random_effects([0.1, 0.2], [0.01, 0.02], method="ML")  # type: ignore[arg-type]


effects = st.lists(
    st.tuples(st.floats(-3, 3, allow_nan=False), st.floats(0.001, 2, allow_nan=False)),
    min_size=2,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(effects)
def test_properties_of_both_estimators(pairs: list[tuple[float, float]]) -> None:
    yi = np.array([p[0] for p in pairs])
    vi = np.array([p[1] for p in pairs])
    for method in ("REML", "DL"):
        result = random_effects(yi, vi, method=method)
        assert result.tau2 >= 0
        assert 0 <= result.i2 < 100
        assert min(yi) - 1e-9 <= result.estimate <= max(yi) + 1e-9
        assert result.ci_low <= result.estimate <= result.ci_high
        # the order of studies does not matter
        again = random_effects(yi[::-1], vi[::-1], method=method)
        assert again.estimate == pytest.approx(result.estimate, abs=1e-8)
        assert again.tau2 == pytest.approx(result.tau2, abs=1e-8)
    dl = random_effects(yi, vi, method="DL")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        reference = combine_effects(yi, vi, method_re="dl")
    if reference.tau2 > 0:  # statsmodels 0.15 does not truncate a negative DL tau² at 0
        assert dl.estimate == pytest.approx(reference.mean_effect_re)
        assert dl.se == pytest.approx(reference.sd_eff_w_re)
    else:
        assert dl.tau2 == 0


def test_nearly_identical_effects_do_not_overflow() -> None:
    """Found by hypothesis: Q ~ 1e-322 made statsmodels' H² overflow (a warning, an error here)."""
    for method in ("REML", "DL"):
        result = random_effects([0.0, 1.2675904768254707e-161], [1.0, 1.0], method=method)
        assert result.tau2 == 0 and result.i2 == 0


def test_identical_studies_have_no_heterogeneity() -> None:
    result = random_effects([0.5, 0.5, 0.5], [0.1, 0.2, 0.3])
    assert result.tau2 == 0
    assert result.i2 == 0
    assert result.estimate == pytest.approx(0.5)


# --- effects from what studies report -------------------------------------------------------


def test_effect_from_reported_estimate_and_ci() -> None:
    effect = effect_from_input("s", "S", "MD", None, {"estimate": -0.34, "ci95": [-0.95, 0.27]})
    assert effect.yi == -0.34
    assert math.sqrt(effect.vi) == pytest.approx(1.22 / (2 * 1.959964), rel=1e-5)
    ratio = effect_from_input("s", "S", "RR", None, {"estimate": 0.5, "ci95": [0.25, 1.0]})
    assert ratio.yi == pytest.approx(math.log(0.5))
    with pytest.raises(NotPoolable):
        effect_from_input("s", "S", "RR", None, {"estimate": 0.5, "ci95": [0, 1.0]})


def test_effect_from_arm_means_matches_hand_computation() -> None:
    arms = {
        "ldn": {"n": 20, "mean": 10.0, "sd": 4.0},
        "placebo": {"n": 20, "mean": 12.0, "sd": 4.0},
    }
    md = effect_from_input("s", "S", "MD", arms, None)
    assert md.yi == -2.0
    assert md.vi == pytest.approx(16 / 20 + 16 / 20)
    smd = effect_from_input("s", "S", "SMD", arms, None)
    # d = -0.5; exact c(38) = Gamma(19) / (sqrt(19) Gamma(18.5)), close to 1 - 3 / (4 * 38 - 1)
    exact = math.gamma(19) / (math.sqrt(19) * math.gamma(18.5))
    assert smd.yi == pytest.approx(-0.5 * exact, rel=1e-12)
    assert exact == pytest.approx(1 - 3 / 151, abs=2e-4)
    assert smd.vi == pytest.approx(1 / 20 + 1 / 20 + smd.yi**2 / 80)
    with pytest.raises(NotPoolable, match="control"):
        effect_from_input("s", "S", "MD", {"a": {}, "b": {}}, None)
    with pytest.raises(NotPoolable):
        effect_from_input("s", "S", None, arms, None)


def _catalogue(*studies: dict) -> Catalogue:
    return Catalogue.model_validate({"studies": list(studies)})


def test_pool_outcome_lists_studies_that_cannot_be_pooled() -> None:
    # Test data only (not a real study): three made-up entries exercising the pooling rules.
    catalogue = _catalogue(
        {
            "id": "a",
            "authors": "Alpha A, Beta B",
            "year": 2001,
            "meta_inputs": [
                {
                    "outcome_id": "x",
                    "measure": "MD",
                    "reported_effect": {"estimate": -1.0, "ci95": [-2.0, 0.0]},
                }
            ],
        },
        {
            "id": "b",
            "authors": ["Gamma G"],
            "year": 2002,
            "design": "crossover_rct",
            "meta_inputs": [
                {
                    "outcome_id": "x",
                    "measure": "MD",
                    "reported_effect": {"estimate": -0.5, "ci95": [-1.5, 0.5]},
                }
            ],
        },
        {"id": "c", "meta_inputs": [{"outcome_id": "x", "measure": "MD", "arm_stats": None}]},
        {
            "id": "d",
            "meta_inputs": [
                {
                    "outcome_id": "x",
                    "measure": "SMD",
                    "reported_effect": {"estimate": -0.2, "ci95": [-0.5, 0.1]},
                }
            ],
        },
    )
    report = pool_outcome(catalogue, "x")
    assert [e.study_id for e in report.included] == ["a", "b"]
    assert {x["study_id"] for x in report.excluded} == {"c", "d"}
    assert report.result is not None and report.result.k == 2
    assert report.included[0].label == "Alpha et al. 2001"
    assert "crossover trial" in report.included[1].notes
    data = report.as_dict()
    assert data["result"]["k"] == 2
    with pytest.raises(NotFound):
        pool_outcome(catalogue, "nothing")


def test_pool_outcome_with_one_study_says_why_not_pooled() -> None:
    catalogue = _catalogue(
        {
            "id": "a",
            "meta_inputs": [
                {
                    "outcome_id": "x",
                    "measure": "MD",
                    "reported_effect": {"estimate": 1, "ci95": [0, 2]},
                }
            ],
        }
    )
    report = pool_outcome(catalogue, "x")
    assert report.result is None
    assert "two or more" in (report.not_pooled_reason or "")


def test_forest_svg_is_well_formed_and_labels_every_study() -> None:
    yi, vi = bcg_log_rr()
    from ldn_outcomes.evidence.meta import Effect

    effects = [
        Effect(f"s{i}", f"Trial {i} <&>", "RR", float(y), float(v), "test")
        for i, (y, v) in enumerate(zip(yi, vi, strict=True))
    ]
    result = random_effects(yi, vi)
    svg = forest_svg(effects, result, axis_label="log risk ratio")
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Trial 0 <&>" in texts
    assert any("Random effects (REML)" in (t or "") for t in texts)
    assert len(list(root.iter("{http://www.w3.org/2000/svg}rect"))) == 13
    assert "<script" not in svg
