"""``ldn backup`` and ``ldn restore``: the whole database as one portable file.

Why not the CSV export: it carries the clinical records only, and loses accounts, care links,
API tokens, n-of-1 trials with their sealed allocations and the audit history. A backup
covers every table on the SQLAlchemy metadata (each table module registers its tables there
when imported), so a table added later is covered without touching this module.

Consistency while the app is serving: every table is read inside one snapshot transaction
(PostgreSQL: REPEATABLE READ, READ ONLY; SQLite: one explicit ``BEGIN`` in WAL mode, whose
first read fixes the snapshot while writers carry on), so the file is the database as it was
at one instant: no audit row without its record, no chain head ahead of its rows.

The file is gzip-compressed JSON lines: a header (format, version, schema revision, row counts
per table), then for each table a line with its name and columns followed by one line per row.
Values are typed by the column, not by the back end (dates and times as ISO 8601 text in UTC,
decimals as text, JSON as JSON), so a SQLite backup restores into PostgreSQL and back.

Restore refuses a database that is not empty or not at the backup's schema revision, writes
everything in one transaction (all or nothing), moves PostgreSQL id sequences past the restored
ids, and appends one audit row saying what was restored.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Time,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from ..errors import Problem, ValidationFailed
from . import audit_chain, migrate
from .audit import audit_values
from .db import make_engine
from .schema import metadata as _schema
from .tables import AuditChainHeadRow

FORMAT = "ldn-backup"
VERSION = 1
BATCH_ROWS = 2000


def registry_metadata() -> MetaData:
    """Every table of the registry (``store/schema.py`` gathers every table module)."""
    return _schema


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # SQLite gives back naive UTC
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decoder(column_type: Any) -> Any:
    if isinstance(column_type, DateTime):
        return dt.datetime.fromisoformat
    if isinstance(column_type, Date):
        return dt.date.fromisoformat
    if isinstance(column_type, Time):
        return dt.time.fromisoformat
    if isinstance(column_type, LargeBinary):
        return base64.b64decode
    if isinstance(column_type, Numeric) and column_type.asdecimal:
        return Decimal
    return None


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one instant of the database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with connection.begin():
                yield connection
        return
    # SQLite: the driver would start a transaction only before a write; take control of it.
    reader = make_engine(engine.url.render_as_string(hide_password=False))

    @event.listens_for(reader, "connect")
    def _manual(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(reader, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    try:
        with reader.connect() as connection, connection.begin():
            yield connection
    finally:
        reader.dispose()


def _revisions(connection: Connection) -> list[str]:
    return sorted(
        connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    )


def write_backup(engine: Engine, out: IO[bytes], *, actor: str = "system") -> dict[str, int]:
    """Write every table in one snapshot to ``out`` (a binary stream); returns rows per table.
    The backup itself is audited afterwards, as an export of everything."""
    metadata = registry_metadata()
    counts: dict[str, int] = {}
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as zipped, snapshot(engine) as source:

        def line(data: Any) -> None:
            zipped.write(json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n")

        tables = metadata.sorted_tables
        for table in tables:
            counts[table.name] = source.execute(
                select(func.count()).select_from(table)
            ).scalar_one()
        line(
            {
                "format": FORMAT,
                "version": VERSION,
                "revisions": _revisions(source),
                "written_at": dt.datetime.now(dt.UTC).isoformat(),
                "dialect": engine.dialect.name,
                "tables": counts,
            }
        )
        for table in tables:
            names = [column.name for column in table.columns]
            line({"table": table.name, "columns": names})
            order = list(table.primary_key.columns) or list(table.columns)
            result = source.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
                select(table).order_by(*order)
            )
            for row in result:
                line([_encode(value) for value in row])
    with engine.begin() as connection:
        audit_chain.append(
            connection,
            [
                audit_values(
                    actor=actor,
                    action="backup",
                    table="*",
                    key=f"{sum(counts.values())} rows",
                    before=None,
                    after={"tables": counts},
                )
            ],
        )
    return counts


def backup(engine: Engine, path: Path, *, actor: str = "system") -> dict[str, int]:
    """Write a backup file (written beside the target and renamed, so a failed backup never
    leaves a half-written file under the name)."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as out:
            counts = write_backup(engine, out, actor=actor)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return counts


