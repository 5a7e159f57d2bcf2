"""What an OMOP database holds for the analyses: counts and one sentence per outcome, each
either a number or "the OMOP database holds no ..." (aggregates only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "persons": self.persons,
            "ms_persons": self.ms_persons,
            "ms_concepts": self.ms_concepts,
            "naltrexone_concepts": self.naltrexone_concepts,
            "ldn_users": self.ldn_users,
            "naltrexone_exposures": self.naltrexone_exposures,
            "naltrexone_without_daily_dose": self.naltrexone_without_daily_dose,
            "naltrexone_by_name_only": self.naltrexone_by_name_only,
            "counts": dict(self.counts),
            "headlines": list(self.headlines),
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
    say = findings.headlines.append
    say(
        f"{findings.ms_persons} of {findings.persons} persons have multiple sclerosis "
        f"({findings.ms_concepts})"
    )
    if findings.ldn_users:
        say(
            f"{findings.ldn_users} of them took low-dose naltrexone (daily dose = mg supplied "
            "/ days_supply, the mg from the quantity or drug_strength; at most 5 mg a day)"
        )
    else:
        say("the OMOP database holds no low-dose naltrexone exposure of a person with MS")
    if findings.naltrexone_without_daily_dose:
        say(
            f"{findings.naltrexone_without_daily_dose} naltrexone exposure(s) left out: no daily "
            "dose could be computed"
        )
    if findings.naltrexone_by_name_only:
        say(
            f"{findings.naltrexone_by_name_only} exposure(s) named naltrexone without the "
            "naltrexone concept left out"
        )
    for key, what in (
        ("edss", "EDSS scores"),
        ("relapses", "MS relapses"),
        ("symptom_scores", "symptom scores"),
        ("checkins", "daily check-in ratings"),
        ("labs", "lab results with a LOINC code"),
        ("adverse_events", "adverse events"),
    ):
        say(f"{counts[key]} {what}" if counts[key] else f"the OMOP database holds no {what}")
    say(
        f"{counts['steroid_courses']} methylprednisolone or prednisone course(s) (counted only: "
        "not used as relapses)"
    )
