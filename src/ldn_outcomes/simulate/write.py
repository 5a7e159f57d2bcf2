"""Write a simulated registry to files in the import layout, or into a registry database.

Files: one ``<kind>.csv`` per record kind with the layout's header and cell formatting
(``domain.layout``), plus ``truth.json``. The bytes depend only on the parameters and the seed.
Database: through ``store.bulk.write_frames``, so every registry rule is checked and the load is
all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from ..domain.layout import columns
from ..store.bulk import write_frames
from .registry import SimulatedRegistry
from .render import csv_lines
from .truth import write_truth

Progress = Callable[[str, int], None]
TRUTH_FILE = "truth.json"


def write_csv_dir(
    registry: SimulatedRegistry,
    directory: Path | str,
    progress: Progress | None = None,
    *,
    truth: bool = True,
) -> dict[str, int]:
    """Write ``<kind>.csv`` for every simulated kind (and ``truth.json``); returns row counts."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for kind, table in registry.tables.items():
        header = columns(kind)
        names = list(table.columns)
        numbered = header[0] == "id"
        expected = header[1:] if numbered else header
        if names != expected:
            raise AssertionError(f"{kind}: simulated columns {names} differ from layout {header}")
        lines = csv_lines(table, registry.context)
        with (directory / f"{kind}.csv").open("w", encoding="utf-8", newline="") as handle:
            handle.write(",".join(header) + "\n")
            chunk = 500_000
            prefix = "," if numbered else ""
            for start in range(0, len(lines), chunk):
                part = lines[start : start + chunk]
                handle.write(prefix + ("\n" + prefix).join(part) + "\n")
                if progress:
                    progress(kind, len(part))
        counts[kind] = table.length
    if truth:
        write_truth(registry.truth, directory / TRUTH_FILE)
    return counts


def load_into_db(
    registry: SimulatedRegistry,
    engine: Engine,
    *,
    actor: str = "simulator",
    progress: Progress | None = None,
) -> dict[str, int]:
    """Load every simulated kind through the store's checked bulk path (all or nothing)."""
    source = f"simulation seed {registry.params.seed}"
    return write_frames(engine, registry.db_frames(), actor=actor, source=source, progress=progress)
