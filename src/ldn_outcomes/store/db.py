"""Engines for SQLite (the embedded default, WAL, foreign keys on) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from sqlalchemy.exc import OperationalError

from ..errors import ConfigurationError
from .plain_sqlite import sqlite_pragmas


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_file(url: str) -> str | None:
    """The file a SQLite URL names, or None for another database or an in-memory one."""
    parsed = make_url(normalise_url(url))
    path = parsed.database
    if not parsed.drivername.startswith("sqlite") or not path or path == ":memory:":
        return None
    return path


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    sqlite_pragmas(dbapi_connection)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; on SQLite turn on WAL and foreign keys for every connection."""
    try:
        url = normalise_url(url)
        parsed = make_url(url)
    except Exception as error:  # sqlalchemy raises ArgumentError with an unhelpful text
        raise ConfigurationError(f"not a database URL: {url!r} ({error})") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    raise ConfigurationError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://"
    )


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query (the liveness check)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def has_table(engine: Engine, name: str) -> bool:
    """Whether the database has this table (an optional feature's migration has run)."""
    return inspect(engine).has_table(name)


def unreachable(
    engine: Engine, error: BaseException, *, url: str | None = None
) -> ConfigurationError:
    """A failed connection as one line naming the database (never its password): ``url`` as
    the user gave it when the engine's own differs (a read-only SQLite file URI)."""
    first = str(getattr(error, "orig", None) or error).strip().splitlines()
    reason = first[0] if first else type(error).__name__
    where = (make_url(url) if url else engine.url).render_as_string(hide_password=True)
    return ConfigurationError(f"cannot connect to the database {where}: {reason}")


def connection_lost() -> type[OperationalError]:
    """The error SQLAlchemy raises when the database goes away during a command; the CLI's
    error handler catches it without importing SQLAlchemy itself."""
    from sqlalchemy.exc import OperationalError

    return OperationalError


def check_connection(engine: Engine, *, url: str | None = None) -> None:
    """Connect once, so an unreachable database is one clear error, not a traceback. On
    SQLite the file's header is read too (opening a file reads nothing): a file that is not a
    database is "cannot connect ...: file is not a database" here, not at the first query."""
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as connection:
            if is_sqlite(engine):
                connection.exec_driver_sql("PRAGMA schema_version")
    except DBAPIError as error:
        raise unreachable(engine, error, url=url) from None
