"""Run every analysis under one plan; each result carries the plan's hash.

``run_all(frames, plan)`` never raises for missing data: an analysis without enough data comes
back as an ``insufficient_data`` result whose message says what is missing. If the bias
diagnostics fail, every matched comparison carries a ``DiagnosticsFailed`` warning.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from lifelines.exceptions import StatError
from sqlalchemy import Engine
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from ..errors import InsufficientData
from .data.cohorts import exposure_cohort, require_users
from .data.forked import beside
from .data.frames import AnalysisData, load_frames, prepare
from .matching.match import MatchResult, match_users
from .outcomes.adverse import analyse_adverse_events
from .outcomes.diagnostics import analyse_diagnostics, matched_summary, negative_control_match
from .outcomes.labs import analyse_labs
from .outcomes.progression import analyse_progression
from .outcomes.recovery import analyse_recovery
from .outcomes.relapses import analyse_relapses
from .outcomes.symptoms import analyse_symptoms
from .plan import AnalysisPlan
from .results import AnalysisResult, DiagnosticsFailed

ANALYSES = (
    "progression",
    "relapses",
    "symptoms",
    "relapse_recovery",
    "matched",
    "adverse_events",
    "labs",
)
MATCHED_ANALYSES = ("progression", "relapses", "symptoms", "relapse_recovery", "matched")


def _safe(name: str, function: Callable[[], AnalysisResult]) -> AnalysisResult:
    """Too little data, or data on which a model cannot be fitted: a message, never a crash."""
    try:
        return function()
    except InsufficientData as error:
        return AnalysisResult.insufficient(name, str(error))
    except (np.linalg.LinAlgError, PerfectSeparationError, StatError) as error:
        return AnalysisResult.insufficient(
            name, f"a model could not be fitted on these data ({type(error).__name__}: {error})"
        )


def run_all(
    frames: Mapping[str, pd.DataFrame],
    plan: AnalysisPlan | None = None,
    timings: dict[str, float] | None = None,
    parallel: bool = False,
) -> dict[str, AnalysisResult]:
    """All analyses on record frames (kind → DataFrame as ``store.frames.read_frames`` gives).

    ``parallel``: the negative control's matching runs in a second process beside the LDN
    analyses (``analysis.data.forked``; same results)."""
    plan = plan or AnalysisPlan()
    clock = timings if timings is not None else {}

    def timed(name: str, function: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        try:
            return function()
        finally:
            clock[name] = time.perf_counter() - began

    data = timed("prepare", lambda: prepare(frames, plan))
    with beside(_timed, negative_control_match, data, plan, enabled=parallel) as negative:

        def negative_match() -> Any:
            value, clock["negative_control_matching"] = negative()
            return value

        results = _analyses(data, plan, timed, negative_match)
    for result in results.values():
        result.plan_hash = plan.plan_hash
    return results


def _timed(function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    return function(*args), time.perf_counter() - began


def _analyses(
    data: AnalysisData,
    plan: AnalysisPlan,
    timed: Callable[[str, Callable[[], Any]], Any],
    negative_match: Callable[[], Any],
) -> dict[str, AnalysisResult]:
    users = exposure_cohort(data, plan)
    matched: MatchResult | None = None
    match_message = ""
    try:
        require_users(users, plan)
        matched = timed("matching", lambda: match_users(data, plan, users))
    except InsufficientData as error:
        match_message = str(error)
    results: dict[str, AnalysisResult] = {}
    results["progression"] = timed(
        "progression",
        lambda: _safe("progression", lambda: analyse_progression(data, plan, users, matched)),
    )
    results["relapses"] = timed(
        "relapses", lambda: _safe("relapses", lambda: analyse_relapses(data, plan, users, matched))
    )
    results["symptoms"] = timed(
        "symptoms", lambda: _safe("symptoms", lambda: analyse_symptoms(data, plan, users, matched))
    )
    results["relapse_recovery"] = timed(
        "relapse_recovery",
        lambda: _safe("relapse_recovery", lambda: analyse_recovery(data, plan, matched)),
    )
    results["matched"] = (
        matched_summary(matched, plan)
        if matched is not None
        else AnalysisResult.insufficient("matched", match_message)
    )
    results["adverse_events"] = timed(
        "adverse_events",
        lambda: _safe("adverse_events", lambda: analyse_adverse_events(data, plan)),
    )
    results["labs"] = timed("labs", lambda: _safe("labs", lambda: analyse_labs(data, plan)))
    results["diagnostics"] = timed(
        "diagnostics",
        lambda: _safe(
            "diagnostics", lambda: analyse_diagnostics(data, plan, matched, negative_match)
        ),
    )
    failures = results["diagnostics"].details.get("failures", [])
    if failures:
        for name in MATCHED_ANALYSES:
            result = results[name]
            if result.status != "insufficient_data":
                result.warn(
                    DiagnosticsFailed,
                    "bias diagnostics failed ("
                    + "; ".join(failures)
                    + "): the matched comparison is shown with this warning, not as a "
                    "finding",
                )
    return results


def analyze_database(
    engine: Engine, plan: AnalysisPlan | None = None
) -> tuple[dict[str, AnalysisResult], dict[str, float]]:
    """Read the registry and run everything, two long steps each beside the rest in a second
    process where the machine allows (``analysis.data.forked``); timings include the store read on
    its own."""
    timings: dict[str, float] = {}
    plan = plan or AnalysisPlan()
    began = time.perf_counter()
    frames = load_frames(engine, plan=plan, parallel=True)
    timings["read_store"] = time.perf_counter() - began
    results = run_all(frames, plan, timings, parallel=True)
    timings["total"] = time.perf_counter() - began
    return results, timings


def results_to_dict(
    results: Mapping[str, AnalysisResult], plan: AnalysisPlan | None = None, details: bool = False
) -> dict[str, Any]:
    """JSON-ready: one key per analysis plus the plan and its hash."""
    plan = plan or AnalysisPlan()
    out: dict[str, Any] = {
        name: result.to_dict(details=details) for name, result in results.items()
    }
    out["plan"] = {"hash": plan.plan_hash, "options": plan.to_dict()}
    return out
