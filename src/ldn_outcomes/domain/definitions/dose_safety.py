"""Naltrexone dose checks, the naltrexone-opioid interaction, and the liquid-LDN calculator.

Sources
- Low-dose range: "Low-dose naltrexone (LDN), considered in a daily dose of 1 to 5 mg";
  1 ug-1 mg/day is "very low-dose" (VLDN). Toljan K, Vrooman B. Low-Dose Naltrexone
  (LDN) - Review of Therapeutic Utilization. Med Sci (Basel) 2018;6(4):82,
  doi 10.3390/medsci6040082, PMC6313374. Classical (addiction) dosing is at least
  50 mg/day (same source).
- Interaction: the naltrexone label contraindicates use in patients receiving opioid
  analgesics or maintained on opioid agonists (see ``data/opioid_ingredients.json``).
The liquid calculator is arithmetic only; it makes no claim about stability or uniformity.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal

from ldn_outcomes.domain.definitions.exposure import (
    LOW_DOSE_RANGE_MG,
    LOW_DOSE_SOURCE,
    ExposureLike,
    is_naltrexone,
)
from ldn_outcomes.errors import InteractionError, Problem, ValidationFailed


@dataclass(frozen=True)
class DoseCheck:
    dose_mg: float
    band: Literal["below", "within", "above"]
    message: str
    source: str = LOW_DOSE_SOURCE


def check_ldn_dose(
    dose_mg: float, low_dose_range: tuple[float, float] = LOW_DOSE_RANGE_MG
) -> DoseCheck:
    """Flag a daily naltrexone dose outside the low-dose range (1-5 mg by default)."""
    low, high = low_dose_range
    if dose_mg <= 0:
        raise ValidationFailed(
            Problem("exposure", "dose_mg", "dose must be positive", value=dose_mg)
        )
    if dose_mg > high:
        return DoseCheck(
            dose_mg, "above", f"{dose_mg:g} mg/day is above the low-dose range {low:g}-{high:g} mg"
        )
    if dose_mg < low:
        return DoseCheck(
            dose_mg, "below", f"{dose_mg:g} mg/day is below the low-dose range {low:g}-{high:g} mg"
        )
    return DoseCheck(dose_mg, "within", f"{dose_mg:g} mg/day is within {low:g}-{high:g} mg")


def low_dose_notice(exposure: ExposureLike) -> DoseCheck | None:
    """The check of a naltrexone exposure whose daily dose lies outside the low-dose range, or
    None (another drug, no dose, or a dose within the range).

    Such a dose may be right (50 mg is the licensed dose for alcohol and opioid dependence), so
    every import path keeps the record but names it for a person to check, rather than
    silently pooling it with low-dose courses."""
    dose = getattr(exposure, "dose_mg", None)
    if dose is None or not is_naltrexone(exposure) or float(dose) <= 0:
        return None
    check = check_ldn_dose(float(dose))
    return None if check.band == "within" else check


@dataclass(frozen=True)
class OpioidIngredient:
    name: str
    rxcui: str


@cache
def _opioid_data() -> dict[str, Any]:
    text = (
        resources.files("ldn_outcomes.domain.definitions")
        .joinpath("data/opioid_ingredients.json")
        .read_text("utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def opioid_ingredients() -> tuple[OpioidIngredient, ...]:
    return tuple(OpioidIngredient(i["name"], i["rxcui"]) for i in _opioid_data()["ingredients"])


def match_opioid(drug_name: str, rxcui: str | None = None) -> OpioidIngredient | None:
    """The opioid ingredient named by an RxCUI or (as a whole word) in a drug name."""
    lowered = drug_name.lower()
    for ingredient in opioid_ingredients():
        if rxcui is not None and rxcui == ingredient.rxcui:
            return ingredient
        if re.search(rf"\b{re.escape(ingredient.name)}\b", lowered):
            return ingredient
    return None


def _overlap(a: ExposureLike, b: ExposureLike) -> tuple[date, date | None] | None:
    start = max(a.start_date, b.start_date)
    stops = [s for s in (a.stop_date, b.stop_date) if s is not None]
    stop = min(stops) if stops else None
    if stop is not None and stop < start:
        return None
    return start, stop


def check_opioid_interaction(exposures: Sequence[ExposureLike]) -> None:
    """Raise ``InteractionError`` naming both drugs if naltrexone overlaps an opioid agonist."""
    problems: list[Problem] = []
    naltrexone = [e for e in exposures if is_naltrexone(e)]
    for i, other in enumerate(exposures):
        if is_naltrexone(other):
            continue
        opioid = match_opioid(other.drug_name, getattr(other, "rxnorm_cui", None))
        if opioid is None:
            continue
        for ntx in naltrexone:
            window = _overlap(ntx, other)
            if window is None:
                continue
            until = window[1].isoformat() if window[1] else "ongoing"
            problems.append(
                Problem(
                    "exposure",
                    "drug_name",
                    f"{ntx.drug_name} and {other.drug_name} ({opioid.name}, RxCUI "
                    f"{opioid.rxcui}) overlap from {window[0].isoformat()} to {until}: "
                    "naltrexone is contraindicated with opioid agonists (label)",
                    row=i,
                    value=other.drug_name,
                )
            )
    if problems:
        raise InteractionError(problems)


def _interaction_rules(exposures: Sequence[ExposureLike]) -> dict[str, Problem]:
    try:
        check_opioid_interaction(exposures)
    except InteractionError as failure:
        return {p.rule: p for p in failure.problems}
    return {}


def check_new_interactions(existing: Sequence[ExposureLike], added: Sequence[ExposureLike]) -> None:
    """Refuse exposures that *add* a naltrexone-opioid overlap to a patient's record.

    An overlap already in the recorded history is reported elsewhere but does not block
    unrelated entries; only what the new exposures introduce is refused, naming both drugs.
    """
    before = _interaction_rules(existing)
    after = _interaction_rules([*existing, *added])
    new = [after[rule] for rule in sorted(after) if rule not in before]
    if new:  # value = the opioid's name, so callers can point at its row
        raise InteractionError(
            [Problem("exposure", "drug_name", p.rule, value=p.value) for p in new]
        )


@dataclass(frozen=True)
class LiquidDose:
    concentration_mg_per_ml: float
    volume_ml: float
    delivered_mg: float
    target_mg: float

    @property
    def error_mg(self) -> float:
        return round(self.delivered_mg - self.target_mg, 6)


def liquid_ldn(
    tablet_mg: float, water_ml: float, dose_mg: float, syringe_step_ml: float = 0.1
) -> LiquidDose:
    """Dissolve one tablet in water; volume to draw, rounded to the syringe step (half up)."""
    problems = [
        Problem("liquid", name, f"{name} must be positive", value=value)
        for name, value in (
            ("tablet_mg", tablet_mg),
            ("water_ml", water_ml),
            ("dose_mg", dose_mg),
            ("syringe_step_ml", syringe_step_ml),
        )
        if not value > 0
    ]
    if not problems and dose_mg > tablet_mg:
        problems.append(
            Problem(
                "liquid",
                "dose_mg",
                f"dose {dose_mg:g} mg is more than the whole tablet ({tablet_mg:g} mg)",
                value=dose_mg,
            )
        )
    if problems:
        raise ValidationFailed(problems)
    tablet, water, dose, step = (
        Decimal(str(v)) for v in (tablet_mg, water_ml, dose_mg, syringe_step_ml)
    )
    concentration = tablet / water
    exact = dose / concentration
    volume = (exact / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
    if volume == 0:
        raise ValidationFailed(
            Problem(
                "liquid",
                "dose_mg",
                f"{dose_mg:g} mg needs {float(exact):.3f} ml, less than half a "
                f"{syringe_step_ml:g} ml syringe step",
                value=dose_mg,
            )
        )
    volume = min(volume, water)
    return LiquidDose(
        concentration_mg_per_ml=float(round(concentration, 4)),
        volume_ml=float(volume),
        delivered_mg=float(round(volume * concentration, 4)),
        target_mg=float(dose),
    )


def naltrexone_doses(exposures: Iterable[ExposureLike]) -> list[DoseCheck]:
    """Dose check for every naltrexone exposure with a recorded dose."""
    out = []
    for e in exposures:
        dose = getattr(e, "dose_mg", None)
        if is_naltrexone(e) and dose is not None:
            out.append(check_ldn_dose(float(dose)))
    return out
