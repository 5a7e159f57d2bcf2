"""The column-wise rules of the bulk load (``store.frame_rules``) agree with the domain's
single-record rules (``domain.models``): both accept a simulated registry, and each bad value
that one refuses, the other refuses too, naming the same field; and the rules about a
patient's exposures together refuse what the record-by-record path refuses, in the same
words."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, text

from ldn_outcomes.domain.definitions.dose_safety import check_new_interactions
from ldn_outcomes.domain.definitions.regimen import check_one_ongoing_ldn
from ldn_outcomes.domain.models import RECORD_TYPES, Exposure
from ldn_outcomes.errors import InteractionError, ValidationFailed
from ldn_outcomes.simulate import SimulationParams, simulate_registry
from ldn_outcomes.store.bulk import write_frames
from ldn_outcomes.store.frame_rules import check_frames, exposure_rule_problems
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


# The rules about a patient's exposures together, as the record-by-record path applies them
# (``Registry.check_interactions``: the domain's opioid interaction and one ongoing LDN regimen).


def _ongoing_ldn_row(frames: dict[str, pd.DataFrame]) -> pd.Series:
    exposures = frames["exposures"]
    ongoing = exposures[(exposures["drug_class"] == "ldn") & exposures["stop_date"].isna()]
    assert not ongoing.empty
    return ongoing.iloc[0]


def _with(frames: dict[str, pd.DataFrame], *rows: dict[str, Any]) -> dict[str, pd.DataFrame]:
    changed = dict(frames)
    exposures = frames["exposures"].reset_index(drop=True)
    added = pd.DataFrame(list(rows), columns=exposures.columns)
    changed["exposures"] = exposures.reindex(range(len(exposures) + len(added)))
    for column in exposures.columns:
        changed["exposures"].loc[len(exposures) :, column] = added[column].to_numpy()
    return changed


def _problems(frames: dict[str, pd.DataFrame]) -> list[Any]:
    try:
        check_frames(frames, today=TODAY)
    except ValidationFailed as failed:
        return list(failed.problems)
    return []


def _records(frame: pd.DataFrame, patient_id: str) -> list[Exposure]:
    rows = frame[frame["patient_id"] == patient_id]
    return [
        Exposure.model_validate(
            {k: _plain(v) for k, v in row.items() if k != "id" and _plain(v) is not None},
            context={"today": TODAY},
        )
        for _, row in rows.iterrows()
    ]


def test_an_opioid_overlapping_naltrexone_is_refused_as_the_record_path_refuses_it(
    frames: dict[str, pd.DataFrame],
) -> None:
    ldn = _ongoing_ldn_row(frames)
    opioid = {
        "patient_id": ldn["patient_id"],
        "drug_name": "oxycodone",
        "rxnorm_cui": None,
        "drug_class": "other",
        "dose_mg": 5.0,
        "start_date": ldn["start_date"] + pd.Timedelta(days=3),
        "stop_date": ldn["start_date"] + pd.Timedelta(days=10),
    }
    changed = _with(frames, opioid)
    problems = _problems(changed)
    assert len(problems) == 1
    found = problems[0]
    assert (found.record, found.field, found.value) == ("exposure", "drug_name", "oxycodone")
    assert found.row == len(frames["exposures"]) + 1  # the opioid's row, counted from 1
    with pytest.raises(InteractionError) as record_path:
        check_new_interactions([], _records(changed["exposures"], ldn["patient_id"]))
    assert [p.rule for p in record_path.value.problems] == [found.rule]
    assert "oxycodone" in found.rule and "contraindicated" in found.rule
    # by its RxCUI alone (codeine, 2670), whatever the name says
    coded = _with(frames, {**opioid, "drug_name": "Tylenol #3", "rxnorm_cui": "2670"})
    assert [p.value for p in _problems(coded)] == ["Tylenol #3"]


def test_an_opioid_before_naltrexone_started_is_accepted(frames: dict[str, pd.DataFrame]) -> None:
    ldn = _ongoing_ldn_row(frames)
    exposures = frames["exposures"]
    first = exposures.loc[
        (exposures["patient_id"] == ldn["patient_id"]) & (exposures["drug_name"] == "naltrexone"),
        "start_date",
    ].min()  # the first dose step of the titration
    earlier = {
        "patient_id": ldn["patient_id"],
        "drug_name": "tramadol",
        "drug_class": "other",
        "start_date": first - pd.Timedelta(days=60),
        "stop_date": first - pd.Timedelta(days=1),
    }
    assert _problems(_with(frames, earlier)) == []
    same_day = {**earlier, "stop_date": first}  # the last day taken overlaps
    assert [p.value for p in _problems(_with(frames, same_day))] == ["tramadol"]


def test_a_second_ongoing_ldn_regimen_is_refused_as_the_record_path_refuses_it(
    frames: dict[str, pd.DataFrame],
) -> None:
    ldn = _ongoing_ldn_row(frames)
    second = {**ldn.to_dict(), "dose_mg": 3.0, "start_date": ldn["start_date"] + pd.Timedelta(1)}
    second.pop("id", None)
    changed = _with(frames, second)
    problems = _problems(changed)
    assert len(problems) == 1
    found = problems[0]
    assert (found.record, found.field) == ("exposure", "stop_date")
    assert found.row == len(frames["exposures"]) + 1
    with pytest.raises(ValidationFailed) as record_path:
        check_one_ongoing_ldn([], _records(changed["exposures"], ldn["patient_id"]))
    assert [p.rule for p in record_path.value.problems] == [found.rule]
    # a stopped one is a past regimen, and full-dose naltrexone is not LDN
    assert _problems(_with(frames, {**second, "stop_date": second["start_date"]})) == []
    assert _problems(_with(frames, {**second, "dose_mg": 50.0})) == []


def test_a_bulk_write_with_an_interaction_writes_nothing(
    frames: dict[str, pd.DataFrame], engine: Engine
) -> None:
    ldn = _ongoing_ldn_row(frames)
    changed = _with(
        frames,
        {
            "patient_id": ldn["patient_id"],
            "drug_name": "morphine",
            "drug_class": "other",
            "start_date": ldn["start_date"],
            "stop_date": pd.NaT,
        },
    )
    with pytest.raises(ValidationFailed, match="morphine"):
        write_frames(engine, changed, actor="test", source="test")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM patients")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM exposures")).scalar() == 0


def _exposures(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {"dose_mg": None, "rxnorm_cui": None, "stop_date": None}
    return pd.DataFrame([{**base, **row} for row in rows])


LDN_45 = {"patient_id": "p1", "drug_name": "naltrexone", "dose_mg": 4.5, "start_date": "2024-01-01"}


def test_the_column_wise_filter_reads_cells_as_the_records_do() -> None:
    """An unreadable stop date is no stop in both; an RxCUI stored as a number is the code;
    an unreadable or infinite dose is no low dose; none of it raises."""
    unreadable_stop = _exposures(
        {**LDN_45, "stop_date": ""},
        {**LDN_45, "dose_mg": 3.0, "start_date": "2024-03-01"},
        {**LDN_45, "drug_name": "oxycodone", "start_date": "2023-01-01", "stop_date": "2023-02-01"},
    )
    assert [(p.field, p.row) for p in exposure_rule_problems(unreadable_stop)] == [("stop_date", 2)]
    numeric_code = _exposures(LDN_45, {**LDN_45, "drug_name": "Tylenol #3", "rxnorm_cui": 2670})
    numeric_code["rxnorm_cui"] = numeric_code["rxnorm_cui"].astype("Int64")
    assert [p.value for p in exposure_rule_problems(numeric_code)] == ["Tylenol #3"]
    as_float = numeric_code.assign(rxnorm_cui=[np.nan, 2670.0])
    assert [p.value for p in exposure_rule_problems(as_float)] == ["Tylenol #3"]
    doses = _exposures(
        LDN_45,
        {**LDN_45, "dose_mg": float("inf"), "start_date": "2024-02-01"},
        {**LDN_45, "dose_mg": "abc", "start_date": "2024-03-01"},
    )
    # the infinite dose is not low; the unreadable one is read as no dose (LDN by name)
    assert [(p.field, p.row) for p in exposure_rule_problems(doses)] == [("stop_date", 3)]


def test_each_overlap_and_the_last_ongoing_regimen_are_named_once() -> None:
    opioid = {**LDN_45, "drug_name": "morphine", "start_date": "2024-02-01"}
    twice = _exposures(LDN_45, opioid, opioid)
    assert [(p.value, p.row) for p in exposure_rule_problems(twice)] == [("morphine", 2)]
    three = _exposures(
        LDN_45,
        {**LDN_45, "start_date": "2024-02-01"},
        {**LDN_45, "start_date": "2024-03-01"},
    )
    assert [(p.field, p.row) for p in exposure_rule_problems(three)] == [("stop_date", 3)]


def test_problems_of_many_patients_are_cut_with_a_count_of_the_rest() -> None:
    rows = [
        {**LDN_45, "patient_id": f"p{i:02d}", "drug_name": drug}
        for i in range(25)
        for drug in ("naltrexone", "fentanyl")
    ]
    problems = exposure_rule_problems(_exposures(*rows))
    assert len(problems) == 21
    assert problems[-1].row is None and "5 more patients" in problems[-1].rule
