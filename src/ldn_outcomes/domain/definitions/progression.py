"""Confirmed disability worsening (CDW) and improvement (CDI) from an EDSS series.

A pure-Python port of the event-detection loop of pymsprog's ``MSprog`` (Montobbio et al.,
Mult Scler 2024, doi 10.1177/13524585241243157; PyPI ``pymsprog`` 1.0.7), restricted to the
EDSS and to these pymsprog settings, which are fixed here:
``proceed_from='firstconf'``, ``check_intermediate=True``, ``sub_threshold_rebl='none'``,
``relapse_rebl=False``, ``skip_local_extrema='none'``, ``require_sust_days=0``,
``impute_last_visit=0``, ``relapse_to_event=0``, PIRA ``prec_type='baseline'``.
``tests/domain/test_progression_vs_pymsprog.py`` shows event-by-event agreement.

Parameters (defaults and sources)
- Minimum EDSS change from the reference: +1.5 from 0; +1.0 from a reference up to ``cutoff``;
  +0.5 above it. Default ``cutoff`` 5.5 (1.0 point from a baseline <=5.5, 0.5 point from >5.5,
  visits within 30 days of an attack excluded, confirmed at 3 months: JNNP table,
  https://jnnp.bmj.com/highwire/markup/212859/expansion). pymsprog's ``compute_delta`` uses 5.0
  (1.0 if 0 < baseline <= 5.0): pass ``cutoff=5.0`` to reproduce pymsprog exactly. The two
  differ only for a reference of exactly 5.5.
- Confirmation after ``confirmation_days`` (84 = 12 weeks, or 168 = 24 weeks), window
  -7/+730.5 days (pymsprog default ``conf_tol_days``); every visit between onset and the first
  valid confirmation must also meet the threshold; a visit within 30 days after a relapse
  onset cannot confirm (pymsprog ``relapse_to_conf=30``) or serve as reference
  (``relapse_to_bl=30``). The last visit cannot confirm itself: confirmation needs a later visit.
- Fixed reference: the first valid visit. Roving: the reference moves to the confirmation visit
  of every confirmed worsening or improvement (Kappos et al., Mult Scler 2018,
  doi 10.1177/1352458517709619).
- RAW: onset within 90 days after a relapse onset (pymsprog ``relapse_assoc=90``). PIRA: no
  relapse from 90 days before to 30 days after the onset, nor from 90 days before to 30 days
  after a confirmation visit (pymsprog default ``relapse_indep``). Otherwise: undefined CDW.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from ldn_outcomes.errors import Problem, ValidationFailed

EDSS_STEPS = frozenset([0.0] + [x / 2 for x in range(2, 21)])
INF = float("inf")


@dataclass(frozen=True)
class EdssPoint:
    date: date
    score: float


@dataclass(frozen=True)
class ProgressionOptions:
    baseline: Literal["fixed", "roving"] = "fixed"
    confirmation_days: int = 84
    confirmation_tolerance_days: tuple[float, float] = (7.0, 730.5)
    cutoff: float = 5.5
    relapse_to_baseline_days: int = 30
    relapse_to_confirmation_days: int = 30
    relapse_assoc_days: int = 90
    pira_event_window: tuple[int, int] = (90, 30)
    pira_confirmation_window: tuple[int, int] = (90, 30)
    events: Literal["first_cdw", "all"] = "first_cdw"


@dataclass(frozen=True)
class DisabilityEvent:
    kind: Literal["CDW", "CDI"]
    cdw_type: Literal["RAW", "PIRA", "undefined"] | None
    date: dt.date
    score: float
    baseline_date: dt.date
    baseline_score: float
    confirmation_date: dt.date


@dataclass(frozen=True)
class ProgressionResult:
    """Events in date order; ``censor_date``/``censor_reason`` set when no CDW was found."""

    events: tuple[DisabilityEvent, ...]
    censor_date: date | None
    censor_reason: str | None

    @property
    def first_cdw(self) -> DisabilityEvent | None:
        return next((e for e in self.events if e.kind == "CDW"), None)


def min_delta(reference: float, cutoff: float = 5.5) -> float:
    """Smallest EDSS change that counts as meaningful from ``reference``."""
    if reference == 0:
        return 1.5
    return 1.0 if reference <= cutoff else 0.5


def _validate(points: Sequence[EdssPoint], options: ProgressionOptions) -> None:
    problems = [
        Problem("edss", "score", "EDSS must be 0, 1.0, 1.5 … 9.5 or 10", row=i, value=p.score)
        for i, p in enumerate(points)
        if float(p.score) not in EDSS_STEPS
    ]
    if options.baseline not in ("fixed", "roving"):
        problems.append(
            Problem("options", "baseline", "must be 'fixed' or 'roving'", value=options.baseline)
        )
    if options.events not in ("first_cdw", "all"):
        problems.append(
            Problem("options", "events", "must be 'first_cdw' or 'all'", value=options.events)
        )
    if options.confirmation_days <= 0:
        problems.append(
            Problem(
                "options", "confirmation_days", "must be positive", value=options.confirmation_days
            )
        )
    if problems:
        raise ValidationFailed(problems)


def _distances(days: list[int], relapses: list[int]) -> tuple[list[float], list[float]]:
    before = [min((d - r for r in relapses if r <= d), default=INF) for d in days]
    after = [min((r - d for r in relapses if r >= d), default=INF) for d in days]
    return before, after


def confirmed_disability_events(
    points: Sequence[EdssPoint],
    relapse_onsets: Sequence[date] = (),
    options: ProgressionOptions | None = None,
    history_start: date | None = None,
) -> ProgressionResult:
    """Scan the EDSS series in date order and return CDW/CDI events (see module docstring).

    Relapses more than ``relapse_to_baseline_days`` before ``history_start`` are ignored
    (pymsprog: relapses before the first visit). It defaults to the first EDSS given; pass
    the patient's first EDSS date when ``points`` is a later part of a longer history, so
    that a relapse shortly before the part still makes a worsening relapse-associated.
    """
    opts = options or ProgressionOptions()
    _validate(points, opts)
    by_day: dict[int, float] = {}
    for p in sorted(points, key=lambda p: p.date):
        by_day[p.date.toordinal()] = float(p.score)  # same day twice: keep the last
    days = sorted(by_day)
    if not days:
        raise ValidationFailed(Problem("edss", "points", "at least one EDSS score is needed"))
    values = [by_day[d] for d in days]
    n = len(days)
    first_day = days[0] if history_start is None else min(days[0], history_start.toordinal())
    rel = sorted(
        r.toordinal()
        for r in relapse_onsets
        if r.toordinal() >= first_day - opts.relapse_to_baseline_days
    )
    before, after = _distances(days, rel)

    def delta(ref: float) -> float:
        return min_delta(ref, opts.cutoff)

    def worse(x: float, ref: float) -> bool:
        return x - ref >= delta(ref)

    def better(x: float, ref: float) -> bool:
        return x - ref <= -delta(ref)

    lo = opts.confirmation_days - opts.confirmation_tolerance_days[0]
    hi = opts.confirmation_days + opts.confirmation_tolerance_days[1]
    events: list[DisabilityEvent] = []
    bl, search, proceed = 0, 1, True
    no_reference = False
    while proceed:
        while proceed and before[bl] < opts.relapse_to_baseline_days:
            bl += 1  # reference within 30 days after a relapse onset: move it on
            if bl > n - 2:
                proceed = False
        if bl > n - 1 or before[bl] < opts.relapse_to_baseline_days:
            no_reference = True  # every remaining visit is within a relapse's influence
            break
        search = bl + 1 if search <= bl else search
        ref = values[bl]
        change = next((x for x in range(search, n) if abs(values[x] - ref) >= delta(ref)), None)
        if change is None:
            break
        confirmations = [
            x
            for x in range(change + 1, n)
            if lo <= days[x] - days[change] <= hi and before[x] >= opts.relapse_to_confirmation_days
        ]
        kind: Literal["CDW", "CDI"] | None = None
        if (
            confirmations
            and better(values[change], ref)
            and all(better(values[x], ref) for x in range(change + 1, confirmations[0] + 1))
        ):
            kind = "CDI"
        elif (
            confirmations
            and worse(values[change], ref)
            and all(worse(values[x], ref) for x in range(change + 1, confirmations[0] + 1))
        ):
            kind = "CDW"
        if kind is None:
            search = change + 1  # not confirmed: look further
            continue
        first_conf = confirmations[0]
        cdw_type = (
            _classify(days, rel, change, confirmations, values, ref, worse, opts)
            if kind == "CDW"
            else None
        )
        events.append(
            DisabilityEvent(
                kind=kind,
                cdw_type=cdw_type,
                date=date.fromordinal(days[change]),
                score=values[change],
                baseline_date=date.fromordinal(days[bl]),
                baseline_score=ref,
                confirmation_date=date.fromordinal(days[first_conf]),
            )
        )
        if opts.baseline == "roving":
            bl = first_conf
        search = first_conf + 1
        if opts.events == "first_cdw" and kind == "CDW":
            proceed = False
    if opts.events == "first_cdw":
        cdw = next((e for e in events if e.kind == "CDW"), None)
        kept: tuple[DisabilityEvent, ...] = (cdw,) if cdw else ()
    else:
        kept = tuple(events)
    if any(e.kind == "CDW" for e in kept):
        return ProgressionResult(kept, None, None)
    reason = "no confirmed worsening by the last EDSS score"
    if n < 2:
        reason = "only one EDSS score: nothing can be confirmed"
    elif no_reference and not events:
        reason = (
            f"every EDSS score is within {opts.relapse_to_baseline_days} days after a relapse "
            "onset: no valid reference"
        )
    return ProgressionResult(kept, date.fromordinal(days[-1]), reason)


def _classify(
    days: list[int],
    rel: list[int],
    change: int,
    confirmations: list[int],
    values: list[float],
    ref: float,
    worse: Callable[[float, float], bool],
    opts: ProgressionOptions,
) -> Literal["RAW", "PIRA", "undefined"]:
    """RAW if onset is within ``relapse_assoc_days`` after a relapse; else PIRA or undefined."""
    onset = days[change]
    since = min((onset - r for r in rel if r <= onset), default=INF)
    until = min((r - onset for r in rel if r >= onset), default=INF)
    if since <= opts.relapse_assoc_days or until <= 0:
        return "RAW"
    # keep confirmations while sustained (pymsprog drops those after the first non-sustained visit)
    first = confirmations[0]
    stop = next((x for x in range(first + 1, len(days)) if not worse(values[x], ref)), None)
    kept = [c for c in confirmations if stop is None or c < stop]
    e0, e1 = opts.pira_event_window
    c0, c1 = opts.pira_confirmation_window
    for c in kept:
        windows = [(onset - e0, onset + e1), (days[c] - c0, days[c] + c1)]
        if not any(a <= r <= b for r in rel for a, b in windows if b > a):
            return "PIRA"
    return "undefined"
