"""The typed, column-selective read of one record kind (``read_frame(..., columns=[...])``).

Rows stream from the driver's own cursor in batches straight into numpy arrays (no SQLAlchemy
row objects, no ``read_sql``); dates are turned into day numbers by the database; repeated
strings become pandas categoricals, coded batch by batch so the strings of only one batch are
ever alive. With ``by_patient`` the rows come ordered by patient, then key, and the patient of
each row is not sent at all but filled in from a count per patient (see ``sqlread``): for a
table of a million rows that is a million strings fewer. Removed records are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Boolean, Date, Float, Integer, Numeric, String, Text

from ..errors import LdnError
from . import sqlread
from .convert import key_column, table_of
from .live import live_where
from .sqlread import (
    ReadFrom,
    as_float,
    day_sql,
    days_to_datetime,
    fetch,
    json_value,
    marks,
    note_left_out,
    placeholder,
    plausible_day_range,
    runs,
    snapshot,
)


def read_typed(
    engine: ReadFrom,
    kind: str,
    columns: Sequence[str],
    patient_ids: Iterable[str] | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
    by_patient: bool = False,
) -> pd.DataFrame:
    """``columns`` of ``kind`` in key order (``by_patient``: in patient order, then key order).

    ``categories`` fixes the category list of a categorical column (e.g. ``patient_id`` → the
    ids of the patients frame), so frames read separately share one coding."""
    row_type = table_of(kind)
    table, table_name = row_type.__table__, row_type.__tablename__
    columns = list(columns)
    unknown = [c for c in columns if c not in table.columns]
    if unknown:
        raise KeyError(f"{kind} has no column(s) {', '.join(unknown)}")
    if patient_ids is not None and "patient_id" not in columns:
        raise ValueError("filtering on patient_ids needs the patient_id column")
    key = key_column(kind)
    by_patient = by_patient and key != "patient_id" and "patient_id" in table.columns
    dialect = engine.dialect.name
    specs = [(name, _spec(table.columns[name])) for name in columns]
    sent = [(name, spec) for name, spec in specs if not (by_patient and name == "patient_id")]
    selects = [_select(table.columns[name], spec, dialect) for name, spec in sent]
    fixed = {
        name: pd.Index(list(values))
        for name, values in (categories or {}).items()
        if values is not None
    }
    ids = None if patient_ids is None else list(dict.fromkeys(patient_ids))
    if ids == []:
        return _build(specs, {name: ([], {}) for name, _ in specs}, fixed)
    where, params, wanted = live_where(table), [], None
    mark = placeholder(engine)
    if ids is not None and len(ids) <= sqlread.IDS_PER_QUERY:
        where, params = live_where(table, f"patient_id IN ({marks(mark, len(ids))})"), ids
    elif ids is not None:
        wanted = set(ids)  # more than one query can bind: filtered in Python
    order = f"patient_id, {key}" if by_patient else key
    sql = f"SELECT {', '.join(selects) or '1'} FROM {table_name} {where} ORDER BY {order}"
    with snapshot(engine) as dbapi:
        patients = (
            runs(dbapi, dialect, table_name, ["patient_id"], where, params) if by_patient else None
        )
        id_index = next((j for j, (name, _) in enumerate(sent) if name == "patient_id"), -1)
        batches = fetch(dbapi, dialect, sql, params)
        if wanted is not None and patients is None:
            batches = _only(batches, wanted, id_index)
        parts, n_rows = _convert(batches, sent, fixed)
    if patients is not None:
        if n_rows != int(patients[1].sum()):  # cannot happen inside one snapshot
            raise LdnError(f"{kind} changed while being read; read again")
        parts = _with_patients(parts, patients, fixed.get("patient_id"), wanted, specs)
    return _build(specs, parts, fixed)


def _select(column: Any, spec: str, dialect: str) -> str:
    if spec == "date":
        return day_sql(column.name, dialect)
    if spec == "float" and isinstance(column.type, Numeric) and not isinstance(column.type, Float):
        return f"CAST({column.name} AS {'REAL' if dialect == 'sqlite' else 'FLOAT'})"
    return str(column.name)


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
    raise ValueError(
        f"column {column.name} ({kind}) is not supported by the typed read; "
        "read it with read_frame(engine, kind) without columns"
    )


def _only(batches: Iterator[list[tuple]], wanted: set[str], id_index: int) -> Iterator[list[tuple]]:
    for rows in batches:
        rows = [row for row in rows if row[id_index] in wanted]
        if rows:
            yield rows


def _convert(
    batches: Iterator[list[tuple]], sent: list[tuple[str, str]], fixed: Mapping[str, pd.Index]
) -> tuple[dict[str, tuple[list[Any], dict[Any, int]]], int]:
    """Each sent column's batches as arrays (categoricals as codes, with their label map),
    and the number of rows."""
    parts: dict[str, tuple[list[Any], dict[Any, int]]] = {name: ([], {}) for name, _ in sent}
    n_rows = 0
    numeric = bool(sent) and all(spec in ("float", "date") for _, spec in sent)
    for rows in batches:
        n_rows += len(rows)
        if numeric:  # one 2-d conversion instead of a tuple per column
            table = as_float(rows, len(sent))
            for j, (name, _) in enumerate(sent):
                parts[name][0].append(table[:, j])
            continue
        columns = list(zip(*rows, strict=True)) if sent else []
        del rows
        for j, (name, spec) in enumerate(sent):
            arrays, labels = parts[name]
            if spec == "category":
                arrays.append(_code_batch(columns[j], labels, fixed.get(name)))
            else:
                arrays.append(_to_array(columns[j], spec))
        del columns
    return parts, n_rows


def _with_patients(
    parts: dict[str, tuple[list[Any], dict[Any, int]]],
    patients: tuple[list[tuple], np.ndarray],
    fixed: pd.Index | None,
    wanted: set[str] | None,
    specs: list[tuple[str, str]],
) -> dict[str, tuple[list[Any], dict[Any, int]]]:
    """Add the patient column from the per-patient counts; drop unwanted patients' rows."""
    ids, counts = [key[0] for key in patients[0]], patients[1]
    if fixed is not None:
        codes = np.repeat(fixed.get_indexer(ids).astype(np.int32), counts)
        labels: dict[Any, int] = {}
    else:
        labels = {patient: i for i, patient in enumerate(ids)}
        codes = np.repeat(np.arange(len(ids), dtype=np.int32), counts)
    out = {**parts, "patient_id": ([codes], labels)}
    if wanted is not None:
        keep = np.repeat(np.array([patient in wanted for patient in ids], dtype=bool), counts)
        out = {
            name: ([np.concatenate(arrays)[keep]] if arrays else [], labels_)
            for name, (arrays, labels_) in out.items()
        }
    if not any(name == "patient_id" for name, _ in specs):
        out.pop("patient_id")
    return out


