"""The cohort outcome report: one self-contained HTML file (inline CSS and SVG, no scripts).

Order follows the issue: the headline contrast (naive vs matched), the bias diagnostics before
any result, then each analysis with its method, population, numbers with intervals, and caveats
in plain language. A result whose diagnostics failed is shown with that warning, not as a
finding; an analysis without enough data says what is missing.

The page is one dict rendered by ``reports/templates/outcomes.html`` in the project's one Jinja
environment (autoescaped, so nothing here escapes by hand), extending the shared layout with the
shared stylesheet inlined; the charts are SVG strings built by ``outcome_charts``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from .. import templating
from ..analysis.headlines import HEADLINES
from ..analysis.outcomes.relapses import NAIVE_KEY
from ..analysis.plan import AnalysisPlan
from ..analysis.results import AnalysisResult, Estimate
from .calibration_data import track_record
from .outcome_charts import balance_chart, forest_chart, line_chart, survival_chart

templating.add_templates("ldn_outcomes.reports", prefix="reports")

#: The outcome analyses in the order the report and the claim audits show them.
OUTCOME_ANALYSES = (
    "relapses",
    "progression",
    "symptoms",
    "relapse_recovery",
    "matched",
    "adverse_events",
    "labs",
    "t_cells",
    "dose_timing",
    "dose_level",
    "combination",
    "after_stopping",
)

TITLES = {
    "relapses": "Relapses before and after starting LDN",
    "progression": "Does disability stay stable on LDN?",
    "symptoms": "Fatigue and spasms",
    "relapse_recovery": "Starting LDN during a relapse",
    "matched": "Who LDN users were compared with",
    "adverse_events": "Side effects",
    "labs": "Lab values (mechanism claims)",
    "t_cells": "T-cell counts before and after starting LDN",
    "dose_timing": "Morning or bedtime dosing (same people)",
    "dose_level": "3 mg or 4.5 mg (same people)",
    "combination": "Side effects with a disease-modifying drug",
    "after_stopping": "After stopping LDN",
    "diagnostics": "Can these comparisons be trusted? (bias checks)",
}
PLAIN = {
    "relapses": (
        "We count relapses in the two years before and after each person started LDN. A ratio "
        "below 1 means fewer relapses after starting. But people often start LDN right after a "
        "bad spell, and bad spells pass on their own, so a simple before/after count makes any "
        "treatment look good. We therefore also leave out the weeks just before the start, and "
        "compare with similar people who did not start LDN at that time."
    ),
    "progression": (
        "The claim '98% show no further progression' counts people still on LDN. We estimate "
        "the share of LDN users without a confirmed worsening of disability (EDSS) after 1, 2, 3 "
        "and 5 years, count people who stopped or left as progressed in a worst case, and show "
        "the same curve for comparable people not taking LDN. Worsening is measured from the "
        "first EDSS score after the start, so a worsening before that visit is not counted, for "
        "LDN users and comparable people alike: the scores from before the start are the ones "
        "people were matched on, and a rater's error in them would otherwise look like "
        "worsening."
    ),
    "symptoms": (
        "Change in fatigue and spasm scores from the start to 3, 6 and 12 months (lower is "
        "better), the share improving by at least the smallest change patients notice (the "
        "MCID), and the same change in comparable people not taking LDN."
    ),
    "relapse_recovery": (
        "How long relapses take to recover when LDN was started during the attack, compared "
        "with the same people's relapses before they took LDN and with relapses of comparable "
        "non-users. Relapses without a recorded recovery date are left out. A "
        "hazard ratio above 1 means faster recovery."
    ),
    "matched": (
        "Each LDN user is compared with up to three people of the same MS type, similar age and "
        "disease duration, whose disability and fatigue over the year before were most similar, "
        "and who had not started LDN at that date."
    ),
    "adverse_events": ("Side effects reported per 100 person-years while on LDN and while off it."),
    "labs": "Change in recorded lab values (such as lymphocyte counts) after starting LDN.",
    "t_cells": (
        "How many times higher CD3, CD4 and CD8 T-cell counts were after starting LDN than "
        "before, in the same people (1 means no change; the claim says 3 or 4). Blood counts "
        "vary with infections, other drugs and the time of the blood draw, and there is no "
        "comparison group."
    ),
    "dose_timing": (
        "People who took LDN both in the morning and in the evening or at bedtime: their "
        "symptom scores under each, and their sleep side effects. People switch because of "
        "sleep problems and the periods differ in time, so this is a hint, not proof; a "
        "blinded personal trial answers it for one person."
    ),
    "dose_level": (
        "People who took both 3 mg and 4.5 mg: their symptom scores (spasms first) under each "
        "dose. People change dose because of symptoms or side effects, and the lower dose "
        "usually comes first, so this is a hint, not proof."
    ),
    "combination": (
        "Side effects per person-year while taking LDN together with a disease-modifying "
        "drug, compared with time on LDN alone. A ratio above 1 means more side effects with "
        "the combination. People on a disease-modifying drug differ in other ways too."
    ),
    "after_stopping": (
        "Side effects reported in the two weeks after stopping LDN, compared with the two weeks "
        "before, and symptom scores in the same windows. Withdrawal is not recorded as such, so "
        "any side effect counts: an upper bound."
    ),
    "diagnostics": (
        "Checks done before reading the results: are the compared groups alike (balance), do "
        "they overlap, how small an effect could the data detect, and does a supplement that "
        "cannot work (a negative control) come out as 'no effect' with the same method?"
    ),
}


def _fmt(value: float | None, scale: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if scale == "proportion":
        return f"{value:.0%}" if abs(value) >= 0.1 else f"{value:.1%}"
    if scale == "ratio":
        return f"{value:.2f}"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def estimate_text(e: Estimate) -> str:
    """An estimate as 'value (95% CI low to high)', the way every report page writes it."""
    ci = ""
    if math.isfinite(e.ci_low) and math.isfinite(e.ci_high):
        ci = f" (95% CI {_fmt(e.ci_low, e.scale)} to {_fmt(e.ci_high, e.scale)})"
    return f"{_fmt(e.value, e.scale)}{ci}"


def _section(
    name: str, result: AnalysisResult, plan: AnalysisPlan, matched_users: int | None = None
) -> dict[str, Any]:
    """What one analysis's section shows, as plain values for the template; ``matched_users``
    (this registry's matched LDN users) picks the bench figures for registries like it."""
    section: dict[str, Any] = {
        "id": name,
        "title": TITLES[name],
        "plain": PLAIN[name],
        "missing": result.message if result.status == "insufficient_data" else None,
    }
    if section["missing"] is not None:
        return section
    section.update(
        warnings=[{"kind": w.kind.words, "message": w.message} for w in result.warnings],
        verdict=_diagnostics_verdict(result) if name == "diagnostics" else None,
        population=[
            f"{key.replace('_', ' ')}: "
            + (
                "not shown"  # left out by the disclosure rule, or not counted
                if value is None
                else f"{value:,.1f}"
                if isinstance(value, float)
                else str(value)
            )
            for key, value in result.population.items()
        ],
        rows=[
            {
                "label": e.label,
                "value": estimate_text(e),
                "n": "" if e.n is None else e.n,
                "note": e.note,
            }
            for e in result.estimates[:40]
        ],
        track_records=_track_records(name, matched_users),
        charts=Markup(_charts(name, result, plan)),
        caveats=list(result.caveats),
        method=result.method,
    )
    return section


def _track_records(name: str, matched_users: int | None = None) -> list[dict[str, str]]:
    """How often each causal headline of this analysis was right on simulated registries
    (the calibration bench's committed figures, ``calibration_data``), for registries with
    about ``matched_users`` matched LDN users when it is known."""
    return [
        {"title": spec["title"], "text": text}
        for headline, spec in HEADLINES.items()
        if spec["analysis"] == name and (text := track_record(headline, matched_users))
    ]


def matched_users(results: Mapping[str, AnalysisResult]) -> int | None:
    """This registry's matched LDN users (the matching summary's count; 0 when none, or too few
    to show under the disclosure rule), or None when it was not matched."""
    matched = results.get("matched")
    if matched is None or matched.status == "insufficient_data":
        return None
    count = matched.population.get("n_matched")
    return int(count) if isinstance(count, int | float) and count > 0 else 0


def _logrank_lines(tests: list[dict[str, Any]], events: str = "recoveries") -> str:
    """One sentence per log-rank test of two curves drawn above."""
    return "".join(
        f'<p class="small">{escape(str(t["label"]))}: log-rank chi-square {t["chi2"]:.2f} on '
        f"{t['df']} df, p = {t['p_value']:.3g} ({t['observed']:g} {events} observed in the "
        f"first group, {t['expected']:.1f} expected if the curves did not differ).</p>"
        for t in tests
    )


def _charts(name: str, result: AnalysisResult, plan: AnalysisPlan) -> str:
    d = result.details
    if result.status == "insufficient_data":
        return ""
    if name == "progression" and d.get("curves"):
        curves = {
            k: v
            for k, v in d["curves"].items()
            if k in ("LDN users", "matched non-users", "worst case")
        }
        return survival_chart(
            curves, "Share without confirmed disability worsening", max_x=max(plan.horizons_years)
        ) + _logrank_lines(d.get("logrank", []), "worsenings")
    if name == "relapse_recovery" and d.get("curves"):
        return survival_chart(
            d["curves"],
            "Share of relapses not yet recovered",
            xlabel="days since onset",
            ylabel="not yet recovered",
            max_x=plan.recovery_max_days / 2,
        ) + _logrank_lines(d.get("logrank", []))
    if name == "symptoms" and d.get("trajectories"):
        out = []
        for instrument, traj in d["trajectories"].items():
            series = {k: v for k, v in traj.items() if k != "months"}
            out.append(
                line_chart(
                    series,
                    traj["months"],
                    f"{instrument}: mean score",
                    "months since start",
                    instrument,
                )
            )
        return "".join(out)
    if name == "matched" and d.get("balance"):
        return balance_chart(d["balance"], plan.smd_target, "Balance before and after matching")
    return ""


def _forest(results: Mapping[str, AnalysisResult]) -> str:
    rows: list[dict[str, Any]] = []
    for name in ("relapses", "progression", "relapse_recovery"):
        result = results.get(name)
        if result is None or result.status == "insufficient_data":
            continue
        for e in result.estimates:
            if e.scale == "ratio" and math.isfinite(e.ci_low) and e.value > 0:
                rows.append(
                    {
                        "label": e.label,
                        "value": e.value,
                        "ci": [e.ci_low, e.ci_high],
                        "warn": result.status == "diagnostics_failed",
                    }
                )
    return forest_chart(rows, "Effect estimates (ratios)")


def _headline(results: Mapping[str, AnalysisResult]) -> dict[str, Any]:
    rel = results.get("relapses")
    diag = results.get("diagnostics")
    if rel is None or rel.status == "insufficient_data":
        return {"missing": rel.message if rel else "no relapse analysis"}
    rows = [
        {
            "label": e.label,
            "value": e.value,
            "ci": [e.ci_low, e.ci_high],
            "warn": e.key == NAIVE_KEY,
        }
        for e in rel.estimates
    ]
    if diag is not None and "negative_control" in diag.details:
        for key in ("naive", "matched"):
            nc = diag.details["negative_control"].get(key)
            if nc is None:  # left out of an aggregate page: it rests on too few people
                continue
            rows.append(
                {"label": nc["label"], "value": nc["value"], "ci": nc["ci"], "warn": key == "naive"}
            )
    naive = rel.find(NAIVE_KEY)
    adjusted = rel.headline
    contrast = naive is not None and adjusted is not None and adjusted is not naive
    return {
        "missing": None,
        "naive": estimate_text(naive) if contrast and naive else None,
        "adjusted": estimate_text(adjusted) if contrast and adjusted else None,
        "chart": Markup(forest_chart(rows, "Naive versus adjusted relapse rate ratios")),
    }


def _diagnostics_verdict(result: AnalysisResult) -> str:
    """ "passed", "failed" or "no data": a check with nobody to check is not a pass."""
    balance = result.details.get("balance") or []
    compared = [
        r
        for r in balance
        if isinstance(r.get("smd_after"), int | float) and math.isfinite(r["smd_after"])
    ]
    if not compared or not result.population.get("n_patients"):
        return "no data"
    return "passed" if result.details.get("passed") else "failed"


def render_outcome_report(
    results: Mapping[str, AnalysisResult],
    plan: AnalysisPlan,
    timings: Mapping[str, float] | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The whole report as one HTML string."""
    generated = generated or dt.datetime.now(dt.UTC)
    order = ("diagnostics", *OUTCOME_ANALYSES)
    users = matched_users(results)
    sections = [_section(name, results[name], plan, users) for name in order if name in results]
    return templating.render(
        "reports/outcomes.html",
        css=Markup(templating.stylesheet()),
        headline=_headline(results),
        forest=Markup(_forest(results)),
        sections=sections,
        plan_hash=plan.plan_hash,
        generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
        timings=list((timings or {}).items()),
    )
