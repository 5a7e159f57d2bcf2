"""Registry records as REDCap data rows and back: pure mapping, no I/O.

A REDCap "flat" export has one row for each record's non-repeating forms and one row per
instance of a repeating instrument, with ``redcap_repeat_instrument`` (the form) and
``redcap_repeat_instance`` (1, 2, ...) saying which; a longitudinal project adds
``redcap_event_name``. Cells hold raw values: choice codes, ``1``/``0`` for yes/no and for each
checkbox column ``<field>___<code>``, dates ``YYYY-MM-DD``, times ``HH:MM``.

Each record's registry key travels in the form's ``<form>_id`` field, so an export read back
gives the same records and an export after an import is identical; a blank id (a record
entered in REDCap) is given a new key on import.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

from ..domain.layout import format_number
from ..domain.models import (
    RECORD_TYPES,
    Clinician,
    EdssAssessment,
    Patient,
    QuestionnaireResponse,
    Record,
    Site,
)
from ..domain.validation import parse_record
from ..errors import Problem, ValidationFailed
from .redcap_project import PATIENT_FORM, RECORD_ID, Field, Project, code_of, value_of

EVENT = "redcap_event_name"
INSTRUMENT = "redcap_repeat_instrument"
INSTANCE = "redcap_repeat_instance"
#: Columns REDCap may add to an export that carry nothing the registry keeps.
IGNORED_COLUMNS = ("redcap_data_access_group", "redcap_survey_identifier")
COMPLETE = "2"  # REDCap's form status: 0 Incomplete, 1 Unverified, 2 Complete


def cell(value: Any) -> str:
    """A raw REDCap value: blank for None, 1/0 for yes/no, ISO dates, HH:MM times."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        return format_number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


# -- records -> rows ------------------------------------------------------------------------


def _value(item: Field, record: Record, shared: Mapping[str, Record | None]) -> Any:
    attr = item.attr
    head, dot, rest = attr.partition(".")
    if dot and head in SHARED:
        return getattr(shared.get(head), rest, None)
    if attr.startswith("fs.") and isinstance(record, EdssAssessment):
        return {s.value: g for s, g in record.functional_systems.items()}.get(attr[3:])
    if attr.startswith("item.") and isinstance(record, QuestionnaireResponse):
        return record.answers[int(attr[5:]) - 1]
    return getattr(record, attr)


#: The records a patient row describes besides the patient (field prefix -> kind).
SHARED = {"site": "sites", "clinician": "clinicians", "clinician_site": "sites"}


def form_cells(
    item: Field, record: Record, shared: Mapping[str, Record | None] | None = None
) -> dict[str, str]:
    """The data cells of one field for one record (``shared``: the patient's site, clinician
    and clinician's site)."""
    value = _value(item, record, shared or {})
    if item.field_type == "checkbox":
        chosen = {code_of(item.codes, v) for v in value or ()}
        return {f"{item.name}___{code}": "1" if code in chosen else "0" for code, _ in item.choices}
    if item.codes and value is not None:
        return {item.name: code_of(item.codes, value)}
    return {item.name: cell(value)}


def patient_rows(
    proj: Project,
    patient: Patient,
    records: Mapping[str, Sequence[Record]],
    shared: Mapping[str, Record | None] | None = None,
) -> list[dict[str, str]]:
    """One patient's rows: the patient form, then each repeating instrument's instances in
    dictionary order, records in key order."""
    row = {RECORD_ID: patient.patient_id, INSTRUMENT: "", INSTANCE: ""}
    for item in proj.form_fields(PATIENT_FORM):
        if item.name != RECORD_ID:
            row.update(form_cells(item, patient, shared))
    row[f"{PATIENT_FORM}_complete"] = COMPLETE
    rows = [row]
    for form in proj.forms[1:]:
        kind = proj.kind(form)
        chosen = list(records.get(kind, ()))
        if kind == "questionnaires":
            wanted = proj.instruments[form]
            chosen = [
                r
                for r in chosen
                if isinstance(r, QuestionnaireResponse)
                and (r.instrument_id, r.instrument_version) == wanted
            ]
        chosen.sort(key=lambda r: getattr(r, "id", 0) or 0)
        for instance, record in enumerate(chosen, start=1):
            row = {RECORD_ID: patient.patient_id, INSTRUMENT: form, INSTANCE: str(instance)}
            for item in proj.form_fields(form):
                row.update(form_cells(item, record))
            row[f"{form}_complete"] = COMPLETE
            rows.append(row)
    return rows


