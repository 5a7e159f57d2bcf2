"""The registry as a REDCap project: its forms and fields, pure data, no I/O.

One REDCap record is one patient (``record_id`` = the registry's patient id). The patient's
own fields (and the site and clinician the patient refers to) are one non-repeating form,
``patient``; every other kind of record is a **repeating instrument**, one instance per record:
``exposure``, ``dose_log``, ``relapse``, ``edss``, ``adverse_event``, ``lab``, ``consent``, and
one form per questionnaire instrument and version (``checkin_v1``, ``nrs_fatigue_v1``, ...).
The registry has no visits, so the project defines no events (a longitudinal project's
``redcap_event_name`` is read on import and named in problems, nothing more).

The forms and their fields are built in :mod:`.redcap_forms`; choice codes are fixed in
:mod:`.redcap_codes`.

REDCap conventions followed (the data dictionary's 18 columns, field types, validation names
``date_ymd``, ``integer``, ``number``, ``time``, choices ``code, label | ...``, checkbox data
columns ``<field>___<code>``, the ``<form>_complete`` status 0/1/2) are those of real REDCap
dictionaries and exports; ``docs/redcap.md`` names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ..domain.instruments.registry import instrument_versions, list_instruments
from .redcap_codes import (
    CODES,
    HEADER,
    PATIENT_FORM,
    RECORD_ID,
    VOCABULARIES,
    Field,
    code_of,
    value_of,
)
from .redcap_forms import questionnaire_fields, questionnaire_form, record_forms

__all__ = [
    "CODES",
    "HEADER",
    "PATIENT_FORM",
    "RECORD_ID",
    "VOCABULARIES",
    "Field",
    "Project",
    "code_of",
    "project",
    "value_of",
]


#: Record kind of each fixed form (questionnaire forms are kind "questionnaires").
FORM_KINDS = {
    PATIENT_FORM: "patients",
    "exposure": "exposures",
    "dose_log": "dose_logs",
    "relapse": "relapses",
    "edss": "edss",
    "adverse_event": "adverse_events",
    "lab": "labs",
    "consent": "consents",
}


@dataclass(frozen=True)
class Project:
    """Every field in dictionary order, and what each form maps to."""

    fields: tuple[Field, ...]
    #: questionnaire form -> (instrument id, version)
    instruments: dict[str, tuple[str, str]]

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.form for f in self.fields))

    def form_fields(self, form: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.form == form)

    def kind(self, form: str) -> str:
        return FORM_KINDS.get(form, "questionnaires")

    @property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    def data_header(self, longitudinal: bool = False) -> list[str]:
        """A data export's columns: record_id, the repeat columns, then each form's fields
        and its ``<form>_complete`` status."""
        header = [RECORD_ID]
        if longitudinal:
            header.append("redcap_event_name")
        header += ["redcap_repeat_instrument", "redcap_repeat_instance"]
        for form in self.forms:
            for item in self.form_fields(form):
                if item.name != RECORD_ID:
                    header.extend(item.data_columns)
            header.append(f"{form}_complete")
        return header


@cache
def project() -> Project:
    """The registry's REDCap project: fixed forms, then one form per instrument version."""
    fields: list[Field] = list(record_forms())
    instruments: dict[str, tuple[str, str]] = {}
    for latest in list_instruments():
        # every shipped version (a registry may hold answers to an old one)
        for definition in instrument_versions(latest.id):
            instruments[questionnaire_form(definition)] = (definition.id, definition.version)
            fields.extend(questionnaire_fields(definition))
    return Project(tuple(fields), instruments)
