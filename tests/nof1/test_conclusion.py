"""Plain-language verdicts."""

from __future__ import annotations

import numpy as np

from ldn_outcomes.analysis.nof1.bayes import DEFAULT_PRIOR, Posterior
from ldn_outcomes.analysis.nof1.conclusion import conclude
from ldn_outcomes.domain.nof1 import OUTCOMES


def posterior(loc: float, scale: float) -> Posterior:
    return Posterior(
        np.zeros(1),
        np.ones(1),
        np.array([loc]),
        np.array([scale]),
        np.array([200.0]),
        100,
        DEFAULT_PRIOR,
    )


def test_lower_fatigue_on_ldn_likely_helps() -> None:
    result = conclude(posterior(-1.5, 0.3), OUTCOMES["fatigue_nrs"], 1.0)
    assert result.verdict == "likely helps"
    assert result.p_improves > 0.99 and 0.9 < result.p_improves_mcid < 0.99
    assert "likely helps" in result.text and "clinically important" in result.text


def test_small_improvement_is_called_small() -> None:
    result = conclude(posterior(-0.5, 0.2), OUTCOMES["fatigue_nrs"], 1.0)
    assert result.verdict == "likely helps"
    assert "smaller than what matters" in result.text


def test_uncertain_and_worse() -> None:
    assert conclude(posterior(-0.2, 0.5), OUTCOMES["fatigue_nrs"], 1.0).verdict == (
        "no clear difference"
    )
    assert conclude(posterior(1.2, 0.3), OUTCOMES["fatigue_nrs"], 1.0).verdict == "likely worse"


def test_direction_for_higher_is_better_outcome() -> None:
    # Sleep quality: higher on LDN is an improvement.
    assert conclude(posterior(1.2, 0.3), OUTCOMES["sleep_nrs"], 1.0).verdict == "likely helps"
