"""Turn pydantic's errors into our Problems: record, field, rule, row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from ..errors import Problem, ValidationFailed
from .models import Record

R = TypeVar("R", bound=Record)


def problems_from(
    error: ValidationError, record: str, row: int | None = None, source: str | None = None
) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item.get("loc", ())]
        message = str(item.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        field = ".".join(loc) if loc else ""
        # Model-level rules name their field at the start of the message: "stop_date: ...".
        if not field and ":" in message:
            head, _, rest = message.partition(":")
            if head.isidentifier():
                field, message = head, rest.strip()
        problems.append(
            Problem(
                record=record,
                field=field or "(record)",
                rule=message,
                row=row,
                value=item.get("input") if loc else None,
                source=source,
            )
        )
    return problems


def parse_record(
    cls: type[R],
    data: Mapping[str, Any],
    *,
    row: int | None = None,
    source: str | None = None,
    today: dt.date | None = None,
) -> R:
    """Validate one record or raise ValidationFailed naming each broken field and rule."""
    context = {"today": today} if today is not None else None
    try:
        return cls.model_validate(dict(data), context=context)
    except ValidationError as error:
        raise ValidationFailed(problems_from(error, cls.record_name, row, source)) from None