def _build(
    specs: list[tuple[str, str]],
    parts: dict[str, tuple[list[Any], dict[Any, int]]],
    fixed: Mapping[str, pd.Index],
) -> pd.DataFrame:
    keep = _plausible_rows(specs, parts)
    left_out = 0
    if keep is not None:
        left_out = int((~keep).sum())
        parts = {
            name: ([np.concatenate(arrays)[keep]] if arrays else [], labels)
            for name, (arrays, labels) in parts.items()
        }
    frame = {}
    for name, spec in specs:
        arrays, labels = parts[name]
        if spec == "category":
            frame[name] = _categorical(arrays, labels, fixed.get(name))
        else:
            frame[name] = _finish(arrays, spec)
        arrays.clear()
    built = pd.DataFrame(frame)
    note_left_out(built, left_out)
    return built


def _plausible_rows(
    specs: list[tuple[str, str]], parts: dict[str, tuple[list[Any], dict[Any, int]]]
) -> np.ndarray | None:
    """Rows whose dates all lie in the plausible range; None when every row does (no copy)."""
    low, high = plausible_day_range()
    bad: np.ndarray | None = None
    for name, spec in specs:
        arrays = parts[name][0]
        if spec != "date" or not arrays:
            continue
        days = np.concatenate(arrays)
        out = np.isfinite(days) & ((days < low) | (days > high))
        bad = out if bad is None else bad | out
    if bad is None or not bad.any():
        return None
    return ~bad


def _to_array(values: tuple, spec: str) -> Any:
    if spec in ("float", "date"):
        return np.array(values, dtype=float)  # None → NaN
    out = np.empty(len(values), dtype=object)  # never a 2-d array of equal-length lists
    if spec == "json":
        out[:] = [json_value(v) for v in values]
    else:
        out[:] = values
    return out


def _finish(parts: list[Any], spec: str) -> Any:
    """Join a non-categorical column's batches into its final array."""
    if spec == "date":
        return days_to_datetime(np.concatenate(parts) if parts else np.array([], dtype=float))
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


def _code_batch(values: tuple, labels: dict[Any, int], fixed: pd.Index | None) -> np.ndarray:
    """Integer codes of one batch: into ``fixed`` if given (−1 = NULL or not listed), else
    into ``labels``, the label → code map grown in order of first appearance (−1 = NULL)."""
    array = np.array(values, dtype=object)
    if fixed is not None:
        return fixed.get_indexer(array).astype(np.int32)
    local, uniques = pd.factorize(array, use_na_sentinel=True)
    to_global = np.array(
        [labels.setdefault(u, len(labels)) for u in uniques] + [-1], dtype=np.int32
    )
    return to_global[local]  # local code −1 picks the trailing −1


def _categorical(
    parts: list[np.ndarray], labels: dict[Any, int], fixed: pd.Index | None
) -> pd.Categorical:
    codes = np.concatenate(parts) if parts else np.array([], dtype=np.int32)
    if fixed is not None:
        return pd.Categorical.from_codes(codes, categories=fixed)
    names = np.array(list(labels), dtype=object)
    order = np.argsort(names, kind="stable")  # sorted categories, as pd.Categorical gives
    rank = np.empty(len(names) + 1, dtype=np.int32)
    rank[order] = np.arange(len(names), dtype=np.int32)
    rank[-1] = -1
    return pd.Categorical.from_codes(rank[codes], categories=names[order])
