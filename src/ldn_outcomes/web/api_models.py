"""Typed bodies of the records API, derived from the domain records so they cannot drift.

Each record kind gets a request model (its fields without ``id`` and ``patient_id``, which
come from the path) on :class:`~ldn_outcomes.web.api_bodies.ApiBody`, so it refuses unknown
keys (naming them, 422), NaN and infinity, and control characters in text; the domain record
itself is the response model, so ``/docs`` shows both. The domain's own rules (plausible
dates, EDSS steps, stop after start, ...) run when the request is turned into a domain record,
exactly as for the web forms.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, create_model

from ..domain.codes import TimeOfDay
from ..domain.models import RECORD_TYPES, DatabaseId, Exposure
from .api_bodies import ApiBody

Reason = Field(min_length=3, max_length=500, description="Why; kept in the record's history.")


def request_model(kind: str) -> type[BaseModel]:
    """``<Record>In``: the record's fields minus its id and patient."""
    domain = RECORD_TYPES[kind]
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in domain.model_fields.items()
        if name not in ("id", "patient_id")
    }
    return create_model(f"{domain.__name__}In", __base__=ApiBody, **fields)


def correction_model(kind: str, body: type[BaseModel]) -> type[BaseModel]:
    """``<Record>Correction``: the record as it should be, and why."""
    domain = RECORD_TYPES[kind]
    return create_model(
        f"{domain.__name__}Correction",
        __base__=ApiBody,
        reason=(str, Reason),
        record=(body, ...),
    )


class Removal(ApiBody):
    reason: str = Reason


class Removed(BaseModel):
    kind: str
    id: str
    removed: bool = True
    reason: str


class HistoryEntryOut(BaseModel):
    """One version change: who, when, what (before/after, changed fields) and why."""

    at: dt.datetime
    actor: str
    action: str
    reason: str | None
    changed: list[str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class DoseChange(ApiBody):
    """Change the LDN dose from a date: the current regimen ends the day before."""

    exposure_id: DatabaseId | None = Field(
        default=None, description="The regimen to change; default: the ongoing LDN regimen."
    )
    from_date: dt.date
    dose_mg: Decimal = Field(gt=0, max_digits=12, decimal_places=4)
    time_of_day: TimeOfDay | None = Field(
        default=None, description="Default: the current regimen's time of day."
    )
    frequency: str | None = Field(default=None, max_length=40)


class RegimenStop(ApiBody):
    """Stop a regimen; ``last_day`` is the last day it was taken."""

    exposure_id: DatabaseId | None = None
    last_day: dt.date
    reason: str | None = Field(default=None, max_length=200)


class RegimenChanged(BaseModel):
    ended: Exposure
    new: Exposure
