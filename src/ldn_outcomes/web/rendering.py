"""Web pages through the project's one Jinja environment (:mod:`ldn_outcomes.templating`);
the web app's own templates live in ``web/templates`` and extend the shared ``layout.html``.

A page is one dict: rendered as HTML by default, or as JSON on request (``?format=json``).
The viewer (for the header and the sign-out form) and the CSRF token are added for HTML only.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from .. import templating
from .deps import wants_json

#: Keys that only make sense to a template (form layouts); left out of the JSON rendering.
TEMPLATE_ONLY = frozenset({"fields", "specs", "password_fields", "flash"})
templating.add_templates("ldn_outcomes.web")
TEMPLATES = Jinja2Templates(env=templating.ENV)


def render(
    request: Request, template: str, data: dict[str, Any], status_code: int = 200
) -> Response:
    """Render one dict as HTML by default, or as JSON on request."""
    if wants_json(request):
        shown = {k: v for k, v in data.items() if not k.endswith("_svg") and k not in TEMPLATE_ONLY}
        return JSONResponse(jsonable_encoder(shown), status_code=status_code)
    viewer = getattr(request.state, "viewer", None)
    context = {
        "viewer": viewer,
        "csrf_token": getattr(viewer, "csrf_token", None),
        **data,
        "request": request,
    }
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
