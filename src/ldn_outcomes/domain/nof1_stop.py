"""Stopping a personal trial before its last period (pure rules).

Why: people stop n-of-1 trials early, for side effects, a relapse, a move, or a design entered
in error, and a trial record must stay true to what happened: when it stopped, why, and who
said so. The days after the stop are not part of the trial (its analysis leaves them out),
and a stopped trial may be unblinded from its stop day on, since keeping the allocation
sealed then protects nothing and may matter (which capsules were taken when a side effect
began). Stopping is not undoing: the design, its seal and its audit trail stay.
"""

from __future__ import annotations

import datetime as dt

from ..errors import Problem
from .nof1 import NOf1Design, Progress, progress
from .text import reason_problem

RECORD = "nof1_stop"


def stop_problems(
    design: NOf1Design,
    *,
    designed_on: dt.date,
    stopped_on: dt.date,
    today: dt.date,
    reason: str,
) -> list[Problem]:
    """Every rule a stop breaks (empty when it may be recorded): a reason
    (``domain.text.reason_problem``); a stop day not in the future, not after the trial's
    last day (a trial that ran to its end has ended, not stopped) and not before the trial
    existed (the day it was designed, or its first day if that came earlier: a trial entered
    after the fact)."""
    problems: list[Problem] = []
    if (why := reason_problem(reason)) is not None:
        problems.append(Problem(RECORD, "reason", why))
    if stopped_on > today:
        rule = f"must not be in the future (today is {today.isoformat()})"
    elif stopped_on > design.end_date:
        rule = (
            f"must be on or before the trial's last day, {design.end_date.isoformat()}: a trial "
            "that ran to its end has ended, not stopped"
        )
    elif stopped_on < (earliest := min(designed_on, design.start_date)):
        rule = (
            f"must be on or after {earliest.isoformat()}, the day the trial was designed or "
            "its first day, whichever came first"
        )
    else:
        rule = ""
    if rule:
        problems.append(Problem(RECORD, "stopped_on", rule, value=stopped_on.isoformat()))
    return problems


def trial_progress(design: NOf1Design, today: dt.date, stopped_on: dt.date | None) -> Progress:
    """Where the trial stands today: as ``domain.nof1.progress`` says, or, from its stop day
    on, "stopped" at the day it stopped (no period, nothing more to take)."""
    if stopped_on is None or today < stopped_on:
        return progress(design, today)
    day = min(max((stopped_on - design.start_date).days + 1, 0), design.total_days)
    return Progress("stopped", day, design.total_days, None, False)
