"""Effect sizes from what studies report, and pooling one catalogue outcome."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from tests.stats.test_random_effects import bcg_log_rr

from ldn_outcomes.domain.evidence import Catalogue
from ldn_outcomes.errors import NotFound
from ldn_outcomes.evidence.forest import forest_svg
from ldn_outcomes.evidence.meta import Effect, NotPoolable, effect_from_input
from ldn_outcomes.evidence.pooling import pool_outcome
from ldn_outcomes.stats.random_effects import random_effects

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
