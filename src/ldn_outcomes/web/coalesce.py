"""Coalescing: many concurrent requests' blocking calls served by one call in a worker thread.

Under load, the daily check-in API spends more time handing work to threads and opening
database round trips than doing the work. A :class:`Coalescer` collects the items of
concurrent requests and hands them to one blocking function as a list (one thread hop, one
query or one transaction for all of them); each request awaits its own outcome. While one call
runs, new items wait for the next; there is no timer, so a lone request is served at once.

The function returns one outcome per item, in order: a value, or an exception raised to that
request alone. One call runs at a time per coalescer.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Most items handed to one call (bounds a call's duration and its statement size).
MAX_BATCH = 256


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    future: asyncio.Future[R]


class Coalescer(Generic[T, R]):
    """Items of one event loop for one blocking ``work(items) -> outcomes`` function."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, work: Callable[[list[T]], Sequence[R | Exception]]
    ) -> None:
        self.loop = loop
        self.work = work
        self.waiting: list[_Waiting[T, R]] = []
        self.running = False
        self.calls = 0  # calls of ``work`` made, for tests and diagnostics
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps only weak ones

    async def submit(self, item: T) -> R:
        """The outcome for ``item`` (raises the exception ``work`` gave for it)."""
        future: asyncio.Future[R] = self.loop.create_future()
        self.waiting.append(_Waiting(item, future))
        if not self.running:
            self.running = True
            self._task = self.loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[_Waiting[T, R]] = []
        try:
            while self.waiting:
                # A request cancelled before its batch started is left out (it never runs).
                batch = [w for w in self.waiting[:MAX_BATCH] if not w.future.cancelled()]
                del self.waiting[:MAX_BATCH]
                if batch:
                    self.calls += 1
                    self._deliver(batch, await self._call([w.item for w in batch]))
                batch = []
        except BaseException:  # cancelled (the loop is closing): nobody may wait forever
            for waiting in [*batch, *self.waiting]:
                if not waiting.future.done():
                    waiting.future.set_exception(RuntimeError("the server is shutting down"))
            self.waiting.clear()
            raise
        finally:
            self.running = False

    async def _call(self, items: list[T]) -> Sequence[R | Exception]:
        try:
            outcomes = await self.loop.run_in_executor(None, self.work, items)
        except Exception as error:  # noqa: BLE001 - a failure of ``work`` goes to its batch only
            return [error] * len(items)
        if len(outcomes) != len(items):
            failed = RuntimeError(f"{len(outcomes)} outcomes for {len(items)} items")
            return [failed] * len(items)
        return outcomes

    @staticmethod
    def _deliver(batch: list[_Waiting[T, R]], outcomes: Sequence[R | Exception]) -> None:
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.future.done():  # its request was cancelled meanwhile
                continue
            if isinstance(outcome, Exception):
                waiting.future.set_exception(outcome)
            else:
                waiting.future.set_result(outcome)


_COALESCERS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[Hashable, Coalescer]  # type: ignore[type-arg]
] = weakref.WeakKeyDictionary()


def coalescer(key: Hashable, work: Callable[[list[T]], Sequence[R | Exception]]) -> Coalescer[T, R]:
    """The running loop's coalescer for ``key`` (made with ``work`` on first use; it goes
    away with the loop)."""
    loop = asyncio.get_running_loop()
    by_key = _COALESCERS.setdefault(loop, {})
    found = by_key.get(key)
    if found is None:
        found = by_key[key] = Coalescer(loop, work)
    return found
