"""The app factory: ``create_app(settings)`` builds a FastAPI app bound to one registry."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import templating
from ..errors import LdnError, ValidationFailed
from ..settings import Settings, load_settings
from ..store.db import make_engine
from ..store.sign_in import LoginThrottled
from .api_bodies import request_problems
from .auth import NotAuthenticated
from .body_limit import BodyLimit
from .deps import wants_json
from .idempotency import IdempotentWrites
from .input_guard import refuse_control_characters
from .rendering import TEMPLATES
from .routes import (
    account,
    admin,
    api_docs,
    api_records,
    clinic,
    clinician_records,
    evidence,
    evidence_edit,
    evidence_review,
    fhir_api,
    health,
    link_requests,
    nof1,
    nof1_api,
    nof1_changes,
    patient_me,
    patient_records,
    patients,
    pharmacy,
    public_pages,
    record_pages,
    research,
)
from .security import SecurityHeaders


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and not wants_json(request)


def error_response(request: Request, error: LdnError) -> Response:
    """The one canonical error shape: {"error", "message", "problems": [...]}."""
    if isinstance(error, NotAuthenticated) and request.method == "GET" and _wants_html(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    body = error.as_dict()
    headers = {}
    if isinstance(error, LoginThrottled):
        headers["Retry-After"] = str(error.retry_after_seconds)
    if isinstance(error, NotAuthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if _wants_html(request):
        viewer = getattr(request.state, "viewer", None)
        return TEMPLATES.TemplateResponse(
            request,
            "error.html",
            {"request": request, "viewer": viewer, **body},
            status_code=error.http_status,
            headers=headers,
        )
    return JSONResponse(body, status_code=error.http_status, headers=headers)


@asynccontextmanager
async def freeze_startup_objects(_app: FastAPI) -> AsyncIterator[None]:
    """Move everything alive at server start out of the cycle collector's reach.

    The app imports the analysis stack (numpy, pandas, scipy): hundreds of thousands of
    long-lived objects that every full collection would scan again, pausing all requests for
    50-160 ms each time under write load (measured). ``gc.freeze`` keeps collecting what
    requests create; garbage is collected first so none of it is frozen."""
    gc.collect()
    gc.freeze()
    yield


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        lifespan=freeze_startup_objects,
        title="LDN Outcomes",
        description="Registry, analysis and evidence about low-dose naltrexone in MS. "
        "Scripts authenticate with 'Authorization: Bearer <token>' (create one on /account).",
        version="0.1.0",
        docs_url=None,  # the default pages load Swagger UI from a CDN; /docs is served locally
        redoc_url=None,
        dependencies=[Depends(refuse_control_characters)],
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.resolved_database_url)

    @app.exception_handler(LdnError)
    async def _ldn_error(request: Request, error: LdnError) -> Response:
        return error_response(request, error)

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, error: RequestValidationError) -> Response:
        return error_response(request, ValidationFailed(request_problems(error.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        """Unknown URLs: a page with the site's menu for a browser, JSON for a script."""
        if error.status_code != 404 or not _wants_html(request):
            return await http_exception_handler(request, error)
        return TEMPLATES.TemplateResponse(
            request,
            "not_found.html",
            {"request": request, "viewer": getattr(request.state, "viewer", None)},
            status_code=404,
        )

    app.mount("/static", StaticFiles(directory=templating.static_directory()), name="static")
    for module in (
        health,
        public_pages,
        account,
        api_docs,
        clinician_records,
        patients,
        api_records,
        patient_me,
        patient_records,
        record_pages,
        clinic,
        research,
        admin,
        evidence_review,
        evidence_edit,
        evidence,
        nof1,
        nof1_changes,
        link_requests,
        nof1_api,
        pharmacy,
        fhir_api,
    ):
        app.include_router(module.router)
    app.add_middleware(IdempotentWrites)
    # Outside every reader of a body (the idempotency digest, forms, JSON); inside the
    # security headers, so a refusal carries them too.
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, hsts=settings.mode == "production")
    return app


def app_from_environment() -> FastAPI:
    """The app configured by ``LDN_*`` environment variables: what each worker process of
    ``ldn serve --workers N`` runs (uvicorn imports it by name in every worker)."""
    return create_app(load_settings())
