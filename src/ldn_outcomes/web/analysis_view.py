"""The analysis engine's outcome report for a chosen set of patients.

Researchers get it over research-consented patients only (aggregate estimates; the adverse
event and lab sections, which tabulate small per-term counts, are left out so no cell under
the minimum size is shown); clinicians get it over their own linked patients with active care
consent. The engine writes a self-contained HTML file (inline CSS and SVG, no scripts); the web
shows its body inside the site layout, so the page keeps the header, the menu and ``<main>``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup
from sqlalchemy import Engine

from ..analysis.engine import results_to_dict, run_all
from ..analysis.plan import AnalysisPlan
from ..errors import InsufficientData, LdnError
from ..reports.claim_audits import public_audits
from ..reports.disclosure import controlled_results, plan_for_disclosure, suppress_text
from ..reports.outcomes import render_outcome_report
from ..services.cohort_frames import frames_for, research_ids
from ..store.sqlread import left_out_note
from .rendering import render

#: Where the report's page body starts and ends in the engine's self-contained file.
REPORT_MAIN = re.compile(r'<main class="report">(?P<body>.*)</main>', re.DOTALL)
#: Sections that tabulate small per-term counts (adverse events, labs, and the claim analyses
#: that count side effects or lab pairs): not for researchers.
CELL_TABLES = ("adverse_events", "labs", "t_cells", "dose_timing", "combination", "after_stopping")


def run_report(
    frames: dict[str, pd.DataFrame],
    *,
    drop: Iterable[str] = (),
    min_cell_size: int | None = None,
) -> dict[str, Any]:
    """Run every analysis; returns the HTML report and its JSON, or a message. With
    ``min_cell_size`` (researchers), every count follows the disclosure rule."""
    plan = AnalysisPlan()
    if min_cell_size is not None:
        plan = plan_for_disclosure(plan, min_cell_size)
    try:
        results = run_all(frames, plan)
    except LdnError as error:
        message = str(error)
        if min_cell_size is not None:
            message = suppress_text(message, min_cell_size)
        return {"html": None, "json": None, "message": message}
    shown = {k: v for k, v in results.items() if k not in set(drop)}
    if min_cell_size is not None:
        shown = controlled_results(shown, min_cell_size)
    return {
        "html": render_outcome_report(shown, plan),
        "json": results_to_dict(shown, plan),
        "message": None,
    }


def public_audit(engine: Engine, *, min_cell_size: int, on: dt.date) -> dict[str, Any]:
    """The public claim audits: every analysis over research-consented patients only, reduced
    to suppressed headlines by :func:`~ldn_outcomes.reports.claim_audits.public_audits`."""
    plan = plan_for_disclosure(AnalysisPlan(), min_cell_size)
    frames = frames_for(engine, research_ids(engine, on))
    try:
        results = run_all(frames, plan)
    except LdnError:  # no usable data at all: every section says so
        results = {}
    audits = public_audits(
        results, min_cell_size=min_cell_size, on=on.isoformat(), plan_hash=plan.plan_hash
    )
    return {**audits, "left_out_note": left_out_note(frames)}


def report_response(request: Request, report: dict[str, Any], as_json: bool) -> Response:
    """The report as JSON, or its body inside the site layout (header, menu, ``<main>``)."""
    if report["html"] is None:  # rendered by the app's error handler (HTML page or JSON)
        raise InsufficientData(report["message"])
    if as_json:
        return JSONResponse(report["json"])
    found = REPORT_MAIN.search(report["html"])
    assert found, "the outcome report has no <main class=report>"
    # The body is the engine's own autoescaped template output, so it is already safe HTML.
    return render(request, "report_page.html", {"body": Markup(found["body"])})
