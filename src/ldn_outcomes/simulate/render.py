"""Render encoded tables as CSV cells, as pandas frames for the database, or for analysis."""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pandas as pd

from ..domain.layout import format_cell
from .columns import Column, Table, cells_for_numbers

Mode = Literal["db", "analysis"]
#: Kinds keyed by their own identifier rather than a numeric id.
KEYED_BY_NAME = ("sites", "clinicians", "patients")


class Context:
    """Lookups shared by every table of one registry: patient ids and ISO dates."""

    def __init__(self, patient_ids: np.ndarray) -> None:
        self.patient_ids = patient_ids
        self._date_lo = 0
        self._dates = np.zeros(0, dtype=object)

    def date_text(self, days: np.ndarray) -> np.ndarray:
        blank = days < 0
        if not blank.all():
            lo, hi = int(days[~blank].min()), int(days[~blank].max())
            covered = self._date_lo <= lo and hi < self._date_lo + self._dates.size
            if not covered:
                lo = min(lo, self._date_lo) if self._dates.size else lo
                hi = max(hi, self._date_lo + self._dates.size - 1) if self._dates.size else hi
                span = np.arange(lo, hi + 1).astype("datetime64[D]")
                self._dates = np.datetime_as_string(span, unit="D").astype(object)
                self._date_lo = lo
        out = np.full(days.size, "", dtype=object)
        index = np.flatnonzero(~blank)
        out[index] = self._dates[days[index] - self._date_lo]
        return out


def cells(column: Column, length: int, context: Context) -> np.ndarray:
    """CSV cells of one column, as ``domain.layout.format_cell`` writes them."""
    kind = column.kind
    if kind == "const":
        return np.full(length, format_cell(column.lut[0]), dtype=object)
    if kind == "pid":
        return context.patient_ids[column.values]
    if kind == "day":
        return context.date_text(column.values)
    if kind == "code":
        lut = np.array([format_cell(v) for v in column.lut] or [""], dtype=object)
        return lut[column.values]
    if kind == "float":
        return cells_for_numbers(column.values)
    if kind == "int":
        return np.asarray(column.values).astype(str).astype(object)
    if kind == "answers":
        return column.values
    raise ValueError(f"unknown column kind {kind}")


def csv_lines(table: Table, context: Context) -> list[str]:
    """One text line per row (no quoting is needed: no cell holds a comma, quote or newline).

    Runs of constant columns are folded into one literal, then each row is joined once.
    """
    parts: list[np.ndarray | str] = []
    for column in table.columns.values():
        if column.kind == "const":
            text = format_cell(column.lut[0])
            if parts and isinstance(parts[-1], str):
                parts[-1] = parts[-1] + "," + text
            else:
                parts.append(text)
        else:
            parts.append(cells(column, table.length, context))
    if not parts or table.length == 0:
        return []
    arrays = [np.full(table.length, p, dtype=object) if isinstance(p, str) else p for p in parts]
    return list(map(",".join, zip(*(a.tolist() for a in arrays), strict=True)))


def frame(table: Table, context: Context, mode: Mode, kind: str = "") -> pd.DataFrame:
    """Table-layout frame: dates as ``datetime64[ns]``, blanks as None/NaT/NaN.

    ``db``: JSON columns as JSON text (for ``store.bulk.write_frames``); ``analysis``: JSON
    columns as Python lists/dicts and an ``id`` column numbered from 1, like
    ``store.frames.read_frames`` returns.
    """
    data: dict[str, object] = {}
    fs_columns = [name for name in table.columns if name.startswith("fs_")]
    for name, column in table.columns.items():
        if name in fs_columns:
            if name == fs_columns[0]:
                data["functional_systems"] = (
                    np.full(table.length, "{}", dtype=object)
                    if mode == "db"
                    else [{} for _ in range(table.length)]
                )
            continue
        data[name] = _values(column, table.length, context, mode)
    result = pd.DataFrame(data)
    if mode == "analysis" and kind not in KEYED_BY_NAME:
        result.insert(0, "id", np.arange(1, table.length + 1))
    return result


def _values(column: Column, length: int, context: Context, mode: Mode) -> object:
    kind = column.kind
    if kind == "const":
        value = column.lut[0]
        return np.full(length, value, dtype=object)
    if kind == "pid":
        return context.patient_ids[column.values]
    if kind == "day":
        values = column.values.astype("datetime64[D]").astype("datetime64[ns]")
        values[column.values < 0] = np.datetime64("NaT")
        return values
    if kind == "code":
        lut = np.array(list(column.lut) or [None], dtype=object)
        return lut[column.values]
    if kind == "float":
        return np.asarray(column.values, dtype=float)
    if kind == "int":
        return np.asarray(column.values, dtype=np.int64)
    if kind == "answers":
        if mode == "db":
            return column.extra
        # Parse each distinct answer set once (one JSON document), then copy it per row.
        codes, distinct = pd.factorize(column.extra)
        parsed = json.loads("[" + ",".join(distinct.tolist()) + "]")
        return [list(parsed[c]) for c in codes.tolist()]
    raise ValueError(f"unknown column kind {kind}")
