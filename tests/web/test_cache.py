"""The aggregate cache computes each key once at a time, however many requests miss together."""

from __future__ import annotations

import threading
import time

from fastapi import FastAPI

from ldn_outcomes.web.cache import cached, clear


def test_concurrent_misses_compute_once() -> None:
    app = FastAPI()
    calls = []
    barrier = threading.Barrier(8)

    def compute() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    results: list[int] = []

    def request() -> None:
        barrier.wait()
        results.append(cached(app, "figures", compute))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8
    assert len(calls) == 1


def test_expired_and_cleared_values_are_recomputed() -> None:
    app = FastAPI()
    values = iter(range(10))
    assert cached(app, "k", lambda: next(values), ttl=60) == 0
    assert cached(app, "k", lambda: next(values), ttl=60) == 0
    assert cached(app, "k", lambda: next(values), ttl=0) == 1
    clear(app)
    assert cached(app, "k", lambda: next(values), ttl=60) == 2
    assert cached(app, "other", lambda: next(values), ttl=60) == 3
