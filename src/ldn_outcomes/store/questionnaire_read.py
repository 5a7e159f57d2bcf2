"""Questionnaires for whole-registry analyses, read as numbers, without the answer lists.

The questionnaire table is by far the largest (millions of daily check-ins) and each row's
answers are a JSON list: building a Python list per row is what made the analysis read slow.
Here the database does the work: scores come back as (day, total) per row, the few answer lists
only of scores stored without a total (so the caller can score them); single answer items come
back as numbers pulled out of the JSON by the database. Rows are ordered by patient (then
instrument, then key), and patient and instrument are filled in from a count per (patient,
instrument) run rather than sent per row (see ``sqlread``). Removed records are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ..errors import LdnError
from .live import LIVE_SQL
from .sqlread import (
    as_float,
    day_sql,
    days_to_datetime,
    fetch,
    item_sql,
    json_value,
    marks,
    placeholder,
    plausible_days_only,
    runs,
    snapshot,
)


def read_scores(
    engine: Engine, instruments: Iterable[str], patients: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows of some instruments, ordered by patient, instrument, then key.

    Columns: ``patient_id`` (categorical over ``patients`` if given, else over the ids
    present), ``instrument_id`` (categorical over the sorted ``instruments``), ``date``
    (datetime64), ``total`` (float, NaN = not stored) and ``answers`` (the parsed list only
    where the total is missing, None elsewhere)."""
    names = sorted(set(instruments))
    if not names:
        return pd.DataFrame(
            {
                "patient_id": _patients([], np.array([], dtype=np.int64), patients),
                "instrument_id": pd.Categorical([], categories=[]),
                "date": np.array([], dtype="datetime64[ns]"),
                "total": np.array([], dtype=float),
                "answers": np.array([], dtype=object),
            }
        )
    dialect = engine.dialect.name
    mark = placeholder(engine)
    where = f"WHERE {LIVE_SQL} AND instrument_id IN ({marks(mark, len(names))})"
    # PostgreSQL can store a NaN total; it counts as missing, as SQLite (which has no NaN) does
    blank = "total IS NULL" + (" OR total = 'NaN'" if dialect == "postgresql" else "")
    order = "ORDER BY patient_id, instrument_id, id"
    with snapshot(engine) as dbapi:
        keys, counts = runs(
            dbapi, dialect, "questionnaires", ["patient_id", "instrument_id"], where, names
        )
        table = _numbers(
            dbapi,
            dialect,
            f"SELECT {day_sql('date', dialect)}, total FROM questionnaires {where} {order}",
            names,
            2,
        )
        # few rows: SQLite scans the table rather than walking the index to check each total
        scan = " NOT INDEXED" if dialect == "sqlite" else ""
        answers = [
            json_value(row[0])
            for rows in fetch(
                dbapi,
                dialect,
                f"SELECT answers FROM questionnaires{scan} {where} AND ({blank}) {order}",
                names,
            )
            for row in rows
        ]
    if len(table) != int(counts.sum()):  # cannot happen inside one snapshot
        raise LdnError("questionnaires changed while being read; read again")
    parsed = np.full(len(table), None, dtype=object)
    flagged = np.flatnonzero(np.isnan(table[:, 1]))
    if len(flagged) != len(answers):  # cannot happen inside one snapshot
        raise LdnError("questionnaires changed while being read; read again")
    for row, value in zip(flagged.tolist(), answers, strict=True):
        parsed[row] = value  # one by one: equal-length lists must not become a 2-d array
    instrument_codes = pd.Index(names).get_indexer([key[1] for key in keys])
    return plausible_days_only(
        table[:, 0],
        {
            "patient_id": _patients([key[0] for key in keys], counts, patients),
            "instrument_id": pd.Categorical.from_codes(
                np.repeat(instrument_codes, counts), categories=names
            ),
            "date": days_to_datetime(table[:, 0]),
            "total": table[:, 1],
            "answers": parsed,
        },
    )


class ItemRows(NamedTuple):
    """``fetch_items``'s result: the patients in row order, each one's number of rows, and
    the rows (day, then one column per position) as numbers."""

    patient_ids: list[Any]
    counts: np.ndarray
    table: np.ndarray
    positions: list[int]


def read_items(
    engine: Engine, instrument: str, positions: Iterable[int], patients: Sequence[str] | None = None
) -> pd.DataFrame:
    """One instrument's rows with some answer items as numbers, ordered by patient, then key.

    Columns: ``patient_id`` (categorical, as in ``read_scores``), ``date`` (datetime64) and
    ``item_<p>`` (float; NaN where the answer at 0-based position ``p`` is blank or absent)."""
    return items_frame(fetch_items(engine, instrument, positions), patients)


def fetch_items(engine: Engine, instrument: str, positions: Iterable[int]) -> ItemRows:
    """The database part of ``read_items``: only the driver and numpy, no pandas, so it can
    run in a second thread (pandas and the analyses change warning filters, which is not
    thread-safe)."""
    positions = sorted({int(p) for p in positions})
    dialect = engine.dialect.name
    where = f"WHERE {LIVE_SQL} AND instrument_id = {placeholder(engine)}"
    selects = [day_sql("date", dialect)] + [item_sql("answers", p, dialect) for p in positions]
    with snapshot(engine) as dbapi:
        keys, counts = runs(dbapi, dialect, "questionnaires", ["patient_id"], where, [instrument])
        table = _numbers(
            dbapi,
            dialect,
            f"SELECT {', '.join(selects)} FROM questionnaires {where} ORDER BY patient_id, id",
            [instrument],
            len(selects),
        )
    if len(table) != int(counts.sum()):  # cannot happen inside one snapshot
        raise LdnError("questionnaires changed while being read; read again")
    return ItemRows([key[0] for key in keys], counts, table, positions)


def items_frame(rows: ItemRows, patients: Sequence[str] | None = None) -> pd.DataFrame:
    return plausible_days_only(
        rows.table[:, 0],
        {
            "patient_id": _patients(rows.patient_ids, rows.counts, patients),
            "date": days_to_datetime(rows.table[:, 0]),
            **{f"item_{p}": rows.table[:, 1 + j] for j, p in enumerate(rows.positions)},
        },
    )


def _numbers(dbapi: Any, dialect: str, sql: str, params: list[Any], width: int) -> np.ndarray:
    parts = [as_float(rows, width) for rows in fetch(dbapi, dialect, sql, params)]
    return np.concatenate(parts) if parts else np.empty((0, width))


def _patients(ids: list[Any], counts: np.ndarray, patients: Sequence[str] | None) -> pd.Categorical:
    """Each row's patient from the runs, coded over ``patients`` (or the sorted ids present)."""
    categories = pd.Index(list(patients) if patients is not None else sorted(set(ids)))
    codes = categories.get_indexer(ids) if ids else np.array([], dtype=np.int64)
    return pd.Categorical.from_codes(np.repeat(codes, counts), categories=categories)
