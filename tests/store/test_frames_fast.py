"""The typed, column-selective read returns the same values as the full ``read_frame``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select, update

from ldn_outcomes.analysis import AnalysisPlan
from ldn_outcomes.analysis.data.frames import (
    CHECKIN_COLUMNS,
    CHECKIN_ITEMS,
    KINDS,
    load_frames,
    prepare,
)
from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry
from ldn_outcomes.store import sqlread
from ldn_outcomes.store.convert import table_of
from ldn_outcomes.store.frames import REMOVAL_COLUMNS, read_frame, read_frames
from ldn_outcomes.store.questionnaire_read import read_items, read_scores
from ldn_outcomes.store.tables import DoseLogRow, LabRow, QuestionnaireRow

STORED_KINDS = (
    "patients",
    "exposures",
    "dose_logs",
    "questionnaires",
    "relapses",
    "edss",
    "adverse_events",
    "labs",
    "consents",
)


@pytest.fixture(scope="module")
def registry():
    return simulate_registry(SimulationParams(patients=300, years=4, seed=5))


@pytest.fixture
def loaded(engine, registry):
    load_into_db(registry, engine)
    patient = registry.frames["patients"]["patient_id"].iat[0]
    with engine.begin() as connection:  # the simulator writes no labs or dose logs
        connection.execute(
            insert(LabRow),
            [
                {
                    "patient_id": patient,
                    "date": dt.date(2020, 1, 5),
                    "loinc_code": "1989-3",
                    "name": "Vitamin D",
                    "value": 31.5,
                    "unit": "ng/mL",
                },
                {
                    "patient_id": patient,
                    "date": dt.date(2021, 2, 6),
                    "loinc_code": "1742-6",
                    "name": None,
                    "value": 22.0,
                    "unit": "U/L",
                },
            ],
        )
        connection.execute(
            insert(DoseLogRow),
            [
                {
                    "patient_id": patient,
                    "date": dt.date(2020, 1, 5),
                    "taken": True,
                    "clock_time": dt.time(21, 30),
                },
                {
                    "patient_id": patient,
                    "date": dt.date(2020, 1, 6),
                    "taken": False,
                    "clock_time": None,
                },
            ],
        )
        # a few scores stored without their total: the read must hand back their answers
        for instrument in ("mfis", "fss"):
            connection.execute(
                update(QuestionnaireRow)
                .where(
                    QuestionnaireRow.id.in_(
                        select(QuestionnaireRow.id)
                        .where(QuestionnaireRow.instrument_id == instrument)
                        .order_by(QuestionnaireRow.id)
                        .limit(4)
                    )
                )
                .values(total=None)
            )
        checkins = (
            connection.execute(
                select(QuestionnaireRow.id)
                .where(QuestionnaireRow.instrument_id == "checkin")
                .order_by(QuestionnaireRow.id)
                .limit(2)
            )
            .scalars()
            .all()
        )
        for row, answers in zip(checkins, ([5, None, 3, 0, None], [7]), strict=True):
            connection.execute(
                update(QuestionnaireRow).where(QuestionnaireRow.id == row).values(answers=answers)
            )  # item 2 blank, then absent
    return engine


def _plain(series: pd.Series) -> list:
    """Values as Python objects with one spelling of "missing", for exact comparison."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    return [
        None if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT) else v
        for v in series.tolist()
    ]


@pytest.mark.parametrize("kind", STORED_KINDS)
def test_every_column_reads_as_the_full_read(loaded, kind):
    columns = [
        c.name
        for c in table_of(kind).__table__.columns
        if c.name not in ("clock_time", *REMOVAL_COLUMNS)  # removed rows are never read
    ]
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
    edss = read_frame(
        loaded, "edss", columns=["patient_id", "date", "score"], categories={"patient_id": ids}
    )
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
        monkeypatch.setattr(sqlread, "IDS_PER_QUERY", 3)
        monkeypatch.setattr(sqlread, "BATCH_ROWS", 50)
    ids = read_frame(loaded, "patients")["patient_id"].tolist()[::7]
    old = read_frame(loaded, "relapses", ids)
    new = read_frame(loaded, "relapses", ids, columns=["patient_id", "onset_date", "lasted_24h"])
    assert len(new) == len(old) > 0
    for column in ("patient_id", "onset_date", "lasted_24h"):
        assert _plain(new[column]) == _plain(old[column]), column
    assert read_frame(loaded, "relapses", [], columns=["patient_id"]).empty


