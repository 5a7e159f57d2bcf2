"""The de-identified export is k-anonymous on its quasi-identifiers, and published counts
follow one disclosure rule, checked against definitions written independently of the code.

k-anonymity (Sweeney L. k-anonymity: a model for protecting privacy. Int J Uncertain
Fuzziness Knowl-Based Syst 2002;10(5):557-570, doi:10.1142/S0218488502001648, Definition 2):
a table satisfies k-anonymity with respect to its quasi-identifier QI if and only if each
sequence of values in the table's projection on QI appears with at least k occurrences.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldn_outcomes.analysis.results import AnalysisResult, Estimate, SmallSample, Warned
from ldn_outcomes.reports.deidentify import QUASI_IDENTIFIERS, deidentify_frames
from ldn_outcomes.reports.disclosure import (
    controlled_result,
    shown_count,
    suppress_table,
    suppress_text,
)
from tests.analysis.synth import simulate

ON = dt.date(2031, 1, 1)
K = 5


def is_k_anonymous(frame: pd.DataFrame, quasi: tuple[str, ...], k: int) -> bool:
    """Sweeney 2002, Definition 2, literally: count each QI value sequence."""
    sequences = Counter(tuple(row) for row in frame[list(quasi)].itertuples(index=False))
    return all(count >= k for count in sequences.values())


def _registry(n: int, seed: int) -> dict[str, pd.DataFrame]:
    frames = simulate(n, seed=seed)
    frames["consents"] = pd.DataFrame(
        {
            "patient_id": frames["patients"]["patient_id"],
            "scope": "research",
            "given_date": pd.Timestamp("2020-01-01"),
            "withdrawn_date": pd.NaT,
        }
    )
    return frames


@pytest.fixture(scope="module")
def registry() -> dict[str, pd.DataFrame]:
    return _registry(300, seed=11)


def test_the_definition_is_checked_as_written() -> None:
    frame = pd.DataFrame({"a": ["x"] * 5 + ["y"] * 4, "b": ["p"] * 9})
    assert is_k_anonymous(frame, ("a", "b"), 4)
    assert not is_k_anonymous(frame, ("a", "b"), 5)


def test_export_is_k_anonymous_on_every_quasi_identifier(
    registry: dict[str, pd.DataFrame],
) -> None:
    data = deidentify_frames(registry, min_cell_size=K, on=ON)
    assert is_k_anonymous(data.frame, QUASI_IDENTIFIERS, K)
    assert len(data.frame) + data.dropped == data.consented == 300
    assert data.dropped < 30  # generalisation, not deletion, does most of the work
    # Coarse values only: no exact dose, day count or date is exported.
    assert not {"ldn_first_dose_mg", "follow_up_days", "days_on_ldn", "edss_last_day"} & set(
        data.frame.columns
    )


def test_rows_unique_on_their_values_before_are_not_after(
    registry: dict[str, pd.DataFrame],
) -> None:
    """The probe's finding: every row was unique, so two exports joined 1:1. Now each row
    shares its quasi-identifiers with at least four others in both exports."""
    first = deidentify_frames(registry, min_cell_size=K, on=ON).frame
    second = deidentify_frames(registry, min_cell_size=K, on=ON).frame
    assert not set(first["study_code"]) & set(second["study_code"])
    joined = first.merge(second, on=list(QUASI_IDENTIFIERS), suffixes=("", "_2"))
    matches = joined.groupby("study_code").size()
    assert (matches >= K).all()


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=2, max_value=20))
def test_one_count_rule(n: int, k: int) -> None:
    shown = shown_count(n, k)
    if n == 0:
        assert shown == 0
    elif n < k:
        assert shown is None
    else:
        assert shown is not None and shown % k == 0 and abs(shown - n) <= k / 2


@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 60), min_size=1), st.integers(2, 10)
)
def test_a_table_with_its_total_never_reveals_a_small_cell(counts: dict[str, int], k: int) -> None:
    """A lone hidden cell could be recovered as total minus the rest: never left alone
    while another non-empty cell is shown."""
    shown = suppress_table(counts, k)
    hidden = [key for key, value in shown.items() if value is None]
    others = [n for key, n in counts.items() if key not in hidden and n > 0]
    assert len(hidden) != 1 or not others
    assert all(value is None or value == 0 or value >= k for value in shown.values())


def test_free_text_loses_small_counts_only() -> None:
    text = "only 3 progression events; 12 months; ratio 0.5; 2.5 mg; 40% of 4 users"
    assert suppress_text(text, 5) == (
        "only fewer than 5 progression events; 12 months; ratio 0.5; 2.5 mg; "
        "40% of fewer than 5 users"
    )


def test_free_text_keeps_measures_that_are_not_counts() -> None:
    """A window, a dose or a score step is not a count of people: it stays as written."""
    text = "within 3 months; 2 years of follow-up; 4 mg; a 1-point step; 1 day; 3 relapses"
    assert suppress_text(text, 5) == (
        "within 3 months; 2 years of follow-up; 4 mg; a 1-point step; 1 day; fewer than 5 relapses"
    )


def test_a_result_shown_to_researchers_follows_the_rule() -> None:
    result = AnalysisResult(
        name="progression",
        method="m",
        population={"n_patients": 298, "raw_events": 2, "matched": True},
        estimates=[
            Estimate("HR", 0.9, 0.5, 1.4, "ratio", n=298),
            Estimate("share", 2 / 40, 0.01, 0.2, "proportion", n=40),
            Estimate("few", 1.0, 0.5, 2.0, "ratio", n=4),
        ],
        warnings=[Warned(SmallSample, "only 4 users with EDSS")],
        details={"curves": {"LDN users": [[0.0, 1.0, 1.0, 1.0]]}, "cdw_types": {"RAW": 2}},
    )
    shown = controlled_result(result, 5)
    assert shown.population == {"n_patients": 300, "raw_events": None, "matched": True}
    assert [e.label for e in shown.estimates] == ["HR"] and shown.estimates[0].n == 300
    assert shown.warnings[0].message == "only fewer than 5 users with EDSS"
    assert set(shown.details) == {"curves"}


def test_a_proportion_without_an_estimate_is_not_an_error() -> None:
    """A NaN proportion (no data) reveals no count; the rule must not crash on it."""
    from ldn_outcomes.analysis.results import Estimate
    from ldn_outcomes.reports.disclosure import _estimate_allowed

    empty = Estimate("share", float("nan"), float("nan"), float("nan"), "proportion", n=20)
    assert _estimate_allowed(empty, 5)
