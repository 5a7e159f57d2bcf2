"""Read queries that return pandas frames, one per record kind, for the analysis layer.

Dates come back as ``datetime64[ns]``; JSON columns (answers, functional systems) as Python
objects. Only what is asked for is read, in primary-key order, so reads are repeatable.

Two paths:

* ``read_frame(engine, kind)`` / ``read_frames``: every column, through ``pandas.read_sql``
  (what the web pages, de-identification and tests use).
* ``read_frame(engine, kind, columns=[...])`` and ``read_questionnaire_scores``: the typed,
  column-selective path for whole-registry analyses. Rows stream from the driver's own cursor
  in batches straight into numpy arrays (no SQLAlchemy row objects, no ``read_sql``); dates are
  turned into day numbers by the database; repeated strings become pandas categoricals; the
  questionnaire read pulls single answer items out of the JSON in SQL, so no Python list is
  built per row. On 100,000 simulated patients this reads in seconds what took two minutes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Boolean, Date, Engine, Float, Integer, Numeric, String, Text, select

from ..domain.models import RECORD_TYPES
from ..errors import LdnError
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
#: Rows fetched from the cursor per batch: large enough to amortise the call, small enough
#: that the batch's Python objects (one tuple and a few values per row) stay a few tens of MB.
BATCH_ROWS = 100_000
#: Patient ids bound per ``IN (...)`` query (SQLite allows at most 32,766 parameters).
IDS_PER_QUERY = 10_000


def read_frame(engine: Engine, kind: str, patient_ids: Iterable[str] | None = None,
               columns: Sequence[str] | None = None,
               categories: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """One kind's rows in key order; ``columns`` selects the fast typed path (see module doc).

    ``categories`` fixes the category list of a categorical column (e.g. ``patient_id`` → the
    ids of the patients frame), so frames read separately share one coding."""
    if columns is not None:
        return _read_typed(engine, kind, list(columns), patient_ids, categories or {})
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


def read_questionnaire_scores(
    engine: Engine, instruments: Iterable[str], items: Mapping[str, Sequence[int]] | None = None,
    patient_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Questionnaire rows of some instruments without their answer lists: first those of
    ``instruments`` (not in ``items``), then those of the ``items`` instruments, each in key
    order.

    Columns: ``patient_id`` (categorical over every patient id, in the patients' key order),
    ``instrument_id`` (categorical), ``date`` (datetime64), ``total`` (float, NaN = not
    stored), ``answers`` (the parsed list only on rows of ``instruments`` whose total is
    missing, so the caller can score them; None elsewhere) and ``item_<p>`` (float) for every
    0-based answer position ``p`` named in ``items`` (instrument → positions), filled on that
    instrument's rows and NaN on the others or where the answer is blank. Rows of an ``items``
    instrument are read even if it is not listed in ``instruments``.

    Everything but the few answer lists comes back as numbers (patients as row numbers via a
    join, instruments as codes, dates as day numbers), all queries in one snapshot."""
    items = {name: tuple(int(p) for p in positions) for name, positions in (items or {}).items()}
    scored = sorted(set(instruments))
    names = sorted(set(scored) | set(items))
    positions = sorted({p for ps in items.values() for p in ps})
    mark = _placeholder(engine)
    dialect = engine.dialect.name
    ids = None if patient_ids is None else list(dict.fromkeys(patient_ids))
    in_sql = in_params = None
    if ids is not None and len(ids) <= IDS_PER_QUERY:
        in_sql, in_params = f" AND q.patient_id IN ({', '.join([mark] * len(ids))})", ids
    blocks = [  # (instruments, their items, read totals and blank-total answers?)
        (sorted(set(scored) - set(items)), {}, True),
        (sorted(items), items, bool(set(items) & set(scored))),
    ]
    with _snapshot(engine) as dbapi:
        patients = [row[0] for rows in _fetch(dbapi, dialect, "SELECT patient_id FROM patients "
                                              "ORDER BY patient_id", []) for row in rows]
        if not names or ids == []:
            return _empty_scores(positions, patients, names)
        tables, answers = [], []
        for block, block_items, with_totals in blocks:
            if block:
                table, blank_answers = _score_block(
                    dbapi, dialect, mark, block, names, block_items, positions, with_totals,
                    in_sql or "", in_params or [])
                tables.append(table)
                answers += blank_answers
    table = np.concatenate(tables)
    parsed = np.full(len(table), None, dtype=object)
    flagged = np.flatnonzero(table[:, 0] == 1)
    if len(flagged) != len(answers):  # cannot happen inside one snapshot
        raise LdnError("questionnaire rows changed while being read; read again")
    for row, value in zip(flagged.tolist(), answers, strict=True):
        parsed[row] = value  # one by one: equal-length lists must not become a 2-d array
    if ids is not None and in_sql is None:  # too many ids to bind: filter on row numbers
        keep = np.isin(table[:, 1], np.flatnonzero(pd.Index(patients).isin(ids)))
        table, parsed = table[keep], parsed[keep]
    return pd.DataFrame({
        "patient_id": pd.Categorical.from_codes(table[:, 1].astype(np.int64), patients),
        "instrument_id": pd.Categorical.from_codes(table[:, 2].astype(np.int64), names),
        "date": _days_to_datetime(table[:, 3]),
        "total": table[:, 4],
        "answers": parsed,
        **{f"item_{p}": table[:, 5 + j] for j, p in enumerate(positions)},
    })


