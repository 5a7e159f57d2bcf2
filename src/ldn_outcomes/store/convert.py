"""Between domain records and table rows, in both directions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from ..domain.models import RECORD_TYPES, Record
from .base import Base
from .tables import ROW_TYPES

#: Primary-key column of each record kind.
KEYS: dict[str, str] = {
    "sites": "site_id",
    "clinicians": "clinician_id",
    "patients": "patient_id",
}


def key_column(kind: str) -> str:
    return KEYS.get(kind, "id")


def record_to_values(kind: str, record: Record) -> dict[str, Any]:
    """Column values for a record (enums as their text, tuples as JSON lists)."""
    values: dict[str, Any] = {}
    for name in type(record).model_fields:
        value = getattr(record, name)
        if name == "functional_systems" and isinstance(value, dict):
            value = {getattr(k, "value", k): v for k, v in value.items()}
        elif isinstance(value, tuple):
            value = [getattr(item, "value", item) for item in value]
        elif hasattr(value, "value") and not isinstance(value, (int, float)):
            value = value.value
        values[name] = value
    if kind in KEYS or values.get("id") is not None:
        return values
    values.pop("id", None)
    return values


def row_to_record(kind: str, row: Base | Row[Any]) -> Record:
    """A stored row (a mapped object, or a Core row of the table's columns) as its (already
    valid) domain record, skipping re-validation of 'today'."""
    cls = RECORD_TYPES[kind]
    data = {name: getattr(row, name) for name in cls.model_fields}
    return cls.model_validate(data, context={"today": _far_future()})


def _far_future():  # stored rows were checked against the day they were written
    import datetime as dt

    return dt.date(9999, 12, 31)


def table_of(kind: str) -> type[Base]:
    return ROW_TYPES[kind]
