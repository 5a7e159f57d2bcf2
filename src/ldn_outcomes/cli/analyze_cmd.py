"""``ldn analyze`` and ``ldn report``: run the outcome analyses on the registry."""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from ..errors import ValidationFailed
from .common import (
    DbOption,
    JsonOption,
    PlainTable,
    console,
    engine_for,
    err_console,
    handle_errors,
    print_json,
    user_text,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..analysis import AnalysisPlan
    from ..analysis.results import AnalysisResult
    from ..reports.site_summary import SiteSummary

# The analysis stack (pandas, scipy, statsmodels, lifelines) is imported inside each command,
# so that `ldn --help` and the other commands start without it.

STATUS = {
    "ok": "[green]ok[/]",
    "diagnostics_failed": "[yellow]diagnostics failed[/]",
    "insufficient_data": "[dim]no result[/]",
}


def _value(result: AnalysisResult) -> tuple[str, str]:
    head = result.headline
    if head is None:
        return "", ""

    def fmt(v: float) -> str:
        if not math.isfinite(v):
            return "–"
        return f"{v:.0%}" if head.scale == "proportion" else f"{v:.2f}"

    ci = f"{fmt(head.ci_low)} to {fmt(head.ci_high)}" if math.isfinite(head.ci_low) else ""
    return fmt(head.value), ci


def _working(message: str) -> None:
    """A plain line, not a spinner: a spinner runs a thread, and with a thread running the
    analyses do not start their second process (``analysis.data.forked``) and take longer."""
    if err_console.is_terminal:
        err_console.print(message, style="dim", highlight=False)


PlanOption = Annotated[
    Path | None,
    typer.Option(
        "--plan",
        help="Analysis plan file (JSON, as --write-plan writes it; options left out take the "
        "defaults). Default: the default plan.",
    ),
]
WritePlanOption = Annotated[
    Path | None,
    typer.Option(
        "--write-plan",
        help="Write the plan (the default, or --plan's with every option filled in) to this "
        "JSON file and stop, without reading the registry.",
    ),
]


OmopOption = Annotated[
    str | None,
    typer.Option(
        "--omop",
        help="Run the analyses on this OMOP CDM v5.4 database (postgresql://, sqlite:/// or "
        "duckdb:///) instead of the registry; only aggregates are printed.",
    ),
]


NoSuppressionOption = Annotated[
    bool,
    typer.Option(
        "--no-suppression",
        help="With --omop: print every count as it is, for a site's own analysts on their own "
        "database (as `ldn analyze` prints the registry's to its own site). Without it the "
        "output may leave the site and follows the disclosure rule: counts below "
        "LDN_MIN_CELL_SIZE are suppressed, the others rounded to it.",
    ),
]


SiteSummaryOption = Annotated[
    Path | None,
    typer.Option(
        "--site-summary",
        help="Also write this site's aggregate results for a network: one <headline>.csv per "
        "causal headline, as `ldn evidence meta --csv` reads them (estimate and 95% CI, small "
        "cells suppressed, no patient rows). The analyses then cover research-consented "
        "patients only, as `ldn report`'s. Needs --site.",
    ),
]
SiteOption = Annotated[
    str,
    typer.Option("--site", help="The site's name in its summary (the study the pooling shows)."),
]


def _plan(path: Path | None) -> AnalysisPlan:
    from ..analysis import AnalysisPlan
    from ..analysis.plan_file import read_plan

    return read_plan(path) if path is not None else AnalysisPlan()


@handle_errors
def analyze(
    db: DbOption = None,
    json_output: JsonOption = False,
    plan_file: PlanOption = None,
    write_plan_file: WritePlanOption = None,
    omop: OmopOption = None,
    no_suppression: NoSuppressionOption = False,
    site_summary: SiteSummaryOption = None,
    site: SiteOption = "",
) -> None:
    """Run every outcome analysis and print each headline with its 95% CI.

    With --omop URL the analyses run on an OMOP CDM v5.4 database instead of the registry:
    people with MS and low-dose naltrexone are found by OMOP concept, and what the database
    does not hold is said for each outcome (see docs/omop.md). Its counts follow the
    disclosure rule (LDN_MIN_CELL_SIZE), as a site summary's do, unless --no-suppression."""
    from ..analysis import analyze_database, results_to_dict
    from ..analysis.plan_file import write_plan

    if site_summary is not None and not site.strip():
        raise ValidationFailed([], "--site-summary needs --site NAME (the site's study name)")
    if site and site_summary is None:
        raise ValidationFailed([], "--site names the site of a --site-summary; give both")
    if no_suppression and omop is None:
        raise ValidationFailed(
            [], "--no-suppression is for --omop (ldn analyze prints the registry's counts as is)"
        )
    if site_summary is not None and omop is not None:
        raise ValidationFailed(
            [], "--site-summary reads the registry (its research consents), not --omop"
        )
    plan = _plan(plan_file)
    if write_plan_file is not None:
        write_plan(plan, write_plan_file)
        if json_output:
            print_json({"wrote": str(write_plan_file), "plan_hash": plan.plan_hash})
        else:
            console.print(f"wrote {write_plan_file} (plan {plan.plan_hash[:12]})")
        return
    if (omop is not None and not no_suppression) or site_summary is not None:
        from ..reports.disclosure import plan_for_disclosure
        from ..settings import load_settings

        # What leaves under the disclosure rule analyses no group of fewer than k users.
        plan = plan_for_disclosure(plan, load_settings().min_cell_size)
    summary = None
    findings = None
    min_cell_size = None
    if omop is not None:
        results, timings, findings, min_cell_size = _analyze_omop(omop, plan, no_suppression)
    elif site_summary is not None:
        from ..reports.site_summary import check_alpha

        check_alpha(plan.alpha)
        results, timings = _research_results(engine_for(db), plan)
        summary = _write_summary(site_summary, results, site, plan)
    else:
        engine = engine_for(db)
        _working("reading the registry and running the analyses...")
        results, timings = analyze_database(engine, plan)
    if json_output:
        out = results_to_dict(results, plan)
        out["timings_seconds"] = timings
        if findings is not None:
            out["omop"] = findings
            out["omop"]["min_cell_size"] = min_cell_size
        if summary is not None:
            out["site_summary"] = summary.as_dict()
        print_json(out)
        return
    if findings is not None:
        console.print("What the OMOP database holds (aggregates only):", highlight=False)
        for line in findings["headlines"]:
            console.print(f"  {user_text(line)}", highlight=False)
        if min_cell_size is not None:
            console.print(
                f"Counts below {min_cell_size} are suppressed and the others rounded to "
                f"{min_cell_size} (LDN_MIN_CELL_SIZE); --no-suppression prints them as they are, "
                "for a site's own analysts.",
                highlight=False,
            )
    table = PlainTable(title=f"LDN outcome analyses (plan {plan.plan_hash[:12]})")
    for column in ("analysis", "status", "headline", "estimate", "95% CI", "N"):
        table.add_column(column, justify="right" if column in ("estimate", "N") else "left")
    for name, result in results.items():
        value, ci = _value(result)
        head = result.headline
        label = head.label if head else result.message
        n = result.population.get("n_patients", "")
        if n is None:  # suppressed by the disclosure rule
            n = f"<{min_cell_size}"
        status = Text.from_markup(STATUS[result.status])  # our markup; the rest is plain text
        table.add_row(name, status, label, value, ci, str(n))
    console.print(table)
    for name, result in results.items():
        for warned in result.warnings:
            console.print(
                f"[yellow]{name}[/]: {warned.kind.words}: {user_text(warned.message)}",
                highlight=False,
            )
    console.print(
        f"read {timings.get('read_store', 0):.1f} s, total {timings.get('total', 0):.1f} s"
    )
    if summary is not None:
        for name, path in summary.files.items():
            why, flag = summary.left_out.get(name), summary.flagged.get(name)
            state = f"header only: {why}" if why else "1 row"
            state += f"; labelled: {flag}" if flag else ""
            console.print(f"wrote {user_text(path)} ({user_text(state)})", soft_wrap=True)


def _research_results(
    engine: Engine, plan: AnalysisPlan
) -> tuple[dict[str, AnalysisResult], dict[str, float]]:
    """Every analysis over research-consented patients only (what may leave the registry)."""
    from ..analysis import run_all
    from ..services.cohort_frames import frames_for, research_ids

    ids = research_ids(engine, dt.date.today())
    _working(f"running the analyses over {len(ids)} research-consented patient(s)...")
    began = time.perf_counter()
    frames = frames_for(engine, ids)
    timings = {"read_store": time.perf_counter() - began}
    results = run_all(frames, plan, timings)
    timings["total"] = time.perf_counter() - began
    return results, timings


def _write_summary(
    directory: Path, results: dict[str, AnalysisResult], site: str, plan: AnalysisPlan
) -> SiteSummary:
    from ..reports.site_summary import write_site_summary
    from ..settings import load_settings

    return write_site_summary(
        directory,
        results,
        site,
        min_cell_size=load_settings().min_cell_size,
        alpha=plan.alpha,
    )


def _analyze_omop(
    url: str, plan: AnalysisPlan, no_suppression: bool
) -> tuple[dict[str, AnalysisResult], dict[str, float], dict[str, Any], int | None]:
    """The analyses on an OMOP CDM database (opened read-only where the driver allows), their
    messages naming it; unless ``no_suppression``, results and findings follow the disclosure
    rule at LDN_MIN_CELL_SIZE (returned; None when not applied)."""
    from ..analysis import run_all
    from ..importers.omop_findings import SOURCE
    from ..importers.omop_read import omop_frames
    from ..reports.disclosure import controlled_results, shown_count
    from ..settings import load_settings
    from ..store.omop_tables import open_omop

    _working("reading the OMOP database and running the analyses...")
    began = time.perf_counter()
    engine = open_omop(url, read_only=True)
    try:
        frames, findings = omop_frames(engine)
    finally:
        engine.dispose()
    timings = {"read_store": time.perf_counter() - began}
    results = run_all(frames, plan, timings, source=SOURCE)
    timings["total"] = time.perf_counter() - began
    if no_suppression:
        return results, timings, findings.as_dict(), None
    k = load_settings().min_cell_size
    shown = findings.as_dict(lambda n: shown_count(n, k), f"fewer than {k}")
    return controlled_results(results, k), timings, shown, k


@handle_errors
def report(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    db: DbOption = None,
    plan_file: PlanOption = None,
) -> None:
    """Write the cohort report: one self-contained HTML file (inline SVG, no CDN).

    Only patients whose research consent is active today are included, as on the web's
    research pages: a report leaves the registry, and withdrawing consent must take a patient
    out of it at once."""
    from ..analysis import run_all
    from ..reports.outcomes import render_outcome_report
    from ..services.cohort_frames import frames_for, research_ids

    plan = _plan(plan_file)
    engine = engine_for(db)
    ids = research_ids(engine, dt.date.today())
    _working(f"running the analyses over {len(ids)} research-consented patient(s)...")
    began = time.perf_counter()
    results = run_all(frames_for(engine, ids), plan)
    timings = {"total": time.perf_counter() - began}
    out.write_text(render_outcome_report(results, plan, timings), encoding="utf-8")
    console.print(
        f"wrote {user_text(out)} ({len(ids)} research-consented patient(s); others left out)",
        soft_wrap=True,
    )
