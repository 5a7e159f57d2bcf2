"""Small helpers shared by the page routers."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from ...domain.models import Record
from ...errors import NotFound
from .. import writes
from ..auth import Viewer

SAVED_MESSAGES = {
    "checkin": "Check-in saved. Thank you!",
    "questionnaire": "Questionnaire saved.",
    "exposure": "Medicine saved.",
    "dose": "Dose log saved.",
    "relapse": "Relapse saved.",
    "side_effect": "Side effect saved.",
    "consent": "Consent updated.",
    "edss": "EDSS saved.",
    "confirmed": "Relapse confirmed.",
    "regimen": "Regimen changed.",
    "account": "Account created.",
    "site": "Site saved.",
    "link": "Link requested: it takes effect when the patient (or their clinician) accepts it.",
    "deactivated": "Account deactivated: its sessions and API tokens have ended.",
    "activated": "Account reactivated (its old API tokens stay revoked).",
    "accepted": "Link accepted.",
    "declined": "Link declined.",
    "added": "Record saved.",
    "corrected": "Correction saved; the earlier version is kept in the history.",
    "removed": "Record removed; it is kept, with your reason, in its history.",
    "checkin_updated": "You had already checked in that day: your check-in was updated (the "
    "earlier answers are kept in its history).",
    "stopped": "Regimen stopped.",
    "patient": "Patient added, with their care consent.",
}


def own_patient(viewer: Viewer) -> str:
    """The patient record a patient account owns."""
    if viewer.principal is None or viewer.principal.patient_id is None:
        raise NotFound(
            "your account is not linked to a patient record yet; ask the registry "
            "administrator to link it"
        )
    return viewer.principal.patient_id


def add_records(engine: Engine, viewer: Viewer, *records: Record) -> list[Record]:
    """Write records in one transaction, audited as the acting account."""
    return writes.add_records(engine, viewer.actor, *records)


def flash_of(request: Request) -> str | None:
    return SAVED_MESSAGES.get(request.query_params.get("saved", ""))


def saved(path: str, what: str) -> Response:
    """Post/redirect/get: a reload does not submit twice."""
    return RedirectResponse(f"{path}?saved={what}", status_code=303)


def today_str() -> str:
    import datetime as dt

    return dt.date.today().isoformat()


def dumped(records: list[Any]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in records]


def attachment(filename: str) -> dict[str, str]:
    """A download's Content-Disposition (RFC 6266): a plain ASCII ``filename`` without quotes,
    backslashes or line breaks for every client, and the exact name as ``filename*``."""
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    exact = quote(filename, safe="")  # RFC 5987 percent-encoding of the UTF-8 bytes
    return {"content-disposition": f"attachment; filename=\"{plain}\"; filename*=UTF-8''{exact}"}
