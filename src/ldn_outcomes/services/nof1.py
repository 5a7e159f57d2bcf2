"""Use cases of personal trials, each one call for the CLI and the web: design, sheets,
unblinding, analysis, series. Each opens its own transaction and commits what it writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ..analysis.nof1.analyze import TrialAnalysis, analyse
from ..analysis.nof1.data import load_daily_outcome, load_dose_log
from ..analysis.nof1.power import DetectableEffect, minimum_detectable_effect
from ..analysis.nof1.report import report_data
from ..analysis.nof1.series import PatientEffect, SeriesResult, pool
from ..domain.access import Principal, Role
from ..domain.nof1 import (
    NOf1Design,
    allocate,
    make_design,
    schedule,
)
from ..domain.nof1_stop import trial_progress
from ..errors import InsufficientData, LdnError, PermissionDenied
from ..reports import svg
from ..reports.nof1_sheets import write_sheets
from ..store.nof1_repo import TrialRecord, trial_repository

CLI_ACTOR = Principal.command_line(Role.ADMIN)
PHARMACY_CLI_ACTOR = Principal.command_line(Role.PHARMACY)


@dataclass(frozen=True)
class DesignResult:
    record: TrialRecord
    detectable: DetectableEffect | None
    detectable_note: str | None

    def as_dict(self) -> dict[str, Any]:
        design = self.record.design
        return {
            **trial_summary(self.record),
            "detectable_effect": self.detectable.as_dict() if self.detectable else None,
            "detectable_note": self.detectable_note,
            "periods": [
                {
                    "period": p.number,
                    "start": p.start.isoformat(),
                    "end": p.end.isoformat(),
                    "analysed_from": p.analysis_start.isoformat(),
                    "bottle_label": p.bottle_label,
                }
                for p in schedule(design)
            ],
        }


def trial_summary(record: TrialRecord) -> dict[str, Any]:
    d = record.design
    return {
        "trial_id": d.trial_id,
        "patient_id": d.patient_id,
        "outcome": d.outcome,
        "mcid": d.mcid,
        "pairs": d.pairs,
        "period_days": d.period_days,
        "washout_days": d.washout_days,
        "dose_mg": d.dose_text,
        "start_date": d.start_date.isoformat(),
        "end_date": d.end_date.isoformat(),
        "status": record.status,
        "stopped_on": record.stopped_on.isoformat() if record.stopped_on else None,
        "stop_reason": record.stop_reason,
    }


def design_trial(
    engine: Engine,
    secret: bytes,
    *,
    trial_id: str,
    patient_id: str,
    pairs: int,
    period_days: int,
    washout_days: int,
    outcome: str,
    seed: int,
    start_date: dt.date,
    dose_mg: Decimal | float | str,
    mcid: float | None = None,
    actor: Principal = CLI_ACTOR,
    pharmacy_account_id: int | None = None,
    request_id: int | None = None,
) -> DesignResult:
    """Validate, seal and store a design (assigned to a pharmacy account, answering a
    patient's request, when given); report the smallest detectable effect if possible."""
    design = make_design(
        trial_id=trial_id,
        patient_id=patient_id,
        pairs=pairs,
        period_days=period_days,
        washout_days=washout_days,
        outcome=outcome,
        seed=seed,
        start_date=start_date,
        dose_mg=dose_mg,
        mcid=mcid,
    )
    with trial_repository(engine, secret, write=True) as trials:
        record = trials.create(design, actor, pharmacy_account_id)
        if request_id is not None:
            trials.answer_request(request_id, design.trial_id, actor)
    detectable, note = detectable_effect(engine, design)
    return DesignResult(record, detectable, note)


def detectable_effect(
    engine: Engine, design: NOf1Design
) -> tuple[DetectableEffect | None, str | None]:
    """The design's smallest detectable effect from the patient's diary before the start
    (None, with the reason, when there are too few earlier values)."""
    try:
        diary = load_daily_outcome(engine, design.patient_id, design.outcome)
        if diary.empty:  # a patient who has never answered this item: say so, plainly
            raise InsufficientData(
                f"the patient has no diary values of {design.outcome_spec.label} yet: "
                "variability unknown"
            )
        earlier = diary[diary.index < pd.Timestamp(design.start_date)]
        if not len(earlier):
            return None, "no diary values before the start date: variability unknown"
        full = earlier.asfreq("D")
        return minimum_detectable_effect(
            full.to_numpy(),
            design.pairs,
            design.analysed_days_per_period,
            washout_days=design.washout_days,
        ), None
    except InsufficientData as error:
        return None, str(error)


def write_trial_sheets(
    engine: Engine,
    secret: bytes,
    trial_id: str,
    directory: Path,
    actor: Principal = PHARMACY_CLI_ACTOR,
) -> dict[str, Path]:
    with trial_repository(engine, secret, write=True) as trials:
        record = trials.allocation_for_pharmacy(trial_id, actor)
    design = record.design
    assert design.seed is not None
    return write_sheets(directory, design, allocate(design.pairs, design.seed))


def unblind_trial(
    engine: Engine, secret: bytes, trial_id: str, today: dt.date, actor: Principal = CLI_ACTOR
) -> dict[str, Any]:
    try:
        with trial_repository(engine, secret, write=True) as trials:
            record, allocation = trials.unblind(trial_id, actor, today)
    except PermissionDenied as refusal:
        if "still blinded" in str(refusal):
            with trial_repository(engine, secret, write=True) as trials:
                trials.record_refused_unblinding(trial_id, actor, str(refusal))
        raise
    periods = schedule(record.design, allocation)
    return {
        **trial_summary(record),
        "unblinded_by": record.unblinded_by,
        "periods": [
            {"period": p.number, "bottle_label": p.bottle_label, "treatment": p.treatment.value}
            for p in periods
            if p.treatment is not None
        ],
    }


def analyse_trial(
    engine: Engine, secret: bytes, trial_id: str, actor: Principal = CLI_ACTOR
) -> TrialAnalysis:
    """Analysis of an unblinded trial (a blinded one is refused with the unblinding date)."""
    with trial_repository(engine, secret) as trials:
        record, allocation = trials.unblinded_allocation(trial_id, actor)
    design = record.design
    values = load_daily_outcome(engine, design.patient_id, design.outcome)
    doses = load_dose_log(engine, design.patient_id)
    stopped = (record.stopped_on, record.stop_reason or "") if record.stopped_on else None
    return analyse(design, allocation, values, doses, stopped=stopped)


def stop_trial(
    engine: Engine,
    secret: bytes,
    trial_id: str,
    stopped_on: dt.date,
    reason: str,
    today: dt.date,
    actor: Principal = CLI_ACTOR,
) -> dict[str, Any]:
    """Record that a trial stopped before its last day, and why (audited; once)."""
    with trial_repository(engine, secret, write=True) as trials:
        record = trials.stop(trial_id, actor, stopped_on, reason, today)
    return {**trial_summary(record), "stopped_by": record.stopped_by}


def analysis_payload(analysis: TrialAnalysis) -> dict[str, Any]:
    return {
        **analysis.as_dict(),
        "cent_report": report_data(analysis.design, analysis),
    }


def chart_svg(analysis: TrialAnalysis) -> str:
    """Daily values coloured by treatment period; washout days hollowed out of the lines."""
    design = analysis.design
    days = analysis.days
    series = []
    for kind, name in (("ldn", "LDN periods"), ("placebo", "Placebo periods")):
        points = [
            (row.date, None if (row.treatment != kind or np.isnan(row.value)) else row.value)
            for row in days.itertuples()
        ]
        series.append(svg.Series(name, points))
    shaded = [
        svg.Period(p.start, p.end, f"P{p.number} LDN")
        for p in schedule(design, analysis.allocation)
        if p.treatment is not None and p.treatment.value == "ldn"
    ]
    return svg.line_chart(
        series,
        shaded,
        title=f"{design.outcome_spec.label}: daily values by period (LDN periods shaded)",
        y_range=(0, 10),
        y_label=design.outcome_spec.label,
    )


def pool_series(
    engine: Engine,
    secret: bytes,
    outcome: str | None = None,
    method: str = "dl",
    actor: Principal = CLI_ACTOR,
) -> tuple[SeriesResult | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """Pool every unblinded trial (of one outcome); trials that cannot be analysed are listed,
    and so are the pooled trials that stopped early (on their days before the stop). They
    are kept, not dropped: a trial stopped for side effects says something about LDN, and
    leaving it out would flatter the pooled effect; the reader is told which they are."""
    with trial_repository(engine, secret) as trials:
        records = trials.list(actor)
    chosen = [r for r in records if r.status == "unblinded"]
    if outcome is None and chosen:
        names = [r.design.outcome for r in chosen]
        outcome = max(set(names), key=names.count)
    effects: list[PatientEffect] = []
    skipped: list[dict[str, Any]] = []
    stopped: list[dict[str, Any]] = []
    for record in chosen:
        if record.design.outcome != outcome:
            continue
        try:
            analysis = analyse_trial(engine, secret, record.design.trial_id, actor)
        except LdnError as error:
            skipped.append({"trial_id": record.design.trial_id, "reason": str(error)})
            continue
        est = analysis.estimate
        if record.stopped_on is not None:
            stopped.append(
                {
                    "trial_id": record.design.trial_id,
                    "stopped_on": record.stopped_on.isoformat(),
                    "reason": record.stop_reason,
                    "pairs_used": est.pairs_used,
                }
            )
        effects.append(
            PatientEffect(
                record.design.trial_id,
                record.design.patient_id,
                record.design.outcome,
                est.mean_difference,
                est.standard_error,
                est.pairs_used,
            )
        )
    if len(effects) < 2:
        note = [{"reason": f"{len(effects)} analysable unblinded trial(s)"}]
        return None, skipped + note, stopped
    return pool(effects, method), skipped, stopped


def trial_page(
    engine: Engine, secret: bytes, trial_id: str, actor: Principal, today: dt.date
) -> dict[str, Any]:
    """Everything the patient's trial page shows: schedule, today's period, progress, results."""
    with trial_repository(engine, secret) as trials:
        record = trials.get(trial_id, actor)
    design = record.design
    state = trial_progress(design, today, record.stopped_on)
    data: dict[str, Any] = {
        **trial_summary(record),
        "outcome_label": design.outcome_spec.label,
        "today": today.isoformat(),
        "progress": {
            "state": state.state,
            "day": state.day,
            "total_days": state.total_days,
            "percent": round(100 * state.fraction),
            "period": state.period.number if state.period else None,
            "bottle_label": state.period.bottle_label if state.period else None,
            "in_washout": state.in_washout,
        },
        "schedule": [
            {
                "period": p.number,
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "analysed_from": p.analysis_start.isoformat(),
                "bottle_label": p.bottle_label,
                "current": state.period is not None and p.number == state.period.number,
            }
            for p in schedule(design)
        ],
        "results": None,
        "chart_svg": None,
    }
    if not record.blinded:
        try:
            analysis = analyse_trial(engine, secret, trial_id, actor)
        except InsufficientData as error:
            data["results_note"] = str(error)
        else:
            data["results"] = analysis.as_dict()
            data["chart_svg"] = chart_svg(analysis)
    return data


def clinician_trials(
    engine: Engine, secret: bytes, actor: Principal, today: dt.date
) -> list[dict[str, Any]]:
    with trial_repository(engine, secret) as trials:
        records = trials.list(actor)
    out = []
    for record in records:
        state = trial_progress(record.design, today, record.stopped_on)
        out.append(
            {
                **trial_summary(record),
                "progress_state": state.state,
                "progress_percent": round(100 * state.fraction),
                "can_unblind": record.blinded
                and (today > record.design.end_date or state.state == "stopped"),
            }
        )
    return out


def trial_record(engine: Engine, secret: bytes, trial_id: str, actor: Principal) -> TrialRecord:
    with trial_repository(engine, secret) as trials:
        return trials.get(trial_id, actor)


def list_trials(
    engine: Engine, secret: bytes, actor: Principal = CLI_ACTOR
) -> Sequence[TrialRecord]:
    with trial_repository(engine, secret) as trials:
        return trials.list(actor)
