"""Property tests for the OMOP reader's daily-dose rule (``omop_drugs.daily_dose``): it reads
values from another site's ``drug_exposure`` rows, so any cell must give a number or None,
never an exception, and what the export writes must read back as the dose it came from."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from ldn_outcomes.importers.omop_drugs import daily_dose

cells = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
units = st.one_of(st.none(), st.sampled_from(["mg", " MG ", "Mg", "tablet", "ml", ""]), st.text())
strengths = st.one_of(st.none(), st.floats(min_value=0.01, max_value=1000))


def test_an_overflowing_quantity_is_no_dose() -> None:
    assert daily_dose(1e308, 1e-300, "mg", None) is None
    assert daily_dose(1e308, 1, "tablet", 1000.0) is None


@given(cells, cells, units, strengths)
def test_any_cell_gives_a_positive_finite_dose_or_none(
    quantity: object, days: object, unit: object, mg_per_unit: float | None
) -> None:
    dose = daily_dose(quantity, days, unit, mg_per_unit)
    assert dose is None or (math.isfinite(dose) and dose > 0)


@given(
    st.floats(min_value=0.1, max_value=50, allow_nan=False),
    st.integers(min_value=1, max_value=3650),
    st.sampled_from(["mg", "MG", " mg "]),
)
def test_the_exported_quantity_reads_back_as_its_daily_dose(
    mg_per_day: float, days: int, unit: str
) -> None:
    """The export writes quantity = daily mg x days_supply, rounded to 6 decimals."""
    quantity = round(mg_per_day * days, 6)
    dose = daily_dose(quantity, days, unit, None)
    assert dose is not None
    assert abs(dose - mg_per_day) <= 1e-6


@given(
    st.integers(min_value=1, max_value=400),
    st.integers(min_value=1, max_value=400),
    st.floats(min_value=0.5, max_value=50, allow_nan=False),
)
def test_units_other_than_mg_use_the_drugs_strength(
    tablets: int, days: int, mg_per_tablet: float
) -> None:
    dose = daily_dose(tablets, days, "tablet", mg_per_tablet)
    assert dose is not None and math.isclose(dose, tablets * mg_per_tablet / days)
    assert daily_dose(tablets, days, "tablet", None) is None


@given(cells, st.sampled_from([0, -1, -30, "0", "-7"]), units, strengths)
def test_no_dose_without_positive_days_supply(
    quantity: object, days: object, unit: object, mg_per_unit: float | None
) -> None:
    assert daily_dose(quantity, days, unit, mg_per_unit) is None
