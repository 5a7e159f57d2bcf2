"""A simulated registry passes the store's rules: bulk load, CSV import, all or nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ldn_outcomes.importers.registry_csv import import_path
from ldn_outcomes.simulate import (
    SimulatedRegistry,
    SimulationParams,
    load_into_db,
    simulate_registry,
    write_csv_dir,
)
from ldn_outcomes.store import bulk
from ldn_outcomes.store.frames import read_frames

TINY = SimulationParams(patients=40, years=1.5, seed=9)


def test_bulk_load_passes_every_rule_and_reads_back(
    engine: Engine, busy_registry: SimulatedRegistry
) -> None:
    counts = load_into_db(busy_registry, engine, actor="test")
    assert counts == busy_registry.counts()
    stored = read_frames(engine, list(counts))
    for kind, frame in busy_registry.frames.items():
        assert len(stored[kind]) == len(frame), kind
        assert list(stored[kind].columns) == list(frame.columns), kind
    questionnaires = stored["questionnaires"]
    checkin = questionnaires[questionnaires.instrument_id == "checkin"].answers.iloc[0]
    assert len(checkin) == 5


def test_csv_files_import_through_the_layout(engine: Engine, tmp_path: Path) -> None:
    registry = simulate_registry(TINY)
    write_csv_dir(registry, tmp_path)
    (tmp_path / "truth.json").unlink()
    counts = import_path(engine, tmp_path, actor="test")
    assert counts == {k: v for k, v in registry.counts().items() if v}


def test_a_failed_bulk_load_writes_nothing_and_keeps_indexes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row the database refuses (NULL instrument) rolls back the rows and the index rebuild."""
    if engine.dialect.name != "sqlite":
        pytest.skip("index rebuild is SQLite-only")
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM_ROWS", 1)
    registry = simulate_registry(TINY)
    frames = registry.db_frames()
    frames["questionnaires"].loc[frames["questionnaires"].index[-1], "instrument_id"] = None
    with engine.connect() as connection:
        indexes_before = connection.execute(
            text("SELECT name FROM sqlite_master WHERE type='index' ORDER BY name")
        ).all()
    with pytest.raises(sqlite3.IntegrityError):
        bulk.write_frames(engine, frames, actor="test", source="test")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM patients")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM questionnaires")).scalar() == 0
        indexes_after = connection.execute(
            text("SELECT name FROM sqlite_master WHERE type='index' ORDER BY name")
        ).all()
    assert indexes_after == indexes_before


def test_index_rebuild_keeps_the_schema(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("index rebuild is SQLite-only")
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM_ROWS", 1)
    query = text("SELECT name, sql FROM sqlite_master WHERE type='index' ORDER BY name")
    with engine.connect() as connection:
        before = connection.execute(query).all()
    load_into_db(simulate_registry(TINY), engine)
    with engine.connect() as connection:
        assert connection.execute(query).all() == before
