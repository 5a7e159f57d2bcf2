"""Edge cases of confirmed disability worsening; day offsets keep the arithmetic visible."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ldn_outcomes.domain.definitions.progression import (
    EdssPoint,
    ProgressionOptions,
    confirmed_disability_events,
    min_delta,
)
from ldn_outcomes.errors import ValidationFailed

D0 = date(2022, 1, 3)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def series(*pairs: tuple[int, float]) -> list[EdssPoint]:
    return [EdssPoint(day(d), s) for d, s in pairs]


def test_min_delta_defaults_and_cutoff() -> None:
    assert min_delta(0) == 1.5
    assert min_delta(1.0) == 1.0
    assert min_delta(5.5) == 1.0  # default cut-off 5.5
    assert min_delta(6.0) == 0.5
    assert min_delta(5.5, cutoff=5.0) == 0.5  # pymsprog's compute_delta


def test_simple_pira() -> None:
    result = confirmed_disability_events(series((0, 2.0), (100, 3.0), (190, 3.0)))
    event = result.first_cdw
    assert event is not None
    assert (event.date, event.score, event.cdw_type) == (day(100), 3.0, "PIRA")
    assert event.confirmation_date == day(190) and event.baseline_score == 2.0
    assert result.censor_date is None


def test_progression_only_during_relapse_is_not_confirmed() -> None:
    # The only visit that would confirm (day 190) is 20 days after a relapse onset (day 170),
    # so it cannot confirm; by day 300 the score is back at baseline.
    result = confirmed_disability_events(
        series((0, 2.0), (100, 3.5), (190, 3.5), (300, 2.0)), [day(170)]
    )
    assert result.first_cdw is None
    assert result.censor_date == day(300)
    assert result.censor_reason == "no confirmed worsening by the last EDSS score"


def test_last_score_cannot_confirm_itself() -> None:
    result = confirmed_disability_events(series((0, 2.0), (100, 2.0), (200, 3.5)))
    assert result.events == ()
    assert result.censor_date == day(200)


def test_single_score() -> None:
    result = confirmed_disability_events(series((0, 2.0)))
    assert result.censor_reason == "only one EDSS score: nothing can be confirmed"


def test_improvement_then_worsening_roving_vs_fixed() -> None:
    points = series((0, 4.0), (90, 3.0), (180, 3.0), (270, 4.0), (360, 4.0))
    roving = confirmed_disability_events(
        points, options=ProgressionOptions(baseline="roving", events="all")
    )
    assert [(e.kind, e.date) for e in roving.events] == [("CDI", day(90)), ("CDW", day(270))]
    assert roving.events[1].baseline_date == day(180)  # re-baselined at the CDI confirmation
    fixed = confirmed_disability_events(points, options=ProgressionOptions(events="all"))
    assert [e.kind for e in fixed.events] == ["CDI"]
    assert fixed.first_cdw is None


def test_baseline_within_30_days_of_relapse_is_moved() -> None:
    result = confirmed_disability_events(
        series((0, 5.0), (40, 2.0), (130, 3.0), (220, 3.0)), [day(-10)]
    )
    event = result.first_cdw
    assert event is not None
    assert (event.baseline_date, event.baseline_score) == (day(40), 2.0)
    assert event.cdw_type == "PIRA"


def test_raw_when_onset_within_90_days_after_relapse() -> None:
    result = confirmed_disability_events(series((0, 2.0), (120, 3.5), (210, 3.5)), [day(100)])
    assert result.first_cdw is not None and result.first_cdw.cdw_type == "RAW"


def test_undefined_when_relapse_near_confirmation() -> None:
    result = confirmed_disability_events(series((0, 2.0), (100, 3.0), (190, 3.0)), [day(200)])
    assert result.first_cdw is not None and result.first_cdw.cdw_type == "undefined"


def test_24_week_confirmation_needs_a_later_visit() -> None:
    points = series((0, 2.0), (100, 3.0), (190, 3.0), (250, 2.0))
    assert confirmed_disability_events(points).first_cdw is not None
    longer = ProgressionOptions(confirmation_days=168)
    assert confirmed_disability_events(points, options=longer).first_cdw is None


def test_intervening_score_below_threshold_breaks_confirmation() -> None:
    # day 150 drops back to 2.5 (< 2.0 + 1.0) before the 12-week confirmation at day 190.
    points = series((0, 2.0), (100, 3.0), (150, 2.5), (190, 3.0))
    assert confirmed_disability_events(points).first_cdw is None


def test_cutoff_changes_the_threshold_at_5_5() -> None:
    points = series((0, 5.5), (100, 6.0), (190, 6.0))
    assert confirmed_disability_events(points).first_cdw is None
    pymsprog_like = ProgressionOptions(cutoff=5.0)
    assert confirmed_disability_events(points, options=pymsprog_like).first_cdw is not None


def test_same_day_keeps_last_and_order_does_not_matter() -> None:
    points = [EdssPoint(day(190), 3.0), EdssPoint(day(0), 2.0), EdssPoint(day(100), 3.0)]
    assert confirmed_disability_events(points).first_cdw is not None


def test_invalid_edss_rejected() -> None:
    with pytest.raises(ValidationFailed, match="EDSS must be"):
        confirmed_disability_events(series((0, 0.5), (100, 2.0)))
    with pytest.raises(ValidationFailed, match="at least one"):
        confirmed_disability_events([])


def test_invalid_options_rejected() -> None:
    bad = ProgressionOptions(baseline="sliding")  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="baseline"):
        confirmed_disability_events(series((0, 2.0)), options=bad)
