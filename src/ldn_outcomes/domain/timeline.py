"""A patient's course as one date-ordered list of events (exposures, relapses, EDSS, diary)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .definitions.exposure import is_ldn
from .models import (
    AdverseEvent,
    Consent,
    DoseLog,
    EdssAssessment,
    Exposure,
    LabObservation,
    QuestionnaireResponse,
    Record,
    Relapse,
)


@dataclass(frozen=True)
class TimelineEvent:
    date: dt.date
    kind: str
    summary: str
    record_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "date": self.date.isoformat(),
            "kind": self.kind,
            "summary": self.summary,
            "record_id": self.record_id,
        }


def _dose(exposure: Exposure) -> str:
    if exposure.dose_mg is None:
        return ""
    return f" {format(exposure.dose_mg.normalize(), 'f')} mg"


def events_for(record: Record) -> list[TimelineEvent]:
    """The events one record contributes (an exposure has a start and maybe a stop)."""
    if isinstance(record, Exposure):
        label = "LDN" if is_ldn(record) else record.drug_name
        events = [
            TimelineEvent(
                record.start_date,
                "exposure_start",
                f"started {label}{_dose(record)} {record.frequency}"
                + (
                    f" at {record.time_of_day.value}"
                    if record.time_of_day.value != "unknown"
                    else ""
                ),
                record.id,
            )
        ]
        if record.stop_date:
            reason = f" ({record.stop_reason})" if record.stop_reason else ""
            events.append(
                TimelineEvent(
                    record.stop_date, "exposure_stop", f"stopped {label}{reason}", record.id
                )
            )
        return events
    if isinstance(record, Relapse):
        recovered = (
            f", recovered {record.recovery_date.isoformat()}" if record.recovery_date else ""
        )
        severity = f" {record.severity.value}" if record.severity else ""
        return [
            TimelineEvent(
                record.onset_date,
                "relapse",
                f"relapse onset{severity} ({record.confirmed_by.value}-reported{recovered})",
                record.id,
            )
        ]
    if isinstance(record, EdssAssessment):
        return [TimelineEvent(record.date, "edss", f"EDSS {record.score:g}", record.id)]
    if isinstance(record, QuestionnaireResponse):
        total = "" if record.total is None else f": {record.total:g}"
        return [
            TimelineEvent(record.date, "questionnaire", f"{record.instrument_id}{total}", record.id)
        ]
    if isinstance(record, AdverseEvent):
        return [
            TimelineEvent(
                record.onset_date,
                "adverse_event",
                f"side effect: {record.term.replace('_', ' ')} ({record.severity.value})",
                record.id,
            )
        ]
    if isinstance(record, LabObservation):
        return [
            TimelineEvent(
                record.date,
                "lab",
                f"lab {record.name or record.loinc_code}: {record.value:g} {record.unit}",
                record.id,
            )
        ]
    if isinstance(record, Consent):
        events = [
            TimelineEvent(
                record.given_date, "consent", f"consent given ({record.scope})", record.id
            )
        ]
        if record.withdrawn_date:
            events.append(
                TimelineEvent(
                    record.withdrawn_date,
                    "consent",
                    f"consent withdrawn ({record.scope})",
                    record.id,
                )
            )
        return events
    if isinstance(record, DoseLog):
        return [
            TimelineEvent(
                record.date, "dose", "dose taken" if record.taken else "dose missed", record.id
            )
        ]
    return []


KIND_ORDER = {"exposure_start": 0, "exposure_stop": 1, "relapse": 2, "edss": 3}


def build_timeline(
    records: Mapping[str, Sequence[Record]], include_doses: bool = False
) -> list[TimelineEvent]:
    """All events in date order; same-day events in a fixed, readable order."""
    events: list[TimelineEvent] = []
    for kind, items in records.items():
        if kind == "dose_logs" and not include_doses:
            continue
        for record in items:
            events.extend(events_for(record))
    return sorted(events, key=lambda e: (e.date, KIND_ORDER.get(e.kind, 9), e.record_id or 0))
