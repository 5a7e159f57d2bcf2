"""``ldn export --format omop``: read the registry, map it to OMOP rows (``omop_rows``, where
the mapping is described), and write one CSV per table and/or the rows into an OMOP database."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from ..store.frames import read_frame
from ..store.omop_tables import WRITTEN, columns_of, open_omop, write_omop
from .omop_rows import omop_rows

#: The registry columns the export reads, per kind.
READ: dict[str, tuple[str, ...]] = {
    "patients": (
        "patient_id",
        "year_of_birth",
        "sex",
        "phenotype",
        "first_symptoms_date",
        "diagnosis_date",
    ),
    "exposures": (
        "patient_id",
        "drug_name",
        "drug_class",
        "dose_mg",
        "time_of_day",
        "start_date",
        "stop_date",
    ),
    "relapses": ("patient_id", "onset_date", "recovery_date", "lasted_24h", "fever_or_infection"),
    "edss": ("patient_id", "date", "score"),
    "adverse_events": ("patient_id", "onset_date", "term"),
    "labs": ("patient_id", "date", "loinc_code", "name", "value", "unit"),
    "consents": ("patient_id", "given_date"),
}


def registry_frames(engine: Engine) -> dict[str, pd.DataFrame]:
    """The registry's records the export maps (live rows only, as the analyses read them)."""
    frames = {kind: read_frame(engine, kind, columns=columns) for kind, columns in READ.items()}
    questionnaires = read_frame(engine, "questionnaires")
    frames["questionnaires"] = questionnaires[
        ["patient_id", "instrument_id", "date", "total", "answers"]
    ].copy()
    for frame in frames.values():
        if "patient_id" in frame:
            frame["patient_id"] = frame["patient_id"].astype(str)
    return frames


def write_csv_tables(
    rows: Mapping[str, Sequence[Mapping[str, Any]]], directory: Path
) -> dict[str, int]:
    """One ``<table>.csv`` per written table, columns in CDM order, dates ISO, blanks empty."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name in WRITTEN:
        header = columns_of(name)
        with (directory / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows.get(name, ()):
                writer.writerow(["" if row.get(c) is None else _cell(row[c]) for c in header])
        counts[name] = len(rows.get(name, ()))
    return counts


def _cell(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value)


def export_omop(
    engine: Engine, directory: Path | None = None, url: str | None = None
) -> dict[str, Any]:
    """Export the registry as OMOP rows into CSV files and/or an OMOP database (one
    transaction); returns row counts per table and what was left out."""
    rows, left_out = omop_rows(registry_frames(engine))
    out: dict[str, Any] = {
        "tables": {name: len(rows[name]) for name in WRITTEN},
        "left_out": left_out,
    }
    if directory is not None:
        write_csv_tables(rows, directory)
    if url is not None:
        target = open_omop(url)
        try:
            write_omop(target, rows)
        finally:
            target.dispose()
    return out