def _score_block(dbapi: Any, dialect: str, mark: str, block: list[str], names: list[str],
                 items: Mapping[str, Sequence[int]], positions: list[int], with_totals: bool,
                 in_sql: str, in_params: list[str]) -> tuple[np.ndarray, list[Any]]:
    """Rows of some instruments as one float array with the columns blank-total flag, patient
    row number, instrument code (index in ``names``), day, total, then one per item position;
    plus, in the same order, the answers of the flagged rows (stored without a total).

    Only what the block needs is selected (a daily check-in carries no total): every value is
    a Python object on its way out of the driver, so fewer values is what makes it fast."""
    selects, params, fill = [], [], {}
    blank = (f"q.total IS NULL AND q.instrument_id IN ({', '.join([mark] * len(block))})")
    if with_totals:
        selects.append(f"CASE WHEN {blank} THEN 1 END")
        params += block
    else:
        fill[0] = np.nan
    selects.append("codes.code")
    if len(block) > 1:
        selects.append("CASE q.instrument_id " + " ".join(
            f"WHEN {mark} THEN {names.index(name)}" for name in block) + " END")
        params += block
    else:
        fill[2] = float(names.index(block[0]))
    selects.append(_day_sql("q.date", dialect))
    if with_totals:
        selects.append("q.total")
    else:
        fill[4] = np.nan
    for j, position in enumerate(positions):
        having = sorted(name for name, ps in items.items() if position in ps)
        if having:
            selects.append(f"CASE WHEN q.instrument_id IN ({', '.join([mark] * len(having))}) "
                           f"THEN {_item_sql('q.answers', position, dialect)} END")
            params += having
        else:
            fill[5 + j] = np.nan
    sql = (f"WITH codes (pid, code) AS (SELECT patient_id, "
           f"row_number() OVER (ORDER BY patient_id) - 1 FROM patients) "
           f"SELECT {', '.join(selects)} FROM questionnaires q "
           # SQLite: CROSS JOIN keeps the table scan outermost, in key order (no sort)
           f"{'CROSS ' if dialect == 'sqlite' else ''}JOIN codes ON codes.pid = q.patient_id "
           f"WHERE q.instrument_id IN ({', '.join([mark] * len(block))}){in_sql} ORDER BY q.id")
    params += block + in_params
    parts = [np.array(rows, dtype=float).reshape(len(rows), len(selects))
             for rows in _fetch(dbapi, dialect, sql, params)]
    selected = np.concatenate(parts) if parts else np.empty((0, len(selects)))
    del parts
    table = np.empty((len(selected), 5 + len(positions)))
    read = [c for c in range(table.shape[1]) if c not in fill]
    table[:, read] = selected
    for column, value in fill.items():
        table[:, column] = value
    answers: list[Any] = []
    if with_totals:
        sql = f"SELECT q.answers FROM questionnaires q WHERE {blank}{in_sql} ORDER BY q.id"
        answers = [_json(row[0]) for rows in _fetch(dbapi, dialect, sql, block + in_params)
                   for row in rows]
    return table, answers


# --- the typed path ---------------------------------------------------------------------------


