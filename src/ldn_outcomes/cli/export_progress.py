"""The progress bar of ``ldn export``: on a terminal only, never with ``--json``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from .common import err_console

Advance = Callable[[str, int], None]


@contextmanager
def export_progress(engine: Engine, *, per_patient: bool, wanted: bool) -> Iterator[Advance | None]:
    """A callback that advances a bar of patients or records written (on stderr, so that
    ``--json`` on stdout stays clean), or None when not ``wanted`` (``--json``) or when stderr
    is not a terminal."""
    if not wanted or not err_console.is_terminal:
        yield None
        return
    from ..domain.models import RECORD_TYPES
    from ..store.streams import count_live

    unit = "patients" if per_patient else "records"
    kinds = ["patients"] if per_patient else list(RECORD_TYPES)
    total = sum(count_live(engine, kinds).values())
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with bar:
        task = bar.add_task(f"exporting {unit}", total=total)

        def advance(label: str, done: int) -> None:
            bar.update(task, advance=done, description=f"exporting {unit} ({label})")

        yield advance
