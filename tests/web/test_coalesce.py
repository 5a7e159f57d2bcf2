"""The coalescer behind the check-in group commit and the API token lookup."""

from __future__ import annotations

import asyncio

import pytest

from ldn_outcomes.web import coalesce
from ldn_outcomes.web.coalesce import Coalescer


def _doubler(calls: list[list[int]]) -> Coalescer[int, int]:
    def work(items: list[int]) -> list[int | Exception]:
        calls.append(list(items))
        return [ValueError(f"odd {i}") if i % 2 else i * 2 for i in items]

    return Coalescer(asyncio.get_running_loop(), work)


def test_concurrent_items_share_a_call_and_each_gets_its_own_outcome() -> None:
    calls: list[list[int]] = []

    async def run() -> list[int | BaseException]:
        queue = _doubler(calls)
        return list(
            await asyncio.gather(*(queue.submit(i) for i in range(6)), return_exceptions=True)
        )

    outcomes = asyncio.run(run())
    assert calls == [[0, 1, 2, 3, 4, 5]]
    assert [o if isinstance(o, int) else str(o) for o in outcomes] == [
        0,
        "odd 1",
        4,
        "odd 3",
        8,
        "odd 5",
    ]


def test_a_lone_item_is_served_at_once_and_later_ones_in_the_next_call() -> None:
    calls: list[list[int]] = []

    async def run() -> list[int]:
        queue = _doubler(calls)
        first = await queue.submit(2)
        rest = await asyncio.gather(queue.submit(4), queue.submit(6))
        return [first, *rest]

    assert asyncio.run(run()) == [4, 8, 12]
    assert calls == [[2], [4, 6]]


def test_batches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coalesce, "MAX_BATCH", 4)
    calls: list[list[int]] = []

    async def run() -> list[int]:
        queue = _doubler(calls)
        return list(await asyncio.gather(*(queue.submit(2 * i) for i in range(10))))

    assert asyncio.run(run()) == [4 * i for i in range(10)]
    assert [len(c) for c in calls] == [4, 4, 2]


def test_a_failing_call_fails_its_batch_only() -> None:
    seen: list[list[str]] = []

    def work(items: list[str]) -> list[str | Exception]:
        seen.append(items)
        if "boom" in items:
            raise RuntimeError("database unavailable")
        return [i.upper() for i in items]

    async def run() -> tuple[list[str | BaseException], str]:
        queue: Coalescer[str, str] = Coalescer(asyncio.get_running_loop(), work)
        failed = await asyncio.gather(
            queue.submit("a"), queue.submit("boom"), return_exceptions=True
        )
        return list(failed), await queue.submit("b")

    failed, later = asyncio.run(run())
    assert [str(f) for f in failed] == ["database unavailable"] * 2
    assert later == "B"


def test_a_wrong_number_of_outcomes_is_an_error_not_a_mismatch() -> None:
    async def run() -> list[str | BaseException]:
        queue: Coalescer[str, str] = Coalescer(asyncio.get_running_loop(), lambda items: ["x"])
        return list(
            await asyncio.gather(queue.submit("a"), queue.submit("b"), return_exceptions=True)
        )

    outcomes = asyncio.run(run())
    assert all(isinstance(o, RuntimeError) and "1 outcomes for 2 items" in str(o) for o in outcomes)


def test_an_item_cancelled_before_its_call_starts_is_never_run() -> None:
    calls: list[list[int]] = []

    async def run() -> int:
        queue = _doubler(calls)
        kept = asyncio.ensure_future(queue.submit(2))
        dropped = asyncio.ensure_future(queue.submit(4))
        await asyncio.sleep(0)  # both are queued; the call has not started
        dropped.cancel()
        return await kept

    assert asyncio.run(run()) == 4
    assert calls == [[2]]


def test_each_event_loop_has_its_own_coalescer() -> None:
    async def get() -> Coalescer[int, int]:
        return coalesce.coalescer("key", lambda items: items)

    async def twice() -> tuple[Coalescer[int, int], Coalescer[int, int]]:
        return await get(), await get()

    first, again = asyncio.run(twice())
    assert first is again
    assert asyncio.run(get()) is not first
