"""Researcher pages: the cohort report and the de-identified analysis data set (CSV).

Only research-consented patients are included; see :mod:`ldn_outcomes.reports.deidentify`
for the method. Every export is written to the audit trail with the acting account.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.access import Role
from ...domain.layout import neutralise_formula
from ...errors import ConfigurationError
from ...reports.deidentify import (
    QUASI_IDENTIFIERS,
    cohort_summary,
    deidentified_dataset,
    small_cells,
)
from ...services.cohort_frames import frames_for, research_ids
from ...store.audit import audit_event
from ..analysis_view import CELL_TABLES, report_response, run_report
from ..auth import Viewer, require
from ..cache import cached
from ..deps import EngineDep, SettingsDep, wants_json
from ..rendering import render

router = APIRouter(tags=["research"])
Researcher = Annotated[Viewer, require(Role.RESEARCHER)]


@router.get("/research")
def cohort_report(
    request: Request, engine: EngineDep, settings: SettingsDep, viewer: Researcher
) -> Response:
    summary = cached(
        request.app,
        "cohort_summary",
        lambda: cohort_summary(deidentified_dataset(engine, min_cell_size=settings.min_cell_size)),
        engine=engine,
    )
    return render(
        request,
        "research/report.html",
        {
            **summary,
            "note": "Descriptive, de-identified figures with small cells suppressed. The "
            "comparative analysis (LDN users against matched non-users, with its bias "
            "checks) is in the outcome report.",
        },
    )


@router.get("/research/export.csv")
def export_csv(engine: EngineDep, settings: SettingsDep, viewer: Researcher) -> Response:
    data = deidentified_dataset(engine, min_cell_size=settings.min_cell_size)
    leaks = small_cells(data.frame, QUASI_IDENTIFIERS, settings.min_cell_size)
    if leaks:  # never expected: k_anonymise guarantees it; refuse rather than leak
        raise ConfigurationError(
            "export refused: small cells remain (" + "; ".join(leaks[:3]) + ")"
        )
    audit_event(
        engine,
        actor=viewer.actor,
        action="export",
        table="deidentified",
        key=f"{len(data.frame)} rows",
        after={
            "rows": len(data.frame),
            "dropped": data.dropped,
            "min_cell_size": data.min_cell_size,
        },
    )
    safe = data.frame.map(lambda v: neutralise_formula(v) if isinstance(v, str) else v)
    body = safe.to_csv(index=False)  # text cells never run as spreadsheet formulas
    stamp = dt.date.today().strftime("%Y%m%d")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="ldn-deidentified-{stamp}.csv"'},
    )


@router.get("/research/outcomes")
def outcome_report(
    request: Request, engine: EngineDep, settings: SettingsDep, viewer: Researcher
) -> Response:
    """The analysis engine's comparative report over research-consented patients (cached for
    ten minutes: it reads the whole registry)."""
    report = cached(
        request.app,
        "research_outcomes",
        lambda: run_report(
            frames_for(engine, research_ids(engine, dt.date.today())),
            drop=CELL_TABLES,
            min_cell_size=settings.min_cell_size,
        ),
        ttl=600,
        engine=engine,
    )
    as_json = wants_json(request)
    response = report_response(request, report, as_json)
    audit_event(  # de-identified, but still registry data leaving as a document
        engine,
        actor=viewer.actor,
        action="export",
        table="research_report",
        key="research-consented patients",
        after={"format": "json" if as_json else "html"},
    )
    return response
