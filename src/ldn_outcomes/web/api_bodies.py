"""Typed request bodies for the JSON API, and the one translation of their errors.

Every API body is a pydantic model that refuses unknown keys (a check-in posted with
``"spasm": 3`` instead of ``"spasms"`` is an error, not a silently blank answer), refuses NaN
and infinity, and runs the domain's text rule on every string. A domain record
(:class:`~ldn_outcomes.domain.models.Record`) already behaves so and may be used as a body
directly; anything else derives from :class:`ApiBody`.

:func:`request_problems` turns FastAPI's ``RequestValidationError`` into our
:class:`~ldn_outcomes.errors.Problem` list, so a broken body answers 422 in the canonical error
shape, naming the field (or the unknown key) and the rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from ..domain.instruments.registry import get_instrument
from ..domain.models import Patient
from ..domain.text import text_problem
from ..errors import Problem

UNKNOWN_KEY_RULE = "unknown key: not a field of this request (check its spelling)"


class ApiBody(BaseModel):
    """Base of every JSON request body that is not a domain record."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)
    #: Fields where tab and line breaks are allowed.
    multiline_text: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _clean_text(self) -> ApiBody:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, str):
                problem = text_problem(value, multiline=name in self.multiline_text)
                if problem is not None:
                    raise ValueError(f"{name}: {problem}")
        return self


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def request_problems(errors: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """Pydantic/FastAPI errors as Problems: field first, the rule in plain words."""
    problems = []
    for item in errors:
        loc = [str(part) for part in item.get("loc", ()) if part != "body"]
        field = ".".join(loc)
        rule = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            rule = UNKNOWN_KEY_RULE
        if not field and ":" in rule:  # model-level rules name their field: "stop_date: ..."
            head, _, rest = rule.partition(":")
            if head.isidentifier():
                field, rule = head, rest.strip()
        value = item.get("input") if loc else None
        problems.append(
            Problem(record="request", field=field or "(body)", rule=rule, value=_json_safe(value))
        )
    return problems


class NewPatientBody(Patient):
    """``POST /api/patients``: a patient record, plus the date care consent was given."""

    past_dates: ClassVar[tuple[str, ...]] = (*Patient.past_dates, "care_consent_date")
    care_consent_date: dt.date | None = Field(
        default=None, description="The patient's care consent, given on this date."
    )

    def patient_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude={"care_consent_date"})


def _checkin_body() -> type[ApiBody]:
    """The check-in body, one optional number per item of the check-in instrument."""
    definition = get_instrument("checkin")
    fields: dict[str, Any] = {
        "date": (dt.date | None, Field(default=None, description="Default: today.")),
    }
    for item in definition.items:
        fields[item.key] = (
            float | None,
            # the range is the instrument's rule, checked (and worded) by its scoring
            Field(default=None, description=f"{item.label} ({item.min:g} to {item.max:g})"),
        )
    return create_model("CheckinBody", __base__=ApiBody, **fields)


#: ``POST /api/patients/{id}/checkins``.
CheckinBody = _checkin_body()
