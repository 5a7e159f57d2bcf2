"""Relapse qualification and annualised relapse rate (ARR).

Defaults and sources
- A relapse (attack) lasts at least 24 hours and occurs in the absence of fever or infection:
  2017 McDonald criteria (Thompson AJ et al., "Diagnosis of multiple sclerosis: 2017 revisions
  of the McDonald criteria", Lancet Neurol 2018), definitions table as reproduced at
  https://neuro-assistant.org/tools/Neuroinflammation/McDonald-2017.
- Two events count separately only if their onsets are at least 30 days apart (McDonald 2001
  criteria, summarised at https://studylib.net/doc/7160072/mcdonald-diagnostic-criteria; NHS
  England 2014 DMT commissioning policy: "... for at least 30 days from the onset of the
  previous relapse", https://gpnotebook.com/pages/neurology/definition-of-relapse-in-multiple-sclerosis-ms).

Blank is not "no": a report whose duration or fever/infection status was not recorded is
kept as ``UNCONFIRMED`` (not counted by default) rather than assumed to qualify or not.
The 30-day window runs "from the onset of the previous relapse", so only a report that is
counted opens it: by default an unconfirmed report is not known to be a relapse and cannot
absorb a fully qualifying one that follows it (day 0 unconfirmed, day 15 qualifying: one
relapse, on day 15). When unconfirmed reports are counted (``count_unconfirmed=True``) they
open the window like any relapse (the same two reports: one relapse, on day 0). Either way
the two reports count once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from ldn_outcomes.errors import Problem, ValidationFailed

MIN_SEPARATION_DAYS = 30
DAYS_PER_YEAR = 365.25  # Julian year; person-time convention, stated in docs/definitions.md


class RelapseLike(Protocol):
    @property
    def onset_date(self) -> date: ...
    @property
    def recovery_date(self) -> date | None: ...
    @property
    def lasted_24h(self) -> bool | None: ...
    @property
    def fever_or_infection(self) -> bool | None: ...


@dataclass(frozen=True)
class RelapseReport:
    """Minimal relapse input; the store's ``Relapse`` model has the same attribute names."""

    onset_date: date
    recovery_date: date | None = None
    lasted_24h: bool | None = None
    fever_or_infection: bool | None = None


class RelapseStatus(StrEnum):
    QUALIFYING = "qualifying"
    SAME_EVENT = "same_event"  # onset within the separation window of a counted relapse
    EXCLUDED = "excluded"  # fails a rule (under 24 h, fever or infection)
    UNCONFIRMED = "unconfirmed"  # a rule could not be checked: data not recorded


@dataclass(frozen=True)
class QualifiedRelapse:
    report: RelapseLike
    status: RelapseStatus
    reasons: tuple[str, ...]
    merged_into: date | None = None
    #: The policy the report was qualified under (``qualify_relapses(count_unconfirmed=...)``).
    unconfirmed_counted: bool = False

    @property
    def counts(self) -> bool:
        if self.status is RelapseStatus.UNCONFIRMED:
            return self.unconfirmed_counted
        return self.status is RelapseStatus.QUALIFYING


def qualify_relapses(
    reports: Iterable[RelapseLike],
    min_separation_days: int = MIN_SEPARATION_DAYS,
    count_unconfirmed: bool = False,
) -> list[QualifiedRelapse]:
    """Classify every report (sorted by onset); nothing is dropped, each verdict has reasons.

    Only a report that counts under ``count_unconfirmed`` opens the separation window.
    """
    if min_separation_days < 0:
        raise ValidationFailed(
            Problem("relapse", "min_separation_days", "must be >= 0", value=min_separation_days)
        )
    out: list[QualifiedRelapse] = []
    last_counted: date | None = None
    for report in sorted(reports, key=lambda r: r.onset_date):
        reasons: list[str] = []
        excluded = False
        if report.lasted_24h is False:
            reasons.append("symptoms lasted under 24 h (an attack lasts at least 24 h)")
            excluded = True
        elif report.lasted_24h is None:
            reasons.append("duration not recorded: at least 24 h cannot be confirmed")
        if report.fever_or_infection is True:
            reasons.append("fever or infection at onset (possible pseudo-relapse)")
            excluded = True
        elif report.fever_or_infection is None:
            reasons.append("fever/infection not recorded: cannot be ruled out")
        if excluded:
            out.append(
                QualifiedRelapse(
                    report, RelapseStatus.EXCLUDED, tuple(reasons), None, count_unconfirmed
                )
            )
            continue
        if (
            last_counted is not None
            and (report.onset_date - last_counted).days < min_separation_days
        ):
            gap = (report.onset_date - last_counted).days
            reason = (
                f"onset {gap} day(s) after the onset on {last_counted.isoformat()} "
                f"(< {min_separation_days} days): same relapse"
            )
            out.append(
                QualifiedRelapse(
                    report,
                    RelapseStatus.SAME_EVENT,
                    (reason, *reasons),
                    last_counted,
                    count_unconfirmed,
                )
            )
            continue
        status = RelapseStatus.UNCONFIRMED if reasons else RelapseStatus.QUALIFYING
        if status is RelapseStatus.QUALIFYING or count_unconfirmed:
            last_counted = report.onset_date
        out.append(QualifiedRelapse(report, status, tuple(reasons), None, count_unconfirmed))
    return out


@dataclass(frozen=True)
class RelapseRate:
    relapses: int
    person_years: float
    rate: float


def annualised_relapse_rate(
    qualified: Sequence[QualifiedRelapse],
    start: date,
    end: date,
    include_unconfirmed: bool = False,
) -> RelapseRate:
    """Relapses with ``start <= onset < end`` divided by person-years ``(end - start)/365.25``.

    Only QUALIFYING relapses count (plus UNCONFIRMED ones if asked); SAME_EVENT and EXCLUDED
    never do. The caller chooses the period: person-time is the whole period, so time off
    observation must be cut out before calling (see docs/definitions.md). The reports must
    have been qualified under the same policy (``qualify_relapses(count_unconfirmed=...)``):
    the separation window depends on it, so mixing the two would count one attack twice.
    """
    if end <= start:
        raise ValidationFailed(
            Problem("period", "end", f"end {end.isoformat()} must be after start {start}")
        )
    if any(q.unconfirmed_counted != include_unconfirmed for q in qualified):
        raise ValidationFailed(
            Problem(
                "relapse",
                "include_unconfirmed",
                "must match the count_unconfirmed the reports were qualified with "
                "(qualify_relapses(..., count_unconfirmed=...))",
                value=include_unconfirmed,
            )
        )
    counted = {RelapseStatus.QUALIFYING}
    if include_unconfirmed:
        counted.add(RelapseStatus.UNCONFIRMED)
    n = sum(1 for q in qualified if q.status in counted and start <= q.report.onset_date < end)
    years = (end - start).days / DAYS_PER_YEAR
    return RelapseRate(relapses=n, person_years=years, rate=n / years)


def pooled_relapse_rate(rates: Iterable[RelapseRate]) -> RelapseRate:
    """Total relapses over total person-years (not the mean of individual rates)."""
    items = list(rates)
    years = sum(r.person_years for r in items)
    if years <= 0:
        raise ValidationFailed(Problem("period", "person_years", "no person-time to pool"))
    n = sum(r.relapses for r in items)
    return RelapseRate(relapses=n, person_years=years, rate=n / years)
