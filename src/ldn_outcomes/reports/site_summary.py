"""A site's aggregate results for a network of registries (docs/deployment.md).

Each site runs the analyses on its own database and shares only this: for every causal
headline (``analysis.headlines.HEADLINES``, the negative control left out: it is a diagnostic),
one CSV file in the layout ``ldn evidence meta --csv`` reads, one row naming the site, with the
estimate and its 95% CI. A coordinating centre pools the sites' files of one headline with
``ldn evidence meta --csv site-a/relapses.csv --csv site-b/relapses.csv ...``.

No patient row leaves the site. The estimates first pass the disclosure rule the research pages
use (``reports.disclosure``): an estimate resting on fewer than ``min_cell_size`` patients is
not written. Nor is one its analysis warns rests on too few events (``SmallSample``): with a
handful of events a model's interval means nothing (2 progression events gave a hazard ratio of
4e-8 with a narrow interval), and inverse-variance pooling would trust it. A file without a row
holds the header alone (so a coordinator's command still runs), with the reason in the
returned summary. An estimate whose bias diagnostics failed is written, its label saying so,
for the coordinator to see in the forest plot and weigh. The pooled meta-analysis reads 95%
intervals, so a plan at another confidence level is refused.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.headlines import HEADLINES
from ..analysis.results import AnalysisResult, DiagnosticsFailed, SmallSample
from ..errors import Problem, ValidationFailed
from ..evidence.user_studies import ESTIMATE
from .disclosure import controlled_results, suppress_text

#: The columns of every summary file (a subset of what ``ldn evidence meta --csv`` reads).
COLUMNS = ("study", "label", "measure", *ESTIMATE)
#: The headlines a site shares: every causal one.
SHARED = tuple(name for name in HEADLINES if name != "negative_control")


@dataclass
class SiteSummary:
    site: str
    #: headline -> the row written (None: header only, see ``left_out``)
    rows: dict[str, dict[str, str] | None] = field(default_factory=dict)
    #: headline -> why no row was written
    left_out: dict[str, str] = field(default_factory=dict)
    #: headline -> the failed bias diagnostics of a row that was written (its label says so)
    flagged: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "site": self.site,
            "rows": self.rows,
            "left_out": self.left_out,
            "flagged": self.flagged,
            "files": {name: str(path) for name, path in self.files.items()},
        }


def _number(value: float) -> str:
    return format(value, ".10g")


def check_alpha(alpha: float) -> None:
    """A site summary gives 95% intervals: refuse a plan at another level before running it."""
    if not math.isclose(alpha, 0.05):
        raise ValidationFailed(
            Problem(
                "site_summary",
                "alpha",
                "must be 0.05: a site summary gives 95% intervals, as `ldn evidence meta "
                "--csv` reads them",
                value=alpha,
            )
        )


def summarise(
    results: Mapping[str, AnalysisResult], site: str, *, min_cell_size: int, alpha: float
) -> SiteSummary:
    """The rows a site may share (nothing written yet)."""
    site = site.strip()
    if not site:
        raise ValidationFailed(Problem("site_summary", "site", "is required (the study name)"))
    check_alpha(alpha)
    shown = controlled_results(results, min_cell_size)
    summary = SiteSummary(site)
    for name in SHARED:
        spec = HEADLINES[name]
        raw = results.get(spec["analysis"])
        estimate = raw.find(spec["key"]) if raw is not None else None
        kept = shown[spec["analysis"]].find(spec["key"]) if raw is not None else None
        summary.rows[name] = None
        if raw is None:
            summary.left_out[name] = "the analysis did not run"
        elif estimate is None:
            why = f": {raw.message}" if raw.message else ""
            summary.left_out[name] = suppress_text(f"not estimated{why}", min_cell_size)
        elif kept is None:
            summary.left_out[name] = (
                f"suppressed: the estimate rests on fewer than {min_cell_size} patients"
            )
        elif small := [w.message for w in raw.warnings if w.kind is SmallSample]:
            summary.left_out[name] = suppress_text(
                f"too few for the model's interval: {small[0]}", min_cell_size
            )
        elif not all(math.isfinite(v) for v in (kept.value, kept.ci_low, kept.ci_high)):
            summary.left_out[name] = "not estimated: the estimate or its interval is not finite"
        else:
            failed = raw.status == "diagnostics_failed"
            if failed:
                summary.flagged[name] = suppress_text(
                    next(w.message for w in raw.warnings if w.kind is DiagnosticsFailed),
                    min_cell_size,
                )
            summary.rows[name] = {
                "study": site,
                "label": f"{site} (bias diagnostics failed)" if failed else site,
                "measure": spec["measure"],
                "estimate": _number(kept.value),
                "ci_low": _number(kept.ci_low),
                "ci_high": _number(kept.ci_high),
            }
    return summary


def write_site_summary(
    directory: Path,
    results: Mapping[str, AnalysisResult],
    site: str,
    *,
    min_cell_size: int,
    alpha: float,
) -> SiteSummary:
    """Write ``<headline>.csv`` for every shared headline into ``directory``."""
    summary = summarise(results, site, min_cell_size=min_cell_size, alpha=alpha)
    directory.mkdir(parents=True, exist_ok=True)
    for name, row in summary.rows.items():
        path = directory / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            if row is not None:
                writer.writerow(row)
        summary.files[name] = path
    return summary
