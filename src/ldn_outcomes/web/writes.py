"""Writes from the web: one transaction each, audited as the acting account.

SQLite allows one writer at a time; letting many request threads race for its lock makes them
sleep in the busy handler (tens of milliseconds). So writes to a SQLite registry take an
in-process lock first and never wait inside SQLite. PostgreSQL needs no such lock: the rules
that compare a record with the patient's other records (one ongoing LDN regimen, no
naltrexone-opioid overlap) lock the patient in the store (:mod:`ldn_outcomes.store.patient_lock`),
on every back end and for every caller.

Daily check-ins are the hot path (every patient, every day). Each request validates its own
check-in (a broken rule answers 422 naming the field before anything is queued), then awaits
:func:`add_checkin`: the check-ins of concurrent requests are coalesced into a group commit
(:mod:`ldn_outcomes.web.coalesce`), one transaction per flush written by Core statements
(:mod:`ldn_outcomes.store.batch_writes`), each record with its audit row naming its own
account. While one flush is being written, the check-ins that arrive meanwhile wait for the
next; there is no timer, so a lone check-in is written at once. If a flush fails, nothing of it
is stored and every record in it is retried in a transaction of its own, so one bad record gets
its own error and never affects the others.

One check-in per patient per day: a check-in for a day that already has one corrects it (the
earlier answers stay in its history). :func:`store_checkin` sends such a check-in straight to
that correction; if two for the same day race into one flush, the unique index refuses the
flush and the retry one by one turns the second into a correction of the first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from ..domain.models import QuestionnaireResponse, Record
from ..store import idempotency, record_actions
from ..store.batch_writes import insert_questionnaires
from ..store.uow import UnitOfWork
from .coalesce import Coalescer, coalescer

if TYPE_CHECKING:
    from ..store.registry import Registry

T = TypeVar("T")

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


def in_transaction(engine: Engine, actor: str, work: Callable[[Registry], T]) -> T:
    """``work`` on the registry in one write transaction, audited as ``actor`` (the acting
    account's audit name): committed if it returns, rolled back if it raises."""
    with write_lock(engine), UnitOfWork(engine, actor=actor) as uow:
        result = work(uow.registry)
        uow.commit()
    return result


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
        if record.instrument_id == record_actions.CHECKIN:
            return save_checkin(engine, actor, record)[0]
        stored = add_records(engine, actor, record)[0]
    except Exception as error:  # noqa: BLE001 - handed to the request that sent it
        return error
    assert isinstance(stored, QuestionnaireResponse)
    return stored


def save_checkin(
    engine: Engine, actor: str, record: QuestionnaireResponse
) -> tuple[QuestionnaireResponse, bool]:
    """Store a check-in in its own transaction; a second one for the day corrects the first."""
    with write_lock(engine), UnitOfWork(engine, actor=actor) as uow:
        stored, replaced = record_actions.save_checkin(uow.registry, record)
        uow.commit()
    return stored, replaced


def checkin_on(engine: Engine, record: QuestionnaireResponse) -> bool:
    """Whether the patient already has a check-in on the record's day."""
    return record_actions.has_checkin(engine, record.patient_id, record.date)


async def store_checkin(
    engine: Engine, actor: str, record: QuestionnaireResponse
) -> tuple[QuestionnaireResponse, bool]:
    """Store a check-in: a new day through the group commit, a day already checked in as a
    correction of that check-in. Returns the stored check-in and whether it replaced one."""
    if await run_in_threadpool(checkin_on, engine, record):
        return await run_in_threadpool(save_checkin, engine, actor, record)
    return await add_checkin(engine, actor, record), False


def checkin_queue(
    engine: Engine,
) -> Coalescer[tuple[str, QuestionnaireResponse], QuestionnaireResponse]:
    """The running event loop's group commit for check-ins to this engine."""
    return coalescer(("checkins", engine), partial(write_questionnaires, engine))


async def add_checkin(
    engine: Engine, actor: str, record: QuestionnaireResponse
) -> QuestionnaireResponse:
    """Store one validated check-in through the group commit; raises its own error if any."""
    stored = await checkin_queue(engine).submit((actor, record))
    idempotency.mark_committed()  # committed by the group's worker, outside this request
    return stored
