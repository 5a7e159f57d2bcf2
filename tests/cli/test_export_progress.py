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


@pytest.mark.parametrize("file_format", ["redcap", "omop"])
def test_the_redcap_and_omop_exports_advance_the_bar_per_patient(
    engine, tmp_path: Path, monkeypatch, file_format: str
) -> None:  # type: ignore[no-untyped-def]
    from contextlib import contextmanager

    from tests.factories import demo_patient
    from typer.testing import CliRunner

    from ldn_outcomes.cli.main import app
    from ldn_outcomes.store.bulk import load_records

    people = [demo_patient("P001"), demo_patient("P002")]
    load_records(engine, {"patients": [(None, p) for p in people]}, actor="test")
    asked: list[tuple[bool, bool]] = []
    told: list[int] = []

    @contextmanager
    def recording(engine, *, per_patient: bool, wanted: bool):  # type: ignore[no-untyped-def]
        asked.append((per_patient, wanted))
        yield lambda label, done: told.append(done)

    monkeypatch.setattr(module, "export_progress", recording)
    url = str(engine.url)
    result = CliRunner().invoke(
        app, ["export", str(tmp_path / "out"), "--db", url, "--format", file_format]
    )
    assert result.exit_code == 0, result.output
    assert asked == [(True, True)]
    assert sum(told) == 2
