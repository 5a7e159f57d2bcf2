"""How a calibration run measures against its targets, and what chance alone would give.

The targets (docs/analysis.md, "Calibration of every causal headline"): without an effect and
with one, a 95% interval covering the truth in 93-97% of registries and a mean bias within 2
Monte-Carlo SE of 0; with confounding the registry cannot record, the diagnostics flagging at
least 80% of the registries whose interval misses the truth.

A cell of a few hundred registries measures coverage with an error of its own: an interval
that holds the truth exactly 95% of the time still covers outside 93-97% in a cell of 150
registries about a quarter of the time (binomial), and a mean bias with no lean at all lies
beyond 2 MC SE in about 4.6% of cells (normal). So a run is read against the count of misses
chance alone would give (``chance_outside_band``, ``CHANCE_BEYOND_BIAS``), not against zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy.stats import binom, norm

from .calibration_data import LEAN_SE

#: The coverage band of a 95% interval, as fractions of the registries of a cell.
COVERAGE_BAND = (0.93, 0.97)
#: |mean bias| below this many Monte-Carlo SE: the lean the report tells a reader beyond it.
BIAS_SE = LEAN_SE
#: Share of confounded registries whose interval misses the truth that the diagnostics flag.
FLAGGED_SHARE = 0.8
#: Probability that a cell without any lean has |mean bias| >= ``BIAS_SE`` MC SE (normal).
CHANCE_BEYOND_BIAS = float(2 * norm.sf(BIAS_SE))


def in_band(covered: int, registries: int) -> bool:
    """Whether ``covered`` of ``registries`` lies in the coverage band (ends included)."""
    if registries < 1:
        raise ValueError(f"registries must be at least 1, not {registries}")
    low, high = COVERAGE_BAND
    share = covered / registries
    return low - 1e-12 <= share <= high + 1e-12


def chance_outside_band(registries: int, level: float = 0.95) -> float:
    """The probability that an interval holding the truth with probability ``level`` covers
    outside the band in a cell of ``registries`` independent registries: the binomial mass of
    the counts ``in_band`` refuses."""
    inside = [k for k in range(registries + 1) if in_band(k, registries)]
    if not inside:
        return 1.0
    mass = binom.cdf(inside[-1], registries, level) - binom.cdf(inside[0] - 1, registries, level)
    return float(max(0.0, 1.0 - mass))


@dataclass(frozen=True)
class Verdict:
    """One target over the cells of a run: how many cells meet it, of how many, and how many
    would miss it by chance alone (None where no chance figure applies)."""

    target: str
    met: int
    cells: int
    chance_misses: float | None
    misses: list[str]

    def line(self) -> str:
        chance = (
            ""
            if self.chance_misses is None
            else f"; a calibrated method would miss about {self.chance_misses:.1f} by chance"
        )
        missed = f" (missed: {', '.join(self.misses)})" if self.misses else ""
        return f"{self.target}: met in {self.met} of {self.cells} cells{chance}{missed}"


def _cell(row: dict[str, Any]) -> str:
    return f"{row['headline']} {row['scenario']} {row['patients']:,}"


def verdicts(summary: list[dict[str, Any]], sizes: set[int] | None = None) -> list[Verdict]:
    """The three targets over the rows of ``calibration_data.summarise`` (optionally only the
    registry sizes ``sizes``)."""
    rows = [r for r in summary if sizes is None or r["patients"] in sizes]
    scored = [r for r in rows if r["scenario"] in ("null", "effect")]
    coverage_misses = [
        r for r in scored if not in_band(round(r["coverage"] * r["registries"]), r["registries"])
    ]
    leaning = [
        r
        for r in scored
        if not (math.isfinite(r["bias_over_se"]) and abs(r["bias_over_se"]) < BIAS_SE)
    ]
    confounded = [r for r in rows if r["scenario"] == "confounded" and r["missed"]]
    unflagged = [r for r in confounded if r["flagged_of_missed"] < FLAGGED_SHARE * r["missed"]]
    return [
        Verdict(
            "coverage 93-97%",
            len(scored) - len(coverage_misses),
            len(scored),
            sum(chance_outside_band(r["registries"]) for r in scored),
            [f"{_cell(r)}: {r['coverage']:.1%}" for r in coverage_misses],
        ),
        Verdict(
            f"|mean bias| < {BIAS_SE:g} MC SE",
            len(scored) - len(leaning),
            len(scored),
            CHANCE_BEYOND_BIAS * len(scored),
            [f"{_cell(r)}: {r['bias_over_se']:+.1f} SE" for r in leaning],
        ),
        Verdict(
            f"diagnostics flag >= {FLAGGED_SHARE:.0%} of confounded misses",
            len(confounded) - len(unflagged),
            len(confounded),
            None,
            [f"{_cell(r)}: {r['flagged_of_missed']} of {r['missed']}" for r in unflagged],
        ),
    ]
