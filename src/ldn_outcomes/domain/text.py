"""The one rule for text that comes from outside: no NUL, no control characters.

A NUL byte cannot be stored in a PostgreSQL text column, and control characters (escape
sequences, form feeds, ...) have no place in a drug name or an e-mail address: they only hide
what a value really says. Every text input (web forms, API bodies, importers, the sign-in
form) is checked here, so each layer refuses the same characters with the same words. Tab and
line breaks are allowed only in fields that are multi-line by nature (free-text notes).
Unpaired UTF-16 surrogates are refused too: no database can store them as UTF-8.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

#: Allowed in multi-line text (a browser sends a textarea's line breaks as CR LF).
MULTILINE_ALLOWED = frozenset("\t\n\r")


def _is_refused(char: str, multiline: bool) -> bool:
    code = ord(char)
    if multiline and char in MULTILINE_ALLOWED:
        return False
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """The rule ``value`` breaks, naming the first refused character, or None when it is fine."""
    for position, char in enumerate(value, start=1):
        if _is_refused(char, multiline):
            name = "a NUL byte" if char == "\0" else f"control character U+{ord(char):04X}"
            allowed = " (only tab and line breaks are allowed here)" if multiline else ""
            return f"contains {name} at position {position}{allowed}"
    return None


def check_text(value: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or ValueError naming the refused character."""
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise ValueError(problem)
    return value


def check_single_line(value: str) -> str:
    return check_text(value)


def check_multiline(value: str) -> str:
    return check_text(value, multiline=True)


#: Annotated text types for request bodies and forms outside the record models.
SingleLineText = Annotated[str, AfterValidator(check_single_line)]
MultiLineText = Annotated[str, AfterValidator(check_multiline)]


#: Why a record was corrected or removed, a trial stopped, a request withdrawn or declined:
#: kept in the audit log with the change, so it must say something and stay short.
REASON_MIN_LENGTH = 3
REASON_MAX_LENGTH = 500
REASON_RULE = "say why (3 to 500 characters): the reason is kept with the record's history"


def reason_problem(reason: str | None) -> str | None:
    """The one rule for a reason given with a change: 3 to 500 characters once trimmed, no
    control characters (line breaks and tab allowed); None when it holds."""
    text = (reason or "").strip()
    if not REASON_MIN_LENGTH <= len(text) <= REASON_MAX_LENGTH:
        return REASON_RULE
    return text_problem(text, multiline=True)
