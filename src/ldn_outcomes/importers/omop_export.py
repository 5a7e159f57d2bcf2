"""``ldn export --format omop``: read the registry, map it to OMOP rows (``omop_rows``, where
the mapping is described), and write one CSV per table and/or the rows into an OMOP database."""

from __future__ import annotations

import csv
import datetime as dt
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from ..domain.record_kinds import ANALYSED_COLUMNS
from ..errors import Problem, ValidationFailed
from ..store.frames import read_frame
from ..store.omop_tables import WRITTEN, columns_of, omop_writer, open_omop
from ..store.sqlread import ReadFrom
from ..store.streams import export_snapshot
from .omop_rows import Rows, omop_rows

#: The registry columns the export reads, per kind.
READ = ANALYSED_COLUMNS


def registry_frames(
    engine: ReadFrom, patient_ids: Sequence[str] | None = None
) -> dict[str, pd.DataFrame]:
    """The registry's records the export maps (live rows only, as the analyses read them),
    of ``patient_ids`` only when given; ``engine`` may be an open snapshot's connection."""
    frames = {
        kind: read_frame(engine, kind, patient_ids, columns=columns)
        for kind, columns in READ.items()
    }
    questionnaires = read_frame(engine, "questionnaires", patient_ids)
    frames["questionnaires"] = questionnaires[
        ["patient_id", "instrument_id", "date", "total", "answers"]
    ].copy()
    for frame in frames.values():
        if "patient_id" in frame:
            frame["patient_id"] = frame["patient_id"].astype(str)
    return frames


#: Patients mapped at a time: the export's memory grows with this, not with the registry.
CHUNK_PATIENTS = 500
#: Each written table's own row id (numbered from 1 within a chunk, shifted to run on).
ROW_ID = {
    "person": "person_id",
    "observation_period": "observation_period_id",
    "condition_occurrence": "condition_occurrence_id",
    "drug_exposure": "drug_exposure_id",
    "measurement": "measurement_id",
    "observation": "observation_id",
}


def omop_chunks(
    engine: Engine,
    chunk_patients: int = CHUNK_PATIENTS,
    progress: Callable[[str, int], None] | None = None,
) -> Iterator[tuple[Rows, dict[str, int]]]:
    """The OMOP rows of the registry, ``chunk_patients`` patients at a time, with ids that
    run on across chunks (person ids, each table's row id, questionnaire event ids), so the
    concatenated chunks are one export whatever the chunk size. Every chunk is read from one
    snapshot of the registry (``store.streams.export_snapshot``), so the export describes one
    instant even while others write; ``progress(label, n)`` is told of each chunk's patients."""
    if chunk_patients < 1:
        raise ValueError("chunk_patients must be at least 1")
    with export_snapshot(engine) as snapshot:
        bind = snapshot.connection
        frame = read_frame(bind, "patients", columns=("patient_id",))
        ids = [str(i) for i in frame["patient_id"]]
        next_id = dict.fromkeys(ROW_ID, 0)
        next_event = 0
        for start in range(0, len(ids), chunk_patients):
            chunk_ids = ids[start : start + chunk_patients]
            rows, left_out = omop_rows(registry_frames(bind, chunk_ids))
            persons, events = next_id["person"], next_event
            for name, table_rows in rows.items():
                for row in table_rows:
                    row["person_id"] += persons
                    if name != "person":
                        row[ROW_ID[name]] += next_id[name]
                    if row.get("observation_event_id") is not None:
                        row["observation_event_id"] += events
                        next_event = max(next_event, row["observation_event_id"])
            for name in ROW_ID:
                next_id[name] += len(rows.get(name, ()))
            yield rows, left_out
            if progress:
                progress(chunk_ids[-1], len(chunk_ids))


def write_csv_tables(
    rows: Mapping[str, Sequence[Mapping[str, Any]]], directory: Path
) -> dict[str, int]:
    """One ``<table>.csv`` per written table, columns in CDM order, dates ISO, blanks empty."""
    return write_csv_chunks(iter([rows]), directory)


