"""Jinja2 environment shared by every page; templates live in ``web/templates``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from .deps import wants_json

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def render(
    request: Request, template: str, data: dict[str, Any], status_code: int = 200
) -> Response:
    """Render one dict as HTML by default, or as JSON on request."""
    if wants_json(request):
        return JSONResponse(data, status_code=status_code)
    return TEMPLATES.TemplateResponse(
        request, template, {**data, "request": request}, status_code=status_code
    )
