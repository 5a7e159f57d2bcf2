"""OMOP CDM v5.4 tables: open an OMOP database, create the clinical tables, write and read rows.

The columns (names, types, which are required) come from ``omop-cdm`` (The Hyve's SQLAlchemy
model generated from the OHDSI CommonDataModel v5.4 DDL), not from DDL kept here. The tables
are rebuilt without its foreign keys and without autoincrement keys: the database the export
writes carries no vocabulary tables (concept, concept_ancestor...: Athena's vocabulary is not
shipped), and DuckDB has no SERIAL type. This module is I/O only: what goes in a row is decided
by ``importers.omop_export``, what a row means by ``importers.omop_read``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    Table,
    create_engine,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from ..errors import ConfigurationError, Problem, ValidationFailed
from .db import check_connection, make_engine

#: The clinical tables the export writes, in writing order.
WRITTEN = (
    "person",
    "observation_period",
    "condition_occurrence",
    "drug_exposure",
    "measurement",
    "observation",
)
#: Tables the OMOP analysis may also read when a database has them.
READ_ALSO = ("concept_ancestor", "drug_strength")
#: Rows per INSERT statement.
CHUNK = 5_000


@cache
def omop_metadata() -> MetaData:
    """The written and read tables, columns as omop-cdm's CDM v5.4 model has them."""
    from omop_cdm.regular.cdm54 import tables as cdm54

    metadata = MetaData()
    by_name = {table.name: table for table in cdm54.Base.metadata.tables.values()}
    for name in (*WRITTEN, *READ_ALSO):
        source = by_name[name]
        Table(
            name,
            metadata,
            *[
                Column(
                    column.name,
                    column.type,
                    primary_key=column.primary_key,
                    nullable=column.nullable,
                    autoincrement=False,
                )
                for column in source.columns
            ],
        )
    return metadata


def omop_table(name: str) -> Table:
    return omop_metadata().tables[name]


def columns_of(name: str) -> tuple[str, ...]:
    return tuple(column.name for column in omop_table(name).columns)


def open_omop(url: str, *, read_only: bool = False) -> Engine:
    """An engine on an OMOP database: PostgreSQL, SQLite or DuckDB (``duckdb:///file``),
    connected once, so that a database that cannot be reached or read (a file that is not a
    database) is one clear error naming it, as for the registry."""
    engine = _omop_engine(url, read_only=read_only)
    try:
        check_connection(engine, url=url)
    except ConfigurationError:
        engine.dispose()
        raise
    return engine


def _omop_engine(url: str, *, read_only: bool) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as error:
        raise ConfigurationError(f"not a database URL: {url!r} ({error})") from None
    if parsed.get_backend_name() == "duckdb":
        try:
            import duckdb_engine  # noqa: F401
        except ImportError:  # pragma: no cover - installed with the omop extra
            raise ConfigurationError(
                "DuckDB needs the duckdb and duckdb-engine packages "
                "(pip install 'ldn-outcomes[omop]')"
            ) from None
        connect_args = {"read_only": True} if read_only else {}
        return create_engine(url, connect_args=connect_args)
    if (
        read_only
        and parsed.get_backend_name() == "sqlite"
        and parsed.database not in (None, "", ":memory:")
    ):
        # read-only, and without the registry's pragmas (WAL would rewrite the file's header)
        path = Path(str(parsed.database))
        if not path.is_file():
            raise ConfigurationError(f"no OMOP database file at {str(path)!r}")
        return create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    return make_engine(url)


def create_omop_tables(engine: Engine) -> None:
    """Create the written tables that are missing; refuse a database where any table the
    export writes already holds rows (the export numbers each table's ids from 1, and would
    clash), naming the first such table."""
    metadata = omop_metadata()
    present = set(inspect(engine).get_table_names())
    for name in WRITTEN:
        if name in present and count_rows(engine, name):
            held = "persons" if name == "person" else f"rows in its {name} table"
            raise ValidationFailed(
                Problem(
                    name,
                    f"{name}_id",
                    f"the OMOP database already holds {held}; export into an empty one "
                    f"(every table the export writes must be empty: {', '.join(WRITTEN)})",
                )
            )
    metadata.create_all(engine, tables=[metadata.tables[name] for name in WRITTEN])


def write_omop(engine: Engine, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, int]:
    """Write every table's rows in one transaction (all or nothing); returns row counts."""
    with omop_writer(engine) as write:
        write(rows)
    return {name: len(rows.get(name, ())) for name in WRITTEN}


