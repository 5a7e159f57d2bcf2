"""How a dose is written for people: ``Decimal("4.5000")`` is "4.5", 3 is "3".

One home for the rule, so labels, pages and the command line print a dose the same way. The
store keeps four decimal places; a person reads the number without its trailing zeros.
"""

from __future__ import annotations

from typing import Any


def dose_number(value: Any) -> str:
    """The dose without trailing zeros (exact for Decimal: no float rounding)."""
    text = f"{value:f}" if hasattr(value, "as_tuple") else str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text
