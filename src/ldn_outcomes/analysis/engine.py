"""Run every analysis under one plan; each result carries the plan's hash.

``run_all(frames, plan)`` never raises for missing data: an analysis without enough data comes
back as an ``insufficient_data`` result whose message says what is missing. If the bias
diagnostics fail, the matched comparisons they concern carry a ``DiagnosticsFailed`` warning
(balance, overlap and the pooled negative control: all of them; a headline's own negative
control: that headline; ``outcomes.diagnostics``).

The analyses are registered in one table, ``REGISTRY`` (key, label, estimator, what it needs),
run in its order; reports and pages find an analysis by its key and an estimate by
``Estimate.key`` or ``Estimate.versus``, never by the wording of a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from .headlines import attach_e_value
from .matching.match import MatchResult, match_users
from .outcomes.adverse import analyse_adverse_events
from .outcomes.combination import analyse_combination
from .outcomes.diagnostics import analyse_diagnostics, matched_summary, negative_control_match
from .outcomes.dosing import analyse_dose_level, analyse_dose_timing
from .outcomes.labs import analyse_labs
from .outcomes.progression import analyse_progression
from .outcomes.recovery import analyse_recovery
from .outcomes.relapses import analyse_relapses
from .outcomes.stopping import analyse_after_stopping
from .outcomes.symptoms import analyse_symptoms
from .outcomes.tcells import analyse_t_cells
from .plan import AnalysisPlan
from .results import REGISTRY_SOURCE, AnalysisResult, DiagnosticsFailed


@dataclass(frozen=True)
class RunInputs:
    """What a run hands each analysis: the prepared data, the plan, the LDN users' cohort, the
    matched comparison (None when matching failed, ``match_message`` saying why) and the
    negative control's matching (a call: it may be running in a second process)."""

    data: AnalysisData
    plan: AnalysisPlan
    users: pd.DataFrame
    matched: MatchResult | None
    match_message: str
    negative_match: Callable[[], Any]


@dataclass(frozen=True)
class RegisteredAnalysis:
    """One named analysis: its key (the result's name, the JSON key), what it estimates, the
    function that estimates it, and what it needs beyond the data and the plan ("users",
    "matched", "negative_control"). Code that needs one analysis looks it up by key here,
    never by the text of a label."""

    key: str
    label: str
    estimator: Callable[[RunInputs], AnalysisResult]
    needs: tuple[str, ...] = ()
    #: Nothing to report without the matched comparison: the matching's message instead.
    requires_match: bool = False
    #: A matched comparison: it carries ``DiagnosticsFailed`` when the bias diagnostics fail.
    matched_comparison: bool = False
    #: Timed under its key (the matching summary costs nothing; its time is "matching").
    timed: bool = True


