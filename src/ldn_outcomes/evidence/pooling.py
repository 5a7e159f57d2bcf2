"""Pool one outcome across the catalogue: who goes in, who cannot and why, and the result.

A study enters when it offers numbers for the outcome (``meta_inputs``) that give an effect on
the same measure as the others and a variance. Everything else is listed with the reason, so a
reader sees what was left out instead of a silently smaller analysis.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..domain.evidence import Catalogue
from ..errors import NotFound
from ..stats.random_effects import MetaResult, random_effects
from .meta import RATIO_MEASURES, Effect, NotPoolable, effect_from_input, ratio_from_log

MEASURE_NAMES = {
    "RR": "risk ratio",
    "OR": "odds ratio",
    "HR": "hazard ratio",
    "IRR": "rate ratio",
    "MD": "mean difference",
    "SMD": "standardised mean difference (Hedges' g)",
}


@dataclass
class MetaReport:
    outcome_id: str
    measure: str | None
    method: str
    included: list[Effect] = field(default_factory=list)
    excluded: list[dict[str, str]] = field(default_factory=list)
    result: MetaResult | None = None
    not_pooled_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> bool:
        """Ratio measures are pooled on the log scale and shown back as ratios."""
        return self.measure in RATIO_MEASURES

    @property
    def scale(self) -> str:
        """What the shown numbers are, in words a reader can check."""
        name = MEASURE_NAMES.get(self.measure or "", self.measure or "effect")
        if self.ratio:
            return f"{name} (pooled on the log scale, shown as ratios; 1 = no difference)"
        return f"{name} (0 = no difference)"

    def shown(self, value: float | None) -> float | None:
        """A value on the analysis scale as a reader sees it (exp for ratio measures); None
        for a ratio beyond what a float holds (its log-scale value is in ``result``, and
        ``as_dict`` adds a note saying so)."""
        if value is None:
            return None
        return ratio_from_log(value) if self.ratio else value

    def _unshowable_note(self) -> list[str]:
        result = self.result
        if result is None or not self.ratio:
            return []
        names = {
            "estimate": "the estimate",
            "ci_low": "the CI's lower bound",
            "ci_high": "the CI's upper bound",
            "pi_low": "the prediction interval's lower bound",
            "pi_high": "the prediction interval's upper bound",
        }
        beyond = [
            f"{name} (log {value:.1f})"
            for key, name in names.items()
            if (value := getattr(result, key)) is not None and self.shown(value) is None
        ]
        if not beyond:
            return []
        return [
            "Too far from 1 to show as a ratio (beyond e^±708), given on the log scale: "
            + "; ".join(beyond)
            + "."
        ]

    def as_dict(self) -> dict[str, Any]:
        result = self.result
        return {
            "outcome_id": self.outcome_id,
            "measure": self.measure,
            "measure_name": MEASURE_NAMES.get(self.measure or "", self.measure),
            "method": self.method,
            "ratio": self.ratio,
            "scale": self.scale,
            "result": result.as_dict() if result else None,
            "shown": (
                {
                    key: self.shown(getattr(result, key))
                    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")
                }
                if result
                else None
            ),
            "not_pooled_reason": self.not_pooled_reason,
            "included": [
                {
                    "study_id": e.study_id,
                    "label": e.label,
                    "measure": e.measure,
                    "yi": e.yi,
                    "vi": e.vi,
                    "ci_low": e.ci[0],
                    "ci_high": e.ci[1],
                    "shown": [self.shown(e.yi), self.shown(e.ci[0]), self.shown(e.ci[1])],
                    "derived_from": e.derived_from,
                    "notes": list(e.notes),
                }
                for e in self.included
            ],
            "excluded": self.excluded,
            "notes": self.notes + self._unshowable_note(),
        }


def pool_outcome(catalogue: Catalogue, outcome_id: str, *, method: str = "REML") -> MetaReport:
    """Random-effects pooling of every catalogue study that reports ``outcome_id``."""
    candidates = [
        (study, entry)
        for study in catalogue.studies
        for entry in study.meta_inputs
        if entry.outcome_id == outcome_id
    ]
    if not candidates:
        raise NotFound(f"no study in the catalogue reports outcome {outcome_id!r}")
    effects: list[Effect] = []
    report = MetaReport(outcome_id=outcome_id, measure=None, method=method.upper())
    for study, entry in candidates:
        label = _label(study.authors, study.year, study.id)
        extra = entry.model_extra or {}
        try:
            effect = effect_from_input(
                study.id, label, entry.measure, entry.arm_stats, extra.get("reported_effect")
            )
        except NotPoolable as reason:
            report.excluded.append({"study_id": study.id, "reason": str(reason)})
            continue
        except (TypeError, ValueError) as error:
            report.excluded.append({"study_id": study.id, "reason": f"unreadable numbers: {error}"})
            continue
        if (study.design or "").startswith("crossover"):
            effect = Effect(
                effect.study_id,
                effect.label,
                effect.measure,
                effect.yi,
                effect.vi,
                effect.derived_from,
                (*effect.notes, "crossover trial"),
            )
        effects.append(effect)
    return pool_effects(report, effects, method=method)


def pool_effects(report: MetaReport, effects: Sequence[Effect], *, method: str) -> MetaReport:
    """Pool ``effects`` of the most common measure into ``report``; the others are listed as
    excluded with the reason. Shared by the catalogue and by a user's own CSV of studies."""
    if effects:
        report.measure = Counter(e.measure for e in effects).most_common(1)[0][0]
        for effect in effects:
            if effect.measure == report.measure:
                report.included.append(effect)
            else:
                report.excluded.append(
                    {
                        "study_id": effect.study_id,
                        "reason": (
                            f"measure {effect.measure} cannot be pooled with {report.measure}"
                        ),
                    }
                )
    if len(report.included) < 2:
        report.not_pooled_reason = (
            f"only {len(report.included)} study can be pooled; a pooled estimate needs two or more"
            if report.included
            else "no study gives numbers that can be pooled"
        )
        return report
    report.result = random_effects(
        [e.yi for e in report.included], [e.vi for e in report.included], method=method
    )
    if any("crossover trial" in e.notes for e in report.included):
        report.notes.append("Crossover trials enter with the estimate their authors reported.")
    return report


def _label(authors: Any, year: int | None, fallback: str) -> str:
    if isinstance(authors, list) and authors:
        first = str(authors[0])
    elif isinstance(authors, str) and authors.strip():
        first = authors.split(",")[0].strip()
    else:
        return fallback
    surname = first.split()[0] if first.split() else first
    more = (
        " et al."
        if (isinstance(authors, list) and len(authors) > 1)
        or (isinstance(authors, str) and "," in authors)
        else ""
    )
    return f"{surname}{more} {year}" if year else f"{surname}{more}"
