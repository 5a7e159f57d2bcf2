"""The column-wise rules of the bulk load (``store.frame_rules``) agree with the domain's
single-record rules (``domain.models``): both accept a simulated registry, and each bad value
that one refuses, the other refuses too, naming the same field."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from ldn_outcomes.domain.models import RECORD_TYPES
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.simulate import SimulationParams, simulate_registry
from ldn_outcomes.store.frame_rules import check_frames
from ldn_outcomes.store.frames import JSON_COLUMNS

TODAY = dt.date(2026, 1, 15)
FUTURE = pd.Timestamp(TODAY + dt.timedelta(days=30))


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    params = SimulationParams(patients=60, years=2, seed=11, end_date=TODAY)
    return simulate_registry(params).db_frames()


def _plain(value: Any) -> Any:
    """A frame cell as a record field: no NaN/NaT, dates as dates, numpy scalars unwrapped."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.generic):
        return value.item()
    return value


def domain_problem(kind: str, row: pd.Series) -> str | None:
    """The domain's objection to one row as a record (None if it is a valid record)."""
    data = {name: _plain(value) for name, value in row.items()}
    for name in JSON_COLUMNS.get(kind, ()):  # the bulk load sends these as JSON text
        data[name] = json.loads(data[name]) if data[name] is not None else None
    try:
        RECORD_TYPES[kind].model_validate(data, context={"today": TODAY})
    except ValidationError as error:
        return str(error)
    return None


def frame_problems(frames: dict[str, pd.DataFrame]) -> list[tuple[str, str]]:
    try:
        check_frames(frames, today=TODAY)
    except ValidationFailed as failed:
        return [(p.record, p.field) for p in failed.problems]
    return []


def test_both_accept_a_simulated_registry(frames: dict[str, pd.DataFrame]) -> None:
    assert frame_problems(frames) == []
    for kind, frame in frames.items():
        for _, row in frame.iterrows():
            assert domain_problem(kind, row) is None, (kind, row.to_dict())


# (kind, field, bad value): every rule that frame_rules checks column-wise.
MUTATIONS = [
    ("patients", "first_symptoms_date", FUTURE),
    ("patients", "diagnosis_date", FUTURE),
    ("exposures", "start_date", FUTURE),
    ("exposures", "stop_date", pd.Timestamp("1990-01-01")),  # before its start
    ("exposures", "dose_mg", 0.0),
    ("exposures", "dose_mg", -4.5),
    ("questionnaires", "date", FUTURE),
    ("relapses", "onset_date", FUTURE),
    ("relapses", "recovery_date", pd.Timestamp("1990-01-01")),  # before its onset
    ("edss", "date", FUTURE),
    ("edss", "score", 0.5),
    ("edss", "score", 3.25),
    ("edss", "score", 10.5),
    ("consents", "given_date", FUTURE),
]


@pytest.mark.parametrize(("kind", "field", "bad"), MUTATIONS)
def test_a_bad_value_is_refused_by_both_naming_the_field(
    frames: dict[str, pd.DataFrame], kind: str, field: str, bad: Any
) -> None:
    changed = {name: frame.copy() for name, frame in frames.items()}
    frame = changed[kind]
    assert not frame.empty, kind
    if field == "stop_date":  # an ongoing exposure cannot stop before it starts
        frame.loc[frame.index[0], "start_date"] = pd.Timestamp("2000-01-01")
    if field == "recovery_date":
        frame.loc[frame.index[0], "onset_date"] = pd.Timestamp("2000-01-01")
    if field == "dose_mg":  # a dose in mg, as for LDN
        frame.loc[frame.index[0], "drug_class"] = "ldn"
    frame[field] = frame[field].astype(object)
    frame.loc[frame.index[0], field] = bad
    name = RECORD_TYPES[kind].record_name
    assert (name, field) in frame_problems(changed)
    objection = domain_problem(kind, frame.iloc[0])
    assert objection is not None and field in objection