@contextmanager
def omop_writer(
    engine: Engine,
) -> Iterator[Callable[[Mapping[str, Sequence[Mapping[str, Any]]]], None]]:
    """A writer that takes the rows chunk by chunk, all inside one transaction: committed
    when the block ends, rolled back (nothing written) if it raises. A database error (a
    constraint, a lost connection, a failed commit) becomes one clear ValidationFailed."""
    try:
        create_omop_tables(engine)
        with engine.begin() as connection:
            yield _writer(engine, connection)
    except SQLAlchemyError as error:
        lines = str(getattr(error, "orig", None) or error).strip().splitlines()
        reason = lines[0] if lines else type(error).__name__
        raise ValidationFailed(
            Problem(
                "omop_database",
                "url",
                f"the OMOP database refused the export; no rows were written ({reason})",
            )
        ) from None


def _writer(
    engine: Engine, connection: Connection
) -> Callable[[Mapping[str, Sequence[Mapping[str, Any]]]], None]:
    """Write one chunk of rows, every table, on ``connection``."""

    def write(rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        for name in WRITTEN:
            table = omop_table(name)
            keys = table.columns.keys()
            # every row with every column: executemany needs one shape per statement
            table_rows = [{key: row.get(key) for key in keys} for row in rows.get(name, ())]
            if engine.dialect.name == "duckdb" and table_rows:
                _duckdb_insert(connection, name, pd.DataFrame(table_rows, columns=list(keys)))
            else:
                for start in range(0, len(table_rows), CHUNK):
                    connection.execute(table.insert(), table_rows[start : start + CHUNK])

    return write


def _duckdb_insert(connection: Connection, name: str, frame: pd.DataFrame) -> None:
    """DuckDB inserts row by row through executemany (seconds per thousand rows): hand it the
    frame instead, inside the same transaction."""
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.register("ldn_omop_rows", frame)
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    try:
        connection.exec_driver_sql(
            f'INSERT INTO "{name}" ({columns}) SELECT {columns} FROM ldn_omop_rows'
        )
    except BaseException:
        # after a failed INSERT DuckDB refuses everything until the rollback: report the
        # INSERT's own error, not the refusal to unregister
        with suppress(Exception):
            raw.unregister("ldn_omop_rows")
        raise
    raw.unregister("ldn_omop_rows")


def present_tables(engine: Engine) -> frozenset[str]:
    names = set(inspect(engine).get_table_names())
    return frozenset(name for name in (*WRITTEN, *READ_ALSO) if name in names)


def _column_names(engine: Engine, name: str) -> set[str]:
    """A table's columns from an empty query (DuckDB's dialect cannot reflect columns under
    SQLAlchemy 2.1)."""
    table = Table(name, MetaData())
    with engine.connect() as connection:
        result = connection.execute(select(text("*")).select_from(table).limit(0))
        return {str(key).lower() for key in list(result.keys())}


def count_rows(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        counted = connection.execute(select(func.count()).select_from(Table(name, MetaData())))
        return int(counted.scalar_one())


def read_omop(
    engine: Engine,
    name: str,
    columns: Iterable[str],
    where: Mapping[str, Iterable[int]] | None = None,
    with_condition: Iterable[int] | None = None,
) -> pd.DataFrame | None:
    """Some columns of one table (None when the database lacks the table). Columns the table
    lacks come back empty; ``where`` keeps rows whose column value is in the given ids;
    ``with_condition`` keeps the rows of persons with a condition_occurrence of one of these
    concepts (in the database, so no one else's rows are read)."""
    wanted = list(columns)
    if name not in inspect(engine).get_table_names():
        return None
    have = _column_names(engine, name)
    filters = dict(where or {})
    needed = [*wanted, *filters, "person_id"]
    table = Table(name, MetaData(), *[Column(c) for c in dict.fromkeys(needed) if c in have])
    query = select(*[table.c[c] for c in wanted if c in have])
    for column, values in filters.items():
        if column in have:
            query = query.where(table.c[column].in_(sorted(set(values))))
    if with_condition is not None:
        conditions = Table(
            "condition_occurrence", MetaData(), Column("person_id"), Column("condition_concept_id")
        )
        people = select(conditions.c.person_id).where(
            conditions.c.condition_concept_id.in_(sorted(set(with_condition)))
        )
        query = query.where(table.c.person_id.in_(people))
    with engine.connect() as connection:
        result = connection.execute(query)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for column in wanted:
        if column not in frame:
            frame[column] = None
    return frame[wanted]
