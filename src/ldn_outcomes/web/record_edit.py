"""One form for correcting any record kind, built from the domain record's own fields.

The fields, their kinds (date, yes/no, choice, number, text) and choices come from the domain
model, so a new field appears on the correction form without a template change; a set of
choices (a relapse's functional systems) is a group of check boxes, one named
``<field>.<choice>`` each; an EDSS's functional system scores are one whole-number field per
system (``functional_systems.pyramidal``, ...; empty = not assessed) with the system's range; a
questionnaire names its instrument in words (never edited: a correction keeps the instrument;
a new one is picked before its form is shown) and its answers are one number field per item of
the instrument definition (``answers.0``, ``answers.1``, ...; empty = skipped); other lists
(answers of an instrument not defined here) are edited as JSON. Parsing turns the submitted
text back into the record's data and lets the domain validate it, so a correction is refused
for exactly the reasons an entry is.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import types
import typing
from decimal import Decimal
from enum import Enum
from typing import Any

from ..domain.codes import FunctionalSystem
from ..domain.instruments import get_instrument, list_instruments
from ..domain.instruments.model import InstrumentDefinition, Item
from ..domain.models import RECORD_TYPES, QuestionnaireResponse, Record
from ..errors import NotFound, Problem, ValidationFailed
from ..templating import plain
from .forms import YES_NO_UNKNOWN, Field, errors_by_field, functional_system_fields

#: Fields that identify the record; never edited on the form.
FIXED = ("id", "patient_id")
#: A questionnaire's instrument: shown in words, kept by a correction, chosen for a new one.
INSTRUMENT = ("instrument_id", "instrument_version")
#: Fields the domain works out from the others (a questionnaire's total, scored by its
#: instrument): shown on a correction, never typed, so a corrected answer cannot leave a stale
#: total behind.
COMPUTED = {"total": "Total (worked out from the answers)"}
LABELS = {
    "drug_name": "Medicine name",
    "dose_mg": "Dose (mg)",
    "time_of_day": "Time of day",
    "start_date": "Started on",
    "stop_date": "Stopped on (last day taken)",
    "onset_date": "Started on",
    "recovery_date": "Recovered on",
    "lasted_24h": "Lasted at least 24 hours?",
    "fever_or_infection": "Fever or infection at the start?",
    "steroid_treated": "Treated with steroids?",
    "answers": "Answers, in item order (JSON list; null = blank)",
    "loinc_code": "LOINC code",
}


#: Labels of the check-box groups (a set of choices), where they differ from LABELS.
CHOICE_LABELS = {"functional_systems": "Functional systems affected"}


def _inner(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``| None``, and whether None was allowed."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else annotation), True
    return annotation, False


def _shape(annotation: Any) -> str:
    inner, _ = _inner(annotation)
    origin = typing.get_origin(inner)
    if origin is typing.Annotated:
        inner = typing.get_args(inner)[0]
        origin = typing.get_origin(inner)
    if origin is tuple and _choice_enum(inner) is not None:
        return "choices"
    if origin is dict and typing.get_args(inner)[0] is FunctionalSystem:
        return "systems"
    if origin in (tuple, list, dict) or inner in (tuple, list, dict):
        return "json"
    if inner is bool:
        return "bool"
    if inner is dt.date:
        return "date"
    if inner is dt.time:
        return "time"
    if isinstance(inner, type) and issubclass(inner, Enum):
        return "enum"
    if inner in (int, float, Decimal):
        return "number"
    return "text"


def _number_or_none(raw: str) -> Any:
    """A submitted answer: empty is skipped (None, never 0); anything else goes to the domain
    as typed, which refuses what is not a number in the item's range."""
    raw = raw.strip()
    return None if raw == "" else raw


def _choice_enum(annotation: Any) -> type[Enum] | None:
    """The Enum of ``tuple[SomeEnum, ...]`` (a set of choices), else None."""
    args = typing.get_args(annotation)
    if len(args) == 2 and args[1] is Ellipsis and isinstance(args[0], type):
        return args[0] if issubclass(args[0], Enum) else None
    return None


def choice_key(name: str, value: str) -> str:
    """The form name of one check box of a group: ``functional_systems.visual``."""
    return f"{name}.{value}"


def instrument_of(record: Record | None) -> InstrumentDefinition | None:
    """A questionnaire's instrument definition, or None (another kind, or not defined here)."""
    if not isinstance(record, QuestionnaireResponse):
        return None
    try:
        return get_instrument(record.instrument_id, record.instrument_version)
    except NotFound:
        return None


def addable_instruments() -> list[InstrumentDefinition]:
    """The instruments a questionnaire can be added for (the EDSS is a record kind of its own)."""
    return [d for d in list_instruments() if d.scoring != "edss"]


