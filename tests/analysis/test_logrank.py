"""Log-rank test against R ``survival``'s ``survdiff`` on the AML data (``data/aml.csv``,
survival::aml; provenance in ``data/SOURCES.md``).

Expected: ``survdiff(Surv(time, status) ~ x, data = aml)`` prints
    x=Maintained    11  Observed 7   Expected 10.69
    x=Nonmaintained 12  Observed 11  Expected 7.31
    Chisq= 3.4 on 1 degrees of freedom, p= 0.0653
(the statistic to four decimals, 3.3964, is (O-E)^2/V from the same fit; R survival
documentation example and its printed output).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.analysis.numerics.survival import logrank
from ldn_outcomes.errors import InsufficientData

AML = pd.read_csv(Path(__file__).parent / "data" / "aml.csv")


def _aml(**kwargs):
    return logrank(
        AML["time"].to_numpy(),
        AML["status"].to_numpy() == 1,
        (AML["x"] == "Maintained").to_numpy(),
        label="aml",
        **kwargs,
    )


def test_aml_has_23_patients_and_18_relapses() -> None:
    assert len(AML) == 23 and AML["status"].sum() == 18


def test_against_r_survdiff() -> None:
    result = _aml()
    assert result.chi2 == pytest.approx(3.3964, abs=5e-5)
    assert result.p_value == pytest.approx(0.0653, abs=5e-5)
    assert result.observed == 7
    assert result.expected == pytest.approx(10.69, abs=5e-3)
    assert result.df == 1
    assert "chi-square 3.40 on 1 df, p = 0.0653" in result.text


def test_delayed_entry_before_every_event_is_the_plain_test() -> None:
    plain = _aml()
    entered = _aml(entry=np.zeros(len(AML)))
    assert entered.chi2 == pytest.approx(plain.chi2, rel=1e-12)
    assert entered.expected == pytest.approx(plain.expected, rel=1e-12)


def test_delayed_entry_by_hand() -> None:
    # Group A: (entry 0, event at 2), (entry 3, event at 5); group B: (0, event at 4),
    # (0, censored at 6). t=2: n=4? no: A2 at risk (entry 3 > 2 is not), so n=3, n1=1, d=1.
    # t=4: at risk A(entry 3) and B, B -> n=3, n1=1, d=1. t=5: A and B(censored 6) -> n=2,
    # n1=1, d=1. E1 = 1/3 + 1/3 + 1/2; V = 2/9 + 2/9 + 1/4.
    result = logrank(
        np.array([2.0, 5.0, 4.0, 6.0]),
        np.array([True, True, True, False]),
        np.array([True, True, False, False]),
        label="hand",
        entry=np.array([0.0, 3.0, 0.0, 0.0]),
    )
    expected, variance = 1 / 3 + 1 / 3 + 1 / 2, 2 / 9 + 2 / 9 + 1 / 4
    assert result.expected == pytest.approx(expected)
    assert result.chi2 == pytest.approx((2 - expected) ** 2 / variance)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    st.lists(st.tuples(st.integers(1, 30), st.booleans(), st.booleans()), min_size=4, max_size=40)
)
def test_own_risk_sets_equal_lifelines_without_truncation(rows) -> None:
    times = np.array([r[0] for r in rows], dtype=float)
    events = np.array([r[1] for r in rows])
    group = np.array([r[2] for r in rows])
    if group.all() or not group.any() or not events.any():
        return
    try:
        own = logrank(times, events, group, label="x", entry=np.zeros(len(rows)))
    except InsufficientData:  # no variance (e.g. every event in a risk set of one)
        return
    plain = logrank(times, events, group, label="x")
    assert own.chi2 == pytest.approx(plain.chi2, rel=1e-9, abs=1e-12)


def test_one_group_is_refused() -> None:
    with pytest.raises(InsufficientData, match="two groups"):
        logrank(np.array([1.0, 2.0]), np.array([True, True]), np.array([True, True]), label="x")
