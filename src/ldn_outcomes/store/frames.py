"""Read queries that return pandas frames, one per record kind, for the analysis layer.

Dates come back as ``datetime64[ns]``; JSON columns (answers, functional systems) as Python
objects. Only what is asked for is read, in primary-key order, so reads are repeatable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Engine, select

from ..domain.models import RECORD_TYPES
from .convert import key_column, table_of

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
JSON_COLUMNS = {"questionnaires": ("answers",), "relapses": ("functional_systems",),
                "edss": ("functional_systems",)}


def read_frame(engine: Engine, kind: str, patient_ids: Iterable[str] | None = None) -> pd.DataFrame:
    table = table_of(kind)
    query = select(*table.__table__.columns).order_by(getattr(table, key_column(kind)))
    if patient_ids is not None:
        query = query.where(table.patient_id.in_(list(patient_ids)))
    with engine.connect() as connection:
        frame = pd.read_sql_query(query, connection)
    for column in DATE_COLUMNS.get(kind, ()):
        frame[column] = pd.to_datetime(frame[column])
    for column in JSON_COLUMNS.get(kind, ()):
        frame[column] = [json.loads(v) if isinstance(v, str) else v for v in frame[column]]
    if "dose_mg" in frame:
        frame["dose_mg"] = pd.to_numeric(frame["dose_mg"]).astype(float)
    return frame


def read_frames(engine: Engine, kinds: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    return {kind: read_frame(engine, kind) for kind in (kinds or RECORD_TYPES)}
