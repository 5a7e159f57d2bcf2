"""A personal trial stopped before its last day: the rule, the record, the analysis, the report.

A stop keeps the design and its seal, says when and why (audited, once), ends the trial on
its stop day (no check-in due after it, no analysed value from after it) and lets it be
unblinded from that day (``domain.nof1_stop``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ldn_outcomes.analysis.nof1.analyze import analyse
from ldn_outcomes.analysis.nof1.data import lay_out
from ldn_outcomes.analysis.nof1.report import report_data
from ldn_outcomes.domain.nof1 import allocate, make_design
from ldn_outcomes.domain.nof1_blinding import check_unblinding
from ldn_outcomes.domain.nof1_stop import stop_problems, trial_progress
from ldn_outcomes.errors import PermissionDenied, ValidationFailed
from ldn_outcomes.services import nof1 as service
from ldn_outcomes.store.nof1_repo import NOf1Repository
from ldn_outcomes.store.tables import AuditRow

from .conftest import PHARMACY, SECRET, add_diary
from .test_repo import CLINICIAN_ACCOUNT, PATIENT_ACCOUNT, START, create, design

DESIGN = make_design(trial_id="T1", patient_id="P1", start_date=START, seed=42)  # 3 x 28 d
TODAY = DESIGN.end_date + dt.timedelta(days=30)
MIDWAY = START + dt.timedelta(days=125)  # in the third pair (periods of 28 days)


def _problems(**changes: object) -> dict[str, str]:
    values: dict = dict(
        designed_on=START, stopped_on=MIDWAY, today=TODAY, reason="rash in period 3"
    )
    values.update(changes)
    return {p.field: p.rule for p in stop_problems(DESIGN, **values)}


def test_a_stop_within_the_trial_with_a_reason_may_be_recorded() -> None:
    assert _problems() == {}
    assert _problems(stopped_on=START) == {}
    assert _problems(stopped_on=DESIGN.end_date) == {}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"reason": "   "}, "reason", "say why"),
        ({"reason": "x" * 501}, "reason", "3 to 500 characters"),
        ({"reason": "rash\x1b[31m"}, "reason", "control character"),
        ({"stopped_on": TODAY + dt.timedelta(days=1)}, "stopped_on", "future"),
        ({"stopped_on": DESIGN.end_date + dt.timedelta(days=1)}, "stopped_on", "ended, not"),
        ({"stopped_on": START - dt.timedelta(days=1)}, "stopped_on", "designed or its first"),
    ],
)
def test_a_stop_breaking_a_rule_is_refused_naming_the_field(
    changes: dict, field: str, words: str
) -> None:
    problems = _problems(**changes)
    assert field in problems and words in problems[field]


def test_a_trial_entered_after_the_fact_can_be_stopped_from_its_first_day() -> None:
    """Designed today for a trial that began earlier: its first day is the bound."""
    assert _problems(designed_on=TODAY, stopped_on=MIDWAY) == {}


@settings(max_examples=100, deadline=None)
@given(st.integers(-10, 120), st.integers(-10, 120))
def test_progress_is_stopped_from_the_stop_day_on(stop_offset: int, today_offset: int) -> None:
    stopped_on = START + dt.timedelta(days=stop_offset)
    today = START + dt.timedelta(days=today_offset)
    state = trial_progress(DESIGN, today, stopped_on)
    if today >= stopped_on:
        assert state.state == "stopped" and state.period is None
        assert 0 <= state.day <= DESIGN.total_days
    else:
        assert state == trial_progress(DESIGN, today, None)


def test_a_stopped_trial_may_be_unblinded_from_its_stop_day() -> None:
    with pytest.raises(PermissionDenied, match="still blinded"):
        check_unblinding(DESIGN, MIDWAY - dt.timedelta(days=1), MIDWAY)
    check_unblinding(DESIGN, MIDWAY, MIDWAY)
    with pytest.raises(PermissionDenied):
        check_unblinding(DESIGN, MIDWAY, None)


def test_the_days_after_the_stop_have_no_value_in_the_analysis() -> None:
    """Values after the stop day would change the estimate; they are left out, the rows
    (schedule, chart) kept."""
    allocation = allocate(3, 42)
    days = pd.date_range(START, DESIGN.end_date)
    values = pd.Series(np.where(days > pd.Timestamp(MIDWAY), 100.0, 5.0), index=days)
    laid = lay_out(DESIGN, allocation, values, MIDWAY)
    assert len(laid) == DESIGN.total_days
    assert laid.loc[laid["date"] > MIDWAY, "value"].isna().all()
    assert (laid.loc[laid["date"] <= MIDWAY, "value"] == 5.0).all()
    rng = np.random.default_rng(3)
    noisy = pd.Series(5.0 + rng.normal(size=len(days)), index=days)
    noisy[days > pd.Timestamp(MIDWAY)] += 50.0
    stopped = analyse(DESIGN, allocation, noisy, stopped=(MIDWAY, "rash"))
    cut = analyse(DESIGN, allocation, noisy[days <= pd.Timestamp(MIDWAY)])
    assert stopped.estimate.as_dict() == cut.estimate.as_dict()
    assert stopped.estimate.pairs_used < 3
    items = {i["item"]: i for i in report_data(DESIGN, stopped)["items"]}
    assert "Stopped early on " + MIDWAY.isoformat() in items["14b"]["content"]
    assert "rash" in items["14b"]["content"]
    assert (
        "Ran to its planned end"
        in {i["item"]: i for i in report_data(DESIGN, cut)["items"]}["14b"]["content"]
    )


def _stop(engine: Engine, actor, on: dt.date = MIDWAY, reason: str = "rash in period 3"):
    with Session(engine) as session, session.begin():
        return NOf1Repository(session, SECRET).stop("T1", actor, on, reason, TODAY)


def test_stopping_is_recorded_once_with_its_reason_and_opens_the_blind(
    engine: Engine, patient: str
) -> None:
    add_diary(engine, patient, START, 168, pairs=3, seed=42)
    create(engine, design())
    with pytest.raises(PermissionDenied):
        _stop(engine, PHARMACY)
    record = _stop(engine, CLINICIAN_ACCOUNT)
    assert record.stopped_on == MIDWAY and record.stop_reason == "rash in period 3"
    assert record.blinded and record.design.pairs == 3  # the design and seal stay
    with Session(engine) as session:
        rows = list(session.scalars(select(AuditRow).where(AuditRow.action == "stop")))
    assert len(rows) == 1 and rows[0].reason == "rash in period 3"
    planned_end = DESIGN.end_date.isoformat()
    assert rows[0].after == {"stopped_on": MIDWAY.isoformat(), "planned_end": planned_end}
    with pytest.raises(ValidationFailed) as again:
        _stop(engine, PATIENT_ACCOUNT, on=MIDWAY + dt.timedelta(days=1))
    assert again.value.problems[0].field == "trial_id"
    assert "already stopped on" in again.value.problems[0].rule
    opened = service.unblind_trial(engine, SECRET, "T1", MIDWAY, PATIENT_ACCOUNT)
    assert opened["status"] == "unblinded" and opened["stopped_on"] == MIDWAY.isoformat()
    analysis = service.analyse_trial(engine, SECRET, "T1", PATIENT_ACCOUNT)
    assert analysis.stopped == (MIDWAY, "rash in period 3")
    assert analysis.as_dict()["stopped_on"] == MIDWAY.isoformat()
    assert int(analysis.days.loc[analysis.days["date"] > MIDWAY, "value"].notna().sum()) == 0


def test_a_stop_with_a_broken_rule_writes_nothing(engine: Engine, patient: str) -> None:
    add_diary(engine, patient, START, 168, pairs=3, seed=42)
    create(engine, design())
    with pytest.raises(ValidationFailed) as refused:
        _stop(engine, CLINICIAN_ACCOUNT, on=TODAY, reason="")
    assert {p.field for p in refused.value.problems} == {"reason", "stopped_on"}
    with Session(engine) as session:
        assert NOf1Repository(session, SECRET).get("T1", CLINICIAN_ACCOUNT).stopped_on is None
        assert not list(session.scalars(select(AuditRow).where(AuditRow.action == "stop")))
