"""The daily check-in's items, looked up by key: the one place that knows which answer is which.

A check-in stores its answers as a list in the order of the items of its instrument definition
(``domain/instruments/data/checkin-<version>.json``). Every layer that needs "the fatigue
answer" asks ``checkin_position("fatigue")`` or ``checkin_answer(answers, "fatigue")`` instead
of writing a position: a new version of the check-in that reorders its items then changes one
data file, not every reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from ldn_outcomes.domain.instruments.registry import get_instrument
from ldn_outcomes.errors import NotFound

#: The diary's daily check-in instrument id.
CHECKIN_INSTRUMENT = "checkin"

#: Check-in items that are 0-10 numeric rating scales of an instrument the analyses can plan
#: (item key -> instrument id of the standalone scale with the same question and range).
CHECKIN_SCALES: dict[str, str] = {"fatigue": "nrs-fatigue", "spasms": "nrs-spasticity"}


@cache
def checkin_keys(version: str | None = None) -> tuple[str, ...]:
    """The item keys of the check-in, in answer order (the latest version unless pinned)."""
    return tuple(item.key for item in get_instrument(CHECKIN_INSTRUMENT, version).items)


def checkin_position(key: str, version: str | None = None) -> int:
    """0-based position of item ``key`` in a check-in's answers."""
    keys = checkin_keys(version)
    try:
        return keys.index(key)
    except ValueError:
        raise NotFound(
            f"the check-in has no item {key!r}; its items are {', '.join(keys)}"
        ) from None


def checkin_answer(
    answers: Sequence[float | None] | None, key: str, version: str | None = None
) -> float | None:
    """The answer to item ``key`` (None when blank or absent: a blank is never 0)."""
    position = checkin_position(key, version)
    if answers is None or position >= len(answers) or answers[position] is None:
        return None
    return float(answers[position])  # type: ignore[arg-type]


def scale_positions(version: str | None = None) -> dict[int, str]:
    """Answer position -> instrument id, for the check-in items in ``CHECKIN_SCALES``."""
    return {checkin_position(key, version): scale for key, scale in CHECKIN_SCALES.items()}
