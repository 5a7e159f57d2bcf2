"""A plain-language conclusion with its uncertainty, from the Bayesian posterior.

Rule (fixed before any data are seen, and checked by simulation in ``power.py``):

* "likely helps" when the posterior probability that LDN improves the outcome at all is at
  least 95%;
* "likely worse" when the probability that LDN worsens it is at least 95%;
* otherwise "no clear difference".

The probability of an improvement of at least the MCID is always stated alongside, so that a
real but small improvement is not mistaken for an important one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...domain.nof1 import OutcomeSpec
from .bayes import Posterior

DECISION_PROBABILITY = 0.95

Verdict = Literal["likely helps", "no clear difference", "likely worse"]


@dataclass(frozen=True)
class Conclusion:
    verdict: Verdict
    p_improves: float
    p_improves_mcid: float
    p_worsens: float
    p_worsens_mcid: float
    mcid: float
    text: str

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "p_improves": self.p_improves,
            "p_improves_by_mcid": self.p_improves_mcid,
            "p_worsens": self.p_worsens,
            "p_worsens_by_mcid": self.p_worsens_mcid,
            "mcid": self.mcid,
            "decision_probability": DECISION_PROBABILITY,
            "text": self.text,
        }


def verdict_for(p_improves: float, p_worsens: float) -> Verdict:
    if p_improves >= DECISION_PROBABILITY:
        return "likely helps"
    if p_worsens >= DECISION_PROBABILITY:
        return "likely worse"
    return "no clear difference"


def _pct(p: float) -> str:
    if p > 0.995:
        return ">99%"
    if p < 0.005:
        return "<1%"
    return f"{100 * p:.0f}%"


def conclude(posterior: Posterior, spec: OutcomeSpec, mcid: float) -> Conclusion:
    lower = spec.lower_is_better
    p_up = posterior.p_benefit(0.0, lower)
    p_up_mcid = posterior.p_benefit(mcid, lower)
    p_down = posterior.p_harm(0.0, lower)
    p_down_mcid = posterior.p_harm(mcid, lower)
    verdict = verdict_for(p_up, p_down)
    what = spec.label.split(" (")[0].lower()
    better = "lower" if lower else "higher"
    worse = "higher" if lower else "lower"
    mcid_text = f"{mcid:g} point{'s' if mcid != 1 else ''}"
    if verdict == "likely helps":
        head = f"LDN likely helps: {what} was {better} on LDN than on placebo"
        size = (
            "probably by a clinically important amount"
            if p_up_mcid >= 0.5
            else "but the improvement may be smaller than what matters clinically"
        )
        text = (
            f"{head} (probability {_pct(p_up)}), {size}: the chance of an improvement of at "
            f"least {mcid_text} is {_pct(p_up_mcid)}."
        )
    elif verdict == "likely worse":
        text = (
            f"LDN is likely worse: {what} was {worse} on LDN than on placebo (probability "
            f"{_pct(p_down)}); the chance it is worse by at least {mcid_text} is "
            f"{_pct(p_down_mcid)}."
        )
    else:
        text = (
            f"No clear difference between LDN and placebo: the chance that LDN improves "
            f"{what} is {_pct(p_up)} (by at least {mcid_text}: {_pct(p_up_mcid)}), and that "
            f"it makes it worse {_pct(p_down)}. More pairs of periods would narrow this."
        )
    return Conclusion(verdict, p_up, p_up_mcid, p_down, p_down_mcid, mcid, text)
