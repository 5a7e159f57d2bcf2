"""The one rule for plausible dates in the registry.

No record of multiple sclerosis care can predate 1900 (the first modern descriptions of the
disease are Charcot's, 1868, and nobody born before 1900 is alive to record one), none can
predate the patient's birth, and none can lie in the future unless it is a planned date (an
n-of-1 trial's start). Planned dates may lie at most :data:`MAX_YEARS_AHEAD` years ahead.
Besides keeping nonsense out, the range keeps every date inside what the analysis libraries
can represent (pandas' nanosecond timestamps end in 1677 and 2262), so one mistyped year can
never take a whole page down.
"""

from __future__ import annotations

import datetime as dt

EARLIEST_DATE = dt.date(1900, 1, 1)
#: How far ahead a planned date may lie.
MAX_YEARS_AHEAD = 10


def latest_planned(today: dt.date) -> dt.date:
    try:
        return today.replace(year=today.year + MAX_YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + MAX_YEARS_AHEAD, day=28)


def date_problem(
    value: dt.date,
    today: dt.date,
    *,
    planned: bool = False,
    birth_year: int | None = None,
) -> str | None:
    """The rule ``value`` breaks, or None when the date is plausible."""
    if value < EARLIEST_DATE:
        return f"date {value.isoformat()} is before {EARLIEST_DATE.isoformat()}"
    if birth_year is not None and (problem := birth_year_problem(value, birth_year)):
        return problem
    if not planned and value > today:
        return f"date {value.isoformat()} is in the future"
    if planned and value > latest_planned(today):
        return f"date {value.isoformat()} is more than {MAX_YEARS_AHEAD} years ahead"
    return None


def birth_year_problem(value: dt.date, birth_year: int) -> str | None:
    """A record of a patient cannot predate the year they were born."""
    if value.year < birth_year:
        return f"date {value.isoformat()} is before the patient's year of birth ({birth_year})"
    return None


def record_birth_problems(record: object, birth_year: int) -> list[tuple[str, str]]:
    """(field, rule) for each date of ``record`` that predates the patient's birth year."""
    found = []
    for name in type(record).model_fields:  # type: ignore[attr-defined]
        value = getattr(record, name)
        if isinstance(value, dt.date) and (problem := birth_year_problem(value, birth_year)):
            found.append((name, problem))
    return found


def is_plausible(value: dt.date, today: dt.date, *, planned: bool = False) -> bool:
    return date_problem(value, today, planned=planned) is None
