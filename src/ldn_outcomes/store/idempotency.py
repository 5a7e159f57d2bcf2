"""Idempotency keys for API writes: a retried request gets the first response back.

A client that sends ``Idempotency-Key: <key>`` with a write and does not hear back can send
the same request again with the same key: the write is not repeated and the first response is
returned. The key is first *claimed* (a row with status 0), then the response is stored; a
second request arriving while the first is still being processed finds the claim and is told
to retry shortly. A request that failed on the server before writing anything releases its
claim so that it can be retried; one that failed after a write was committed keeps its claim,
with the failure as its response, so that a retry cannot write twice (:func:`watch_commits`).
A claim left behind by a process that died mid-request is taken over by a retry once it is
older than :data:`LEASE`. Keys belong to the account that sent them and are kept for
:data:`KEEP`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import DuplicateRecord, Problem, ValidationFailed
from .tables import IdempotencyKeyRow

KEEP = dt.timedelta(hours=24)
#: How long a claim may stay in progress before a retry may take it over. A project choice:
#: every API write is one short transaction, and the longest a write waits for the database
#: is SQLite's busy timeout (10 s, ``store.db``), so a claim a minute old belongs to a request
#: whose process died; a live request that did run longer than this could be repeated once.
LEASE = dt.timedelta(seconds=60)
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


class CommitWatch:
    """Whether a write was committed while the watch was on (see :func:`watch_commits`)."""

    def __init__(self) -> None:
        self.committed = False


_WATCH: ContextVar[CommitWatch | None] = ContextVar("idempotency_commit_watch", default=None)
_WROTE = "idempotency_wrote"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@contextmanager
def watch_commits() -> Iterator[CommitWatch]:
    """Notice any transaction that writes and commits while the request is processed, in this
    task or in the worker threads it hands work to (they run in a copy of its context, which
    shares the watch)."""
    watch = CommitWatch()
    token = _WATCH.set(watch)
    try:
        yield watch
    finally:
        _WATCH.reset(token)


def mark_committed() -> None:
    """Tell the watch of this request that its write was committed where the watch cannot see
    it: a group commit runs in a worker that is not this request's (``web.writes``)."""
    watch = _WATCH.get()
    if watch is not None:
        watch.committed = True


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    if _WATCH.get() is not None and statement.lstrip()[:7].upper().startswith(_WRITES):
        conn.info[_WROTE] = True


@event.listens_for(Engine, "commit")
def _note_commit(conn: Connection) -> None:
    watch = _WATCH.get()
    if conn.info.pop(_WROTE, False) and watch is not None:
        watch.committed = True


@event.listens_for(Engine, "rollback")
def _forget_write(conn: Connection) -> None:
    conn.info.pop(_WROTE, None)


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
            if _aware(row.created_at) < now - LEASE and _take_over(session, row, now):
                return None
            raise KeyInProgress(
                "a request with this Idempotency-Key is being processed; retry shortly"
            )
        return StoredResponse(row.status_code, row.response)


def _take_over(session: Session, row: IdempotencyKeyRow, now: dt.datetime) -> bool:
    """Renew a stale claim for this request; False if another retry renewed it first."""
    result = session.execute(
        update(IdempotencyKeyRow)
        .where(
            IdempotencyKeyRow.actor == row.actor,
            IdempotencyKeyRow.key == row.key,
            IdempotencyKeyRow.status_code == IN_PROGRESS,
            IdempotencyKeyRow.created_at == row.created_at,
        )
        .values(created_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def finish(engine: Engine, actor: str, key: str, status_code: int, body: Any) -> None:
    """Keep the response of the request that claimed ``key``."""
    with Session(engine) as session, session.begin():
        row = session.get(IdempotencyKeyRow, (actor, key))
        if row is not None:
            row.status_code = status_code
            row.response = body


def release(engine: Engine, actor: str, key: str) -> None:
    """Forget a claim whose request failed on the server before it wrote anything, so that
    it can be retried. Never for a request whose write was committed: :func:`finish` it."""
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
