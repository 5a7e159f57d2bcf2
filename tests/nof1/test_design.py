"""Design rules, randomisation, schedule and blinding rules (pure domain)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.domain.access import Principal, Role
from ldn_outcomes.domain.nof1 import (
    MAX_PERIOD_DAYS,
    MAX_TRIAL_DAYS,
    MAX_WASHOUT_DAYS,
    OUTCOMES,
    TRIAL_ID_RULE,
    Treatment,
    all_allocations,
    allocate,
    default_trial_id,
    make_design,
    period_on,
    progress,
    schedule,
    treatments,
    trial_id_problem,
)
from ldn_outcomes.domain.nof1_blinding import check_can_view_trial, check_unblinding
from ldn_outcomes.domain.nof1_defaults import OUTCOME_IDS
from ldn_outcomes.errors import PermissionDenied, ValidationFailed

START = dt.date(2026, 1, 5)


def design(**overrides):
    values = dict(trial_id="T1", patient_id="P1", start_date=START, seed=42)
    values.update(overrides)
    return make_design(**values)


def fields(error: ValidationFailed) -> set[str]:
    return {p.field for p in error.problems}


def test_defaults_follow_the_documented_design() -> None:
    d = design()
    assert (d.pairs, d.period_days, d.washout_days) == (3, 28, 7)
    assert d.mcid == 1.0 and str(d.dose_mg) == "4.5"
    assert d.total_days == 168
    assert d.end_date == START + dt.timedelta(days=167)
    assert d.capsules_per_bottle == 28 + 3


def test_fewer_than_two_pairs_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        design(pairs=1)
    assert fields(caught.value) == {"pairs"}
    assert "at least 2 pairs" in str(caught.value)


@pytest.mark.parametrize("period_days", [7, 5])
def test_period_not_longer_than_washout_is_refused(period_days: int) -> None:
    with pytest.raises(ValidationFailed) as caught:
        design(period_days=period_days, washout_days=7)
    assert fields(caught.value) == {"period_days"}
    assert "longer than the washout" in str(caught.value)


def test_every_broken_rule_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        design(pairs=0, period_days=3, washout_days=7, outcome="mood", dose_mg=0)
    assert fields(caught.value) == {"pairs", "period_days", "outcome", "dose_mg"}


def test_outcome_without_shipped_mcid_needs_one() -> None:
    with pytest.raises(ValidationFailed) as caught:
        design(outcome="spasm_nrs")
    assert fields(caught.value) == {"mcid"}
    assert design(outcome="spasm_nrs", mcid=1.5).mcid == 1.5


def test_allocation_is_reproducible_from_the_seed() -> None:
    assert allocate(5, 123) == allocate(5, 123)
    assert len({allocate(6, s) for s in range(200)}) > 30


def test_all_allocations_enumerates_every_order_once() -> None:
    allocations = all_allocations(3)
    assert len(allocations) == 8 == len(set(allocations))
    assert allocate(3, 7) in allocations


@settings(deadline=None)
@given(st.integers(2, 10), st.integers(0, 2**31))
def test_each_pair_has_one_ldn_and_one_placebo_period(pairs: int, seed: int) -> None:
    kinds = treatments(allocate(pairs, seed))
    assert len(kinds) == 2 * pairs
    for i in range(pairs):
        assert {kinds[2 * i], kinds[2 * i + 1]} == {Treatment.LDN, Treatment.PLACEBO}


@settings(deadline=None)
@given(st.integers(2, 6), st.integers(8, 60), st.integers(0, 7))
def test_schedule_is_contiguous_and_washout_inside_each_period(
    pairs: int, period_days: int, washout: int
) -> None:
    d = design(pairs=pairs, period_days=period_days, washout_days=washout)
    periods = schedule(d)
    assert periods[0].start == d.start_date and periods[-1].end == d.end_date
    for before, after in zip(periods, periods[1:], strict=False):
        assert after.start == before.end + dt.timedelta(days=1)
    for p in periods:
        assert (p.end - p.start).days + 1 == period_days
        assert (p.analysis_start - p.start).days == washout
        assert p.treatment is None  # blinded unless an allocation is given


def test_unblinded_schedule_and_today() -> None:
    d = design()
    periods = schedule(d, allocate(3, 42))
    assert [p.treatment for p in periods].count(Treatment.LDN) == 3
    today = START + dt.timedelta(days=30)
    assert period_on(periods, today).number == 2
    state = progress(d, today)
    assert state.state == "running" and state.day == 31 and state.in_washout
    assert progress(d, START - dt.timedelta(days=1)).state == "not started"
    assert progress(d, d.end_date + dt.timedelta(days=1)).state == "ended"


def test_early_unblinding_is_refused_with_the_date() -> None:
    d = design()
    with pytest.raises(PermissionDenied) as caught:
        check_unblinding(d, d.end_date)
    assert d.end_date.isoformat() in str(caught.value)
    check_unblinding(d, d.end_date + dt.timedelta(days=1))


def test_who_may_see_a_trial() -> None:
    check_can_view_trial(Principal(1, "a@x", Role.PATIENT, patient_id="P1"), "P1", "C1")
    check_can_view_trial(Principal(2, "b@x", Role.CLINICIAN, clinician_id="C1"), "P1", "C1")
    with pytest.raises(PermissionDenied):
        check_can_view_trial(Principal(3, "c@x", Role.PATIENT, patient_id="P2"), "P1", "C1")
    with pytest.raises(PermissionDenied):
        check_can_view_trial(Principal(4, "d@x", Role.CLINICIAN, clinician_id="C2"), "P1", "C1")


@settings(deadline=None)
@given(st.integers(-3, 14), st.integers(-3, 60), st.integers(-3, 30))
def test_any_design_is_either_valid_or_refused_by_name(
    pairs: int, period_days: int, washout: int
) -> None:
    try:
        d = design(pairs=pairs, period_days=period_days, washout_days=washout)
    except ValidationFailed as error:
        assert fields(error) <= {"pairs", "period_days", "washout_days"}
        assert all(p.record == "nof1_design" and p.rule for p in error.problems)
        return
    assert 2 <= d.pairs <= 10 and 0 <= d.washout_days < d.period_days


def test_the_outcome_ids_the_help_lists_are_the_outcomes_a_design_accepts() -> None:
    assert tuple(OUTCOMES) == OUTCOME_IDS


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"period_days": MAX_PERIOD_DAYS + 1, "pairs": 2}, "period_days", "at most 180 days"),
        ({"period_days": 10_000_000}, "period_days", "at most 180 days"),
        ({"period_days": 10**20}, "period_days", "at most 180 days"),
        ({"washout_days": MAX_WASHOUT_DAYS + 1, "period_days": 120}, "washout_days", "at most"),
        ({"washout_days": 10**20}, "washout_days", "at most 90 days"),
        ({"pairs": 7, "period_days": 56}, "period_days", "at most 730 days"),
        ({"pairs": 10, "period_days": 40}, "period_days", "the whole trial"),
    ],
)
def test_period_washout_and_trial_length_have_stated_maxima(
    overrides: dict[str, int], field: str, words: str
) -> None:
    """A typo (10,000 days) is refused by its field instead of being sealed, or running the
    schedule past the last date Python knows (a server error before)."""
    with pytest.raises(ValidationFailed) as caught:
        design(**overrides)
    assert fields(caught.value) == {field}
    assert words in str(caught.value)


def test_the_maxima_themselves_are_allowed() -> None:
    longest = design(pairs=2, period_days=MAX_PERIOD_DAYS, washout_days=MAX_WASHOUT_DAYS)
    assert longest.total_days == 720 <= MAX_TRIAL_DAYS
    assert design(pairs=6, period_days=56).total_days == 672  # 6 pairs of 8-week periods


@pytest.mark.parametrize(
    "trial_id", ["", "T\r\nX-Injected: 1", "../../x", "a/b", ".hidden", "T 1", "x\0y", "a" * 65]
)
def test_a_trial_id_outside_its_pattern_is_refused_naming_it(trial_id: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        design(trial_id=trial_id)
    assert fields(caught.value) == {"trial_id"}
    assert TRIAL_ID_RULE in str(caught.value)


@pytest.mark.parametrize("trial_id", ["T1", "T-WEB", "P1-nof1-20250106", "P-OWN-T20261206"])
def test_trial_ids_in_use_follow_the_pattern(trial_id: str) -> None:
    assert design(trial_id=trial_id).trial_id == trial_id


@pytest.mark.parametrize("mcid", [float("inf"), float("nan"), 0.0])
def test_an_mcid_must_be_a_finite_positive_number(mcid: float) -> None:
    with pytest.raises(ValidationFailed) as caught:
        design(mcid=mcid)
    assert fields(caught.value) == {"mcid"}


@pytest.mark.parametrize("dose_mg", ["1e999999", "100000000", "0.00001"])
def test_a_dose_must_fit_the_dose_column(dose_mg: str) -> None:
    """12 digits, 4 of them decimals, as a medicine's dose (a larger one was a server error)."""
    with pytest.raises(ValidationFailed) as caught:
        design(dose_mg=dose_mg)
    assert fields(caught.value) == {"dose_mg"}
    assert str(design(dose_mg="99999999.9999").dose_mg) == "99999999.9999"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=200), st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))
def test_the_default_trial_id_is_always_a_valid_one(patient_id: str, day: dt.date) -> None:
    """Whatever the pseudonymous patient id holds (":" from another system, spaces, accents,
    200 characters), the id a trial gets when none is typed follows the trial-id rule."""
    trial_id = default_trial_id(patient_id, day)
    assert trial_id_problem(trial_id) is None
    assert trial_id.endswith(f"nof1-{day:%Y%m%d}")


def test_the_default_trial_id_keeps_a_plain_patient_id_as_it_is() -> None:
    day = dt.date(2025, 1, 6)
    assert default_trial_id("P1", day) == "P1-nof1-20250106"
    assert default_trial_id("site:42/P 7", day) == "site-42-P-7-nof1-20250106"
    assert default_trial_id("__x", day) == "x-nof1-20250106"
    assert default_trial_id(":::", day) == "nof1-20250106"
    assert len(default_trial_id("P" * 80, day)) == 64
