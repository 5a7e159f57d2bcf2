"""Import and export the registry in its CSV layout (see :mod:`ldn_outcomes.domain.layout`).

Import is all or nothing: every row of every file is validated first, every problem is
collected with its file, row and field, and only a clean batch is written, in one transaction.
Row numbers count the header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from ..domain.definitions.dose_safety import low_dose_notice
from ..domain.layout import columns, from_row, to_row
from ..domain.models import RECORD_TYPES, Exposure, Record
from ..domain.validation import parse_record
from ..errors import NotFound, Problem, ValidationFailed
from ..store.bulk import load_records
from ..store.streams import export_snapshot

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


#: Largest cell accepted (characters): far above any field's own limit, so an over-long cell
#: is refused by its field's rule with its row and field, not by the CSV reader.
MAX_CELL = 1_000_000


def _text_of(kind: str, source: str, data: bytes) -> tuple[str | None, list[Problem]]:
    """The file as text (UTF-8, an optional byte-order mark), or the problem naming the row
    of the first byte that is not UTF-8."""
    name = RECORD_TYPES[kind].record_name
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        row = data[: error.start].count(b"\n") + 1
        rule = (
            f"not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start} "
            "(save the file as UTF-8)"
        )
        return None, [Problem(name, "(file)", rule, row, source=source)]


def read_file(kind: str, path: Path) -> tuple[list[tuple[int, Record]], list[Problem]]:
    """Parse one layout file into (row number, record) pairs and the problems found."""
    return read_layout(kind, path.name, path.read_bytes())


def read_layout(
    kind: str, source: str, data: bytes
) -> tuple[list[tuple[int, Record]], list[Problem]]:
    """Parse the bytes of one layout file (named ``source`` in problems).

    Nothing in a file's bytes can make this raise: undecodable bytes, broken quoting, an
    over-long cell or a wrong header each become a Problem with the file, row and field."""
    records: list[tuple[int, Record]] = []
    cls = RECORD_TYPES[kind]
    text, problems = _text_of(kind, source, data)
    if text is None:
        return records, problems
    expected = columns(kind)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    number = 0  # the last row read whole (the header is row 1)
    limit = csv.field_size_limit(max(MAX_CELL, csv.field_size_limit()))
    try:
        header = reader.fieldnames or []
        problem = _header_problem(cls.record_name, header, expected)
        if problem is not None:
            return records, [replace(problem, source=source)]
        number = 1
        for number, row in enumerate(reader, start=2):
            if None in row:
                problems.append(
                    Problem(
                        cls.record_name,
                        "(row)",
                        "more cells than header columns",
                        number,
                        source=source,
                    )
                )
                continue
            try:
                records.append(
                    (number, parse_record(cls, from_row(kind, row), row=number, source=source))
                )
            except ValidationFailed as failure:
                problems.extend(failure.problems)
    except csv.Error as error:
        problems.append(
            Problem(
                cls.record_name,
                "(row)",
                f"not readable as CSV: {error}",
                number + 1,
                source=source,
            )
        )
    finally:
        csv.field_size_limit(limit)
    return records, problems


def _header_problem(record: str, header: Sequence[str], expected: Sequence[str]) -> Problem | None:
    """A header must be the layout's column names, each once (any order, some may be left out)."""
    if not header:
        return Problem(record, "(header)", "no header row; expected " + ", ".join(expected), 1)
    unknown = [c for c in header if c not in expected]
    if unknown:
        return Problem(
            record,
            ",".join(c or "(blank)" for c in unknown)[:200],
            "unknown column(s); expected " + ", ".join(expected),
            1,
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        return Problem(record, ",".join(repeated), "column named more than once", 1)
    return None


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
    contents = {kind: (file.name, file.read_bytes()) for kind, file in files.items()}
    return import_contents(engine, contents, actor=actor, source=Path(path).name)


def import_contents(
    engine: Engine,
    contents: Mapping[str, tuple[str, bytes]],
    *,
    actor: str = "import",
    source: str = "import",
) -> tuple[dict[str, int], list[Problem]]:
    """Import layout files given as ``{kind: (file name, bytes)}``: all or nothing, every
    problem named by file, row and field; returns counts and dose notices."""
    names = {kind: name for kind, (name, _data) in contents.items()}
    batch: dict[str, list[tuple[int, Record]]] = {}
    problems: list[Problem] = []
    for kind, (name, data) in contents.items():
        records, found = read_layout(kind, name, data)
        batch[kind] = records
        problems.extend(found)
    if problems:
        raise ValidationFailed(problems)
    try:
        counts = load_records(engine, batch, actor=actor, source=source)
    except ValidationFailed as failure:  # rules across records: name each problem's file
        raise ValidationFailed([_in_file(p, names) for p in failure.problems]) from None
    return counts, dose_notices(batch, names)


def _in_file(problem: Problem, names: Mapping[str, str]) -> Problem:
    kind = next((k for k, c in RECORD_TYPES.items() if c.record_name == problem.record), None)
    if kind is None or kind not in names:
        return problem
    return replace(problem, source=names[kind])


def dose_notices(
    batch: dict[str, list[tuple[int, Record]]], names: Mapping[str, str]
) -> list[Problem]:
    """Naltrexone exposures whose daily dose lies outside the low-dose range."""
    notices = []
    for row, record in batch.get("exposures", []):
        check = low_dose_notice(record) if isinstance(record, Exposure) else None
        if check is not None:
            notices.append(
                Problem(
                    "exposure",
                    "dose_mg",
                    f"{check.message} (source: {check.source})",
                    row=row,
                    value=check.dose_mg,
                    source=names["exposures"],
                )
            )
    return notices


def export_dir(engine: Engine, directory: Path, progress: Progress | None = None) -> dict[str, int]:
    """Write every record kind to ``<kind>.csv`` in primary-key order (same layout as import).

    Streams: records are read and written a chunk at a time from one snapshot of the registry
    (:mod:`ldn_outcomes.store.streams`), so memory stays flat however large the registry is;
    ``progress(kind, rows)`` is told of every chunk written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with export_snapshot(engine) as snapshot:
        for kind in RECORD_TYPES:
            counts[kind] = 0
            with (directory / f"{kind}.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns(kind), lineterminator="\n")
                writer.writeheader()
                for chunk in snapshot.record_chunks(RECORD_TYPES[kind]):
                    writer.writerows(to_row(record) for record in chunk)
                    counts[kind] += len(chunk)
                    if progress:
                        progress(kind, len(chunk))
    return counts
