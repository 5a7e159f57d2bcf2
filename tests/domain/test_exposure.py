"""LDN status on a date and LDN started during an attack."""

from __future__ import annotations

from datetime import date

import pytest

from ldn_outcomes.domain.definitions.exposure import (
    ExposurePeriod,
    courses,
    started_during_attack,
    status_on,
)
from ldn_outcomes.domain.definitions.relapse import RelapseReport
from ldn_outcomes.errors import ValidationFailed

LDN_1 = ExposurePeriod("naltrexone", date(2023, 1, 1), date(2023, 3, 31), dose_mg=1.5)
LDN_2 = ExposurePeriod("Naltrexone (LDN)", date(2023, 4, 1), None, dose_mg=4.5)
OTHER = ExposurePeriod("baclofen", date(2022, 1, 1), None, dose_mg=10)


def test_status_off_before_start() -> None:
    status = status_on([LDN_1, LDN_2, OTHER], date(2022, 12, 31))
    assert not status.on and status.dose_mg is None and status.days_since_start is None


def test_dose_change_keeps_course_start() -> None:
    status = status_on([LDN_1, LDN_2, OTHER], date(2023, 4, 11))
    assert status.on and status.dose_mg == 4.5
    assert status.course_start == date(2023, 1, 1)
    assert status.days_since_start == 100


def test_stop_date_is_inclusive() -> None:
    assert status_on([LDN_1], date(2023, 3, 31)).on
    assert not status_on([LDN_1], date(2023, 4, 1)).on


def test_gap_starts_a_new_course() -> None:
    restart = ExposurePeriod("naltrexone", date(2023, 6, 1), None, dose_mg=3)
    assert courses([LDN_1, restart]) == [
        (date(2023, 1, 1), date(2023, 3, 31)),
        (date(2023, 6, 1), None),
    ]
    assert status_on([LDN_1, restart], date(2023, 6, 2)).days_since_start == 1


def test_started_during_attack() -> None:
    during = RelapseReport(date(2022, 12, 20), recovery_date=date(2023, 1, 15))
    before = RelapseReport(date(2022, 6, 1), recovery_date=date(2022, 7, 1))
    unknown = RelapseReport(date(2022, 12, 25))
    out = started_during_attack([during, before, unknown], [LDN_1, LDN_2, OTHER])
    verdicts = {a.relapse.onset_date: a.started_during_attack for a in out}
    assert verdicts == {
        date(2022, 6, 1): False,
        date(2022, 12, 20): True,
        date(2022, 12, 25): None,
    }


def test_attack_after_start_is_not_during() -> None:
    later = RelapseReport(date(2023, 2, 1), recovery_date=date(2023, 2, 20))
    assert started_during_attack([later], [LDN_1])[0].started_during_attack is False


def test_stop_before_start_rejected() -> None:
    bad = ExposurePeriod("naltrexone", date(2023, 2, 1), date(2023, 1, 1))
    with pytest.raises(ValidationFailed, match="before start"):
        courses([bad])