def _not_empty(connection: Connection, metadata: MetaData) -> list[str]:
    head: Table = AuditChainHeadRow.__table__  # type: ignore[assignment]
    found = []
    for table in metadata.sorted_tables:
        query = select(func.count()).select_from(table)
        if table is head:  # a fresh database has a head at seq 0
            query = query.where(head.c.seq > 0)
        if connection.execute(query).scalar_one():
            found.append(table.name)
    return found


def _problem(field: str, rule: str, value: Any = None) -> ValidationFailed:
    return ValidationFailed([Problem("backup", field, rule, value=value)])


def restore(engine: Engine, path: Path, *, actor: str = "system") -> dict[str, int]:
    """Restore a backup file into an empty database at the same schema revision."""
    metadata = registry_metadata()
    with gzip.GzipFile(path, "rb") as lines, engine.begin() as connection:
        header = _read_header(lines)
        if not migrate.is_up_to_date(engine):
            raise _problem("database", "run `ldn init` on the target database first")
        revisions = _revisions(connection)
        if revisions != header["revisions"]:
            raise _problem(
                "revisions",
                f"the backup is at schema {header['revisions']}, the database at {revisions}: "
                "restore with the version of LDN Outcomes that wrote it",
            )
        occupied = _not_empty(connection, metadata)
        if occupied:
            raise _problem(
                "database",
                "restore needs an empty database; these tables hold rows: " + ", ".join(occupied),
            )
        connection.execute(AuditChainHeadRow.__table__.delete())  # type: ignore[attr-defined]
        try:
            counts = _load_tables(connection, metadata, lines)
        except ValidationFailed:
            raise
        except (OSError, EOFError, ValueError, TypeError, KeyError, IntegrityError) as error:
            # A damaged or hand-edited file: one clear line; the transaction rolls back whole.
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            raise _problem("file", f"damaged backup, nothing restored ({reason})") from None
        if counts != header["tables"]:
            raise _problem("tables", f"the file holds {counts}, its header says {header['tables']}")
        if engine.dialect.name == "postgresql":
            _move_sequences(connection, metadata)
        audit_chain.append(
            connection,
            [
                audit_values(
                    actor=actor,
                    action="restore",
                    table="*",
                    key=f"{sum(counts.values())} rows",
                    before=None,
                    after={"written_at": header["written_at"], "tables": counts},
                )
            ],
        )
    return counts


def _read_header(lines: gzip.GzipFile) -> dict[str, Any]:
    try:
        header = json.loads(lines.readline())
    except (OSError, EOFError, ValueError) as error:
        raise _problem("file", f"not an LDN Outcomes backup ({error})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _problem("file", "not an LDN Outcomes backup (no ldn-backup header)")
    if header.get("version") != VERSION:
        raise _problem("version", f"backup format {header.get('version')} is not {VERSION}")
    missing = [key for key in ("revisions", "tables", "written_at") if key not in header]
    if missing:
        raise _problem("file", "damaged backup header: no " + ", ".join(missing))
    return header


def _load_tables(
    connection: Connection, metadata: MetaData, lines: gzip.GzipFile
) -> dict[str, int]:
    counts: dict[str, int] = {name: 0 for name in (t.name for t in metadata.sorted_tables)}
    table: Table | None = None
    names: list[str] = []
    decoders: list[Any] = []
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if table is not None and batch:
            connection.execute(insert(table), batch)
            counts[table.name] += len(batch)
            batch.clear()

    for raw in lines:
        item = json.loads(raw)
        if isinstance(item, dict):
            flush()
            if item.get("table") not in metadata.tables:
                raise _problem("table", "the database has no such table", item.get("table"))
            table = metadata.tables[item["table"]]
            names = list(item["columns"])
            unknown = set(names) - set(table.columns.keys())
            if unknown:
                raise _problem(table.name, f"columns unknown to this schema: {sorted(unknown)}")
            decoders = [_decoder(table.columns[name].type) for name in names]
            continue
        values = {
            name: (decode(value) if decode is not None and value is not None else value)
            for name, decode, value in zip(names, decoders, item, strict=True)
        }
        batch.append(values)
        if len(batch) >= BATCH_ROWS:
            flush()
    flush()
    return counts


def _move_sequences(connection: Connection, metadata: MetaData) -> None:
    """Serial ids continue after the restored ones."""
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            ).scalar()
            if sequence is None:
                continue
            connection.execute(
                text(
                    f'SELECT setval(:sequence, COALESCE((SELECT MAX("{column.name}") '
                    f'FROM "{table.name}"), 0) + 1, false)'
                ),
                {"sequence": sequence},
            )
