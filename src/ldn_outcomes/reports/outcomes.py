"""The cohort outcome report: one self-contained HTML file (inline CSS and SVG, no scripts).

Order follows the issue: the headline contrast (naive vs matched), the bias diagnostics before
any result, then each analysis with its method, population, numbers with intervals, and caveats
in plain language. A result whose diagnostics failed is shown with that warning, not as a
finding; an analysis without enough data says what is missing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from html import escape
from typing import Any

from ..analysis.outcomes.relapses import NAIVE_KEY
from ..analysis.plan import AnalysisPlan
from ..analysis.results import AnalysisResult, Estimate
from .outcome_charts import balance_chart, forest_chart, line_chart, survival_chart

TITLES = {
    "relapses": "Relapses before and after starting LDN",
    "progression": "Does disability stay stable on LDN?",
    "symptoms": "Fatigue and spasms",
    "relapse_recovery": "Starting LDN during a relapse",
    "matched": "Who LDN users were compared with",
    "adverse_events": "Side effects",
    "labs": "Lab values (mechanism claims)",
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
        "the same curve for comparable people not taking LDN."
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
    "diagnostics": (
        "Checks done before reading the results: are the compared groups alike (balance), do "
        "they overlap, how small an effect could the data detect, and does a supplement that "
        "cannot work (a negative control) come out as 'no effect' with the same method?"
    ),
}
CSS = """
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;
color:#1b1f23;line-height:1.5}
h1{font-size:1.7em}h2{margin-top:2em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.92em}
td,th{border-bottom:1px solid #d0d7de;padding:.3em .5em;text-align:left;vertical-align:top}
.warn{background:#fff4e5;border-left:4px solid #a63d00;padding:.5em 1em;margin:.5em 0}
.ok{background:#eaf5ea;border-left:4px solid #1f6f3f;padding:.5em 1em;margin:.5em 0}
.none{background:#f2f2f2;border-left:4px solid #6a737d;padding:.5em 1em;margin:.5em 0}
.head{font-size:1.15em}.small{font-size:.85em;color:#57606a}figure{margin:1em 0}
svg{max-width:100%;height:auto}
"""


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


def _table(result: AnalysisResult, limit: int = 40) -> str:
    rows = "".join(
        f"<tr><td>{escape(e.label)}</td><td>{escape(estimate_text(e))}</td>"
        f"<td>{'' if e.n is None else e.n}</td><td class=small>{escape(e.note)}</td></tr>"
        for e in result.estimates[:limit]
    )
    return (
        "<table><tr><th>estimate</th><th>value (95% CI)</th><th>n</th><th>note</th></tr>"
        f"{rows}</table>"
    )


def _status_box(result: AnalysisResult) -> str:
    if result.status == "insufficient_data":
        return f'<p class="none"><strong>No result:</strong> {escape(result.message)}</p>'
    parts = [
        f'<p class="warn"><strong>{escape(w.kind.__name__)}:</strong> {escape(w.message)}</p>'
        for w in result.warnings
    ]
    return "".join(parts)


def _population(result: AnalysisResult) -> str:
    items = []
    for key, value in result.population.items():
        shown = f"{value:,.1f}" if isinstance(value, float) else escape(str(value))
        items.append(f"{escape(key.replace('_', ' '))}: {shown}")
    return f'<p class="small">Population: {"; ".join(items)}</p>' if items else ""


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
        )
    if name == "relapse_recovery" and d.get("curves"):
        return survival_chart(
            d["curves"],
            "Share of relapses not yet recovered",
            xlabel="days since onset",
            ylabel="not yet recovered",
            max_x=plan.recovery_max_days / 2,
        )
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


def _headline(results: Mapping[str, AnalysisResult]) -> str:
    rel = results.get("relapses")
    diag = results.get("diagnostics")
    if rel is None or rel.status == "insufficient_data":
        return (
            '<p class="none">Too little data for the headline comparison: '
            f"{escape(rel.message if rel else 'no relapse analysis')}</p>"
        )
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
            nc = diag.details["negative_control"][key]
            rows.append(
                {"label": nc["label"], "value": nc["value"], "ci": nc["ci"], "warn": key == "naive"}
            )
    naive = rel.find(NAIVE_KEY)
    adjusted = rel.headline
    text = ""
    if naive is not None and adjusted is not None and adjusted is not naive:
        text = (
            f"<p class=head>Counting relapses before and after the start, LDN users had "
            f"<strong>{estimate_text(naive)}</strong> times the relapse rate after "
            f"starting. Comparing their relapse rate after the start with that of matched "
            f"people who had a similar recent course but did not start (after the same "
            f"date), the ratio is <strong>{estimate_text(adjusted)}</strong>. "
            "The difference between the two is what self-selection and "
            "regression to the mean produce on their own.</p>"
        )
    return text + forest_chart(rows, "Naive versus adjusted relapse rate ratios")


def render_outcome_report(
    results: Mapping[str, AnalysisResult],
    plan: AnalysisPlan,
    timings: Mapping[str, float] | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The whole report as one HTML string."""
    generated = generated or dt.datetime.now(dt.UTC)
    sections = []
    order = [
        "diagnostics",
        "relapses",
        "progression",
        "symptoms",
        "relapse_recovery",
        "matched",
        "adverse_events",
        "labs",
    ]
    for name in order:
        result = results.get(name)
        if result is None:
            continue
        body = [
            f"<h2 id={name}>{escape(TITLES[name])}</h2>",
            f"<p>{escape(PLAIN[name])}</p>",
            _status_box(result),
        ]
        if result.status != "insufficient_data":
            if name == "diagnostics":
                passed = result.details.get("passed")
                body.append(
                    '<p class="ok">All bias checks passed.</p>'
                    if passed
                    else '<p class="warn">At least one bias check failed: the matched '
                    "results below are shown with a warning, not as findings.</p>"
                )
            body += [_population(result), _table(result), _charts(name, result, plan)]
            if result.caveats:
                body.append(
                    "<p><strong>Keep in mind:</strong></p><ul>"
                    + "".join(f"<li>{escape(c)}</li>" for c in result.caveats)
                    + "</ul>"
                )
            body.append(f'<p class="small">Method: {escape(result.method)}</p>')
        sections.append("".join(body))
    timing = ""
    if timings:
        timing = (
            "<p class=small>Run time (s): "
            + ", ".join(f"{escape(k)} {v:.2f}" for k, v in timings.items())
            + "</p>"
        )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>LDN outcomes report</title><style>{CSS}</style></head><body>"
        "<h1>Does LDN work? What this registry can and cannot say</h1>"
        "<p>Every number comes with its 95% confidence interval (the range of values compatible "
        "with the data), how it was computed, and what could make it wrong. This is "
        "observational data, not a randomised trial.</p>"
        f"<h2>The headline: how a naive reading fools us</h2>{_headline(results)}"
        f"<h2>All effect estimates</h2>{_forest(results)}"
        + "".join(sections)
        + f"<hr><p class=small>Analysis plan hash {escape(plan.plan_hash)}; generated "
        f"{escape(generated.strftime('%Y-%m-%d %H:%M UTC'))}.</p>{timing}</body></html>"
    )
