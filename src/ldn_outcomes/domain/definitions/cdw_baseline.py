"""Which EDSS visit is the reference (baseline) for confirmed disability worsening (CDW) after
a start day: the rule the progression analysis and the simulator's true estimand share.

A visit within ``relapse_to_baseline_days`` (30) after a relapse onset is never a reference
(pymsprog ``relapse_to_bl``; Montobbio et al., Mult Scler 2024, doi 10.1177/13524585241243157).

``first_after_start`` (the default): the first valid visit after the start day and at most
``window_days`` after it; follow-up for CDW then begins at that visit (delayed entry). Why: the
EDSS scores before the start are what matching compares people on, and a rater's score is off
by half a step or more a third of the time (Noseworthy et al. 1990). People start LDN when they
feel worse, which follows their true disability more than the recorded score, so among people
with the same recorded scores those who start are more often scored below their true level at
their last visit. From that visit as the reference, the next correct scores look like a
confirmed worsening. On simulated registries without any effect this made recorded "worsening"
without any true change 12% more common in users than in their matched controls (5.2% against
4.6% of each group), while true worsening was as common in both; the hazard ratio leaned to
harm (docs/analysis.md, "Where the progression lean came from"). A score taken after the start
played no part in who was compared, so its error is the same in both groups: the advice to
measure a baseline apart from the measurement that selected people (Barnett, van der Pols &
Dobson, Int J Epidemiol 2005;34:215-220, doi 10.1093/ije/dyh299). The cost: worsening between
the start and that visit is part of the reference, not an outcome.

``last_before_start`` (a sensitivity analysis, the rule before): the last valid visit within
``window_days`` before (or on) the start day. With ``after_prestart_relapse``, a relapse that
began after that visit and on or before the start day moves the reference to the first valid
visit after the last such onset (it may fall after the start day; without one there is no
reference), as the MSBase group's R package MSoutcomes re-baselines after a relapse
(``PIRA()``: "Following a relapse, the first EDSS score recorded in the dataset outside 30 days
(the default) of a relapse, becomes the new baseline EDSS score";
https://rdrr.io/cran/MSoutcomes/man/PIRA.html). pymsprog's ``relapse_rebl`` (default off)
re-baselines after every relapse (https://rdrr.io/cran/msprog/man/MSprog.html); here it is done
for relapses before the start only, since later relapses and what they leave are outcomes.

``analysis.numerics.cdw.baseline_rows`` is the vectorised form of the same rule, tested equal
to this one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Literal

#: Where the reference visit lies: the first valid visit after the start day (the default), or
#: the last valid one before it.
Reference = Literal["first_after_start", "last_before_start"]
REFERENCES: tuple[Reference, ...] = ("first_after_start", "last_before_start")


def days_since_last_onset(day: int, onsets: Sequence[int]) -> float:
    """Days since the latest relapse onset on or before ``day`` (``onsets`` sorted); inf if
    none."""
    at = bisect_right(onsets, day)
    return float(day - onsets[at - 1]) if at else float("inf")


def reference_visit(
    visit_days: Sequence[int],
    relapse_onsets: Sequence[int],
    start_day: int,
    window_days: int,
    *,
    reference: Reference = "first_after_start",
    relapse_to_baseline_days: int = 30,
    after_prestart_relapse: bool = True,
) -> int | None:
    """Index in ``visit_days`` (sorted) of the reference visit for CDW after ``start_day``, or
    None when there is none; ``relapse_onsets`` sorted. See the module docstring."""
    onsets = sorted(relapse_onsets)

    def valid(i: int) -> bool:
        return days_since_last_onset(visit_days[i], onsets) >= relapse_to_baseline_days

    if reference == "first_after_start":
        after = [
            i
            for i, day in enumerate(visit_days)
            if start_day < day <= start_day + window_days and valid(i)
        ]
        return after[0] if after else None
    before = [
        i
        for i, day in enumerate(visit_days)
        if start_day - window_days <= day <= start_day and valid(i)
    ]
    if not before:
        return None
    last = before[-1]
    if not after_prestart_relapse:
        return last
    between = [o for o in onsets if visit_days[last] < o <= start_day]
    if not between:
        return last
    later = [i for i, day in enumerate(visit_days) if day > between[-1] and valid(i)]
    return later[0] if later else None
