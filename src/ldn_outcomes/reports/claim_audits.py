"""The registry's own audit of circulating claims: one public headline per analysis.

The claims register (``evidence/data/claims.json``) names, for each claim the registry can
test, the analysis that tests it (``registry_audit``). This module turns the analysis engine's
results into what anyone may see: the headline estimate with its interval, as the outcome
report writes it (:func:`~.outcomes.estimate_text`), and how many patients it rests on.

Access rules (docs/web.md, "De-identification"): only aggregates over research-consented
patients, and nothing that rests on fewer than ``min_cell_size`` people. A headline is shown
only when the analysis's patients (``population["n_patients"]``) and the headline's own count
(``Estimate.n``: patients, or events for side-effect rates) are both at least ``k``; otherwise
the section says it is suppressed; the count shown is rounded to base ``k`` like every
published count (:mod:`.disclosure`). The engine's free-text messages and warnings are not shown,
because they can quote small counts ("only 3 progression events"); the page states the kind
of problem instead. A result whose bias diagnostics failed carries that warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..analysis.results import AnalysisResult, Estimate, SmallSample
from .disclosure import shown_count
from .outcomes import OUTCOME_ANALYSES, PLAIN, TITLES, estimate_text

#: Analyses a claim can name as its ``registry_audit``, in the order the page shows them.
AUDITED = OUTCOME_ANALYSES
#: Claims about one person's response (timing, dose) are tested in a personal n-of-1 trial.
NOF1 = "nof1"


def anchor(key: str) -> str:
    """The id of a claim audit's section on the public audits page."""
    return f"audit-{key}"


def public_audits(
    results: Mapping[str, AnalysisResult], *, min_cell_size: int, on: str, plan_hash: str
) -> dict[str, Any]:
    """Page data: the bias-check verdict, then one section per audited analysis."""
    k = min_cell_size
    return {
        "min_cell_size": k,
        "on": on,
        "plan_hash": plan_hash,
        "diagnostics": _diagnostics(results.get("diagnostics"), k),
        "sections": [_section(name, results.get(name), k) for name in AUDITED],
        "nof1_anchor": anchor(NOF1),
    }


def _diagnostics(result: AnalysisResult | None, k: int) -> dict[str, Any]:
    if result is None or result.status == "insufficient_data" or not _enough(result, k):
        return {"state": "not_available", "failed_checks": []}
    failures = [str(f).split(":", 1)[0] for f in result.details.get("failures", [])]
    return {"state": "failed" if failures else "passed", "failed_checks": failures}


def _enough(result: AnalysisResult, k: int) -> bool:
    n = result.population.get("n_patients")
    head = result.headline
    return isinstance(n, int) and n >= k and head is not None and (head.n is None or head.n >= k)


def _section(name: str, result: AnalysisResult | None, k: int) -> dict[str, Any]:
    section: dict[str, Any] = {
        "key": name,
        "anchor": anchor(name),
        "title": TITLES[name],
        "plain": PLAIN[name],
        "state": "no_data",
        "label": None,
        "estimate": None,
        "n": None,
        "diagnostics_failed": False,
        "small_sample": False,
        "method": None,
        "uncontrolled": False,
        "within_person": name in WITHIN_PERSON,
        "comparison": None,
    }
    if result is None or result.status == "insufficient_data":
        return section
    head = result.headline
    if head is None or not _enough(result, k):
        section["state"] = "suppressed"
        return section
    section.update(
        state="shown",
        label=head.label,
        estimate=estimate_text(head),
        n=shown_count(int(result.population["n_patients"]), k),
        method=result.method,
        diagnostics_failed=result.status == "diagnostics_failed",
        small_sample=any(w.kind is SmallSample for w in result.warnings),
    )
    if name in COMPARATIVE and not _is_comparison(head):
        # An LDN users' figure alone (a change, a share) also moves without any treatment
        # (natural course, regression to the mean, placebo response): say so, and show the
        # comparison with matched non-users when one could be made and is large enough.
        section["uncontrolled"] = True
        comparison = next(
            (e for e in result.estimates if _is_comparison(e) and e.n is not None and e.n >= k),
            None,
        )
        if comparison is not None:
            section["comparison"] = {
                "label": comparison.label,
                "estimate": estimate_text(comparison),
            }
    return section


#: Analyses comparing two periods of the same people (before/after, one dose or timing vs the
#: other): confounded by time and by why people changed; the page says so.
WITHIN_PERSON = ("t_cells", "dose_timing", "dose_level", "after_stopping")
#: Analyses whose claim is about LDN's effect, which needs a comparison group to assess.
COMPARATIVE = ("relapses", "progression", "symptoms", "relapse_recovery")


def _is_comparison(estimate: Estimate) -> bool:
    """Whether an estimate compares LDN users with matched non-users (the analysis says so)."""
    return estimate.versus == "matched"
