"""The bulk load of frames (``store.bulk.write_frames``: column-wise rules, the driver's
``executemany`` or ``COPY``) stores the same registry as the record path (the CSV files read
into domain records and written through the registry). Only the audit differs, by design: one
summary row per table for the bulk load, one row per record for the import."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from ldn_outcomes.importers.registry_csv import import_path
from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry, write_csv_dir
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.frames import read_frames


def _registry_db(tmp_path: Path, template: Path, name: str) -> Engine:
    path = tmp_path / f"{name}.sqlite3"
    shutil.copy(template, path)
    return make_engine(f"sqlite:///{path}")


def test_bulk_load_stores_what_the_record_import_stores(
    tmp_path: Path, sqlite_template: Path
) -> None:
    registry = simulate_registry(SimulationParams(patients=40, years=1.5, seed=9))
    bulk, imported = (_registry_db(tmp_path, sqlite_template, n) for n in ("bulk", "import"))
    try:
        load_into_db(registry, bulk, actor="test")
        write_csv_dir(registry, tmp_path / "csv")
        (tmp_path / "csv" / "truth.json").unlink()
        import_path(imported, tmp_path / "csv", actor="test")
        kinds = [kind for kind, n in registry.counts().items() if n]
        assert "questionnaires" in kinds and "relapses" in kinds and "edss" in kinds
        by_bulk, by_import = read_frames(bulk, kinds), read_frames(imported, kinds)
        for kind in kinds:
            pd.testing.assert_frame_equal(by_bulk[kind], by_import[kind], obj=kind)
    finally:
        bulk.dispose()
        imported.dispose()