def chosen_instrument(instrument_id: str, version: str | None = None) -> InstrumentDefinition:
    """The instrument picked for a new questionnaire; NotFound names the known ones."""
    definition = get_instrument(instrument_id, version or None)
    if definition.scoring == "edss":
        raise NotFound("the EDSS is recorded as an EDSS assessment, not as a questionnaire")
    return definition


def instrument_words(definition: InstrumentDefinition) -> str:
    return f"{definition.name} (version {definition.version})"


def answer_fields(
    record: Record | None, definition: InstrumentDefinition | None = None
) -> list[Field] | None:
    """One number field per item of a questionnaire's instrument (its words and range), or
    None when the record is not a questionnaire or its instrument is not defined here."""
    definition = definition or instrument_of(record)
    if definition is None:
        return None
    items = definition.items
    if isinstance(record, QuestionnaireResponse) and len(items) != len(record.answers):
        return None
    return [
        Field(
            f"answers.{i}",
            _item_label(item),
            "number",
            help="Leave empty for a question not answered." if i == 0 else "",
            step=f"{item.step:g}",
            min=f"{item.min:g}",
            max=f"{item.max:g}",
        )
        for i, item in enumerate(items)
    ]


def edit_fields(
    kind: str, record: Record | None = None, instrument: InstrumentDefinition | None = None
) -> list[Field]:
    """The correction form's fields for one record kind (for ``record``: a questionnaire's
    instrument in words and its answers one field per item; ``instrument``: the same for a new
    questionnaire, whose instrument goes with the form as hidden fields)."""
    fields = []
    definition = instrument or instrument_of(record)
    for name, info in RECORD_TYPES[kind].model_fields.items():
        if name in FIXED:
            continue
        if name in INSTRUMENT and (record is not None or instrument is not None):
            if instrument is not None:  # a new questionnaire: the instrument picked
                fields.append(Field(name, name, "hidden"))
            if name == "instrument_id":
                fields.append(Field("instrument", "Questionnaire", "static"))
            continue
        if name == "answers" and (items := answer_fields(record, definition)) is not None:
            fields += items
            continue
        if name in COMPUTED:  # worked out by the domain from the other fields: shown, not typed
            if record is not None:
                fields.append(Field(name, COMPUTED[name], "static"))
            continue
        shape = _shape(info.annotation)
        label = LABELS.get(name, name.replace("_", " ").capitalize())
        required = info.is_required()
        if shape == "systems":
            fields += functional_system_fields(f"{name}.", "Leave empty for a system not assessed.")
        elif shape == "bool":
            _, optional = _inner(info.annotation)
            options = YES_NO_UNKNOWN if optional else [("yes", "yes"), ("no", "no")]
            fields.append(Field(name, label, "select", options, required=required))
        elif shape == "choices":
            choices = _choice_enum(_inner(info.annotation)[0])
            assert choices is not None
            options = [(str(m.value), plain(str(m.value))) for m in choices]
            fields.append(Field(name, CHOICE_LABELS.get(name, label), "checkboxes", options))
        elif shape == "enum":
            inner, optional = _inner(info.annotation)
            options = [("", "not recorded")] if optional else []
            options += [(m.value, m.value.replace("_", " ")) for m in inner]
            fields.append(Field(name, label, "select", options, required=required))
        elif shape == "number":
            fields.append(Field(name, label, "number", step="any", required=required))
        elif shape in ("date", "time"):
            fields.append(Field(name, label, shape, required=required))
        else:
            fields.append(Field(name, label, "text", required=required))
    return fields


def instrument_values(definition: InstrumentDefinition) -> dict[str, str]:
    """A new questionnaire's form values naming its instrument (hidden, and in words)."""
    return {
        "instrument_id": definition.id,
        "instrument_version": definition.version,
        "instrument": instrument_words(definition),
    }


def edit_errors(failure: ValidationFailed, fields: list[Field]) -> dict[str, str]:
    """Problems keyed by the form's fields: an answer's by its item's field (the first item's
    when the domain names none), a functional system's by that system's field (the domain
    names the whole list or map)."""
    names = [f.name for f in fields] + ["reason"]
    errors: dict[str, str] = {}
    rest = []
    for problem in failure.problems:
        key = _field_of(problem, names)
        if key is None:
            rest.append(problem)
        else:
            errors[key] = f"{errors[key]}; {problem.rule}" if key in errors else problem.rule
    if rest:
        errors.update(errors_by_field(ValidationFailed(rest), names))
    return errors


def _field_of(problem: Problem, names: list[str]) -> str | None:
    """The one form field a problem on a list or map belongs to, if the form has it."""
    if problem.field.startswith("answers") and "answers.0" in names:
        item = re.match(r"item (\d+):", problem.rule)  # the domain names the item, from 1
        key = f"answers.{int(item.group(1)) - 1}" if item else "answers.0"
        return key if key in names else "answers.0"
    if problem.field.startswith("functional_systems"):
        text = f"{problem.field} {problem.rule}"
        for fs in FunctionalSystem:
            if fs.value in text and f"functional_systems.{fs.value}" in names:
                return f"functional_systems.{fs.value}"
    return None


