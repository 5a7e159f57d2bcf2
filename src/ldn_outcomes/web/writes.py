"""Writes from the web: one transaction each, audited as the acting account.

SQLite allows one writer at a time; letting many request threads race for its lock makes them
sleep in the busy handler (tens of milliseconds). So writes to a SQLite registry take an
in-process lock first and never wait inside SQLite. PostgreSQL needs no such lock.

Daily check-ins are the hot path (every patient, every day). Each request validates its own
check-in (a broken rule answers 422 naming the field before anything is queued), then awaits
:func:`add_checkin`: the check-ins of concurrent requests are coalesced into a group commit
(:mod:`ldn_outcomes.web.coalesce`), one transaction per flush written by Core statements
(:mod:`ldn_outcomes.store.batch_writes`), each record with its audit row naming its own
account. While one flush is being written, the check-ins that arrive meanwhile wait for the
next; there is no timer, so a lone check-in is written at once. If a flush fails, nothing of it
is stored and every record in it is retried in a transaction of its own, so one bad record gets
its own error and never affects the others.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import partial

from sqlalchemy import Engine

from ..domain.models import QuestionnaireResponse, Record
from ..store.batch_writes import insert_questionnaires
from ..store.uow import UnitOfWork
from .coalesce import Coalescer, coalescer

_LOCKS: dict[int, threading.Lock] = {}
_GUARD = threading.Lock()


@contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "sqlite":
        with nullcontext():
            yield
        return
    with _GUARD:
        lock = _LOCKS.setdefault(id(engine), threading.Lock())
    with lock:
        yield


def add_records(engine: Engine, actor: str, *records: Record) -> list[Record]:
    """Write records in one transaction through the registry (references checked, audited)."""
    with write_lock(engine), UnitOfWork(engine, actor=actor) as uow:
        stored = [uow.registry.add(r) for r in records]
        uow.commit()
    return stored


Outcome = QuestionnaireResponse | Exception


def write_questionnaires(
    engine: Engine, items: Sequence[tuple[str, QuestionnaireResponse]]
) -> list[Outcome]:
    """Write ``(actor, record)`` pairs, one outcome each (the stored record, or the error).

    First all in one transaction; if that fails nothing of it is kept, and each record is
    written again in its own transaction through the registry (which names a missing patient
    as a validation problem), so a failure stays with the record that caused it."""
    try:
        with write_lock(engine), engine.begin() as connection:
            stored: list[Outcome] = list(insert_questionnaires(connection, items))
    except Exception:  # noqa: BLE001 - nothing was kept; isolated below, record by record
        return [_write_alone(engine, actor, record) for actor, record in items]
    return stored


def _write_alone(engine: Engine, actor: str, record: QuestionnaireResponse) -> Outcome:
    try:
        stored = add_records(engine, actor, record)[0]
    except Exception as error:  # noqa: BLE001 - handed to the request that sent it
        return error
    assert isinstance(stored, QuestionnaireResponse)
    return stored


def checkin_queue(
    engine: Engine,
) -> Coalescer[tuple[str, QuestionnaireResponse], QuestionnaireResponse]:
    """The running event loop's group commit for check-ins to this engine."""
    return coalescer(("checkins", engine), partial(write_questionnaires, engine))


async def add_checkin(
    engine: Engine, actor: str, record: QuestionnaireResponse
) -> QuestionnaireResponse:
    """Store one validated check-in through the group commit; raises its own error if any."""
    return await checkin_queue(engine).submit((actor, record))
