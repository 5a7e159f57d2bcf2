"""Form plumbing: field specs rendered by one Jinja macro, errors shown next to each field.

A form is a list of :class:`Field`; a broken rule comes back from the domain as a
``ValidationFailed`` whose problems name fields, and :func:`errors_by_field` puts each message
next to its input (and into an error summary at the top, for screen readers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from starlette.datastructures import FormData

from .. import templating
from ..domain.codes import FUNCTIONAL_SYSTEM_MAX, FunctionalSystem
from ..domain.identifiers import parse_database_id
from ..errors import Problem, ValidationFailed


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    #: text, number, date, select, checkbox, checkboxes (a group; options are its boxes),
    #: textarea, password, email, scale, hidden, static (a value shown, not edited)
    kind: str = "text"
    options: Sequence[tuple[str, str]] = ()
    required: bool = False
    help: str = ""
    step: str | None = None
    min: str | None = None
    max: str | None = None
    attrs: Mapping[str, str] = field(default_factory=dict)


def enum_options(enum: type[StrEnum], blank: str | None = None) -> list[tuple[str, str]]:
    options = [("", blank)] if blank is not None else []
    return options + [(m.value, templating.plain(m.value)) for m in enum]


def form_values(form: FormData) -> dict[str, str]:
    """Plain text values of a submitted form (the CSRF token dropped, blanks kept blank)."""
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def blank_to_none(values: Mapping[str, str], names: Sequence[str]) -> dict[str, Any]:
    """Only the named fields; an empty input means 'not given' (None), never 0 or 'no'."""
    return {name: (values.get(name) or None) for name in names}


def form_id(values: Mapping[str, str], name: str, record: str) -> int:
    """The database id in form field ``name``. Anything but a whole number in the database's
    range is a 422 naming the field, never a lookup: an id beyond 64 bits would be a server
    error in the database driver."""
    raw = values.get(name, "").strip()
    try:
        return parse_database_id(raw)
    except ValueError as error:
        raise ValidationFailed(Problem(record, name, str(error), value=raw)) from None


def optional_form_id(values: Mapping[str, str], name: str, record: str) -> int | None:
    """As :func:`form_id`, with a blank field meaning 'not given' (None)."""
    return form_id(values, name, record) if values.get(name, "").strip() else None


def errors_by_field(failure: ValidationFailed, known: Sequence[str]) -> dict[str, str]:
    """Problem messages keyed by form field; problems on other fields go under ``_form``."""
    errors: dict[str, str] = {}
    for problem in failure.problems:
        name = _field_name(problem)
        key = name if name in known else "_form"
        message = problem.rule if key != "_form" or not name else f"{name}: {problem.rule}"
        errors[key] = f"{errors[key]}; {message}" if key in errors else message
    return errors


def _field_name(problem: Problem) -> str:
    return problem.field.split(".")[0] if problem.field else ""


def checkbox(values: Mapping[str, str], name: str) -> bool:
    """A ticked checkbox (the relapse form's symptoms by functional system)."""
    return values.get(name) in ("on", "true", "1", "yes")


def tri_state(values: Mapping[str, str], name: str) -> bool | None:
    """A yes / no / not-recorded select: blank stays None."""
    value = values.get(name, "")
    return {"yes": True, "no": False}.get(value)


YES_NO_UNKNOWN = [("", "not recorded"), ("yes", "yes"), ("no", "no")]


def functional_system_fields(name: str, help: str = "") -> list[Field]:
    """One whole-number field per EDSS functional system (``{name}{system}``), named in words
    with its range from :data:`FUNCTIONAL_SYSTEM_MAX` (Kurtzke 1983); ``help`` on the first."""
    return [
        Field(
            f"{name}{fs.value}",
            f"{templating.plain(fs.value).capitalize()} functional system "
            f"(0 to {FUNCTIONAL_SYSTEM_MAX[fs]})",
            "number",
            help=help if i == 0 else "",
            step="1",
            min="0",
            max=str(FUNCTIONAL_SYSTEM_MAX[fs]),
        )
        for i, fs in enumerate(FunctionalSystem)
    ]