#: Every analysis of a run, in the order of the results (the diagnostics last: they decide
#: whether the matched comparisons carry a warning).
REGISTRY: tuple[RegisteredAnalysis, ...] = (
    RegisteredAnalysis(
        "progression",
        "share free of confirmed disability worsening; hazard ratio vs matched non-users",
        lambda run: analyse_progression(run.data, run.plan, run.users, run.matched),
        needs=("users", "matched"),
        matched_comparison=True,
    ),
    RegisteredAnalysis(
        "relapses",
        "relapse rate ratio after the start vs matched non-users; naive before/after ratio",
        lambda run: analyse_relapses(run.data, run.plan, run.users, run.matched),
        needs=("users", "matched"),
        matched_comparison=True,
    ),
    RegisteredAnalysis(
        "symptoms",
        "change in fatigue and spasm scores; difference vs matched non-users",
        lambda run: analyse_symptoms(run.data, run.plan, run.users, run.matched),
        needs=("users", "matched"),
        matched_comparison=True,
    ),
    RegisteredAnalysis(
        "relapse_recovery",
        "recovery from relapses with LDN started during the attack",
        lambda run: analyse_recovery(run.data, run.plan, run.matched),
        needs=("matched",),
        matched_comparison=True,
    ),
    RegisteredAnalysis(
        "matched",
        "share of LDN users matched and balance after matching",
        lambda run: matched_summary(_required(run.matched), run.plan),
        needs=("matched",),
        requires_match=True,
        matched_comparison=True,
        timed=False,
    ),
    RegisteredAnalysis(
        "adverse_events",
        "side-effect rates on and off LDN",
        lambda run: analyse_adverse_events(run.data, run.plan),
    ),
    RegisteredAnalysis(
        "labs",
        "paired change in laboratory values after the start",
        lambda run: analyse_labs(run.data, run.plan),
    ),
    RegisteredAnalysis(
        "t_cells",
        "paired fold-change in CD3, CD4 and CD8 counts after the start, by LOINC code",
        lambda run: analyse_t_cells(run.data, run.plan),
    ),
    RegisteredAnalysis(
        "dose_timing",
        "symptoms and sleep side effects, evening or bedtime vs morning dosing, same people",
        lambda run: analyse_dose_timing(run.data, run.plan),
    ),
    RegisteredAnalysis(
        "dose_level",
        "symptoms on 4.5 mg vs 3 mg, same people",
        lambda run: analyse_dose_level(run.data, run.plan),
    ),
    RegisteredAnalysis(
        "combination",
        "side-effect rates on LDN plus a disease-modifying drug vs LDN alone",
        lambda run: analyse_combination(run.data, run.plan),
    ),
    RegisteredAnalysis(
        "after_stopping",
        "side effects and symptoms in the 14 days after stopping LDN vs before",
        lambda run: analyse_after_stopping(run.data, run.plan),
    ),
    RegisteredAnalysis(
        "diagnostics",
        "bias diagnostics: balance, equipoise, minimal detectable ratio, negative control",
        lambda run: analyse_diagnostics(run.data, run.plan, run.matched, run.negative_match),
        needs=("matched", "negative_control"),
    ),
)
BY_KEY: dict[str, RegisteredAnalysis] = {entry.key: entry for entry in REGISTRY}
#: The outcome analyses (every registered analysis but the diagnostics).
ANALYSES = tuple(entry.key for entry in REGISTRY if entry.key != "diagnostics")
MATCHED_ANALYSES = tuple(entry.key for entry in REGISTRY if entry.matched_comparison)


def _required(matched: MatchResult | None) -> MatchResult:
    if matched is None:  # the engine checks ``requires_match`` first
        raise InsufficientData("no matched comparison")
    return matched


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
    source: str = REGISTRY_SOURCE,
) -> dict[str, AnalysisResult]:
    """All analyses on record frames (kind → DataFrame as ``store.frames.read_frames`` gives);
    their messages name the data's ``source`` ("the registry" unless told otherwise).

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

    data = timed("prepare", lambda: prepare(frames, plan, source))
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
        require_users(users, plan, source=data.source)
        matched = timed("matching", lambda: match_users(data, plan, users))
    except InsufficientData as error:
        match_message = str(error)
    run = RunInputs(data, plan, users, matched, match_message, negative_match)
    results: dict[str, AnalysisResult] = {}
    for entry in REGISTRY:
        results[entry.key] = _run_one(entry, run, timed)
    symptom_failures = results["diagnostics"].details.get("symptom_failures", [])
    if symptom_failures and results["symptoms"].status != "insufficient_data":
        results["symptoms"].warn(
            DiagnosticsFailed,
            "symptom falsification check failed ("
            + "; ".join(symptom_failures)
            + "): the same comparison finds an effect of a product that cannot work, so the "
            "symptom differences are shown with this warning, not as findings",
        )
    for name, result in results.items():
        attach_e_value(name, result, alpha=plan.alpha, source=data.source)
    details = results["diagnostics"].details
    failures = details.get("failures", [])
    by_analysis = details.get("failures_by_analysis", {})
    if failures:
        for name in MATCHED_ANALYSES:
            result = results[name]
            mine = by_analysis.get(name, failures)
            if mine and result.status != "insufficient_data":
                result.warn(
                    DiagnosticsFailed,
                    "bias diagnostics failed ("
                    + "; ".join(mine)
                    + "): the matched comparison is shown with this warning, not as a "
                    "finding",
                )
    return results


def _run_one(
    entry: RegisteredAnalysis,
    run: RunInputs,
    timed: Callable[[str, Callable[[], Any]], Any],
) -> AnalysisResult:
    if entry.requires_match and run.matched is None:
        return AnalysisResult.insufficient(entry.key, run.match_message)
    if not entry.timed:
        return entry.estimator(run)
    return timed(entry.key, lambda: _safe(entry.key, lambda: entry.estimator(run)))


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
