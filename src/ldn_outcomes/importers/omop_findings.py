"""What an OMOP database holds for the analyses: counts and one sentence per outcome, each
either a number or "the OMOP database holds no ..." (aggregates only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: What every message calls an OMOP database the analyses ran on (``run_all(..., source=...)``
#: names it so in the analyses' messages, as "the registry" is named for the registry).
SOURCE = "the OMOP database"

#: How a count is written in a sentence.
Shown = Callable[[int], str]


@dataclass
class OmopFindings:
    """What the OMOP database holds for the analyses (aggregates only)."""

    persons: int = 0
    ms_persons: int = 0
    ms_concepts: str = ""
    naltrexone_concepts: str = ""
    ldn_users: int = 0
    naltrexone_exposures: int = 0
    naltrexone_without_daily_dose: int = 0
    naltrexone_by_name_only: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    headlines: list[str] = field(default_factory=list)

    def as_dict(
        self, published: Callable[[int], int | None] | None = None, fewer: str = ""
    ) -> dict[str, Any]:
        """The findings; given ``published`` (a count's published form under the disclosure
        rule, ``reports.disclosure.shown_count``: None when suppressed), every count of
        persons, exposures or records follows it, and the sentences write a suppressed count as
        ``fewer``, so that none is given away in another form."""

        def count(n: int) -> int | None:
            return n if published is None else published(n)

        def show(n: int) -> str:
            value = count(n)
            return fewer if value is None else str(value)

        return {
            "persons": count(self.persons),
            "ms_persons": count(self.ms_persons),
            "ms_concepts": self.ms_concepts,
            "naltrexone_concepts": self.naltrexone_concepts,
            "ldn_users": count(self.ldn_users),
            "naltrexone_exposures": count(self.naltrexone_exposures),
            "naltrexone_without_daily_dose": count(self.naltrexone_without_daily_dose),
            "naltrexone_by_name_only": count(self.naltrexone_by_name_only),
            "counts": {key: count(n) for key, n in self.counts.items()},
            "headlines": sentences(self, show) if published else list(self.headlines),
        }


def headlines(frames: dict[str, pd.DataFrame], findings: OmopFindings) -> None:
    counts = findings.counts
    counts["edss"] = len(frames["edss"])
    counts["relapses"] = len(frames["relapses"])
    counts["adverse_events"] = len(frames["adverse_events"])
    counts["labs"] = len(frames["labs"])
    counts["symptom_scores"] = len(frames["questionnaires"])
    counts["checkins"] = len(frames["checkins"])
    counts.setdefault("steroid_courses", 0)
    findings.headlines[:] = sentences(findings, str)


def sentences(findings: OmopFindings, show: Shown) -> list[str]:
    """One sentence per finding, each count written by ``show``."""
    counts = findings.counts
    said: list[str] = []
    say = said.append
    say(
        f"{show(findings.ms_persons)} of {show(findings.persons)} persons have multiple "
        f"sclerosis ({findings.ms_concepts})"
    )
    if findings.ldn_users:
        say(
            f"{show(findings.ldn_users)} of them took low-dose naltrexone (daily dose = mg "
            "supplied / days_supply, the mg from the quantity or drug_strength; at most 5 mg a "
            "day)"
        )
    else:
        say(f"{SOURCE} holds no low-dose naltrexone exposure of a person with MS")
    if findings.naltrexone_without_daily_dose:
        say(
            f"{show(findings.naltrexone_without_daily_dose)} naltrexone exposure(s) left out: "
            "no daily dose could be computed"
        )
    if findings.naltrexone_by_name_only:
        say(
            f"{show(findings.naltrexone_by_name_only)} exposure(s) named naltrexone without "
            "the naltrexone concept left out"
        )
    for key, what in (
        ("edss", "EDSS scores"),
        ("relapses", "MS relapses"),
        ("symptom_scores", "symptom scores"),
        ("checkins", "daily check-in ratings"),
        ("labs", "lab results with a LOINC code"),
        ("adverse_events", "adverse events"),
    ):
        say(f"{show(counts[key])} {what}" if counts[key] else f"{SOURCE} holds no {what}")
    say(
        f"{show(counts['steroid_courses'])} methylprednisolone or prednisone course(s) "
        "(counted only: not used as relapses)"
    )
    return said
