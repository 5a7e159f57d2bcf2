"""The export progress bar: on a terminal only, never with --json, and it counts everything."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from ldn_outcomes.cli import export_progress as module
from ldn_outcomes.store.db import make_engine


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    from ldn_outcomes.store import migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    migrate.upgrade(engine)
    return engine


def test_no_bar_when_stderr_is_not_a_terminal(engine) -> None:  # type: ignore[no-untyped-def]
    with module.export_progress(engine, per_patient=True, wanted=True) as advance:
        assert advance is None


def test_a_bar_on_a_terminal_but_none_with_json(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    screen = io.StringIO()
    monkeypatch.setattr(module, "err_console", Console(file=screen, force_terminal=True))
    with module.export_progress(engine, per_patient=True, wanted=False) as advance:
        assert advance is None
    with module.export_progress(engine, per_patient=False, wanted=True) as advance:
        assert advance is not None
        advance("patients", 0)