def _read_typed(engine: Engine, kind: str, columns: list[str],
                patient_ids: Iterable[str] | None,
                categories: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    table = table_of(kind).__table__
    unknown = [c for c in columns if c not in table.columns]
    if unknown:
        raise KeyError(f"{kind} has no column(s) {', '.join(unknown)}")
    dialect = engine.dialect.name
    selects, specs = [], []
    for name in columns:
        column = table.columns[name]
        spec = _spec(column)
        specs.append((name, spec))
        if spec == "date":
            selects.append(_day_sql(name, dialect))
        elif spec == "float" and isinstance(column.type, Numeric) and not isinstance(
                column.type, Float):
            selects.append(f"CAST({name} AS {'REAL' if dialect == 'sqlite' else 'FLOAT'})")
        else:
            selects.append(name)
    sql = f"SELECT {', '.join(selects)} FROM {table.name}"
    return _collect(engine, sql, [], specs, key_column(kind), patient_ids, categories)


def _spec(column: Any) -> str:
    """How a column's values are turned into an array (see ``_to_array``)."""
    kind = column.type
    if isinstance(kind, JSON):
        return "json"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, Integer):
        return "int"
    if isinstance(kind, (Float, Numeric)):
        return "float"
    if isinstance(kind, (String, Text)):
        if not column.nullable and not column.primary_key:
            return "category"  # repeated, never blank: small codes instead of one str per row
        return "object"
    # e.g. clock times: drivers return them in different shapes; the full read converts them
    raise ValueError(f"column {column.name} ({kind}) is not supported by the typed read; "
                     "read it with read_frame(engine, kind) without columns")


def _placeholder(engine: Engine) -> str:
    return "?" if engine.dialect.paramstyle == "qmark" else "%s"


def _day_sql(column: str, dialect: str) -> str:
    """Days since 1970-01-01 computed by the database (NULL stays NULL)."""
    if dialect == "sqlite":
        return f"julianday({column}) - 2440587.5"
    return f"({column} - DATE '1970-01-01')"


