"""Export -> import into an empty registry -> export gives identical files, on every back end."""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, delete
from tests.factories import registries

from ldn_outcomes.domain.models import RECORD_TYPES
from ldn_outcomes.importers.registry_csv import export_dir, import_path
from ldn_outcomes.store.bulk import load_records
from ldn_outcomes.store.tables import ROW_TYPES


def _empty(engine: Engine) -> None:
    """Empty the registry's records (the audit trail is append-only and stays)."""
    with engine.begin() as connection:
        for kind in reversed(list(RECORD_TYPES)):
            connection.execute(delete(ROW_TYPES[kind]))


def _same_files(first: Path, second: Path) -> None:
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert filecmp.cmp(first / name, second / name, shallow=False), name


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(registry=registries())
def test_export_import_export_is_identical(engine: Engine, registry: dict) -> None:
    _empty(engine)
    load_records(
        engine,
        {kind: [(None, r) for r in records] for kind, records in registry.items()},
        actor="test",
    )
    work = Path(tempfile.mkdtemp())
    try:
        export_dir(engine, work / "first")
        _empty(engine)
        counts = import_path(engine, work / "first", actor="test")
        assert counts["patients"] == len(registry["patients"])
        export_dir(engine, work / "second")
        _same_files(work / "first", work / "second")
    finally:
        shutil.rmtree(work)
