"""LDN exposure on a date, and whether LDN was started during a relapse.

Conventions (stated, not sourced: they are bookkeeping, not clinical claims)
- ``stop_date`` is the last day on the drug (inclusive); ``None`` means still taking it.
- Exposures whose days touch or overlap form one continuous course: a dose change does not
  reset "days since start".
- An exposure is LDN when its drug name contains "naltrexone" (case-insensitive) unless the
  caller supplies its own test; dose ranges are checked in ``dose_safety``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from ldn_outcomes.domain.definitions.relapse import RelapseLike
from ldn_outcomes.errors import Problem, ValidationFailed


class ExposureLike(Protocol):
    @property
    def drug_name(self) -> str: ...
    @property
    def start_date(self) -> date: ...
    @property
    def stop_date(self) -> date | None: ...


@dataclass(frozen=True)
class ExposurePeriod:
    drug_name: str
    start_date: date
    stop_date: date | None = None
    dose_mg: float | None = None
    rxnorm_cui: str | None = None


@dataclass(frozen=True)
class ExposureStatus:
    on: bool
    dose_mg: float | None
    days_since_start: int | None
    course_start: date | None


def is_naltrexone(exposure: ExposureLike) -> bool:
    return "naltrexone" in exposure.drug_name.lower()


def _check(exposures: Sequence[ExposureLike]) -> None:
    problems = [
        Problem(
            "exposure",
            "stop_date",
            f"stop {e.stop_date.isoformat()} is before start {e.start_date.isoformat()}",
            row=i,
        )
        for i, e in enumerate(exposures)
        if e.stop_date is not None and e.stop_date < e.start_date
    ]
    if problems:
        raise ValidationFailed(problems)


def courses(
    exposures: Iterable[ExposureLike], is_ldn: Callable[[ExposureLike], bool] = is_naltrexone
) -> list[tuple[date, date | None]]:
    """Continuous LDN courses as (first day, last day or None if ongoing), in date order."""
    chosen = sorted((e for e in exposures if is_ldn(e)), key=lambda e: e.start_date)
    _check(chosen)
    merged: list[tuple[date, date | None]] = []
    for e in chosen:
        if merged:
            start, stop = merged[-1]
            if stop is None or e.start_date <= stop + timedelta(days=1):
                new_stop = None if stop is None or e.stop_date is None else max(stop, e.stop_date)
                merged[-1] = (start, new_stop)
                continue
        merged.append((e.start_date, e.stop_date))
    return merged


def status_on(
    exposures: Sequence[ExposureLike],
    on_date: date,
    is_ldn: Callable[[ExposureLike], bool] = is_naltrexone,
) -> ExposureStatus:
    """On/off LDN on ``on_date``, the dose of the latest-started active exposure, course age."""
    active = [
        e
        for e in exposures
        if is_ldn(e) and e.start_date <= on_date and (e.stop_date is None or on_date <= e.stop_date)
    ]
    if not active:
        return ExposureStatus(on=False, dose_mg=None, days_since_start=None, course_start=None)
    current = max(active, key=lambda e: e.start_date)
    course_start = next(
        s for s, t in courses(exposures, is_ldn) if s <= on_date and (t is None or on_date <= t)
    )
    dose = getattr(current, "dose_mg", None)
    return ExposureStatus(
        on=True,
        dose_mg=float(dose) if dose is not None else None,
        days_since_start=(on_date - course_start).days,
        course_start=course_start,
    )


@dataclass(frozen=True)
class AttackStart:
    relapse: RelapseLike
    started_during_attack: bool | None
    reason: str


def started_during_attack(
    relapses: Iterable[RelapseLike],
    exposures: Sequence[ExposureLike],
    is_ldn: Callable[[ExposureLike], bool] = is_naltrexone,
) -> list[AttackStart]:
    """For each relapse: was an LDN course started with onset <= start <= recovery?

    ``None`` when it cannot be told (no recovery date and a course started after onset).
    """
    starts = [s for s, _ in courses(exposures, is_ldn)]
    out: list[AttackStart] = []
    for r in sorted(relapses, key=lambda r: r.onset_date):
        after_onset = [s for s in starts if s >= r.onset_date]
        if not after_onset:
            out.append(AttackStart(r, False, "no LDN course started on or after the onset"))
        elif r.recovery_date is None:
            out.append(
                AttackStart(
                    r, None, "recovery date not recorded; an LDN course started after onset"
                )
            )
        elif after_onset[0] <= r.recovery_date:
            out.append(
                AttackStart(r, True, f"LDN started {after_onset[0].isoformat()} during the attack")
            )
        else:
            out.append(AttackStart(r, False, "no LDN course started between onset and recovery"))
    return out
