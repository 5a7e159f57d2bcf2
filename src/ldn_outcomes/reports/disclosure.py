"""One disclosure rule for every count a researcher or the public sees.

Why: a count of 2 next to a description ("only 2 LDN users with an EDSS score") can point at
a person; and two pages that each hide small counts can still give one away by difference
(a total of 300 on one page and 297 rows on another reveal 3 dropped patients). Every
aggregate page goes through the rule here, so the pages cannot disagree:

1. **Suppression**: a count from 1 to ``k - 1`` is not shown (``None``; pages write "fewer
   than k"). Zero is shown: it discloses no one.
2. **Rounding**: every other count is rounded to the nearest multiple of ``k`` (half up), so
   the difference of two published counts is itself uncertain by up to ``k`` on each side
   and cannot reveal a group smaller than ``k`` exactly (conventional rounding to base ``k``:
   ESSnet Handbook on Statistical Disclosure Control, chapter 5 "Frequency tables", section
   5.5, https://sdctools.github.io/HandbookSDC/05-frequency-tables.html). It is deterministic,
   so many overlapping tables of the same people protect less than random rounding would.
3. **Secondary suppression**: in a table shown with its total, a lone suppressed cell takes
   the next smallest cell with it (:func:`suppress_table`).
4. **Free text**: an analysis's messages and warnings quote counts ("only 3 progression
   events"); every whole number from 1 to ``k - 1`` in them is replaced by "fewer than k"
   (:func:`suppress_text`), except a measure ("3 months", "4 mg"), which counts no one.

Analysis results shown to researchers (:func:`controlled_results`) keep their estimates and
intervals, but their counts follow the rule, an estimate resting on fewer than ``k`` people
(or a proportion with fewer than ``k`` events) is left out, and details that only list
counts are not passed on. Charts are estimates too: a mean trajectory's point resting on
fewer than ``k`` people is blanked, and a survival curve is cut before the first time fewer
than ``k`` are at risk and left out when it holds from 1 to ``k - 1`` events (its steps
would count them). Points whose counts are not known are not shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..analysis.plan import AnalysisPlan
from ..analysis.results import AnalysisResult, Estimate, Warned

#: Details the report's charts draw from (curves of shares, mean trajectories, balance SMDs,
#: the diagnostics verdict); anything else in ``details`` is a count listing and is dropped.
CHART_DETAILS = frozenset({"passed", "curves", "trajectories", "balance", "negative_control"})
_WHOLE_NUMBER = re.compile(r"(?<![\w.,])(\d+)(?![\w.,%]|\.\d)")
#: A whole number followed by one of these units is a measure (a window, a dose, a score
#: step), not a count of people or events: "within 3 months" must not read "fewer than 5
#: months". Counts in messages are of people, events, relapses, visits... never of these.
_MEASURE_UNIT = re.compile(
    r"\s*-?\s*(?:days?|weeks?|months?|years?|hours?|h|mg|ml|points?|steps?|"
    r"pairs? of periods|periods?|cycles?|blocks?)\b",
    re.IGNORECASE,
)


def shown_count(n: int | None, k: int) -> int | None:
    """The published form of one count: 0, None (suppressed) or rounded to base ``k``."""
    if n is None:
        return None
    n = int(n)
    if n == 0:
        return 0
    if n < k:
        return None
    return (n + k // 2) // k * k


def suppress_table(
    counts: Mapping[str, int], k: int, *, with_total: bool = True
) -> dict[str, int | None]:
    """Suppress small cells (and, with a total shown, the next smallest with a lone one),
    then round what is left."""
    shown: dict[str, int | None] = {
        key: (n if n >= k or n == 0 else None) for key, n in counts.items()
    }
    hidden = [key for key, n in shown.items() if n is None]
    if with_total and len(hidden) == 1:
        rest = sorted((n, key) for key, n in counts.items() if shown[key] is not None and n > 0)
        if rest:
            shown[rest[0][1]] = None
    return {key: shown_count(n, k) if n is not None else None for key, n in shown.items()}


def suppress_text(text: str, k: int) -> str:
    """Free text with every whole number from 1 to ``k - 1`` replaced (decimals, percentages,
    numbers inside words and measures such as "3 months" or "4 mg" are left alone)."""

    def small(match: re.Match[str]) -> str:
        value = int(match.group(1))
        if _MEASURE_UNIT.match(text, match.end()):
            return match.group(1)
        return f"fewer than {k}" if 0 < value < k else match.group(1)

    return _WHOLE_NUMBER.sub(small, text)


def _count_value(value: Any, k: int) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return shown_count(value, k)


def _estimate_allowed(estimate: Estimate, k: int) -> bool:
    if estimate.n is not None and estimate.n < k:
        return False
    if estimate.scale == "proportion" and estimate.n:
        if not math.isfinite(estimate.value):  # no estimate: there is no count to reveal
            return True
        events = round(estimate.value * estimate.n)
        return events == 0 or events >= k
    return True


def controlled_curve(points: list[list[float]], k: int) -> list[list[float]] | None:
    """A survival curve's points ([time, S, lower, upper, at risk, events], as
    ``curve_points`` makes them) as an aggregate page may draw them: up to the first point
    with fewer than ``k`` at risk, without the counts; None when it holds from 1 to ``k - 1``
    events, when its counts are unknown or when nothing is left to draw."""
    if not points or any(len(p) < 6 or p[4] is None or p[5] is None for p in points):
        return None
    events = sum(p[5] for p in points)
    if not math.isfinite(events) or 0 < events < k:
        return None
    shown: list[list[float]] = []
    for point in points:
        if not point[4] >= k:  # NaN too: an unknown count is not enough
            break
        shown.append(list(point[:4]))
    return shown if len(shown) > 1 else None


def controlled_trajectories(
    trajectories: Mapping[str, Mapping[str, list]], counts: Mapping[str, Mapping[str, list]], k: int
) -> dict[str, dict[str, list]]:
    """Mean trajectories with each point resting on fewer than ``k`` people (or on an
    unknown number) blanked (None), as the charts leave a gap."""
    out: dict[str, dict[str, list]] = {}
    for instrument, series in trajectories.items():
        kept: dict[str, list] = {"months": list(series.get("months", []))}
        for name, values in series.items():
            if name == "months":
                continue
            n = list(counts.get(instrument, {}).get(name, []))
            kept[name] = [
                v if i < len(n) and n[i] is not None and n[i] >= k else None
                for i, v in enumerate(values)
            ]
        out[instrument] = kept
    return out


def _controlled_details(details: Mapping[str, Any], k: int) -> dict[str, Any]:
    """The chart details an aggregate page may draw (:data:`CHART_DETAILS`), their curves
    and trajectories under the rule."""
    kept = {key: v for key, v in details.items() if key in CHART_DETAILS}
    if "curves" in kept:
        curves = {name: controlled_curve(points, k) for name, points in kept["curves"].items()}
        kept["curves"] = {name: points for name, points in curves.items() if points}
    if "trajectories" in kept:
        kept["trajectories"] = controlled_trajectories(
            kept["trajectories"], details.get("trajectory_n", {}), k
        )
    if "negative_control" in kept:  # estimates as dicts: the same rule as ``estimates``
        kept["negative_control"] = {
            key: {**e, "n": shown_count(e.get("n"), k), "note": suppress_text(e.get("note", ""), k)}
            for key, e in kept["negative_control"].items()
            if e.get("n") is None or e["n"] >= k
        }
    return kept


def plan_for_disclosure(plan: AnalysisPlan, k: int) -> AnalysisPlan:
    """The plan an aggregate view runs its analyses with: no group of fewer than ``k`` LDN
    users analysed. Why: a comparison's estimate carries one n for both of its groups (a
    matched hazard ratio's rows, users and controls together), so the rule on estimates
    cannot see a group of users under ``k``; every analysis refuses groups under the plan's
    ``min_ldn_users``, so that minimum is raised to ``k`` where a site's ``k`` is larger."""
    return plan if plan.min_ldn_users >= k else replace(plan, min_ldn_users=k)


def controlled_result(result: AnalysisResult, k: int) -> AnalysisResult:
    """A copy of ``result`` that follows the rule (see the module docstring)."""
    estimates = [
        replace(e, n=shown_count(e.n, k), note=suppress_text(e.note, k))
        for e in result.estimates
        if _estimate_allowed(e, k)
    ]
    return replace(
        result,
        population={key: _count_value(v, k) for key, v in result.population.items()},
        estimates=estimates,
        caveats=[suppress_text(c, k) for c in result.caveats],
        warnings=[Warned(w.kind, suppress_text(w.message, k)) for w in result.warnings],
        message=suppress_text(result.message, k),
        details=_controlled_details(result.details, k),
    )


def controlled_results(results: Mapping[str, AnalysisResult], k: int) -> dict[str, AnalysisResult]:
    return {name: controlled_result(result, k) for name, result in results.items()}
