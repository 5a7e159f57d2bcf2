"""``ldn serve``: one process on SQLite, worker processes only on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.store import migrate
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.web.app import app_from_environment

runner = CliRunner()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    monkeypatch.setenv("LDN_DATABASE_URL", "sqlite:///restored-after-the-test.sqlite3")
    return calls


def test_serve_workers(db_url: str, started: list[tuple[Any, dict[str, Any]]]) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    engine.dispose()
    one = runner.invoke(app, ["serve", "--db", db_url, "--port", "8123"])
    assert one.exit_code == 0, one.output
    target, options = started.pop()
    assert isinstance(target, FastAPI) and options["port"] == 8123
    several = runner.invoke(app, ["serve", "--db", db_url, "--workers", "3"])
    if make_url(db_url).get_backend_name() == "sqlite":
        assert several.exit_code == 6 and "needs PostgreSQL" in several.output
        assert not started
        return
    assert several.exit_code == 0, several.output
    target, options = started.pop()
    assert target == "ldn_outcomes.web.app:app_from_environment"
    assert options["factory"] is True and options["workers"] == 3
    worker_app = app_from_environment()  # what each worker process builds
    assert worker_app.state.engine.url == make_engine(db_url).url
    worker_app.state.engine.dispose()


def test_forwarded_for_is_trusted_only_from_configured_proxies(
    db_url: str, started: list[tuple[Any, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    engine.dispose()
    assert runner.invoke(app, ["serve", "--db", db_url]).exit_code == 0
    _target, options = started.pop()
    assert options["proxy_headers"] is False  # uvicorn's default would trust 127.0.0.1
    monkeypatch.setenv("LDN_TRUSTED_PROXIES", "10.0.0.2")
    assert runner.invoke(app, ["serve", "--db", db_url]).exit_code == 0
    _target, options = started.pop()
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == "10.0.0.2"
