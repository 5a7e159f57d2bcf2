"""An Idempotency-Key claimed by a request whose process died is not blocked for a day: a
retry takes it over once the claim is older than the lease; a live claim still refuses."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from ldn_outcomes.store import idempotency


def test_a_stale_claim_is_taken_over_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(idempotency, "_now", lambda: start)
    assert idempotency.claim(engine, "a", "k1", "fp") is None  # the request that then died
    with pytest.raises(idempotency.KeyInProgress):
        idempotency.claim(engine, "a", "k1", "fp")
    later = start + idempotency.LEASE - dt.timedelta(seconds=1)
    monkeypatch.setattr(idempotency, "_now", lambda: later)
    with pytest.raises(idempotency.KeyInProgress):  # within the lease: still in progress
        idempotency.claim(engine, "a", "k1", "fp")
    stale = start + idempotency.LEASE + dt.timedelta(seconds=1)
    monkeypatch.setattr(idempotency, "_now", lambda: stale)
    assert idempotency.claim(engine, "a", "k1", "fp") is None  # the retry takes it over
    with pytest.raises(idempotency.KeyInProgress):  # and holds it like a fresh claim
        idempotency.claim(engine, "a", "k1", "fp")
    idempotency.finish(engine, "a", "k1", 201, {"id": 1})
    kept = idempotency.claim(engine, "a", "k1", "fp")
    assert kept == idempotency.StoredResponse(201, {"id": 1})


def test_a_stale_claim_is_not_taken_by_a_different_request(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(idempotency, "_now", lambda: start)
    idempotency.claim(engine, "a", "k2", "fp")
    monkeypatch.setattr(idempotency, "_now", lambda: start + dt.timedelta(hours=1))
    with pytest.raises(idempotency.ValidationFailed, match="different request"):
        idempotency.claim(engine, "a", "k2", "other")


def test_the_commit_watch_sees_writes_not_reads(engine: Engine) -> None:
    from sqlalchemy import text

    with idempotency.watch_commits() as watch, engine.begin() as conn:
        conn.execute(text("SELECT 1"))
    assert not watch.committed
    with idempotency.watch_commits() as watch, engine.connect() as conn:
        conn.execute(text("DELETE FROM idempotency_keys WHERE actor = 'nobody'"))
        conn.rollback()
    assert not watch.committed
    with idempotency.watch_commits() as watch, engine.begin() as conn:
        conn.execute(text("DELETE FROM idempotency_keys WHERE actor = 'nobody'"))
    assert watch.committed
