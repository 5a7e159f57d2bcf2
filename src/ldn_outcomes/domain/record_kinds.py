"""The names of the record kinds that belong to one patient, without the record models.

``ldn record --help`` lists them; keeping them apart from ``domain.models`` (pydantic models
built at import) lets the help start without building those models. ``domain.models`` imports
them from here and maps every kind to its model in ``RECORD_TYPES``.
"""

from __future__ import annotations

#: The record kinds that belong to one patient (every kind but sites, clinicians and patients),
#: in dependency order.
PATIENT_KINDS = (
    "exposures",
    "dose_logs",
    "questionnaires",
    "relapses",
    "edss",
    "adverse_events",
    "labs",
    "consents",
)
