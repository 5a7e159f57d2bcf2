"""The typed, column-selective read returns the same values as the full ``read_frame``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select, update

from ldn_outcomes.analysis import AnalysisPlan
from ldn_outcomes.analysis.frames import (
    CHECKIN_ITEMS,
    KINDS,
    compact_questionnaires,
    load_frames,
    prepare,
)
from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry
from ldn_outcomes.store import frames as store_frames
from ldn_outcomes.store.convert import table_of
from ldn_outcomes.store.frames import read_frame, read_frames, read_questionnaire_scores
from ldn_outcomes.store.tables import DoseLogRow, LabRow, QuestionnaireRow

STORED_KINDS = ("patients", "exposures", "dose_logs", "questionnaires", "relapses", "edss",
                "adverse_events", "labs", "consents")


@pytest.fixture(scope="module")
def registry():
    return simulate_registry(SimulationParams(patients=300, years=4, seed=5))


@pytest.fixture
def loaded(engine, registry):
    load_into_db(registry, engine)
    patient = registry.frames["patients"]["patient_id"].iat[0]
    with engine.begin() as connection:  # the simulator writes no labs or dose logs
        connection.execute(insert(LabRow), [
            {"patient_id": patient, "date": dt.date(2020, 1, 5), "loinc_code": "1989-3",
             "name": "Vitamin D", "value": 31.5, "unit": "ng/mL"},
            {"patient_id": patient, "date": dt.date(2021, 2, 6), "loinc_code": "1742-6",
             "name": None, "value": 22.0, "unit": "U/L"}])
        connection.execute(insert(DoseLogRow), [
            {"patient_id": patient, "date": dt.date(2020, 1, 5), "taken": True,
             "clock_time": dt.time(21, 30)},
            {"patient_id": patient, "date": dt.date(2020, 1, 6), "taken": False,
             "clock_time": None}])
        # a few scores stored without their total: the read must hand back their answers
        for instrument in ("mfis", "fss"):
            connection.execute(
                update(QuestionnaireRow).where(QuestionnaireRow.id.in_(
                    select(QuestionnaireRow.id)
                    .where(QuestionnaireRow.instrument_id == instrument)
                    .order_by(QuestionnaireRow.id).limit(4)))
                .values(total=None))
    return engine


def _plain(series: pd.Series) -> list:
    """Values as Python objects with one spelling of "missing", for exact comparison."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    return [None if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT)
            else v for v in series.tolist()]


@pytest.mark.parametrize("kind", STORED_KINDS)
def test_every_column_reads_as_the_full_read(loaded, kind):
    columns = [c.name for c in table_of(kind).__table__.columns if c.name != "clock_time"]
    old = read_frame(loaded, kind)
    new = read_frame(loaded, kind, columns=columns)
    assert list(new.columns) == columns and len(new) == len(old) > 0
    for column in columns:
        if str(old[column].dtype).startswith("datetime64"):
            assert new[column].dtype == np.dtype("datetime64[ns]"), column
        assert _plain(new[column]) == _plain(old[column]), (kind, column)


def test_column_subset_types_and_shared_patient_coding(loaded):
    patients = read_frame(loaded, "patients", columns=["patient_id", "sex", "diagnosis_date"])
    assert patients["patient_id"].dtype == object  # unique key: a categorical saves nothing
    assert isinstance(patients["sex"].dtype, pd.CategoricalDtype)
    ids = patients["patient_id"].tolist()
    edss = read_frame(loaded, "edss", columns=["patient_id", "date", "score"],
                      categories={"patient_id": ids})
    assert list(edss["patient_id"].cat.categories) == ids
    assert edss["score"].dtype == np.float64
    old = read_frame(loaded, "edss")
    assert edss["patient_id"].astype(object).tolist() == old["patient_id"].tolist()
    with pytest.raises(KeyError):
        read_frame(loaded, "edss", columns=["no_such_column"])
    with pytest.raises(ValueError, match="not supported"):
        read_frame(loaded, "dose_logs", columns=["clock_time"])


@pytest.mark.parametrize("many", [False, True])
def test_patient_filter_keeps_key_order(loaded, monkeypatch, many):
    if many:  # more ids than one query binds: filtered while streaming
        monkeypatch.setattr(store_frames, "IDS_PER_QUERY", 3)
        monkeypatch.setattr(store_frames, "BATCH_ROWS", 50)
    ids = read_frame(loaded, "patients")["patient_id"].tolist()[::7]
    old = read_frame(loaded, "relapses", ids)
    new = read_frame(loaded, "relapses", ids, columns=["patient_id", "onset_date", "lasted_24h"])
    assert len(new) == len(old) > 0
    for column in ("patient_id", "onset_date", "lasted_24h"):
        assert _plain(new[column]) == _plain(old[column]), column
    assert read_frame(loaded, "relapses", [], columns=["patient_id"]).empty


