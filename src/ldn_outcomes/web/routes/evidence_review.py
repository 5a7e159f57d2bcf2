"""The editors' review queue: trials the sync found that the curated catalogue does not hold.

Editor accounts only (``Role.EDITOR``); editors curate the evidence hub and never see clinical
records. Each decision is written to the registry's change log (``evidence.review``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ...domain.access import Role
from ...errors import NotFound
from ...evidence import edits, html, review
from ...evidence.catalogue import load_catalogue, load_claims
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
    catalogue = load_catalogue()
    data = dict(review.review_queue(engine, catalogue) if engine is not None else _EMPTY)
    checks = review.latest_checks(engine) if engine is not None else {}
    data["due"] = review.due_for_checking(catalogue, load_claims(), checks, dt.date.today())
    data["editable"] = edits.editable_entries()
    data["stale_edits"] = edits.stale_edits(engine)
    body = html.render_review_queue(
        data, LINKS, csrf_token=viewer.csrf_token, layout="fragment.html"
    )
    return _page(request, "Review queue", body, data)


@router.post("/evidence/review/check")
async def check_entry(request: Request, viewer: Editor) -> Response:
    """Log that a catalogue entry or claim was checked against its sources today."""
    values = form_values(await request.form())
    engine = mirror_engine(request)
    if engine is None:
        raise NotFound("this database has no evidence tables: run `ldn init` first")
    done = review.record_check(
        engine,
        load_catalogue(),
        load_claims(),
        values.get("entry", ""),
        note=values.get("note", ""),
        by=viewer.actor,
    )
    if wants_json(request):
        return JSONResponse(done)
    return RedirectResponse("/evidence/review", status_code=303)


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
