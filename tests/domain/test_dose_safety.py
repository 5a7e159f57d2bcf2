"""Dose range, naltrexone-opioid interaction and the liquid-LDN calculator."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.domain.definitions.dose_safety import (
    check_ldn_dose,
    check_opioid_interaction,
    liquid_ldn,
    match_opioid,
    naltrexone_doses,
    opioid_ingredients,
)
from ldn_outcomes.domain.definitions.exposure import ExposurePeriod
from ldn_outcomes.errors import InteractionError, ValidationFailed

LDN = ExposurePeriod("naltrexone", date(2024, 1, 1), None, dose_mg=4.5)


@pytest.mark.parametrize(
    ("dose", "band"),
    [
        (0.5, "below"),
        (1.0, "within"),
        (4.5, "within"),
        (5.0, "within"),
        (6.0, "above"),
        (50, "above"),
    ],
)
def test_low_dose_range(dose: float, band: str) -> None:
    # 1-5 mg/day: Toljan & Vrooman 2018, doi 10.3390/medsci6040082.
    assert check_ldn_dose(dose).band == band


def test_non_positive_dose_rejected() -> None:
    with pytest.raises(ValidationFailed, match="positive"):
        check_ldn_dose(0)


def test_naltrexone_doses_checks_only_naltrexone() -> None:
    baclofen = ExposurePeriod("baclofen", date(2024, 1, 1), None, dose_mg=20)
    high = ExposurePeriod("naltrexone", date(2023, 1, 1), date(2023, 2, 1), dose_mg=50)
    assert [c.band for c in naltrexone_doses([LDN, baclofen, high])] == ["within", "above"]


def test_overlap_raises_naming_both_drugs() -> None:
    oxy = ExposurePeriod("Oxycodone 5 mg", date(2024, 3, 1), date(2024, 3, 10))
    with pytest.raises(InteractionError) as caught:
        check_opioid_interaction([LDN, oxy])
    message = str(caught.value)
    assert "naltrexone" in message and "Oxycodone 5 mg" in message
    assert "RxCUI 7804" in message and "2024-03-01" in message


def test_match_by_rxcui_and_whole_word() -> None:
    branded = ExposurePeriod("Brand X", date(2024, 2, 1), None, rxnorm_cui="7052")
    with pytest.raises(InteractionError, match="morphine"):
        check_opioid_interaction([LDN, branded])
    assert match_opioid("Codeine phosphate") is not None
    assert match_opioid("dextromethorphan") is None  # not an ingredient on the list
    assert match_opioid("naltrexone") is None


def test_no_overlap_no_error() -> None:
    earlier = ExposurePeriod("tramadol", date(2023, 1, 1), date(2023, 12, 31))
    check_opioid_interaction([LDN, earlier])


def test_opioid_data_file_is_sourced() -> None:
    text = (
        resources.files("ldn_outcomes.domain.definitions")
        .joinpath("data/opioid_ingredients.json")
        .read_text("utf-8")
    )
    data = json.loads(text)
    for ingredient in data["ingredients"]:
        assert ingredient["rxcui"].isdigit()
        assert ingredient["sources"] and all(s in data["sources"] for s in ingredient["sources"])
    names = {i.name for i in opioid_ingredients()}
    # RxCUIs as listed in the CDC MME clinical conversion-factor table (cqframework/opioid-mme-r4)
    assert {
        ("morphine", "7052"),
        ("oxycodone", "7804"),
        ("methadone", "6813"),
        ("tramadol", "10689"),
        ("fentanyl", "4337"),
    } <= {(i.name, i.rxcui) for i in opioid_ingredients()}
    assert "naltrexone" not in names


def test_liquid_reference_cases() -> None:
    plain = liquid_ldn(50, 50, 4.5)
    assert (plain.concentration_mg_per_ml, plain.volume_ml, plain.delivered_mg) == (1.0, 4.5, 4.5)
    # 50 mg in 45 ml = 1.1111 mg/ml; 1.5 mg needs 1.35 ml -> 1.4 ml (half up) -> 1.5556 mg
    rounded = liquid_ldn(50, 45, 1.5)
    assert rounded.volume_ml == 1.4
    assert rounded.delivered_mg == pytest.approx(1.5556)
    assert rounded.error_mg == pytest.approx(0.0556)
    assert liquid_ldn(50, 45, 1.5, syringe_step_ml=0.5).volume_ml == 1.5


@pytest.mark.parametrize(
    ("tablet", "water", "dose", "step", "match"),
    [
        (0, 50, 4.5, 0.1, "tablet_mg must be positive"),
        (50, -1, 4.5, 0.1, "water_ml must be positive"),
        (50, 50, 0, 0.1, "dose_mg must be positive"),
        (50, 50, 4.5, 0, "syringe_step_ml must be positive"),
        (4.5, 10, 5, 0.1, "more than the whole tablet"),
        (50, 50, 0.01, 0.1, "less than half"),
    ],
)
def test_liquid_refuses_impossible_input(
    tablet: float, water: float, dose: float, step: float, match: str
) -> None:
    with pytest.raises(ValidationFailed, match=match):
        liquid_ldn(tablet, water, dose, step)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(
    tablet=st.sampled_from([4.5, 25, 50]),
    water=st.integers(10, 200),
    fraction=st.floats(0.05, 1.0),
    step=st.sampled_from([0.01, 0.05, 0.1, 0.2]),
)
def test_delivered_dose_within_half_a_step(
    tablet: float, water: int, fraction: float, step: float
) -> None:
    dose = round(tablet * fraction, 2)
    concentration = tablet / water
    if dose <= 0 or dose / concentration < step / 2:
        return
    result = liquid_ldn(tablet, water, dose, step)
    assert result.volume_ml <= water
    assert abs(result.delivered_mg - dose) <= concentration * step / 2 + 1e-3


def test_naltrexone_has_one_rxcui_with_its_source_in_code_and_data() -> None:
    """``domain.codes`` and the opioid table once disagreed on whether 7243 was verified:
    both now give the same code, each with the source it was checked against."""
    import inspect
    import json
    from importlib import resources

    from ldn_outcomes.domain import codes

    data = json.loads(
        resources.files("ldn_outcomes.domain.definitions")
        .joinpath("data/opioid_ingredients.json")
        .read_text("utf-8")
    )
    [entry] = [e for e in data["not_included"] if e["name"] == "naltrexone"]
    assert entry["rxcui"] == codes.NALTREXONE_RXCUI == "7243"
    assert "cpic-data" in entry["source"]["url"] and "could not be verified" not in entry["reason"]
    assert "cpic-data" in inspect.getsource(codes)
