"""Read queries that return pandas frames, one per record kind, for the analysis layer.

Removed records are left out (``store.live``). Dates come back as ``datetime64[ns]``; JSON
columns (answers, functional systems) as Python objects. Only what is asked for is read, in
primary-key order, so reads are repeatable.

Two paths:

* ``read_frame(engine, kind)`` / ``read_frames``: every column, through ``pandas.read_sql``
  (what the web pages, de-identification and tests use).
* ``read_frame(engine, kind, columns=[...])``: the typed, column-selective path for
  whole-registry analyses (``typed_read``), with ``store.questionnaire_read`` for the
  questionnaire table, whose answer lists it never builds. On 100,000 simulated patients these
  read in seconds what took two minutes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from ..domain.dates import EARLIEST_DATE, latest_planned
from ..domain.models import RECORD_TYPES
from .convert import key_column, table_of
from .live import live_only
from .sqlread import ReadFrom, json_value, note_left_out, snapshot_connection
from .typed_read import read_typed

#: Bookkeeping of removal: removed rows are never read, so these columns never appear.
REMOVAL_COLUMNS = ("removed_at", "removed_reason")
DATE_COLUMNS = {
    "patients": ("first_symptoms_date", "diagnosis_date"),
    "exposures": ("start_date", "stop_date"),
    "dose_logs": ("date",),
    "questionnaires": ("date",),
    "relapses": ("onset_date", "recovery_date"),
    "edss": ("date",),
    "adverse_events": ("onset_date",),
    "labs": ("date",),
    "consents": ("given_date", "withdrawn_date"),
}
JSON_COLUMNS = {
    "questionnaires": ("answers",),
    "relapses": ("functional_systems",),
    "edss": ("functional_systems",),
}


def read_frame(
    engine: ReadFrom,
    kind: str,
    patient_ids: Iterable[str] | None = None,
    columns: Sequence[str] | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
    by_patient: bool = False,
) -> pd.DataFrame:
    """One kind's rows in key order; ``columns`` selects the fast typed path (see module doc).

    ``categories`` fixes the category list of a categorical column (e.g. ``patient_id`` → the
    ids of the patients frame), so frames read separately share one coding. ``by_patient``
    (typed path only) orders the rows by patient, then key, and spares sending the patient of
    every row. ``engine`` may be the connection of an open ``streams.export_snapshot``: the
    read then sees that snapshot's instant."""
    if columns is not None:
        return read_typed(engine, kind, columns, patient_ids, categories or {}, by_patient)
    table = table_of(kind)
    columns_read = [c for c in table.__table__.columns if c.name not in REMOVAL_COLUMNS]
    query = live_only(select(*columns_read), table).order_by(getattr(table, key_column(kind)))
    if patient_ids is not None:
        query = query.where(table.__table__.c.patient_id.in_(list(patient_ids)))
    with snapshot_connection(engine) as connection:
        frame = pd.read_sql_query(query, connection)
    frame = plausible_only(frame, DATE_COLUMNS.get(kind, ()))
    for column in DATE_COLUMNS.get(kind, ()):
        frame[column] = pd.to_datetime(frame[column])
    for column in JSON_COLUMNS.get(kind, ()):
        frame[column] = [json_value(v) for v in frame[column]]
    if "dose_mg" in frame:
        frame["dose_mg"] = pd.to_numeric(frame["dose_mg"]).astype(float)
    return frame


def plausible_only(frame: pd.DataFrame, date_columns: Sequence[str]) -> pd.DataFrame:
    """Leave out rows with a date outside the plausible range (see ``sqlread.note_left_out``).

    Compared as ISO text, before pandas (whose timestamps cannot hold a year like 1600)."""
    low, high = EARLIEST_DATE.isoformat(), latest_planned(dt.date.today()).isoformat()
    bad = np.zeros(len(frame), dtype=bool)
    for column in date_columns:
        values = frame[column]
        text = values.astype(str).str[:10]
        bad |= (values.notna() & ((text < low) | (text > high))).to_numpy(dtype=bool)
    if bad.any():
        frame = frame[~bad].reset_index(drop=True)
    note_left_out(frame, int(bad.sum()))
    return frame


def read_frames(engine: Engine, kinds: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    return {kind: read_frame(engine, kind) for kind in (kinds or RECORD_TYPES)}
