"""The registry's CSV layout: one file per record kind, the same layout for import and export.

Pure text rules only (no file I/O), so that the importers, the exporter and the simulator all
write and read exactly the same cells:

* ``<kind>.csv`` with a header row; columns are the record's fields in declaration order;
* dates ISO 8601 (``2024-03-01``), clock times ``HH:MM``, booleans ``true``/``false``;
* a blank cell is "not recorded" (None), never 0 or "no";
* lists (questionnaire answers, relapse functional systems) are joined with ``;`` and a blank
  item stays blank (``3;;2`` is three answers, the second missing);
* EDSS functional-system scores are spread over ``fs_<system>`` columns;
* numbers are written in their shortest exact form (``4.5``, ``10``, ``0.75``);
* a text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``,
  ``@``, tab or carriage return) is written with a leading single quote, as the OWASP guidance
  on CSV injection advises (https://owasp.org/www-community/attacks/CSV_Injection); so is a
  text that itself starts with a quote, and import removes exactly one leading quote, so
  export then import gives back the text as entered.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from .codes import FunctionalSystem
from .models import RECORD_TYPES, EdssAssessment, Record

LIST_SEPARATOR = ";"
#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_ESCAPE = "'"


def neutralise_formula(text: str) -> str:
    """Text a spreadsheet shows as text: a leading quote before a formula trigger (or quote)."""
    if text.startswith(FORMULA_TRIGGERS) or text.startswith(FORMULA_ESCAPE):
        return FORMULA_ESCAPE + text
    return text


def restore_formula(text: str) -> str:
    """The inverse of :func:`neutralise_formula`: drop one leading quote."""
    return text[1:] if text.startswith(FORMULA_ESCAPE) else text


FS_PREFIX = "fs_"


def columns(kind: str) -> list[str]:
    """Header of ``<kind>.csv``."""
    cls = RECORD_TYPES[kind]
    names = list(cls.model_fields)
    if cls is EdssAssessment:
        at = names.index("functional_systems")
        names[at : at + 1] = [FS_PREFIX + system.value for system in FunctionalSystem]
    return names


def format_number(value: float | int | Decimal) -> str:
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return format_number(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, (tuple, list)):
        return LIST_SEPARATOR.join(format_cell(item) for item in value)
    if hasattr(value, "value"):  # enums
        return str(value.value)
    return neutralise_formula(str(value))


def to_row(record: Record) -> dict[str, str]:
    """A record as CSV cells in the layout."""
    row: dict[str, str] = {}
    for name in type(record).model_fields:
        value = getattr(record, name)
        if isinstance(record, EdssAssessment) and name == "functional_systems":
            for system in FunctionalSystem:
                row[FS_PREFIX + system.value] = format_cell(value.get(system))
            continue
        row[name] = format_cell(value)
    return row


def _parse_list(text: str) -> tuple[str | None, ...]:
    if text == "":
        return ()
    return tuple(item.strip() or None for item in text.split(LIST_SEPARATOR))


def from_row(kind: str, row: dict[str, str | None]) -> dict[str, Any]:
    """CSV cells to the raw mapping a record validates from (blank -> None)."""
    cls = RECORD_TYPES[kind]
    data: dict[str, Any] = {}
    fs: dict[str, str] = {}
    for key, raw in row.items():
        if key is None:
            continue
        text = restore_formula((raw or "").strip())
        if cls is EdssAssessment and key.startswith(FS_PREFIX):
            if text:
                fs[key.removeprefix(FS_PREFIX)] = text
            continue
        if text == "":
            continue
        if key == "answers":
            data[key] = _parse_list(text)
        elif key == "functional_systems":
            data[key] = tuple(item for item in _parse_list(text) if item)
        else:
            data[key] = text
    if cls is EdssAssessment:
        data["functional_systems"] = fs
    return data
