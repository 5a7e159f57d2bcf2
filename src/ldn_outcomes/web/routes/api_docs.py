"""``/docs``: the API reference rendered on the server from the OpenAPI schema (no CDN)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..auth import Viewer, public, route_table
from ..rendering import render

router = APIRouter()


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(request: Request, viewer: Annotated[Viewer, public()]) -> Response:
    schema = request.app.openapi()
    policies = {(r.method, r.path): r.policy for r in route_table(request.app)}
    operations: list[dict[str, Any]] = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            policy = policies.get((method.upper(), path))
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "access": policy.describe() if policy else "undeclared",
                }
            )
    return render(
        request, "api_docs.html", {"title": schema["info"]["title"], "operations": operations}
    )