# -- rows -> records ------------------------------------------------------------------------


@dataclass
class Read:
    """What one data row says: records (with the form each came from) and problems."""

    records: list[tuple[str, Record]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    clinicians: list[Clinician] = field(default_factory=list)


def where(row: Mapping[str, str]) -> str:
    """A row's place in REDCap terms: record, event, instrument and instance."""
    parts = [f"record {row.get(RECORD_ID, '').strip() or '(blank)'}"]
    event = (row.get(EVENT) or "").strip()
    if event:
        parts.append(f"event {event}")
    instrument = (row.get(INSTRUMENT) or "").strip()
    instance = (row.get(INSTANCE) or "").strip()
    if instrument:
        parts.append(f"{instrument} #{instance or '?'}")
    elif instance:
        parts.append(f"instance {instance}")
    return ", ".join(parts)


_FORMATS = {
    "date_ymd": (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "a date YYYY-MM-DD (date_ymd)"),
    "time": (re.compile(r"[0-9]{2}:[0-9]{2}"), "a time HH:MM (time)"),
    "integer": (re.compile(r"-?[0-9]+"), "a whole number (integer)"),
    "number": (re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)"), "a number (number)"),
}


def _has_data(item: Field, row: Mapping[str, str]) -> bool:
    if item.field_type == "checkbox":
        return any((row.get(c) or "").strip() not in ("", "0") for c in item.data_columns)
    return bool((row.get(item.name) or "").strip())


def _raw(item: Field, row: Mapping[str, str]) -> tuple[Any, str | None]:
    """The value a record validates from, or the REDCap rule the cell breaks."""
    if item.field_type == "checkbox":
        chosen = []
        for code, _ in item.choices:
            text = (row.get(f"{item.name}___{code}") or "").strip()
            if text not in ("", "0", "1"):
                return None, f"checkbox column {item.name}___{code} must be 1 or 0"
            if text == "1":
                chosen.append(value_of(item.codes, code))
        return tuple(chosen), None
    text = (row.get(item.name) or "").strip()
    if text == "":
        return None, None
    if item.codes:
        value = value_of(item.codes, text)
        if value is None:
            codes = ", ".join(code for code, _ in item.choices)
            return None, f"must be one of the choice codes {codes}"
        return value, None
    if item.field_type == "yesno":
        if text not in ("0", "1"):
            return None, "must be 1 (yes) or 0 (no)"
        return text == "1", None
    rule = _FORMATS.get(item.validation)
    if rule is not None and not rule[0].fullmatch(text):
        return None, f"must be {rule[1]}"
    return text, None


def read_row(proj: Project, number: int, row: Mapping[str, str], source: str) -> Read:
    """The records of one data row; every problem is named by record, event, instance and
    field (a REDCap variable name)."""
    read = Read()
    place = where(row)
    record_id = (row.get(RECORD_ID) or "").strip()
    if not record_id:
        read.problems.append(Problem(place, RECORD_ID, "is blank", number, source=source))
        return read
    instrument = (row.get(INSTRUMENT) or "").strip()
    if instrument and instrument not in proj.forms[1:]:
        rule = "is not a repeating instrument of this project"
        read.problems.append(Problem(place, INSTRUMENT, rule, number, instrument, source))
        return read
    instance = (row.get(INSTANCE) or "").strip()
    if instance and not (instance.isascii() and instance.isdigit() and int(instance) >= 1):
        rule = "must be a whole number from 1"
        read.problems.append(Problem(place, INSTANCE, rule, number, instance, source))
        return read
    if instrument and not instance:
        read.problems.append(Problem(place, INSTANCE, "is blank", number, source=source))
        return read
    for form in proj.forms:
        items = [f for f in proj.form_fields(form) if f.name != RECORD_ID]
        filled = [f for f in items if _has_data(f, row)]
        if not filled:
            continue
        if instrument and form != instrument:
            rule = f"holds {form} data on a row of repeating instrument {instrument}"
            read.problems.append(Problem(place, filled[0].name, rule, number, source=source))
            continue
        _read_form(proj, form, items, number, row, record_id, place, source, read)
    return read


def _read_form(
    proj: Project,
    form: str,
    items: Sequence[Field],
    number: int,
    row: Mapping[str, str],
    record_id: str,
    place: str,
    source: str,
    read: Read,
) -> None:
    data: dict[str, Any] = {"patient_id": record_id}
    extra: dict[str, dict[str, Any]] = {head: {} for head in SHARED}
    systems: dict[str, Any] = {}
    answers: dict[int, Any] = {}
    names = {"patient_id": RECORD_ID}
    failed = False
    for item in items:
        value, rule = _raw(item, row)
        if rule is not None:
            read.problems.append(
                Problem(place, item.name, rule, number, row.get(item.name), source)
            )
            failed = True
            continue
        head, _, rest = item.attr.partition(".")
        if head in extra and rest:
            extra[head][rest] = value
        elif head == "fs" and rest:
            if value is not None:
                systems[rest] = value
            names.setdefault("functional_systems", item.name)
        elif head == "item" and rest:
            answers[int(rest)] = None if value is None else float(value)
            names.setdefault("answers", item.name)
        elif value is not None:
            data[item.attr] = value
            names[item.attr] = item.name
        else:
            names[item.attr] = item.name
    if failed:
        return
    kind = proj.kind(form)
    cls = RECORD_TYPES[kind]
    if cls is EdssAssessment:
        data["functional_systems"] = systems
    if kind == "questionnaires":
        data["instrument_id"], data["instrument_version"] = proj.instruments[form]
        data["answers"] = tuple(answers[n] for n in sorted(answers))
        names["instrument_id"] = names["instrument_version"] = form
    try:
        record = parse_record(cls, data, row=number, source=source)
    except ValidationFailed as failure:
        for p in failure.problems:
            name = names.get(p.field.split(".")[0], p.field)
            read.problems.append(Problem(place, name, p.rule, number, p.value, source))
        return
    read.records.append((form, record))
    if cls is Patient:
        _shared(extra, record, number, place, source, read)


def _shared(
    extra: dict[str, dict[str, Any]],
    patient: Record,
    number: int,
    place: str,
    source: str,
    read: Read,
) -> None:
    """The site, clinician and clinician's site a patient row describes (those named with
    a name; an id alone refers to a record the registry already holds)."""
    clinician_site = extra["clinician"].get("site_id")
    wanted = (
        ("site", Site, {"site_id": getattr(patient, "site_id", None)}, "name"),
        (
            "clinician",
            Clinician,
            {"clinician_id": getattr(patient, "clinician_id", None)},
            "display_name",
        ),
        ("clinician_site", Site, {"site_id": clinician_site}, "name"),
    )
    for head, cls, key, named in wanted:
        if not next(iter(key.values())) or not extra[head].get(named):
            continue
        data = {**key, **{k: v for k, v in extra[head].items() if v is not None}}
        columns = {"display_name": "clinician_name"}
        try:
            record = parse_record(cls, data, row=number, source=source)
        except ValidationFailed as failure:
            key_column = {"site": "site_id", "clinician": "clinician_id"}.get(
                head, "clinician_site_id"
            )
            for p in failure.problems:
                name = key_column if p.field in key else columns.get(p.field, f"{head}_{p.field}")
                read.problems.append(Problem(place, name, p.rule, number, p.value, source))
            continue
        (read.sites if cls is Site else read.clinicians).append(record)  # type: ignore[arg-type]