def _item_sql(column: str, position: int, dialect: str) -> str:
    """One element of a JSON array as a number (NULL if blank or absent)."""
    if dialect == "sqlite":
        return f"json_extract({column}, '$[{int(position)}]')"
    return f"CAST(({column}::json ->> {int(position)}) AS DOUBLE PRECISION)"


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Any]:
    """The driver's connection inside one read-only snapshot, so several queries agree."""
    with engine.connect() as connection:
        dbapi = connection.connection.dbapi_connection
        dbapi.rollback()
        cursor = dbapi.cursor()
        cursor.execute("BEGIN" if engine.dialect.name == "sqlite" else
                       "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.close()
        try:
            yield dbapi
        finally:
            dbapi.rollback()


def _fetch(dbapi: Any, dialect: str, sql: str, params: list[Any]) -> Iterator[list[tuple]]:
    """Rows in batches through the driver's cursor (PostgreSQL: a server-side cursor, so the
    client never holds the whole result)."""
    cursor = dbapi.cursor(name="ldn_read") if dialect == "postgresql" else dbapi.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(BATCH_ROWS):
            yield rows
    finally:
        cursor.close()


def _batches(engine: Engine, sql: str, params: list[Any], key: str,
             patient_ids: Iterable[str] | None, id_index: int) -> Iterator[list[tuple]]:
    """Result rows in key order, in batches.

    A few patients are filtered in SQL; many (more than one query can bind) in Python, on
    the row's ``id_index``-th value, so that key order holds across the whole result."""
    mark = _placeholder(engine)
    wanted: set[str] | None = None
    if patient_ids is not None:
        ids = list(dict.fromkeys(patient_ids))
        if not ids:
            return
        if len(ids) > IDS_PER_QUERY:
            wanted = set(ids)
        else:
            glue = " AND " if " WHERE " in sql else " WHERE "
            sql = f"{sql}{glue}patient_id IN ({', '.join([mark] * len(ids))})"
            params = params + ids
    with _snapshot(engine) as dbapi:
        for rows in _fetch(dbapi, engine.dialect.name, f"{sql} ORDER BY {key}", params):
            if wanted is not None:
                rows = [row for row in rows if row[id_index] in wanted]
            if rows:
                yield rows


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _days_to_datetime(days: np.ndarray) -> np.ndarray:
    """Float day numbers (NaN = none) → datetime64[ns] (NaT = none)."""
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
    known = np.isfinite(days)
    out[known] = np.rint(days[known]).astype("int64").astype("datetime64[D]")
    return out


def _to_array(values: tuple, spec: str) -> Any:
    if spec in ("float", "date"):
        return np.array(values, dtype=float)  # None → NaN
    out = np.empty(len(values), dtype=object)  # never a 2-d array of equal-length lists
    if spec == "json":
        out[:] = [_json(v) for v in values]
    else:
        out[:] = values
    return out


def _finish(parts: list[Any], spec: str) -> Any:
    """Join a non-categorical column's batches into its final array."""
    if spec == "date":
        return _days_to_datetime(np.concatenate(parts) if parts else np.array([], dtype=float))
    if spec == "float":
        return np.concatenate(parts) if parts else np.array([], dtype=float)
    values = np.concatenate(parts) if parts else np.array([], dtype=object)
    if spec == "int":
        if any(v is None for v in values):
            return np.array(values, dtype=float)
        return values.astype(np.int64)
    if spec == "bool":
        if len(values) and not any(v is None for v in values):
            return values.astype(bool)
        return np.array([v if v is None else bool(v) for v in values], dtype=object)
    return values


def _collect(engine: Engine, sql: str, params: list[Any], specs: list[tuple[str, str]],
             key: str, patient_ids: Iterable[str] | None,
             categories: Mapping[str, Sequence[str] | None]) -> pd.DataFrame:
    """Run the query and build the frame column by column. Categorical columns are coded per
    batch, so the strings of only one batch are ever alive."""
    names = [name for name, _ in specs]
    id_index = names.index("patient_id") if "patient_id" in names else -1
    if patient_ids is not None and id_index < 0:
        raise ValueError("filtering on patient_ids needs the patient_id column")
    fixed = {name: pd.Index(list(values)) for name, values in categories.items()
             if values is not None}
    parts: list[list[Any]] = [[] for _ in specs]
    labels: list[dict[Any, int]] = [{} for _ in specs]
    for rows in _batches(engine, sql, params, key, patient_ids, id_index):
        columns = list(zip(*rows, strict=True))
        del rows
        for j, (name, spec) in enumerate(specs):
            if spec == "category":
                parts[j].append(_code_batch(columns[j], labels[j], fixed.get(name)))
            else:
                parts[j].append(_to_array(columns[j], spec))
        del columns
    frame = {}
    for j, (name, spec) in enumerate(specs):
        if spec == "category":
            frame[name] = _categorical(parts[j], labels[j], fixed.get(name))
        else:
            frame[name] = _finish(parts[j], spec)
        parts[j] = []
    return pd.DataFrame(frame)


def _code_batch(values: tuple, labels: dict[Any, int], fixed: pd.Index | None) -> np.ndarray:
    """Integer codes of one batch: into ``fixed`` if given (−1 = NULL or not listed), else
    into ``labels``, the label → code map grown in order of first appearance (−1 = NULL)."""
    array = np.array(values, dtype=object)
    if fixed is not None:
        return fixed.get_indexer(array).astype(np.int32)
    local, uniques = pd.factorize(array, use_na_sentinel=True)
    to_global = np.array([labels.setdefault(u, len(labels)) for u in uniques] + [-1],
                         dtype=np.int32)
    return to_global[local]  # local code −1 picks the trailing −1


def _categorical(parts: list[np.ndarray], labels: dict[Any, int],
                 fixed: pd.Index | None) -> pd.Categorical:
    codes = np.concatenate(parts) if parts else np.array([], dtype=np.int32)
    if fixed is not None:
        return pd.Categorical.from_codes(codes, categories=fixed)
    names = np.array(list(labels), dtype=object)
    order = np.argsort(names, kind="stable")  # sorted categories, as pd.Categorical gives
    rank = np.empty(len(names) + 1, dtype=np.int32)
    rank[order] = np.arange(len(names), dtype=np.int32)
    rank[-1] = -1
    return pd.Categorical.from_codes(rank[codes], categories=names[order])


def _empty_scores(positions: list[int], patients: list[str], names: list[str]
                  ) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": pd.Categorical([], categories=patients),
                         "instrument_id": pd.Categorical([], categories=names),
                         "date": np.array([], dtype="datetime64[ns]"),
                         "total": np.array([], dtype=float),
                         "answers": np.array([], dtype=object),
                         **{f"item_{p}": np.array([], dtype=float) for p in positions}})
