"""The app factory: ``create_app(settings)`` builds a FastAPI app bound to one registry."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from ..errors import LdnError, Problem, ValidationFailed
from ..settings import Settings
from ..store.db import make_engine
from .deps import wants_json
from .rendering import TEMPLATES
from .routes import health, patients


def error_response(request: Request, error: LdnError) -> Response:
    """The one canonical error shape: {"error", "message", "problems": [...]}."""
    body = error.as_dict()
    accept = request.headers.get("accept", "")
    if "text/html" in accept and not wants_json(request):
        return TEMPLATES.TemplateResponse(
            request, "error.html", {"request": request, **body}, status_code=error.http_status
        )
    return JSONResponse(body, status_code=error.http_status)


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title="LDN Outcomes",
        description="Registry, analysis and evidence about low-dose naltrexone in MS.",
        version="0.1.0",
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.resolved_database_url)

    @app.exception_handler(LdnError)
    async def _ldn_error(request: Request, error: LdnError) -> Response:
        return error_response(request, error)

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, error: RequestValidationError) -> Response:
        problems = [
            Problem(
                record="request",
                field=".".join(str(p) for p in item.get("loc", ()) if p != "body"),
                rule=str(item.get("msg", "invalid")),
            )
            for item in error.errors()
        ]
        return error_response(request, ValidationFailed(problems))

    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static"
    )
    app.include_router(health.router)
    app.include_router(patients.router)
    return app
