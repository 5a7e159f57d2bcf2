"""A short-lived cache for registry-wide aggregates (public figures, the cohort report).

They scan the whole registry, are the same for every viewer allowed to see them, and a
minute-old number is fine; caching keeps these pages fast at 10,000 patients. Nothing
patient-specific is ever cached here, and the research CSV is always built fresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI

T = TypeVar("T")
TTL_SECONDS = 60.0
_LOCK = threading.Lock()


def cached(app: FastAPI, key: str, compute: Callable[[], T], ttl: float = TTL_SECONDS) -> T:
    """The cached value of ``key``, computed at most once at a time per key.

    Concurrent requests that miss wait for the one computation in progress instead of each
    scanning the registry (a public page must not let visitors multiply that work).
    """
    state = app.state.__dict__
    with _LOCK:
        store: dict[str, tuple[float, Any]] = state.setdefault("aggregate_cache", {})
        locks: dict[str, threading.Lock] = state.setdefault("aggregate_cache_locks", {})
        key_lock = locks.setdefault(key, threading.Lock())
        hit = store.get(key)
    if hit is not None and time.monotonic() - hit[0] < ttl:
        return hit[1]  # type: ignore[no-any-return]
    with key_lock:
        with _LOCK:
            hit = store.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]  # type: ignore[no-any-return]
        value = compute()
        with _LOCK:
            store[key] = (time.monotonic(), value)
        return value


def clear(app: FastAPI) -> None:
    with _LOCK:
        app.state.__dict__.pop("aggregate_cache", None)
        app.state.__dict__.pop("aggregate_cache_locks", None)
