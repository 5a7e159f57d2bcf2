"""The frame version of the LDN rule gives the domain rule's answer on every row."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.domain.definitions.exposure import exposure_class, is_ldn_drug
from ldn_outcomes.store.ldn_rule import exposure_classes, ldn_mask

NAMES = st.sampled_from(["naltrexone", "Naltrexone HCl", "LDN", "ldn ", "vitamin D3", "Revia"])
CLASSES = st.sampled_from(["ldn", "other", "supplement", "dmt"])
DOSES = st.sampled_from([None, 0.5, 1.5, 4.5, 5.0, 5.5, 50.0])


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(NAMES, CLASSES, DOSES), min_size=1, max_size=30))
def test_frame_rule_equals_the_domain_rule(rows) -> None:
    frame = pd.DataFrame(rows, columns=["drug_name", "drug_class", "dose_mg"])
    mask = ldn_mask(frame)
    classes = exposure_classes(frame)
    for i, (name, entered, dose) in enumerate(rows):
        assert mask[i] == is_ldn_drug(name, dose), rows[i]
        assert classes[i] == exposure_class(name, entered, dose), rows[i]


def test_empty_frame_and_a_blank_dose() -> None:
    empty = pd.DataFrame(columns=["drug_name", "drug_class", "dose_mg"])
    assert ldn_mask(empty).size == 0 and exposure_classes(empty).size == 0
    frame = pd.DataFrame({"drug_name": ["naltrexone"], "dose_mg": [np.nan]})
    assert list(ldn_mask(frame)) == [True]
