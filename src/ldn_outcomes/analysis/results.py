"""Result objects: every number travels with its method, population, interval and caveats.

A result is never a bare float. ``status`` says whether it is a finding (``ok``), a finding
shown only with a warning (``diagnostics_failed``) or no finding at all (``insufficient_data``,
with a message saying what is missing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd
from scipy.stats import norm
from scipy.stats import t as student_t

Status = Literal["ok", "diagnostics_failed", "insufficient_data"]

#: What the analyses' messages call the data they ran on ("no EDSS visits in the registry"),
#: unless ``run_all(..., source=...)`` names another source (``ldn analyze --omop``: the OMOP
#: database, named in ``importers.omop_findings.SOURCE``). Carried by ``AnalysisData.source``.
REGISTRY_SOURCE = "the registry"


class ResultWarning(UserWarning):
    """Base of the warnings a result can carry (recorded on the result, never raised)."""

    #: What a page calls this kind of warning (a reader should not meet a class name).
    words = "Warning"


class DiagnosticsFailed(ResultWarning):
    """A bias diagnostic failed: the estimate is shown with this warning, not as a finding."""

    words = "Bias check failed"


class SmallSample(ResultWarning):
    """So few patients or events that the interval is wide or the method is fragile."""

    words = "Small sample"


#: :class:`SmallSample` is warned below this many people. A project choice, not a validated
#: cut-off: with fewer than 20 people a share near one half has a 95% interval of about
#: +/-22 percentage points (1.96 * sqrt(0.25 / 20)), too wide to read as a finding. The
#: estimate is still shown, with the warning.
FEW_PEOPLE = 20
#: ... and below this many events. Peduzzi et al. 1996 (J Clin Epidemiol 49:1373, doi
#: 10.1016/S0895-4356(96)00236-3) found regression coefficients biased and 90% intervals
#: without their coverage below 10 events per variable; a model here estimates at least one
#: ratio, so fewer than 10 events in all is below that rule for even one variable. Others
#: argue the rule can be relaxed (it is a warning here, not a refusal).
FEW_EVENTS = 10
#: Relapse rate ratios warn below 20 relapses: a project choice, stricter than
#: :data:`FEW_EVENTS`, since the ratio divides the counts of two windows (or four cells).
FEW_RELAPSES = 20


class ModelFallback(ResultWarning):
    """The planned model could not be fitted; a simpler, named model was used instead."""

    words = "Simpler model used"


class Imbalance(ResultWarning):
    """Matched groups still differ: a standardised mean difference above the target by more
    than chance (``outcomes.diagnostics.balance_failures``, the one balance rule)."""

    words = "Groups still differ"


@dataclass(frozen=True)
class Warned:
    kind: type[ResultWarning]
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind.__name__, "message": self.message}


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Estimate:
    """One estimate with its two-sided interval; ``scale`` tells how to read 'no effect'."""

    label: str
    value: float
    ci_low: float
    ci_high: float
    scale: Literal["ratio", "difference", "proportion", "rate", "value"]
    n: int | None = None
    note: str = ""
    #: A stable name for code that looks this estimate up (``AnalysisResult.find``); the
    #: label is for people and may be reworded.
    key: str = ""
    #: Whom LDN users are compared with: "matched" for matched non-users, "" otherwise.
    versus: Literal["", "matched"] = ""

    @classmethod
    def ratio_from_log(
        cls,
        label: str,
        log_ratio: float,
        se: float,
        alpha: float,
        df: int | None = None,
        **fields: Any,
    ) -> Estimate:
        """A ratio with its Wald interval exp(b ± z·se) from a model's log-scale coefficient:
        the one place the rate, hazard and risk ratios of every model are read back. With
        ``df``, the quantile is Student's t on ``df`` degrees of freedom instead of the normal
        one: a robust SE resting on few clusters runs low and its t-ratio has heavier tails
        (Bell & McCaffrey 2002; Imbens & Kolesar, NBER working paper 18478)."""
        if df is not None and df < 1:
            raise ValueError(f"a t reference needs at least 1 degree of freedom, not {df}")
        z = float(norm.ppf(1 - alpha / 2) if df is None else student_t.ppf(1 - alpha / 2, df))
        return cls(
            label,
            math.exp(log_ratio),
            math.exp(log_ratio - z * se),
            math.exp(log_ratio + z * se),
            "ratio",
            **fields,
        )

    def named(self, key: str) -> Estimate:
        return replace(self, key=key)

    def against_matched(self) -> Estimate:
        """This estimate, marked as comparing LDN users with matched non-users."""
        return replace(self, versus="matched")

    @property
    def null_value(self) -> float | None:
        return {"ratio": 1.0, "difference": 0.0}.get(self.scale)

    @property
    def excludes_null(self) -> bool:
        null = self.null_value
        return null is not None and not (self.ci_low <= null <= self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "label": self.label,
                "value": self.value,
                "ci": [self.ci_low, self.ci_high],
                "scale": self.scale,
                "n": self.n,
                "note": self.note,
                # Present only when set, so results without them read as they always did.
                **({"key": self.key} if self.key else {}),
                **({"versus": self.versus} if self.versus else {}),
            }
        )


@dataclass
class AnalysisResult:
    name: str
    method: str
    population: dict[str, Any] = field(default_factory=dict)
    estimates: list[Estimate] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    warnings: list[Warned] = field(default_factory=list)
    status: Status = "ok"
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    #: SHA-256 of the analysis plan this result was computed under.
    plan_hash: str = ""

    @classmethod
    def insufficient(cls, name: str, message: str, method: str = "") -> AnalysisResult:
        return cls(name=name, method=method, status="insufficient_data", message=message)

    def warn(self, kind: type[ResultWarning], message: str) -> None:
        self.warnings.append(Warned(kind, message))
        if kind is DiagnosticsFailed and self.status == "ok":
            self.status = "diagnostics_failed"

    @property
    def headline(self) -> Estimate | None:
        return self.estimates[0] if self.estimates else None

    def find(self, key: str) -> Estimate | None:
        """The estimate with this ``Estimate.key``, if the analysis made one."""
        return next((item for item in self.estimates if item.key == key), None)

    def compared_with(self, comparison: str) -> list[Estimate]:
        """The estimates comparing LDN users with ``comparison`` ("matched"), in order."""
        return [item for item in self.estimates if item.versus == comparison]

    def estimate(self, label: str) -> Estimate:
        for item in self.estimates:
            if item.label == label:
                return item
        raise KeyError(label)

    @property
    def summary(self) -> pd.DataFrame:
        rows = [
            {
                "label": e.label,
                "estimate": e.value,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "scale": e.scale,
                "n": e.n,
                "note": e.note,
            }
            for e in self.estimates
        ]
        return pd.DataFrame(
            rows, columns=["label", "estimate", "ci_low", "ci_high", "scale", "n", "note"]
        )

    def to_dict(self, details: bool = True) -> dict[str, Any]:
        head = self.headline
        out: dict[str, Any] = {
            "status": self.status,
            "message": self.message,
            "method": self.method,
            "population": self.population,
            "estimate": None
            if head is None
            else {"label": head.label, "value": head.value, "scale": head.scale},
            "ci": None if head is None else [head.ci_low, head.ci_high],
            "estimates": [e.to_dict() for e in self.estimates],
            "caveats": list(self.caveats),
            "warnings": [w.to_dict() for w in self.warnings],
            "plan_hash": self.plan_hash,
        }
        if details:
            out["details"] = self.details
        return _clean(out)