def write_csv_chunks(
    chunks: Iterable[Mapping[str, Sequence[Mapping[str, Any]]]], directory: Path
) -> dict[str, int]:
    """:func:`write_csv_tables` for rows that arrive in chunks: each file is opened once and
    appended to chunk by chunk, so memory holds one chunk; moved into place only once every
    chunk is written (:func:`staged_folder`)."""
    with staged_folder(directory) as staging:
        return _write_csv_files(chunks, staging)


@contextmanager
def staged_folder(directory: Path) -> Iterator[Path]:
    """A hidden folder beside ``directory`` to write into, moved into place when the block
    ends without an error and removed otherwise: a failed export (a database error, a crash
    mid-way) leaves no half-written files."""
    target = directory.resolve()
    if target.exists() and not target.is_dir():
        raise ValidationFailed(
            Problem("export", "directory", "is a file, not a folder", value=str(directory))
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkdir (not mkdtemp) so the folder gets the usual permissions once renamed into place
    staging = target.parent / f".{target.name}.{secrets.token_hex(6)}.partial"
    staging.mkdir()
    try:
        yield staging
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_csv_files(
    chunks: Iterable[Mapping[str, Sequence[Mapping[str, Any]]]], directory: Path
) -> dict[str, int]:
    counts = dict.fromkeys(WRITTEN, 0)
    with ExitStack() as stack:
        writers = {}
        for name in WRITTEN:
            handle = stack.enter_context(
                (directory / f"{name}.csv").open("w", encoding="utf-8", newline="")
            )
            writers[name] = csv.writer(handle)
            writers[name].writerow(columns_of(name))
        for rows in chunks:
            for name in WRITTEN:
                header = columns_of(name)
                for row in rows.get(name, ()):
                    writers[name].writerow(
                        ["" if row.get(c) is None else _cell(row[c]) for c in header]
                    )
                counts[name] += len(rows.get(name, ()))
    return counts


def _move_into_place(staging: Path, target: Path) -> None:
    """A new folder is the staging folder renamed; into an existing one each file replaces
    its namesake (other files there are left alone)."""
    if not target.exists():
        staging.rename(target)
        return
    for name in WRITTEN:
        os.replace(staging / f"{name}.csv", target / f"{name}.csv")


def _cell(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value)


def export_omop(
    engine: Engine,
    directory: Path | None = None,
    url: str | None = None,
    chunk_patients: int = CHUNK_PATIENTS,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Export the registry as OMOP rows into CSV files and/or an OMOP database (one
    transaction), ``chunk_patients`` patients at a time (memory holds one chunk, however large
    the registry) from one snapshot; returns row counts per table and what was left out.
    ``progress(label, n)`` is told of each chunk's ``n`` patients."""
    tables = dict.fromkeys(WRITTEN, 0)
    left_out = {"patients_without_year_of_birth": 0}
    target = open_omop(url) if url is not None else None
    try:
        with ExitStack() as stack:
            # entered first, so left last: the files move into place only after the database
            # has committed, and a failed commit leaves neither
            staging = stack.enter_context(staged_folder(directory)) if directory else None
            sink = stack.enter_context(omop_writer(target)) if target is not None else None

            def chunks() -> Iterator[Rows]:
                for rows, left in omop_chunks(engine, chunk_patients, progress):
                    for name in WRITTEN:
                        tables[name] += len(rows.get(name, ()))
                    for key, value in left.items():
                        left_out[key] = left_out.get(key, 0) + value
                    if sink is not None:
                        sink(rows)
                    yield rows

            if staging is not None:
                _write_csv_files(chunks(), staging)
            else:
                for _ in chunks():
                    pass
    finally:
        if target is not None:
            target.dispose()
    return {"tables": tables, "left_out": left_out}
