"""One rule for "is this exposure LDN?": naltrexone at a low daily dose, whatever class.

Low-dose range 1-5 mg/day, very low dose below 1 mg, addiction dosing >= 50 mg/day: Toljan &
Vrooman, Med Sci (Basel) 2018;6(4):82, doi 10.3390/medsci6040082.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ldn_outcomes.domain.codes import DrugClass
from ldn_outcomes.domain.definitions.exposure import (
    LOW_DOSE_RANGE_MG,
    courses,
    exposure_class,
    is_ldn,
    is_ldn_drug,
)
from ldn_outcomes.domain.models import Exposure


def exposure(name: str, dose: str | None, drug_class: DrugClass = DrugClass.OTHER) -> Exposure:
    return Exposure(
        patient_id="P1",
        drug_name=name,
        drug_class=drug_class,
        dose_mg=None if dose is None else Decimal(dose),
        start_date=date(2022, 1, 1),
    )


def test_low_dose_range_is_the_cited_one() -> None:
    assert LOW_DOSE_RANGE_MG == (1.0, 5.0)


@pytest.mark.parametrize(
    ("name", "dose", "drug_class", "expected"),
    [
        ("naltrexone", "4.5", DrugClass.OTHER, True),  # the default class: still LDN
        ("Naltrexone HCl (compounded)", "1.5", DrugClass.SUPPLEMENT, True),
        ("LDN", "3", DrugClass.LDN, True),
        ("naltrexone", "5", DrugClass.LDN, True),
        ("naltrexone", "0.5", DrugClass.LDN, True),  # very low dose: low, flagged elsewhere
        ("naltrexone", None, DrugClass.OTHER, True),  # undosed naltrexone in an LDN registry
        ("naltrexone", "50", DrugClass.LDN, False),  # addiction dosing is not LDN
        ("naltrexone", "5.5", DrugClass.LDN, False),
        ("vitamin D3", "0.025", DrugClass.LDN, False),  # the class alone does not make LDN
    ],
)
def test_is_ldn(name: str, dose: str | None, drug_class: DrugClass, expected: bool) -> None:
    assert is_ldn(exposure(name, dose, drug_class)) is expected
    assert is_ldn_drug(name, None if dose is None else float(dose)) is expected


def test_naltrexone_is_found_by_name_only() -> None:
    # naltrexone's RxNorm code could not be verified here, so a code alone does not decide
    assert not is_ldn_drug("Revia", 4.5)
    assert is_ldn_drug(" ldn ", 4.5)


def test_analysis_class_follows_the_rule() -> None:
    assert exposure_class("naltrexone", "other", 4.5) == "ldn"
    assert exposure_class("naltrexone", "ldn", 50.0) == "other"
    assert exposure_class("vitamin D3", "ldn", None) == "other"
    assert exposure_class("vitamin D3", "supplement", None) == "supplement"


def test_courses_default_to_the_rule() -> None:
    assert courses([exposure("naltrexone", "4.5")]) == [(date(2022, 1, 1), None)]
    assert courses([exposure("naltrexone", "50", DrugClass.LDN)]) == []
