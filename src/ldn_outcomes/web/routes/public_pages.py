"""Public pages: the home page, registry-wide figures and the registry's claim audits (every
number over research-consented patients, small cells suppressed)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ...evidence import edits
from ...evidence import views as evidence_views
from ...reports.deidentify import registry_figures
from ..analysis_view import public_audit
from ..auth import Viewer, public
from ..cache import cached
from ..deps import EngineDep, SettingsDep
from ..rendering import render
from .evidence import mirror_engine as evidence_mirror

router = APIRouter(tags=["public"])
#: The claim audits run the whole analysis engine; like the research report, keep ten minutes.
AUDIT_TTL_SECONDS = 600.0


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, viewer: Annotated[Viewer, public()]) -> Response:
    """Leads with the evidence: what is known, the claims register, the newest changes."""
    engine = evidence_mirror(request)
    catalogue, register = edits.current(engine)
    data = evidence_views.front_page(register, catalogue, engine)
    return render(request, "home.html", {"evidence": data})


@router.get("/figures", response_class=HTMLResponse, tags=["pages"])
def figures(
    request: Request, engine: EngineDep, settings: SettingsDep, viewer: Annotated[Viewer, public()]
) -> Response:
    figures = cached(
        request.app,
        "figures",
        lambda: registry_figures(engine, min_cell_size=settings.min_cell_size),
        engine=engine,
    )
    return render(request, "public/figures.html", figures)


@router.get("/figures/audits", response_class=HTMLResponse, tags=["pages"])
def claim_audits(
    request: Request, engine: EngineDep, settings: SettingsDep, viewer: Annotated[Viewer, public()]
) -> Response:
    """One section per analysis a claim names (``#audit-<analysis>``): the headline estimate
    with its interval and N, or why it is not shown. A separate page from ``/figures`` because
    it runs the analysis engine, which the plain counts there do not need."""
    data = cached(
        request.app,
        "claim_audits",
        lambda: public_audit(engine, min_cell_size=settings.min_cell_size, on=dt.date.today()),
        ttl=AUDIT_TTL_SECONDS,
        engine=engine,
    )
    return render(request, "public/audits.html", data)
