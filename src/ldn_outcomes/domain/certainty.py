"""Certainty of a body of evidence, GRADE style: start by design, rate down or up, say it plainly.

The rule (GRADE Working Group; Balshem et al., GRADE guidelines 3, J Clin Epidemiol
2011;64:401-406):

* the **starting level** follows the design of the studies the judgement rests on: randomised
  trials start *high*, observational studies start *low*, and case series, case reports and
  anecdotes start *very low* (the table "Levels of quality of a body of evidence in the GRADE
  statement", https://bjsm.bmj.com/highwire/markup/104279/expansion);
* five reasons **rate down** by one or two levels each: risk of bias, inconsistency,
  indirectness, imprecision and publication bias;
* three reasons **rate up** by one or two levels each (large effect, dose-response, plausible
  confounding that would reduce the effect), and only for observational evidence with no reason
  to rate down;
* the result is clipped to *very low* … *high*.

The plain words are GRADE's own definitions of the four levels, as tabulated in Fretheim et al.,
BMC Medicine 2012;10:33 (http://www.biomedcentral.com/1741-7015/10/33/table/T1).

Every judgement carries its reason in words: a level without its reasons is exactly the kind of
label that misleads.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Certainty(IntEnum):
    VERY_LOW = 1
    LOW = 2
    MODERATE = 3
    HIGH = 4

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


class StartingDesign(StrEnum):
    """The design the evidence rests on, as far as it decides the starting level."""

    RANDOMISED = "randomised"
    OBSERVATIONAL = "observational"
    CASE_REPORTS = "case_reports"


class DownReason(StrEnum):
    RISK_OF_BIAS = "risk_of_bias"
    INCONSISTENCY = "inconsistency"
    INDIRECTNESS = "indirectness"
    IMPRECISION = "imprecision"
    PUBLICATION_BIAS = "publication_bias"


class UpReason(StrEnum):
    LARGE_EFFECT = "large_effect"
    DOSE_RESPONSE = "dose_response"
    PLAUSIBLE_CONFOUNDING = "plausible_confounding"


STARTING_LEVEL = {
    StartingDesign.RANDOMISED: Certainty.HIGH,
    StartingDesign.OBSERVATIONAL: Certainty.LOW,
    StartingDesign.CASE_REPORTS: Certainty.VERY_LOW,
}

#: GRADE's definitions (Balshem 2011, as tabulated by Fretheim 2012, table 1).
MEANING = {
    Certainty.HIGH: (
        "We are very confident that the true effect lies close to that of the estimate of the "
        "effect."
    ),
    Certainty.MODERATE: (
        "We are moderately confident in the effect estimate: the true effect is likely to be "
        "close to the estimate of the effect, but there is a possibility that it is "
        "substantially different."
    ),
    Certainty.LOW: (
        "Our confidence in the effect estimate is limited: the true effect may be substantially "
        "different from the estimate of the effect."
    ),
    Certainty.VERY_LOW: (
        "We have very little confidence in the effect estimate: the true effect is likely to be "
        "substantially different from the estimate of effect."
    ),
}


class _Judgement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: int = 1
    reason: str

    @field_validator("levels")
    @classmethod
    def _one_or_two(cls, value: int) -> int:
        if value not in (1, 2):
            raise ValueError("a reason rates the evidence by 1 or 2 levels")
        return value

    @field_validator("reason")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say why, in words")
        return value


class RatedDown(_Judgement):
    domain: DownReason


class RatedUp(_Judgement):
    domain: UpReason


class CertaintyAssessment(BaseModel):
    """One outcome of one claim: what the evidence rests on and how far it can be trusted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: str
    study_ids: tuple[str, ...] = ()
    design: StartingDesign
    design_note: str | None = None
    rated_down: tuple[RatedDown, ...] = ()
    rated_up: tuple[RatedUp, ...] = ()
    finding: str | None = None
    #: A curated assessment may state its result; the rule must agree (a test checks every one).
    stated: Certainty | None = Field(default=None)

    @field_validator("stated", mode="before")
    @classmethod
    def _stated_from_words(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return Certainty[value.strip().upper().replace(" ", "_")]
            except KeyError:
                raise ValueError("one of: high, moderate, low, very low") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CertaintyAssessment:
        if self.rated_up and (self.rated_down or self.design is not StartingDesign.OBSERVATIONAL):
            raise ValueError(
                "rating up is only for observational evidence with no reason to rate down"
            )
        if self.stated is not None and self.stated is not self.result:
            raise ValueError(
                f"stated certainty {self.stated.label!r} disagrees with the rule: starting "
                f"{self.start.label}, rated down {sum(r.levels for r in self.rated_down)}, "
                f"up {sum(r.levels for r in self.rated_up)} gives {self.result.label!r}"
            )
        return self

    @property
    def start(self) -> Certainty:
        return STARTING_LEVEL[self.design]

    @property
    def result(self) -> Certainty:
        return grade(self.design, self.rated_down, self.rated_up)

    def as_dict(self) -> dict[str, object]:
        result = self.result
        return {
            "outcome": self.outcome,
            "study_ids": list(self.study_ids),
            "design": self.design.value,
            "design_note": self.design_note,
            "start": self.start.label,
            "rated_down": [
                {"domain": r.domain.value, "levels": r.levels, "reason": r.reason}
                for r in self.rated_down
            ],
            "rated_up": [
                {"domain": r.domain.value, "levels": r.levels, "reason": r.reason}
                for r in self.rated_up
            ],
            "certainty": result.label,
            "meaning": MEANING[result],
            "finding": self.finding,
        }


def grade(
    design: StartingDesign,
    rated_down: tuple[RatedDown, ...] = (),
    rated_up: tuple[RatedUp, ...] = (),
) -> Certainty:
    """The resulting certainty: the starting level, minus the downs, plus the ups, clipped."""
    level = int(STARTING_LEVEL[design])
    level -= sum(r.levels for r in rated_down)
    level += sum(r.levels for r in rated_up)
    return Certainty(min(max(level, Certainty.VERY_LOW), Certainty.HIGH))
