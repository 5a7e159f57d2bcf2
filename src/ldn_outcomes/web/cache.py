"""A short-lived cache for registry-wide aggregates (public figures, the cohort report).

They scan the whole registry, are the same for every viewer allowed to see them, and a
minute-old number is fine; caching keeps these pages fast at 10,000 patients. Nothing
patient-specific is ever cached here, and the research CSV is always built fresh.

A minute-old number is fine; a withdrawn consent is not. Every entry is stored with the
registry's consent version (:func:`~ldn_outcomes.store.consent_version.consent_version`, read from
the database, so it is the same in every worker process) and today's date; when either has
changed, the entry is a miss and the aggregate is computed again without the patient.

Not ``cachetools``: what this module adds is that concurrent misses of one key wait for the
one computation in progress, and that an entry is stale when consent or the day changed, with
keys and computations chosen per request; a ``TTLCache`` would replace only the timestamps.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from fastapi import FastAPI
from sqlalchemy import Engine

from ..store.consent_version import consent_version

T = TypeVar("T")
TTL_SECONDS = 60.0
_LOCK = threading.Lock()


def cached(
    app: FastAPI,
    key: str,
    compute: Callable[[], T],
    ttl: float = TTL_SECONDS,
    *,
    engine: Engine | None = None,
) -> T:
    """The cached value of ``key``, computed at most once at a time per key.

    Concurrent requests that miss wait for the one computation in progress instead of each
    scanning the registry (a public page must not let visitors multiply that work). With
    ``engine``, an entry computed under another consent version (or another day) is a miss.
    """
    version: Hashable = None
    if engine is not None:
        version = (dt.date.today(), consent_version(engine))
    state = app.state.__dict__
    with _LOCK:
        store: dict[str, tuple[float, Hashable, Any]] = state.setdefault("aggregate_cache", {})
        locks: dict[str, threading.Lock] = state.setdefault("aggregate_cache_locks", {})
        key_lock = locks.setdefault(key, threading.Lock())
        hit = store.get(key)

    def fresh(entry: tuple[float, Hashable, Any] | None) -> bool:
        return entry is not None and time.monotonic() - entry[0] < ttl and entry[1] == version

    if fresh(hit):
        return hit[2]  # type: ignore[index, no-any-return]
    with key_lock:
        with _LOCK:
            hit = store.get(key)
        if fresh(hit):
            return hit[2]  # type: ignore[index, no-any-return]
        value = compute()
        with _LOCK:
            store[key] = (time.monotonic(), version, value)
        return value


def clear(app: FastAPI) -> None:
    with _LOCK:
        app.state.__dict__.pop("aggregate_cache", None)
        app.state.__dict__.pop("aggregate_cache_locks", None)