def test_questionnaire_scores_match_parsed_answers(loaded, monkeypatch):
    monkeypatch.setattr(store_frames, "BATCH_ROWS", 1000)  # several batches
    old = read_frame(loaded, "questionnaires")
    instruments = ["mfis", "fss", "nrs-fatigue"]
    new = read_questionnaire_scores(loaded, instruments, {"checkin": (0, 1)})
    # the instruments' rows first, then the check-ins, each in key order
    kept = pd.concat([old[old["instrument_id"].isin(instruments)],
                      old[old["instrument_id"] == "checkin"]], ignore_index=True)
    assert len(new) == len(kept) and (kept["instrument_id"] == "checkin").sum() > 1000
    for column in ("patient_id", "instrument_id", "date", "total"):
        assert _plain(new[column]) == _plain(kept[column]), column
    checkin = (kept["instrument_id"] == "checkin").to_numpy()
    for position in (0, 1):
        expected = [a[position] if c and a is not None and len(a) > position
                    and a[position] is not None else None
                    for a, c in zip(kept["answers"], checkin, strict=True)]
        assert _plain(new[f"item_{position}"]) == expected, position
    answers = [a if t is None and i in instruments else None for a, t, i in
               zip(kept["answers"], _plain(kept["total"]), kept["instrument_id"], strict=True)]
    assert new["answers"].tolist() == answers
    assert sum(a is not None for a in answers) == 8  # the scores stored without a total


def test_an_items_instrument_also_scored_keeps_its_totals(loaded):
    old = read_frame(loaded, "questionnaires")
    old = pd.concat([old[old["instrument_id"] == "fss"], old[old["instrument_id"] == "mfis"]],
                    ignore_index=True)
    new = read_questionnaire_scores(loaded, ["fss", "mfis"], {"mfis": (2,)})
    assert _plain(new["total"]) == _plain(old["total"])
    assert _plain(new["instrument_id"]) == old["instrument_id"].tolist()
    mfis = (old["instrument_id"] == "mfis").to_numpy()
    assert _plain(new["item_2"]) == [a[2] if m else None for a, m in
                                     zip(old["answers"], mfis, strict=True)]
    blank = old["total"].isna().to_numpy()
    assert new["answers"][blank].tolist() == old["answers"][blank].tolist()
    assert new["answers"][~blank].isna().all()


def test_questionnaire_scores_on_an_empty_selection(loaded):
    assert read_questionnaire_scores(loaded, [], {}).empty
    none = read_questionnaire_scores(loaded, ["mfis"], {"checkin": (0,)}, patient_ids=[])
    assert none.empty and "item_0" in none


@pytest.mark.parametrize("many", [False, True])
def test_questionnaire_scores_of_some_patients(loaded, monkeypatch, many):
    if many:  # more ids than one query binds: filtered after the read
        monkeypatch.setattr(store_frames, "IDS_PER_QUERY", 3)
    ids = read_frame(loaded, "patients")["patient_id"].tolist()[1::9]
    old = read_frame(loaded, "questionnaires", ids)
    old = pd.concat([old[old["instrument_id"] == "mfis"], old[old["instrument_id"] == "checkin"]],
                    ignore_index=True)
    new = read_questionnaire_scores(loaded, ["mfis"], {"checkin": (1,)}, patient_ids=ids)
    assert len(new) == len(old) > 0
    for column in ("patient_id", "instrument_id", "date", "total"):
        assert _plain(new[column]) == _plain(old[column]), column


def _old_load(engine, plan):
    """The analysis read before the typed path: every column, answers parsed per row."""
    frames = read_frames(engine, [k for k in KINDS if k != "questionnaires"])
    frames["questionnaires"] = compact_questionnaires(read_frame(engine, "questionnaires"), plan)
    return frames


def test_analysis_tables_are_unchanged(loaded):
    plan = AnalysisPlan()
    new = prepare(load_frames(loaded, plan=plan), plan)
    old = prepare(_old_load(loaded, plan), plan)
    assert not new.symptoms.empty and not new.edss.empty and new.patients["ever_ldn"].any()
    assert set(new.symptoms["instrument"]) >= {"mfis", *CHECKIN_ITEMS.values()}
    for name in ("patients", "edss", "relapses", "symptoms", "adverse_events", "labs",
                 "exposures", "relapse_reports"):
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name),
                                      check_dtype=False, obj=name)
    assert new.cutoff_day == old.cutoff_day
