"""The GRADE-style certainty rule (Balshem et al. 2011; the level table cited in the module)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ldn_outcomes.domain.certainty import (
    MEANING,
    Certainty,
    CertaintyAssessment,
    DownReason,
    RatedDown,
    RatedUp,
    StartingDesign,
    UpReason,
    grade,
)


def _down(domain: str, levels: int = 1) -> RatedDown:
    return RatedDown(domain=DownReason(domain), levels=levels, reason="because")


def test_starting_levels_follow_the_design() -> None:
    assert grade(StartingDesign.RANDOMISED) is Certainty.HIGH
    assert grade(StartingDesign.OBSERVATIONAL) is Certainty.LOW
    assert grade(StartingDesign.CASE_REPORTS) is Certainty.VERY_LOW


def test_the_grade_statement_table() -> None:
    """GRADE statement table: downgraded randomised trials are moderate, double-downgraded low,
    triple-downgraded very low; upgraded observational studies are moderate."""
    rct = StartingDesign.RANDOMISED
    assert grade(rct, (_down("risk_of_bias"),)) is Certainty.MODERATE
    assert grade(rct, (_down("risk_of_bias"), _down("imprecision"))) is Certainty.LOW
    three = (_down("risk_of_bias"), _down("imprecision"), _down("inconsistency"))
    assert grade(rct, three) is Certainty.VERY_LOW
    up = (RatedUp(domain=UpReason.LARGE_EFFECT, reason="rate ratio above 5"),)
    assert grade(StartingDesign.OBSERVATIONAL, (), up) is Certainty.MODERATE


@given(
    st.sampled_from(list(StartingDesign)),
    st.lists(st.tuples(st.sampled_from(list(DownReason)), st.integers(1, 2)), max_size=5),
)
def test_the_result_never_leaves_the_scale_and_never_rises_by_rating_down(
    design: StartingDesign, downs: list[tuple[DownReason, int]]
) -> None:
    judged = tuple(RatedDown(domain=d, levels=n, reason="r") for d, n in downs)
    result = grade(design, judged)
    assert Certainty.VERY_LOW <= result <= grade(design)


def test_rating_up_is_refused_for_trials_or_after_rating_down() -> None:
    up = [{"domain": "dose_response", "levels": 1, "reason": "gradient"}]
    with pytest.raises(ValidationError, match="rating up"):
        CertaintyAssessment(outcome="x", design="randomised", rated_up=up)
    with pytest.raises(ValidationError, match="rating up"):
        CertaintyAssessment(
            outcome="x",
            design="observational",
            rated_up=up,
            rated_down=[{"domain": "imprecision", "levels": 1, "reason": "few"}],
        )


def test_a_stated_result_must_agree_with_the_rule() -> None:
    with pytest.raises(ValidationError, match="disagrees with the rule"):
        CertaintyAssessment(outcome="x", design="randomised", stated="low")
    ok = CertaintyAssessment(outcome="x", design="randomised", stated="high")
    assert ok.as_dict()["certainty"] == "high"


def test_a_reason_must_be_given_in_words_and_move_one_or_two_levels() -> None:
    with pytest.raises(ValidationError, match="say why"):
        RatedDown(domain=DownReason.IMPRECISION, reason=" ")
    with pytest.raises(ValidationError, match="1 or 2"):
        RatedDown(domain=DownReason.IMPRECISION, levels=3, reason="r")


def test_every_level_has_its_plain_meaning() -> None:
    assert set(MEANING) == set(Certainty)
    assert MEANING[Certainty.VERY_LOW].startswith("We have very little confidence")
