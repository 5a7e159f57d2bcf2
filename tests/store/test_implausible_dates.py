"""A date outside the plausible range that is already in the database (from before the rule,
or a manual change) leaves its row out of every analysis read, counted, instead of breaking
the read: pandas cannot even hold a year like 1600."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert

from ldn_outcomes.store.frames import read_frame
from ldn_outcomes.store.questionnaire_read import read_items, read_scores
from ldn_outcomes.store.sqlread import LEFT_OUT
from ldn_outcomes.store.tables import PatientRow, QuestionnaireRow, RelapseRow


def _seed(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(PatientRow),
            [{"patient_id": "P1", "year_of_birth": 1980, "sex": "female", "phenotype": "RRMS"}],
        )
        connection.execute(
            insert(RelapseRow),
            [
                {
                    "patient_id": "P1",
                    "onset_date": day,
                    "confirmed_by": "patient",
                    "functional_systems": [],
                }
                for day in (dt.date(1600, 1, 1), dt.date(2020, 5, 1), dt.date(9999, 12, 31))
            ],
        )
        connection.execute(
            insert(QuestionnaireRow),
            [
                {
                    "patient_id": "P1",
                    "instrument_id": "checkin",
                    "instrument_version": "1",
                    "date": day,
                    "answers": [3, None, None, None, None],
                    "total": None,
                }
                for day in (dt.date(1600, 1, 1), dt.date(2021, 1, 1))
            ],
        )


def test_full_read_leaves_out_implausible_dates(engine: Engine) -> None:
    _seed(engine)
    frame = read_frame(engine, "relapses")
    assert list(frame["onset_date"].dt.year) == [2020]
    assert frame.attrs[LEFT_OUT] == 2


def test_typed_read_leaves_out_implausible_dates(engine: Engine) -> None:
    _seed(engine)
    frame = read_frame(engine, "relapses", columns=["patient_id", "onset_date"])
    assert list(frame["onset_date"].dt.year) == [2020]
    assert frame.attrs[LEFT_OUT] == 2
    assert list(frame["patient_id"]) == ["P1"]


def test_questionnaire_reads_leave_out_implausible_dates(engine: Engine) -> None:
    _seed(engine)
    scores = read_scores(engine, ["checkin"])
    assert list(scores["date"].dt.year) == [2021] and scores.attrs[LEFT_OUT] == 1
    items = read_items(engine, "checkin", [0])
    assert list(items["date"].dt.year) == [2021] and list(items["item_0"]) == [3.0]
