"""One exception tree for the whole package.

Every layer raises these; each boundary translates them once
(the CLI into one red line and an exit code, the web layer into one JSON/HTML error shape)::

    LdnError
    ├── ValidationFailed        input broke a rule (CLI exit 2, HTTP 422); carries every Problem
    ├── NotFound                a referenced record does not exist (CLI exit 3, HTTP 404)
    ├── DuplicateRecord         an id that must be unique already exists (CLI exit 2, HTTP 409)
    ├── InteractionError        a drug combination that must not be recorded silently (exit 2, 422)
    ├── PermissionDenied        the acting account may not see or change this (CLI exit 4, HTTP 403)
    ├── InsufficientData        too little data for a meaningful answer (CLI exit 5, HTTP 422)
    ├── ConfigurationError      settings are missing or unsafe (CLI exit 6, HTTP 500)
    └── SourceUnavailable       an outside service (ClinicalTrials.gov, PubMed) failed (exit 7, 502)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


def _shortened(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


@dataclass(frozen=True)
class Problem:
    """One broken rule: which record, which field, which rule, and where in a file."""

    record: str
    field: str
    rule: str
    row: int | None = None
    value: Any = None
    source: str | None = None

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.row is not None:
            where.append(f"row {self.row}")
        prefix = f"{', '.join(where)}: " if where else ""
        shown = "" if self.value is None else f" (got {_shortened(repr(self.value))})"
        return f"{prefix}{self.record}.{self.field}: {self.rule}{shown}"

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        if value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # JSON has no NaN or infinity
        if isinstance(value, str) and len(value) > 1000:
            value = _shortened(value, 1000)
        return {
            "record": self.record,
            "field": self.field,
            "rule": self.rule,
            "row": self.row,
            "value": value,
            "source": self.source,
        }


class LdnError(Exception):
    """Root of every error the package raises on purpose."""

    exit_code = 1
    http_status = 500

    def as_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": str(self), "problems": []}


class ValidationFailed(LdnError):
    """Input broke one or more rules; nothing was written."""

    exit_code = 2
    http_status = 422

    def __init__(self, problems: list[Problem] | Problem, message: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        if message is None:
            shown = "; ".join(str(p) for p in self.problems[:5])
            more = len(self.problems) - 5
            message = shown + (f"; and {more} more problem(s)" if more > 0 else "")
            if not self.problems:
                message = "validation failed"
        super().__init__(message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "message": str(self),
            "problems": [p.as_dict() for p in self.problems],
        }

    def renamed(self, fields: Mapping[str, str]) -> ValidationFailed:
        """The same problems, each naming its field as the caller's input names it (a rule
        checked on a derived record speaks of the field the user actually sent)."""
        return ValidationFailed(
            [replace(p, field=fields.get(p.field, p.field)) for p in self.problems]
        )


class InteractionError(ValidationFailed):
    """A drug combination that must not be recorded silently (e.g. naltrexone with an opioid)."""


class NotFound(LdnError):
    exit_code = 3
    http_status = 404


class DuplicateRecord(LdnError):
    exit_code = 2
    http_status = 409


class PermissionDenied(LdnError):
    exit_code = 4
    http_status = 403


class InsufficientData(LdnError):
    """Too little data to compute a meaningful answer; says what is missing."""

    exit_code = 5
    http_status = 422


class RequestTooLarge(LdnError):
    """A request body over the web app's limit; nothing of it was read further."""

    http_status = 413


class ConfigurationError(LdnError):
    exit_code = 6
    http_status = 500


class SourceUnavailable(LdnError):
    """An outside service did not answer usefully after retries."""

    exit_code = 7
    http_status = 502
