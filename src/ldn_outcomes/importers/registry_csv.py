"""Import and export the registry in its CSV layout (see :mod:`ldn_outcomes.domain.layout`).

Import is all or nothing: every row of every file is validated first, every problem is
collected with its file, row and field, and only a clean batch is written, in one transaction.
Row numbers count the header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from ..domain.definitions.dose_safety import check_ldn_dose
from ..domain.definitions.exposure import is_naltrexone
from ..domain.layout import columns, from_row, to_row
from ..domain.models import RECORD_TYPES, Exposure, Record
from ..domain.validation import parse_record
from ..errors import NotFound, Problem, ValidationFailed
from ..store.bulk import load_records
from ..store.uow import UnitOfWork

Progress = Callable[[str, int], None]


def files_in(path: Path) -> dict[str, Path]:
    """The layout files found at ``path`` (a directory of ``<kind>.csv`` or one such file)."""
    if path.is_dir():
        found = {
            kind: path / f"{kind}.csv" for kind in RECORD_TYPES if (path / f"{kind}.csv").exists()
        }
        if not found:
            raise NotFound(
                f"{path}: no registry files; expected one or more of "
                + ", ".join(f"{k}.csv" for k in RECORD_TYPES)
            )
        return found
    if not path.exists():
        raise NotFound(f"{path}: no such file or directory")
    kind = path.stem
    if kind not in RECORD_TYPES or path.suffix != ".csv":
        raise ValidationFailed(
            Problem(
                "file",
                "name",
                "must be <kind>.csv with kind one of " + ", ".join(RECORD_TYPES),
                value=path.name,
            )
        )
    return {kind: path}


def read_file(kind: str, path: Path) -> tuple[list[tuple[int, Record]], list[Problem]]:
    """Parse one layout file into (row number, record) pairs and the problems found."""
    records: list[tuple[int, Record]] = []
    problems: list[Problem] = []
    cls = RECORD_TYPES[kind]
    expected = columns(kind)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        unknown = [c for c in header if c not in expected]
        if unknown:
            problems.append(
                Problem(
                    cls.record_name,
                    ",".join(unknown),
                    "unknown column(s); expected " + ", ".join(expected),
                    1,
                    source=path.name,
                )
            )
            return records, problems
        for number, row in enumerate(reader, start=2):
            if None in row:
                problems.append(
                    Problem(
                        cls.record_name,
                        "(row)",
                        "more cells than header columns",
                        number,
                        source=path.name,
                    )
                )
                continue
            try:
                records.append(
                    (number, parse_record(cls, from_row(kind, row), row=number, source=path.name))
                )
            except ValidationFailed as failure:
                problems.extend(failure.problems)
    return records, problems


def import_path(engine: Engine, path: Path, *, actor: str = "import") -> dict[str, int]:
    """Validate every file at ``path`` then write all of it, or nothing. Returns counts."""
    counts, _ = import_with_notices(engine, path, actor=actor)
    return counts


def import_with_notices(
    engine: Engine, path: Path, *, actor: str = "import"
) -> tuple[dict[str, int], list[Problem]]:
    """As :func:`import_path`, plus notices that do not block the import.

    A naltrexone dose outside the low-dose range may be right (50 mg is the licensed dose for
    alcohol and opioid dependence), so it is imported but named, with its file and row, for a
    person to check rather than silently pooled with low-dose courses.
    """
    files = files_in(Path(path))
    batch: dict[str, list[tuple[int, Record]]] = {}
    problems: list[Problem] = []
    for kind, file in files.items():
        records, found = read_file(kind, file)
        batch[kind] = records
        problems.extend(found)
    if problems:
        raise ValidationFailed(problems)
    counts = load_records(engine, batch, actor=actor, source=str(Path(path).name))
    return counts, dose_notices(batch, files)


def dose_notices(
    batch: dict[str, list[tuple[int, Record]]], files: dict[str, Path]
) -> list[Problem]:
    """Naltrexone exposures whose daily dose lies outside the low-dose range."""
    notices = []
    for row, record in batch.get("exposures", []):
        if not isinstance(record, Exposure) or record.dose_mg is None:
            continue
        if not is_naltrexone(record) or record.dose_mg <= 0:
            continue
        check = check_ldn_dose(float(record.dose_mg))
        if check.band != "within":
            notices.append(
                Problem(
                    "exposure",
                    "dose_mg",
                    f"{check.message} (source: {check.source})",
                    row=row,
                    value=float(record.dose_mg),
                    source=files["exposures"].name,
                )
            )
    return notices


def export_dir(engine: Engine, directory: Path, progress: Progress | None = None) -> dict[str, int]:
    """Write every record kind to ``<kind>.csv`` in primary-key order (same layout as import)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with UnitOfWork(engine) as uow:
        for kind in RECORD_TYPES:
            records = uow.registry.list(kind)
            with (directory / f"{kind}.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns(kind), lineterminator="\n")
                writer.writeheader()
                for record in records:
                    writer.writerow(to_row(record))
            counts[kind] = len(records)
            if progress:
                progress(kind, len(records))
    return counts
