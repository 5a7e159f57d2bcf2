"""Evidence hub pages: claims register, study catalogue, pooled outcomes and the change feed.

Public (no sign-in): everything shown here is published literature and registry data. Pages
are rendered by :mod:`ldn_outcomes.evidence.html` (the same code ``ldn evidence publish`` uses)
and wrapped in the site layout; ``?format=json`` or ``Accept: application/json`` gives the data.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from sqlalchemy import Engine

from ...errors import NotFound
from ...evidence import edits, html, mirror, review, views
from ...evidence.publish import meta_page_data
from ...store.db import has_table
from ..auth import public
from ..deps import wants_json
from ..rendering import render

router = APIRouter(tags=["evidence"], dependencies=[public()])
LINKS = html.Links("/", static=False)


def mirror_engine(request: Request) -> Engine | None:
    """The registry mirror if this database has the evidence tables (checked once)."""
    state = request.app.state
    if not hasattr(state, "evidence_mirror"):
        engine: Engine = state.engine
        state.evidence_mirror = engine if has_table(engine, "evidence_trials") else None
    return state.evidence_mirror


def _page(request: Request, title: str, body: str, data: dict[str, Any]) -> Response:
    if wants_json(request):
        return JSONResponse(data)
    return render(
        request,
        "evidence/page.html",
        {
            "title": title,
            "body": Markup(body),
            "css": LINKS.css(),
            "feed": LINKS.feed(),
        },
    )


@router.get("/claims", response_class=HTMLResponse)
def claims_page(request: Request) -> Response:
    data = views.claims_index(edits.current(mirror_engine(request))[1])
    return _page(
        request,
        "Claims about LDN in MS",
        html.render_claims_index(data, LINKS, layout="fragment.html"),
        data,
    )


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
def claim_page(request: Request, claim_id: str) -> Response:
    engine = mirror_engine(request)
    catalogue, register = edits.current(engine)
    data = views.claim_detail(register, catalogue, claim_id, engine=engine)
    return _page(
        request,
        data["claim"].get("claim") or claim_id,
        html.render_claim(data, LINKS, layout="fragment.html"),
        data,
    )


def _year(raw: str | None) -> int | None:
    """The year filter: up to four ASCII digits, else no filter (``"²"`` passes
    ``str.isdigit`` but not ``int``, and 5,000 digits are beyond ``int``: both were 500s)."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) <= 4 else None


@router.get("/evidence", response_class=HTMLResponse)
def evidence_page(
    request: Request,
    condition: str | None = None,
    design: str | None = None,
    evidence_level: str | None = None,
    status: str | None = None,
    year: str | None = None,
    sort: str = "newest",
) -> Response:
    engine = mirror_engine(request)
    data = views.evidence_index(
        edits.current(engine)[0],
        engine,
        condition=condition or None,
        design=design or None,
        evidence_level=evidence_level or None,
        status=status or None,
        year=_year(year),
        sort=sort,
    )
    return _page(
        request,
        "Studies of low-dose naltrexone",
        html.render_evidence_index(data, LINKS, layout="fragment.html"),
        data,
    )


@router.get("/evidence/evidence.css", include_in_schema=False)
def evidence_css() -> Response:
    return Response(html.stylesheet(), media_type="text/css")


@router.get("/evidence/changes.atom")
def changes_feed(request: Request) -> Response:
    engine = mirror_engine(request)
    found = mirror.changes_since(engine, limit=200) if engine is not None else []
    events = [e.public() for e in found]  # public: an account is named by its role only
    base = str(request.base_url)
    if wants_json(request):
        return JSONResponse([e.model_dump(mode="json") for e in events])
    return Response(
        html.changes_atom(events, base_url=base, feed_url=f"{base}evidence/changes.atom"),
        media_type="application/atom+xml",
    )


@router.get("/evidence/meta/{outcome_id}", response_class=HTMLResponse)
def meta_page(request: Request, outcome_id: str) -> Response:
    data, svg = meta_page_data(edits.current(mirror_engine(request))[0], outcome_id)
    if wants_json(request):
        return JSONResponse(data)
    return _page(
        request,
        f"Pooled results: {outcome_id}",
        html.render_meta(data, svg, LINKS, layout="fragment.html"),
        data,
    )


@router.get("/evidence/{study_id}", response_class=HTMLResponse)
def study_page(request: Request, study_id: str) -> Response:
    engine = mirror_engine(request)
    catalogue, register = edits.current(engine)
    try:
        data = views.study_detail(catalogue, study_id, engine, register=register)
    except NotFound:
        if engine is None:
            raise
        capsule = review.auto_capsule(engine, catalogue, study_id)
        body = html.render_trial_capsule(capsule, LINKS, layout="fragment.html")
        return _page(request, capsule["title"], body, capsule)
    title = data["study"].get("title") or study_id
    return _page(request, title, html.render_study(data, LINKS, layout="fragment.html"), data)
