"""Low-level pieces of the fast reads: dialect-specific SQL, one snapshot, batched cursors.

Everything here talks to the driver's own connection and cursor (no SQLAlchemy rows): every
value is a Python object on its way out of the driver, so the fewer values a query returns,
the faster it is. Patients are therefore not sent row by row: a query ordered by patient is
paired with a count per patient (``runs``) in the same snapshot, and the patient of
each row is filled in by ``numpy.repeat``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine

from ..domain.dates import EARLIEST_DATE, latest_planned

LOG = logging.getLogger(__name__)

#: Rows fetched from the cursor per batch: large enough to amortise the call, small enough
#: that the batch's Python objects (one tuple and a few values per row) stay a few tens of MB.
BATCH_ROWS = 100_000
#: Patient ids bound per ``IN (...)`` query (SQLite allows at most 32,766 parameters).
IDS_PER_QUERY = 10_000

#: What a read reads from: the engine (each read opens its own snapshot), or the connection
#: of a snapshot already open (``streams.export_snapshot``: every read then sees that instant).
ReadFrom = Engine | Connection


def placeholder(engine: ReadFrom) -> str:
    return "?" if engine.dialect.paramstyle == "qmark" else "%s"


def marks(mark: str, count: int) -> str:
    """``?, ?, ?`` for an ``IN (...)`` list of ``count`` values."""
    return ", ".join([mark] * count)


def day_sql(column: str, dialect: str) -> str:
    """Days since 1970-01-01 computed by the database (NULL stays NULL)."""
    if dialect == "sqlite":
        return f"julianday({column}) - 2440587.5"
    return f"({column} - DATE '1970-01-01')"


def item_sql(column: str, position: int, dialect: str) -> str:
    """One element of a JSON array as a number (NULL if blank or absent)."""
    if dialect == "sqlite":
        return f"json_extract({column}, '$[{int(position)}]')"
    return f"CAST(({column}::json ->> {int(position)}) AS DOUBLE PRECISION)"


@contextmanager
def snapshot(engine: ReadFrom) -> Iterator[Any]:
    """The driver's connection inside one read-only snapshot, so several queries agree
    (given a snapshot's connection: that connection, in the snapshot it is already in)."""
    if isinstance(engine, Connection):
        held = engine.connection.dbapi_connection
        if held is None:
            raise RuntimeError("the snapshot's connection was closed before the read")
        yield held
        return
    with engine.connect() as connection:
        dbapi = connection.connection.dbapi_connection
        if dbapi is None:  # only after the pool has invalidated it; never on a fresh connect()
            raise RuntimeError("the database connection was closed before the read began")
        dbapi.rollback()
        cursor = dbapi.cursor()
        cursor.execute(
            "BEGIN"
            if engine.dialect.name == "sqlite"
            else "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
        )
        cursor.close()
        try:
            yield dbapi
        finally:
            dbapi.rollback()


@contextmanager
def snapshot_connection(engine: ReadFrom) -> Iterator[Connection]:
    """A SQLAlchemy connection to read from: a new one from an engine, or the one given."""
    if isinstance(engine, Connection):
        yield engine
        return
    with engine.connect() as connection:
        yield connection


def fetch(dbapi: Any, dialect: str, sql: str, params: list[Any]) -> Iterator[list[tuple]]:
    """Rows in batches through the driver's cursor (PostgreSQL: a server-side cursor, so the
    client never holds the whole result)."""
    cursor = dbapi.cursor(name="ldn_read") if dialect == "postgresql" else dbapi.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(BATCH_ROWS):
            yield rows
    finally:
        cursor.close()


def runs(
    dbapi: Any, dialect: str, table: str, keys: Sequence[str], where: str, params: list[Any]
) -> tuple[list[tuple], np.ndarray]:
    """The distinct ``keys`` of ``SELECT ... FROM table WHERE where ORDER BY keys, ...`` in that
    order, each with its number of rows: what every row of that query has in those columns,
    without sending them per row."""
    columns = ", ".join(keys)
    sql = f"SELECT {columns}, count(*) FROM {table} {where} GROUP BY {columns} ORDER BY {columns}"
    values: list[tuple] = []
    counts: list[int] = []
    for rows in fetch(dbapi, dialect, sql, params):
        for row in rows:
            values.append(tuple(row[:-1]))
            counts.append(row[-1])
    return values, np.array(counts, dtype=np.int64)


def as_float(rows: list[tuple], width: int) -> np.ndarray:
    """A batch of rows of numbers (None = NaN) as a 2-d float array."""
    return np.array(rows, dtype=float).reshape(len(rows), width)


def json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


#: ``frame.attrs`` key: how many rows were left out for a date outside the plausible range.
LEFT_OUT = "implausible_dates_left_out"


def plausible_day_range(today: dt.date | None = None) -> tuple[float, float]:
    """The domain's plausible dates (:mod:`ldn_outcomes.domain.dates`) as day numbers."""
    today = today or dt.date.today()
    epoch = dt.date(1970, 1, 1)
    return float((EARLIEST_DATE - epoch).days), float((latest_planned(today) - epoch).days)


def note_left_out(frame: pd.DataFrame, count: int) -> None:
    """Record (and log) rows left out of an analysis read for an implausible date.

    A date outside the range can only come from before the rule existed or from a manual
    change to the database; one such row must not take a whole page down, so it is left out
    and counted."""
    frame.attrs[LEFT_OUT] = count
    if count:
        LOG.warning("%d row(s) left out of a read: a date outside the plausible range", count)


#: What a page says when :func:`note_left_out` left rows out (no count: a count can be small).
LEFT_OUT_NOTE = (
    "Some records were left out: they carry a date outside the plausible range (before 1900, "
    "or in the future)."
)


def left_out_note(frames: Any) -> str | None:
    """:data:`LEFT_OUT_NOTE` when any of ``frames`` (a mapping or a sequence) left rows out."""
    values = frames.values() if hasattr(frames, "values") else frames
    return LEFT_OUT_NOTE if any(f.attrs.get(LEFT_OUT, 0) for f in values) else None


def plausible_days_only(days: np.ndarray, columns: dict[str, Any]) -> pd.DataFrame:
    """A frame of ``columns`` without the rows whose day number is implausible (counted)."""
    low, high = plausible_day_range()
    bad = np.isfinite(days) & ((days < low) | (days > high))
    frame = pd.DataFrame(columns)
    if bad.any():
        frame = frame[~bad].reset_index(drop=True)
    note_left_out(frame, int(bad.sum()))
    return frame


def days_to_datetime(days: np.ndarray) -> np.ndarray:
    """Float day numbers (NaN = none) → datetime64[ns] (NaT = none)."""
    days = np.asarray(days, dtype=float)
    known = np.isfinite(days)
    nanos = np.full(len(days), np.iinfo(np.int64).min, dtype=np.int64)  # = NaT
    known &= np.abs(days) < 100_000  # beyond ±270 years from 1970 a date cannot be held
    nanos[known] = np.rint(days[known]).astype(np.int64) * 86_400_000_000_000
    return nanos.view("datetime64[ns]")
