"""The suite does not run across midnight (``conftest.pytest_configure``)."""

from __future__ import annotations

import datetime as dt

from .conftest import SUITE_MINUTES, seconds_to_wait


def test_a_run_that_would_cross_midnight_waits_for_it() -> None:
    day = dt.date(2026, 12, 5)
    assert seconds_to_wait(dt.datetime.combine(day, dt.time(12, 0))) == 0
    late = dt.datetime.combine(day, dt.time(23, 57))
    assert seconds_to_wait(late) == 3 * 60 + 5
    edge = dt.datetime.combine(day, dt.time(23, 60 - SUITE_MINUTES))
    assert seconds_to_wait(edge) == 0  # exactly the suite's length left
    assert seconds_to_wait(edge + dt.timedelta(seconds=1)) == SUITE_MINUTES * 60 - 1 + 5
