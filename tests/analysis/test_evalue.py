"""E-values against the worked examples of VanderWeele & Ding 2017 (Ann Intern Med 167:268,
doi 10.7326/M16-2607) and R package EValue 4.1.3."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldn_outcomes.analysis.numerics.evalue import (
    e_value_difference,
    e_value_hazard_ratio,
    e_value_of_ratio,
    e_value_ratio,
    hazard_to_risk_ratio,
)


def test_breastfeeding_example_risk_ratio_3_9() -> None:
    # The paper's worked example (breastfeeding and infant death): RR 3.9 (1.8-8.7), E-values
    # 7.26 for the estimate and 3.0 for the interval (the EValue vignette reruns it).
    e = e_value_ratio(3.9, 1.8, 8.7)
    assert e.point == pytest.approx(7.26, abs=5e-3)
    assert e.interval == pytest.approx(3.0, abs=5e-3)


def test_protective_example_risk_ratio_0_80() -> None:
    # The paper's second example (RR 0.80, 0.71-0.91; the EValue documentation's
    # ``evalues.RR(0.80, 0.71, 0.91)``): E-values 1.81 and 1.43.
    e = e_value_ratio(0.80, 0.71, 0.91)
    assert e.point == pytest.approx(1.81, abs=5e-3)
    assert e.interval == pytest.approx(1.43, abs=5e-3)


def test_an_interval_that_includes_the_null_has_e_value_one() -> None:
    assert e_value_ratio(1.3, 0.9, 1.8).interval == 1.0


def test_common_outcome_hazard_ratio_is_converted_first() -> None:
    # VanderWeele & Ding: RR ~ (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)); HR 1 stays 1.
    assert hazard_to_risk_ratio(1.0) == pytest.approx(1.0)
    rr = hazard_to_risk_ratio(2.0)
    assert rr == pytest.approx((1 - 0.5 ** math.sqrt(2)) / (1 - 0.5 ** math.sqrt(0.5)))
    assert e_value_hazard_ratio(2.0, 1.5, 2.6, rare=False).point == pytest.approx(
        e_value_of_ratio(rr)
    )


def test_difference_in_means_uses_the_standardised_difference() -> None:
    # d = 0.5, SE 0.1 (by hand from the paper's formulas): RR = exp(0.455) = 1.5762,
    # E = 1.5762 + sqrt(1.5762 x 0.5762) = 2.5291; lower limit exp(0.455 - 0.178) = 1.3192,
    # E = 1.9680.
    e = e_value_difference(0.5, 0.1, 1.0)
    assert e.risk_ratio == pytest.approx(math.exp(0.455))
    assert e.point == pytest.approx(2.5291, abs=5e-4)
    assert e.interval == pytest.approx(1.9680, abs=5e-4)


@given(st.floats(min_value=0.05, max_value=20))
def test_e_value_is_symmetric_and_at_least_the_ratio(rr: float) -> None:
    assert e_value_of_ratio(rr) == pytest.approx(e_value_of_ratio(1 / rr))
    assert e_value_of_ratio(rr) >= max(rr, 1 / rr) - 1e-12
