"""Registered vs published primary outcomes, flagged the way the COMPare project did.

COMPare (Goldacre et al. 2019, Trials 20:118, PMID 30760329, doi:10.1186/s13063-019-3173-2)
checked each trial's pre-specified primary outcomes against the paper: was each one reported
as primary, demoted to secondary, or silently dropped, and were new primary outcomes added? We
add a time point check (same measure, different time frame). Matching registered and
published outcome text is a heuristic (shared content words), so automatic flags are a prompt
for a human: the curated verdict in the catalogue (``outcome_switch``) always takes precedence
on the pages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..domain.evidence import Study, TrialRecord


class SwitchFlag(StrEnum):
    NONE = "none"
    ADDED = "added"
    DROPPED = "dropped"
    DEMOTED = "demoted"
    PROMOTED = "promoted"
    CHANGED_TIMEPOINT = "changed_timepoint"
    CHANGED_MEASURE = "changed_measure"
    UNCLEAR = "unclear"
    NOT_ASSESSABLE = "not_assessable"


@dataclass(frozen=True)
class OutcomeText:
    measure: str
    time_frame: str | None = None


@dataclass
class SwitchAssessment:
    flags: list[SwitchFlag] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    method: str = "automatic"
    sources: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "flags": [f.value for f in self.flags],
            "findings": self.findings,
            "method": self.method,
            "sources": self.sources,
        }


_STOP = frozenset(
    {
        "a",
        "an",
        "and",
        "at",
        "by",
        "for",
        "from",
        "in",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "without",
        "was",
        "were",
        "is",
        "are",
        "be",
        "as",
        "per",
        "during",
        "after",
        "before",
        "between",
        "baseline",
        "change",
        "changes",
        "score",
        "scores",
        "measured",
        "assessed",
        "using",
        "week",
        "weeks",
        "month",
        "months",
        "day",
        "days",
        "year",
        "years",
        "total",
        "mean",
    }
)
_TIME = re.compile(r"(\d+(?:\.\d+)?)\s*(day|week|wk|month|mo|year|yr)s?\b", re.IGNORECASE)
_DAYS = {
    "day": 1,
    "week": 7,
    "wk": 7,
    "month": 30.4375,
    "mo": 30.4375,
    "year": 365.25,
    "yr": 365.25,
}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP and len(w) > 1}


def similarity(a: str, b: str) -> float:
    """Share of content words in common (Jaccard); 1.0 for the same words, 0.0 for none."""
    left, right = _words(a), _words(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def time_points(text: str | None) -> set[float]:
    """Time points named in a time frame, in days (``"12 weeks"`` → {84.0})."""
    if not text:
        return set()
    return {round(float(n) * _DAYS[unit.lower()], 1) for n, unit in _TIME.findall(text)}


def _best(
    outcome: OutcomeText, pool: Sequence[OutcomeText], threshold: float
) -> OutcomeText | None:
    scored = [(similarity(outcome.measure, other.measure), other) for other in pool]
    scored = [s for s in scored if s[0] >= threshold]
    return max(scored, key=lambda s: s[0])[1] if scored else None


def compare_outcomes(
    registered_primary: Sequence[OutcomeText],
    published_primary: Sequence[OutcomeText],
    published_secondary: Sequence[OutcomeText] = (),
    registered_secondary: Sequence[OutcomeText] = (),
    *,
    threshold: float = 0.4,
) -> SwitchAssessment:
    """COMPare-style comparison of one trial's registered and published primary outcomes."""
    assessment = SwitchAssessment()
    if not registered_primary or not published_primary:
        assessment.flags.append(SwitchFlag.NOT_ASSESSABLE)
        missing = "registered" if not registered_primary else "published"
        assessment.findings.append(f"no {missing} primary outcome to compare")
        return assessment
    flags: list[SwitchFlag] = []
    for outcome in registered_primary:
        match = _best(outcome, published_primary, threshold)
        if match is not None:
            before, after = time_points(outcome.time_frame), time_points(match.time_frame)
            if before and after and not before & after:
                flags.append(SwitchFlag.CHANGED_TIMEPOINT)
                assessment.findings.append(
                    f"'{outcome.measure}': registered at {outcome.time_frame}, "
                    f"published at {match.time_frame}"
                )
            continue
        if _best(outcome, published_secondary, threshold) is not None:
            flags.append(SwitchFlag.DEMOTED)
            assessment.findings.append(
                f"registered primary '{outcome.measure}' is reported only as secondary"
            )
        else:
            flags.append(SwitchFlag.DROPPED)
            assessment.findings.append(
                f"registered primary '{outcome.measure}' is not reported as an outcome"
            )
    for outcome in published_primary:
        if _best(outcome, registered_primary, threshold) is not None:
            continue
        if _best(outcome, registered_secondary, threshold) is not None:
            flags.append(SwitchFlag.PROMOTED)
            assessment.findings.append(
                f"published primary '{outcome.measure}' was registered as secondary"
            )
        else:
            flags.append(SwitchFlag.ADDED)
            assessment.findings.append(
                f"published primary '{outcome.measure}' was not pre-specified as primary"
            )
    assessment.flags = sorted(set(flags), key=list(SwitchFlag).index) or [SwitchFlag.NONE]
    return assessment


def assess_study(study: Study, trial: TrialRecord | None = None) -> SwitchAssessment:
    """The verdict shown on a capsule: the curated one if present, else an automatic check."""
    curated = study.outcome_switch
    if curated is not None and curated.flag:
        try:
            flags = [SwitchFlag(curated.flag)]
        except ValueError:
            flags = []
        return SwitchAssessment(
            flags=flags,
            findings=[curated.explanation] if curated.explanation else [],
            method=f"curated ({curated.flag})",
            sources=list(curated.sources),
        )
    if trial is None:
        return SwitchAssessment(
            flags=[SwitchFlag.NOT_ASSESSABLE], findings=["no registry record to compare against"]
        )
    published = [OutcomeText(o.name or "") for o in study.outcomes if o.primary and o.name]
    secondary = [OutcomeText(o.name or "") for o in study.outcomes if o.primary is False and o.name]
    return compare_outcomes(
        [OutcomeText(o.measure, o.time_frame) for o in trial.primary_outcomes],
        published,
        secondary,
        [OutcomeText(o.measure, o.time_frame) for o in trial.secondary_outcomes],
    )
