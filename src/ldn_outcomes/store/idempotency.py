"""Idempotency keys for API writes: a retried request gets the first response back.

A client that sends ``Idempotency-Key: <key>`` with a write and does not hear back can send
the same request again with the same key: the write is not repeated and the first response is
returned. The key is first *claimed* (a row with status 0), then the response is stored; a
second request arriving while the first is still being processed finds the claim and is told
to retry shortly. A request that failed on the server releases its claim so that it can be
retried. Keys belong to the account that sent them and are kept for :data:`KEEP`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import DuplicateRecord, Problem, ValidationFailed
from .tables import IdempotencyKeyRow

KEEP = dt.timedelta(hours=24)
IN_PROGRESS = 0
MAX_KEY = 200


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


class KeyInProgress(DuplicateRecord):
    """The first request with this key is still being processed."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def check_key(key: str) -> str:
    key = key.strip()
    if not 1 <= len(key) <= MAX_KEY or not key.isprintable():
        raise ValidationFailed(
            Problem("request", "Idempotency-Key", f"must be 1 to {MAX_KEY} printable characters")
        )
    return key


def claim(engine: Engine, actor: str, key: str, fingerprint: str) -> StoredResponse | None:
    """Claim ``key`` for this request (None: go ahead and process it), or the stored response
    of the first request with this key. Refuses a key reused for a different request."""
    now = _now()
    with Session(engine) as session, session.begin():
        row = session.get(IdempotencyKeyRow, (actor, key))
        if row is not None and _aware(row.created_at) < now - KEEP:
            session.delete(row)
            session.flush()
            row = None
        if row is None:
            session.add(
                IdempotencyKeyRow(
                    actor=actor,
                    key=key,
                    fingerprint=fingerprint,
                    status_code=IN_PROGRESS,
                    response=None,
                    created_at=now,
                )
            )
            try:
                session.flush()
            except IntegrityError:
                raise KeyInProgress(
                    "a request with this Idempotency-Key is being processed; retry shortly"
                ) from None
            return None
        if row.fingerprint != fingerprint:
            raise ValidationFailed(
                Problem(
                    "request",
                    "Idempotency-Key",
                    "was already used for a different request (method, path or body); "
                    "send a new key with a new request",
                    value=key,
                )
            )
        if row.status_code == IN_PROGRESS:
            raise KeyInProgress(
                "a request with this Idempotency-Key is being processed; retry shortly"
            )
        return StoredResponse(row.status_code, row.response)


def finish(engine: Engine, actor: str, key: str, status_code: int, body: Any) -> None:
    """Keep the response of the request that claimed ``key``."""
    with Session(engine) as session, session.begin():
        row = session.get(IdempotencyKeyRow, (actor, key))
        if row is not None:
            row.status_code = status_code
            row.response = body


def release(engine: Engine, actor: str, key: str) -> None:
    """Forget a claim whose request failed on the server, so that it can be retried."""
    with Session(engine) as session, session.begin():
        session.execute(
            delete(IdempotencyKeyRow).where(
                IdempotencyKeyRow.actor == actor, IdempotencyKeyRow.key == key
            )
        )


def purge(engine: Engine, now: dt.datetime | None = None) -> int:
    """Delete keys older than :data:`KEEP`; returns how many."""
    cutoff = (now or _now()) - KEEP
    with Session(engine) as session, session.begin():
        result = session.execute(
            delete(IdempotencyKeyRow).where(IdempotencyKeyRow.created_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)
