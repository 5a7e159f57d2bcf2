"""Relapse qualification (>=24 h, no fever/infection, 30-day rule) and ARR."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ldn_outcomes.domain.definitions.relapse import (
    RelapseRate,
    RelapseReport,
    RelapseStatus,
    annualised_relapse_rate,
    pooled_relapse_rate,
    qualify_relapses,
)
from ldn_outcomes.errors import ValidationFailed

D0 = date(2021, 1, 1)


def rep(offset: int, lasted: bool | None = True, fever: bool | None = False) -> RelapseReport:
    return RelapseReport(D0 + timedelta(days=offset), lasted_24h=lasted, fever_or_infection=fever)


def statuses(reports: list[RelapseReport]) -> list[RelapseStatus]:
    return [q.status for q in qualify_relapses(reports)]


def test_short_or_febrile_episodes_are_kept_but_excluded() -> None:
    out = qualify_relapses([rep(0, lasted=False), rep(100, fever=True)])
    assert [q.status for q in out] == [RelapseStatus.EXCLUDED, RelapseStatus.EXCLUDED]
    assert "under 24 h" in out[0].reasons[0]
    assert "fever or infection" in out[1].reasons[0]
    assert not any(q.counts for q in out)


def test_unknown_is_not_read_as_no() -> None:
    out = qualify_relapses([rep(0, lasted=None, fever=None)])
    assert out[0].status is RelapseStatus.UNCONFIRMED
    assert len(out[0].reasons) == 2


def test_onset_within_30_days_is_the_same_relapse() -> None:
    out = qualify_relapses([rep(0), rep(20), rep(45)])
    assert [q.status for q in out] == [
        RelapseStatus.QUALIFYING,
        RelapseStatus.SAME_EVENT,
        RelapseStatus.QUALIFYING,  # 45 days after the counted onset on day 0
    ]
    assert out[1].merged_into == D0
    assert "20 day(s)" in out[1].reasons[0]


def test_exactly_30_days_is_a_new_relapse() -> None:
    assert statuses([rep(0), rep(30)]) == [RelapseStatus.QUALIFYING] * 2
    assert statuses([rep(0), rep(29)]) == [RelapseStatus.QUALIFYING, RelapseStatus.SAME_EVENT]


def test_excluded_episode_does_not_anchor_the_window() -> None:
    assert statuses([rep(0, fever=True), rep(10)]) == [
        RelapseStatus.EXCLUDED,
        RelapseStatus.QUALIFYING,
    ]


def test_input_order_does_not_matter() -> None:
    assert statuses([rep(45), rep(0), rep(20)]) == statuses([rep(0), rep(20), rep(45)])


def test_arr_counts_qualifying_in_half_open_period() -> None:
    qualified = qualify_relapses([rep(10), rep(200), rep(220), rep(400, fever=True), rep(731)])
    rate = annualised_relapse_rate(qualified, D0, date(2023, 1, 1))  # 730 days
    assert rate.relapses == 2  # day 220 merged, day 400 excluded, day 731 outside [start, end)
    assert rate.person_years == pytest.approx(730 / 365.25)
    assert rate.rate == pytest.approx(2 / (730 / 365.25))


def test_arr_unconfirmed_only_on_request() -> None:
    reports = [rep(10), rep(100, lasted=None)]
    end = date(2022, 1, 1)
    assert annualised_relapse_rate(qualify_relapses(reports), D0, end).relapses == 1
    counted = qualify_relapses(reports, count_unconfirmed=True)
    assert annualised_relapse_rate(counted, D0, end, include_unconfirmed=True).relapses == 2


def test_incomplete_report_does_not_absorb_a_qualifying_one() -> None:
    # Regression: day 0 (>= 24 h, fever unknown) swallowed day 15 (>= 24 h, no fever) as
    # "same event", and the default ARR counted 0. The 30-day window runs from the onset of
    # the previous *relapse* (McDonald; NHS England 2014): an unconfirmed report is not one.
    reports = [rep(0, fever=None), rep(15)]
    end = date(2022, 1, 1)
    default = qualify_relapses(reports)
    assert [q.status for q in default] == [RelapseStatus.UNCONFIRMED, RelapseStatus.QUALIFYING]
    assert [q.counts for q in default] == [False, True]
    assert annualised_relapse_rate(default, D0, end).relapses == 1
    # counting unconfirmed reports: day 0 is the relapse and day 15 the same event; still one
    counted = qualify_relapses(reports, count_unconfirmed=True)
    assert [q.status for q in counted] == [RelapseStatus.UNCONFIRMED, RelapseStatus.SAME_EVENT]
    assert [q.counts for q in counted] == [True, False]
    assert annualised_relapse_rate(counted, D0, end, include_unconfirmed=True).relapses == 1


def test_qualifying_report_still_absorbs_a_later_incomplete_one() -> None:
    assert statuses([rep(0), rep(15, fever=None)]) == [
        RelapseStatus.QUALIFYING,
        RelapseStatus.SAME_EVENT,
    ]


def test_arr_refuses_a_policy_other_than_the_qualification() -> None:
    qualified = qualify_relapses([rep(0, fever=None), rep(15)])
    with pytest.raises(ValidationFailed, match="include_unconfirmed"):
        annualised_relapse_rate(qualified, D0, date(2022, 1, 1), include_unconfirmed=True)


def test_arr_rejects_empty_period() -> None:
    with pytest.raises(ValidationFailed, match="must be after start"):
        annualised_relapse_rate([], D0, D0)


def test_pooled_rate_is_total_over_person_time() -> None:
    pooled = pooled_relapse_rate([RelapseRate(2, 1.0, 2.0), RelapseRate(0, 3.0, 0.0)])
    assert pooled.rate == pytest.approx(0.5)  # not the mean of 2.0 and 0.0
    with pytest.raises(ValidationFailed):
        pooled_relapse_rate([])