def facts_of(record: Record, shown: dict[str, Any]) -> dict[str, Any]:
    """A record's values as its page lists them (``shown`` is its JSON form): without the
    fields that identify it, and a questionnaire's instrument by name, not by code."""
    facts = {name: value for name, value in shown.items() if name not in FIXED}
    if isinstance(record, QuestionnaireResponse):
        definition = instrument_of(record)
        words = (
            instrument_words(definition)
            if definition is not None
            else f"{record.instrument_id} (version {record.instrument_version})"
        )
        rest = {k: v for k, v in facts.items() if k not in INSTRUMENT}
        facts = {"questionnaire": words, **rest}
    return facts


def form_values_of(record: Record) -> dict[str, str]:
    """A record's values as the form shows them."""
    values: dict[str, str] = {}
    data = record.model_dump(mode="json")
    if isinstance(record, QuestionnaireResponse):
        values["instrument"] = facts_of(record, data)["questionnaire"]
    for name, info in type(record).model_fields.items():
        if name in FIXED:
            continue
        value = data.get(name)
        shape = _shape(info.annotation)
        if value is None:
            values[name] = ""
        elif shape == "systems":
            values.update({f"{name}.{k}": str(v) for k, v in value.items()})
        elif shape == "choices":
            values.update({choice_key(name, str(v)): "on" for v in value})
        elif name == "answers" and answer_fields(record) is not None:
            values.update(
                {f"answers.{i}": "" if v is None else f"{v:g}" for i, v in enumerate(value)}
            )
            values[name] = json.dumps(value)
        elif shape == "json":
            values[name] = json.dumps(value)
        elif shape == "bool":
            values[name] = "yes" if value else "no"
        elif isinstance(getattr(record, name), Decimal):  # "4.5", not the stored "4.5000"
            values[name] = f"{getattr(record, name).normalize():f}"
        else:
            values[name] = str(value)
    return values


def parse_edit(kind: str, values: dict[str, str], current: Record) -> dict[str, Any]:
    """The corrected record's data from the submitted form (identity kept from ``current``)."""
    fixed = [name for name in FIXED if name in type(current).model_fields]
    data: dict[str, Any] = {name: getattr(current, name) for name in fixed}
    problems: list[Problem] = []
    for name, info in RECORD_TYPES[kind].model_fields.items():
        if name in FIXED:
            continue
        raw = values.get(name, "").strip()
        shape = _shape(info.annotation)
        if name in INSTRUMENT and getattr(current, name, None):  # a correction keeps it
            data[name] = getattr(current, name)
            continue
        if shape == "systems" and any(k.startswith(f"{name}.") for k in values):
            data[name] = {
                fs.value: _whole_number(kind, name, fs.value, given, problems)
                for fs in FunctionalSystem
                if (given := values.get(f"{name}.{fs.value}", "").strip())
            }
            continue
        if name == "answers" and "answers.0" in values:  # one field per item; empty = skipped
            count = sum(1 for key in values if key.startswith("answers."))
            data[name] = [_number_or_none(values.get(f"answers.{i}", "")) for i in range(count)]
            continue
        if shape == "choices":  # the boxes ticked, in the order the domain lists them
            choices = _choice_enum(_inner(info.annotation)[0])
            assert choices is not None
            data[name] = [m.value for m in choices if values.get(choice_key(name, str(m.value)))]
            continue
        if raw == "":
            data[name] = [] if shape == "json" and name != "answers" else None
            if shape == "systems":
                data[name] = {}
            if data[name] is None and not _inner(info.annotation)[1] and info.default is not None:
                data.pop(name)  # not optional: the domain's default (or its "required" error)
            continue
        if shape in ("json", "systems"):
            try:
                data[name] = json.loads(raw)
            except ValueError:
                problems.append(Problem(kind, name, "must be JSON, e.g. [3, 4, null]", value=raw))
        elif shape == "bool":
            data[name] = {"yes": True, "no": False}.get(raw)
        else:
            data[name] = raw
    if problems:
        raise ValidationFailed(problems)
    return data


def _whole_number(kind: str, name: str, system: str, raw: str, problems: list[Problem]) -> Any:
    """A functional system's score as typed: a whole number, else a problem on its field."""
    try:
        return int(raw)
    except ValueError:
        problems.append(Problem(kind, f"{name}.{system}", "must be a whole number", value=raw))
        return None


def _item_label(item: Item) -> str:
    """An item's number and label, with its range unless the label already states one."""
    text = f"{item.number}. {item.label}"
    states_range = re.search(r"\d\s*(-|to|=)", item.label) is not None  # "(0-8)", "(0 = none"
    return text if states_range else f"{text} ({item.min:g} to {item.max:g})"
