"""Editors reword the catalogue's capsules and plain summaries and the claims' wording.

Editor accounts only (``Role.EDITOR``; everyone else gets 403). Each change names its field,
the new text and a reason; it is logged with the text before and after and audited
(``evidence.edits``), and the pages show the latest text at once. The form and the JSON body
are the same typed model, which refuses unknown keys (422). CSRF as every other form.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import Field, ValidationError

from ...domain.access import Role
from ...errors import NotFound, Problem, ValidationFailed
from ...evidence import edits, html
from ..api_bodies import ApiBody, request_problems
from ..auth import CSRF_FIELD, Viewer, require
from ..deps import wants_json
from .evidence import LINKS, _page, mirror_engine

router = APIRouter(tags=["evidence"])
Editor = Annotated[Viewer, require(Role.EDITOR)]


class EntryEdit(ApiBody):
    """``POST /evidence/edit/{kind}/{id}``: one field's new text and why it changes."""

    multiline_text: ClassVar[tuple[str, ...]] = ("text",)

    field: str = Field(description="capsule or plain_summary (a study); claim or verdict_summary")
    text: str = Field(max_length=edits.MAX_TEXT)
    reason: str = Field(max_length=edits.MAX_REASON)


async def _body(request: Request) -> EntryEdit:
    """The typed body from JSON or from the form (the CSRF token is not a field)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            raw: Any = await request.json()
        except json.JSONDecodeError as error:
            raise ValidationFailed(
                Problem("request", "(body)", f"not valid JSON: {error.msg}")
            ) from None
    else:
        form = await request.form()
        raw = {k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)}
    if not isinstance(raw, dict):
        raise ValidationFailed(Problem("request", "(body)", "must be a JSON object"))
    try:
        return EntryEdit.model_validate(raw)
    except ValidationError as error:
        raise ValidationFailed(request_problems(error.errors())) from None


def _engine(request: Request) -> Any:
    engine = mirror_engine(request)
    if engine is None:
        raise NotFound("this database has no evidence tables: run `ldn init` first")
    return engine


@router.get("/evidence/edit/{kind}/{entry_id}", response_class=HTMLResponse)
def edit_page(request: Request, kind: str, entry_id: str, viewer: Editor) -> Response:
    """The entry's editable texts, shipped and current, and every change made to them."""
    data = edits.edit_page(mirror_engine(request), kind, entry_id)
    body = html.render_edit_entry(data, LINKS, csrf_token=viewer.csrf_token, layout="fragment.html")
    return _page(request, f"Edit {kind} {entry_id}", body, data)


@router.post("/evidence/edit/{kind}/{entry_id}")
async def edit_entry(request: Request, kind: str, entry_id: str, viewer: Editor) -> Response:
    """Change one field's text; the change is logged (before, after, reason) and audited."""
    body = await _body(request)
    done = edits.record_edit(
        _engine(request),
        kind,
        entry_id,
        field=body.field,
        text=body.text,
        reason=body.reason,
        by=viewer.actor,
    )
    if wants_json(request):
        return JSONResponse(done)
    return RedirectResponse(LINKS.edit(kind, entry_id), status_code=303)
