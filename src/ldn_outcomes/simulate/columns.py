"""Encoded columns: the simulator's tables before they are rendered as text, frames or rows.

A column keeps integers (patient index, day number, code into a lookup table) rather than
Python objects, so ten million rows stay small; each renderer turns the codes into CSV cells
(exactly as :func:`ldn_outcomes.domain.layout.format_cell` writes them), pandas values or
database values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..domain.layout import format_cell

Kind = Literal["pid", "day", "code", "float", "bool", "const", "answers", "int"]


@dataclass(frozen=True)
class Column:
    """One encoded column.

    ``pid``: patient index; ``day``: days since 1970-01-01, -1 = blank; ``code``: index into
    ``lut`` (a tuple of values, None = blank); ``float``: NaN = blank; ``bool``: -1 blank, 0, 1;
    ``const``: ``lut[0]`` on every row; ``answers``: ``values`` is the layout text and ``extra``
    the JSON text of each row; ``int``: plain integers.
    """

    kind: Kind
    values: Any
    lut: tuple[Any, ...] = ()
    extra: Any = None

    def take(self, order: np.ndarray) -> Column:
        if self.kind == "const":
            return self
        extra = self.extra[order] if self.extra is not None else None
        return Column(self.kind, self.values[order], self.lut, extra)


@dataclass
class Table:
    """Columns in the table's order, all of one length."""

    columns: dict[str, Column]
    length: int

    def take(self, order: np.ndarray) -> Table:
        return Table({k: c.take(order) for k, c in self.columns.items()}, int(order.size))


def const(value: Any) -> Column:
    return Column("const", None, (value,))


def code(values: np.ndarray, lut: tuple[Any, ...]) -> Column:
    return Column("code", np.asarray(values, dtype=np.int64), lut)


def day(values: np.ndarray) -> Column:
    return Column("day", np.asarray(values, dtype=np.int64))


def cells_for_numbers(values: np.ndarray) -> np.ndarray:
    """Layout text of floats (NaN -> blank), formatting each distinct value once."""
    values = np.asarray(values, dtype=float)
    out = np.full(values.size, "", dtype=object)
    filled = np.flatnonzero(~np.isnan(values))
    if filled.size:
        unique, inverse = np.unique(values[filled], return_inverse=True)
        lut = np.array([format_cell(float(v)) for v in unique], dtype=object)
        out[filled] = lut[inverse.reshape(-1)]
    return out


def digit_strings(items: np.ndarray, separator: str, brackets: bool) -> np.ndarray:
    """Rows of single-digit answers as ``3;1;4`` (or ``[3,1,4]``), built as bytes in one go."""
    rows, width = items.shape
    size = 2 * width - 1 + (2 if brackets else 0)
    buffer = np.full((rows, size), ord(separator), dtype=np.uint8)
    first = 1 if brackets else 0
    buffer[:, first : first + 2 * width - 1 : 2] = items.astype(np.uint8) + ord("0")
    if brackets:
        buffer[:, 0] = ord("[")
        buffer[:, -1] = ord("]")
    text = buffer.view(f"S{size}").reshape(rows)
    return text.astype(f"U{size}").astype(object)
