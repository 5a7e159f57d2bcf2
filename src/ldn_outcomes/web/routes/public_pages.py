"""Public pages: the home page and registry-wide figures (small cells suppressed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ...reports.deidentify import registry_figures
from ..auth import Viewer, public
from ..cache import cached
from ..deps import EngineDep, SettingsDep
from ..rendering import render

router = APIRouter(tags=["public"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, viewer: Annotated[Viewer, public()]) -> Response:
    return render(request, "home.html", {})


@router.get("/figures", response_class=HTMLResponse, tags=["pages"])
def figures(request: Request, engine: EngineDep, settings: SettingsDep,
            viewer: Annotated[Viewer, public()]) -> Response:
    figures = cached(request.app, "figures", lambda: registry_figures(
        engine, min_cell_size=settings.min_cell_size))
    return render(request, "public/figures.html", figures)
