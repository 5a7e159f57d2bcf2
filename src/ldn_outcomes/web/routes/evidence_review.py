"""The editors' review queue: trials the sync found that the curated catalogue does not hold.

Editor accounts only (``Role.EDITOR``); editors curate the evidence hub and never see clinical
records. Each decision is written to the registry's change log (``evidence.review``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ...domain.access import Role
from ...errors import NotFound
from ...evidence import html, review
from ...evidence.catalogue import load_catalogue
from ..auth import Viewer, require
from ..deps import wants_json
from ..forms import form_values
from .evidence import LINKS, _page, mirror_engine

router = APIRouter(tags=["evidence"])
_EMPTY: dict[str, object] = {"count": 0, "waiting": 0, "trials": []}
Editor = Annotated[Viewer, require(Role.EDITOR)]


@router.get("/evidence/review", response_class=HTMLResponse)
def review_page(request: Request, viewer: Editor) -> Response:
    """Trials the sync found that the catalogue does not hold, waiting for an editor."""
    engine = mirror_engine(request)
    data = review.review_queue(engine, load_catalogue()) if engine is not None else _EMPTY
    body = html.render_review_queue(
        data, LINKS, csrf_token=viewer.csrf_token, layout="fragment.html"
    )
    return _page(request, "Review queue", body, data)


@router.post("/evidence/review/{nct_id}")
async def review_decision(request: Request, nct_id: str, viewer: Editor) -> Response:
    """Promote or dismiss an uncurated trial; the decision goes into the change log."""
    values = form_values(await request.form())
    engine = mirror_engine(request)
    if engine is None:
        raise NotFound("this database has no registry mirror: run `ldn evidence sync` first")
    decided = review.record_review(
        engine,
        load_catalogue(),
        nct_id,
        decision=values.get("decision", ""),
        note=values.get("note", ""),
        by=viewer.actor,
    )
    if wants_json(request):
        return JSONResponse(decided)
    return RedirectResponse("/evidence/review", status_code=303)
