"""Data for a trial report following the CENT 2015 checklist (the items that apply).

CENT 2015 (CONSORT extension for N-of-1 trials): Vohra S, Shamseer L, Sampson M, et al.
BMJ 2015;350:h1738, doi:10.1136/bmj.h1738 (also J Clin Epidemiol 2016;76:9-17,
doi:10.1016/j.jclinepi.2015.05.004). Item numbers follow the checklist; the topic names below
are our short paraphrases, not the checklist's wording. Items that need a human (background,
limitations, funding, registration) are listed with ``status = "author"`` so that the report
shows them as still to write instead of leaving them out silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...domain.nof1 import DEFAULT_PAIRS, NOf1Design, schedule
from .analyze import TrialAnalysis

CENT_CITATION = (
    "Vohra S, Shamseer L, Sampson M, et al. CONSORT extension for reporting N-of-1 trials "
    "(CENT) 2015 Statement. BMJ 2015;350:h1738. doi:10.1136/bmj.h1738"
)


@dataclass(frozen=True)
class ReportItem:
    item: str
    topic: str
    content: str
    status: str  # "filled" | "author" (needs a person) | "not applicable"

    def as_dict(self) -> dict[str, str]:
        return self.__dict__.copy()


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def cent_items(design: NOf1Design, analysis: TrialAnalysis | None = None) -> list[ReportItem]:
    """Checklist items with what the software knows; analysis items once unblinded."""
    spec = design.outcome_spec
    periods = schedule(design)
    items = [
        ReportItem(
            "1a",
            "Title",
            f"Randomised, double-blind, placebo-controlled n-of-1 trial "
            f"of low-dose naltrexone ({design.dose_text} mg) on {spec.label.lower()}",
            "filled",
        ),
        ReportItem("2a", "Background and rationale", "", "author"),
        ReportItem(
            "2b",
            "Objective",
            f"Does LDN {design.dose_text} mg change {spec.label} "
            f"compared with identical placebo for this patient ({spec.direction_word})?",
            "filled",
        ),
        ReportItem(
            "3a",
            "Trial design",
            f"{design.pairs} pairs of periods ({design.periods} periods) of "
            f"{design.period_days} days, order randomised within each pair; the first "
            f"{design.washout_days} days of every period are a washout/burn-in excluded from "
            f"the analysis; {periods[0].start.isoformat()} to {periods[-1].end.isoformat()}.",
            "filled",
        ),
        ReportItem(
            "4a", "Participant (diagnosis, comorbidities, concurrent therapies)", "", "author"
        ),
        ReportItem(
            "5",
            "Interventions",
            f"Naltrexone {design.dose_text} mg capsules vs identical placebo capsules, "
            f"{design.capsules_per_day} per day, one labelled bottle per period prepared by "
            "the pharmacy from the sealed allocation.",
            "filled",
        ),
        ReportItem(
            "6a",
            "Outcome",
            f"{spec.label} from the daily check-in; mean of analysed days per period. "
            f"Minimal clinically important difference {design.mcid:g} points (pre-specified).",
            "filled",
        ),
        ReportItem(
            "7a",
            "Number of periods",
            f"{design.pairs} pairs (the software refuses fewer than 2 and recommends at least "
            f"{DEFAULT_PAIRS}); see docs/nof1.md for the simulated power.",
            "filled",
        ),
        ReportItem(
            "8a",
            "Randomisation sequence",
            "Order within each pair drawn from a recorded seed (Mersenne Twister); the seed is "
            "sealed with the allocation.",
            "filled",
        ),
        ReportItem(
            "8b",
            "Type of randomisation",
            "Blocked in pairs (one LDN and one placebo period per pair).",
            "filled",
        ),
        ReportItem(
            "9",
            "Allocation concealment",
            "The allocation is stored sealed; patient and clinician accounts cannot read it "
            "until the last period has ended; every access is written to the audit log.",
            "filled",
        ),
        ReportItem(
            "11a", "Blinding", "Patient and clinician blinded; the pharmacy is not.", "filled"
        ),
        ReportItem(
            "11b",
            "Similarity of interventions",
            "Matching placebo capsules (pharmacy to confirm).",
            "author",
        ),
        ReportItem(
            "12a",
            "Statistical methods",
            "Paired t on per-pair period means (95% CI); exact randomisation test over all "
            f"{2**design.pairs} within-pair orders; Bayesian regression with linear trend "
            "and AR(1) errors giving the probability of an improvement of at least the MCID.",
            "filled",
        ),
    ]
    if analysis is None:
        items.append(
            ReportItem("17a", "Results", "Blinded until the last period ends.", "not applicable")
        )
        return items
    result = analysis.as_dict()
    est = analysis.estimate
    per_period = "; ".join(
        f"period {p['period']} ({p['treatment']}): "
        + ("no data" if p["mean"] is None else f"{_fmt(p['mean'])} over {p['days_analysed']} d")
        for p in result["periods"]
    )
    if analysis.stopped is None:
        ended = f"Ran to its planned end on {design.end_date.isoformat()}."
    else:
        stop_day, reason = analysis.stopped
        ended = (
            f"Stopped early on {stop_day.isoformat()} (planned to end "
            f"{design.end_date.isoformat()}): {reason}. Days after the stop are not analysed."
        )
    items += [
        ReportItem(
            "13a",
            "Periods completed",
            f"{len(result['periods'])} periods planned; "
            f"{est.pairs_used} pairs analysed, {est.pairs_dropped} dropped.",
            "filled",
        ),
        ReportItem("14b", "Why the trial ended or was stopped", ended, "filled"),
        ReportItem(
            "16",
            "Numbers analysed",
            f"{analysis.posterior.n_days} analysed days in the Bayesian model.",
            "filled",
        ),
        ReportItem(
            "17a",
            "Results per period and effect estimate",
            f"{per_period}. LDN - placebo {_fmt(est.mean_difference)} points "
            f"(95% CI {_fmt(est.ci_low)} to {_fmt(est.ci_high)}); randomisation test two-sided "
            f"p = {analysis.randomisation.p_two_sided:.3f}. {analysis.conclusion.text}",
            "filled",
        ),
        ReportItem(
            "18",
            "Other analyses: adherence from the dose log",
            "; ".join(
                f"period {p['period']}: "
                + ("not logged" if p["days_dose_logged"] == 0 else f"{p['adherence']:.0%}")
                for p in result["periods"]
            ),
            "filled",
        ),
        ReportItem("19", "Harms", "", "author"),
        ReportItem("20", "Limitations", "", "author"),
    ]
    return items


def report_data(design: NOf1Design, analysis: TrialAnalysis | None = None) -> dict[str, Any]:
    return {
        "guideline": CENT_CITATION,
        "trial_id": design.trial_id,
        "items": [item.as_dict() for item in cent_items(design, analysis)],
    }