def _by_patient(frame: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """Rows in patient order (the patients' key order), key order kept within a patient."""
    rank = pd.Series(range(len(ids)), index=ids)
    order = np.argsort(rank.reindex(frame["patient_id"].astype(object)).to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


@pytest.mark.parametrize("many", [False, True])
def test_patient_order_read_is_the_key_order_read_sorted_by_patient(loaded, monkeypatch, many):
    if many:  # more ids than one query binds, several batches
        monkeypatch.setattr(sqlread, "IDS_PER_QUERY", 3)
        monkeypatch.setattr(sqlread, "BATCH_ROWS", 50)
    ids = read_frame(loaded, "patients")["patient_id"].tolist()
    columns = ["patient_id", "date", "score", "functional_systems"]
    old = _by_patient(read_frame(loaded, "edss", columns=columns), ids)
    new = read_frame(
        loaded, "edss", columns=columns, categories={"patient_id": ids}, by_patient=True
    )
    assert len(new) == len(old) > 0 and list(new["patient_id"].cat.categories) == ids
    for column in columns:
        assert _plain(new[column]) == _plain(old[column]), column
    some = ids[::7]
    new = read_frame(
        loaded, "relapses", some, columns=["patient_id", "onset_date"], by_patient=True
    )
    old = _by_patient(read_frame(loaded, "relapses", some), ids)
    assert len(new) == len(old) > 0
    for column in ("patient_id", "onset_date"):
        assert _plain(new[column]) == _plain(old[column]), column
    only = read_frame(loaded, "edss", columns=["patient_id"], by_patient=True)
    assert _plain(only["patient_id"]) == _plain(
        _by_patient(read_frame(loaded, "edss"), ids)["patient_id"]
    )


def test_scores_match_the_full_read(loaded, monkeypatch):
    monkeypatch.setattr(sqlread, "BATCH_ROWS", 1000)  # several batches
    ids = read_frame(loaded, "patients")["patient_id"].tolist()
    instruments = ["mfis", "fss", "nrs-fatigue"]
    old = read_frame(loaded, "questionnaires")
    old = old[old["instrument_id"].isin(instruments)]
    # by patient, then instrument, then key
    old = _by_patient(old.sort_values("instrument_id", kind="stable"), ids)
    new = read_scores(loaded, instruments, ids)
    assert len(new) == len(old) > 1000 and list(new["patient_id"].cat.categories) == ids
    assert list(new["instrument_id"].cat.categories) == sorted(instruments)
    for column in ("patient_id", "instrument_id", "date", "total"):
        assert _plain(new[column]) == _plain(old[column]), column
    answers = [
        a if t is None else None for a, t in zip(old["answers"], _plain(old["total"]), strict=True)
    ]
    assert new["answers"].tolist() == answers
    assert sum(a is not None for a in answers) == 8  # the scores stored without a total
    assert read_scores(loaded, [], ids).empty


def test_items_match_the_parsed_answers(loaded, monkeypatch):
    monkeypatch.setattr(sqlread, "BATCH_ROWS", 1000)
    ids = read_frame(loaded, "patients")["patient_id"].tolist()
    old = read_frame(loaded, "questionnaires")
    old = _by_patient(old[old["instrument_id"] == "checkin"], ids)
    new = read_items(loaded, "checkin", [1, 0], ids)
    assert list(new.columns) == ["patient_id", "date", "item_0", "item_1"]
    assert len(new) == len(old) > 1000
    for column in ("patient_id", "date"):
        assert _plain(new[column]) == _plain(old[column]), column
    for position in (0, 1):
        expected = [a[position] if len(a) > position else None for a in old["answers"]]
        assert _plain(new[f"item_{position}"]) == expected, position
    assert any(v is None for v in _plain(new["item_1"]))  # blanks stay blank
    none = read_items(loaded, "no-such-instrument", [0], ids)
    assert none.empty and "item_0" in none


def _compact_questionnaires(frame: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """The planned instruments' rows (answers only where the total is missing) and the daily
    check-ins' rating items as columns: the analysis read before it moved into the database."""
    columns = ["patient_id", "instrument_id", "date", "total", "answers", *CHECKIN_COLUMNS]
    wanted = set(plan.symptom_instruments) | {plan.fatigue_instrument}
    ids = frame["instrument_id"].astype(str)
    scored = frame[ids.isin(wanted).to_numpy()].copy()
    scored.loc[scored["total"].notna(), "answers"] = None
    checkins = frame[(ids == "checkin").to_numpy()]
    answers = checkins["answers"].tolist()
    items = {
        f"item_{p}": np.array(
            [
                a[p] if a is not None and len(a) > p and a[p] is not None else np.nan
                for a in answers
            ],
            dtype=float,
        )
        for p in CHECKIN_ITEMS
    }
    compact = pd.DataFrame(
        {
            "patient_id": checkins["patient_id"].to_numpy(),
            "instrument_id": "checkin",
            "date": checkins["date"].to_numpy(),
            "total": np.nan,
            "answers": None,
            **items,
        }
    )
    return pd.concat(
        [scored.reindex(columns=columns), compact.reindex(columns=columns)], ignore_index=True
    )


def _old_load(engine, plan):
    """The analysis read before the typed path: every column, answers parsed per row."""
    frames = read_frames(engine, [k for k in KINDS if k != "questionnaires"])
    frames["questionnaires"] = _compact_questionnaires(read_frame(engine, "questionnaires"), plan)
    return frames


def test_analysis_tables_are_unchanged(loaded):
    plan = AnalysisPlan()
    new = prepare(load_frames(loaded, plan=plan), plan)
    old = prepare(_old_load(loaded, plan), plan)
    assert not new.symptoms.empty and not new.edss.empty and new.patients["ever_ldn"].any()
    assert set(new.symptoms["instrument"]) >= {"mfis", *CHECKIN_ITEMS.values()}
    for name in (
        "patients",
        "edss",
        "relapses",
        "symptoms",
        "adverse_events",
        "labs",
        "exposures",
        "relapse_reports",
    ):
        pd.testing.assert_frame_equal(
            getattr(new, name), getattr(old, name), check_dtype=False, obj=name
        )
    assert new.cutoff_day == old.cutoff_day
