"""Shared CLI plumbing: the --db option, the engine, JSON output and error translation."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..errors import LdnError

# Settings (pydantic-settings), the store (SQLAlchemy) and migrations are imported where they
# are used, so that `ldn --help` starts without them; the errors too, so that a command that
# ends well (`ldn patient list`) never builds them.

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///path or postgresql://...). Default: $LDN_DATABASE_URL, "
        "else data/ldn.sqlite3.",
        envvar="LDN_DATABASE_URL",
        show_envvar=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

F = TypeVar("F", bound=Callable[..., Any])


def user_text(value: object) -> str:
    """Text from users or records, for Rich output with markup: ``[/]`` in a medicine, a token
    name or an e-mail is shown as typed, never read as markup (which would crash the print)."""
    return escape(str(value))


class PlainTable(Table):
    """A Rich table whose string cells are plain text: nothing in a cell is read as markup."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        cells = [Text(cell) if isinstance(cell, str) else cell for cell in renderables]
        super().add_row(*cells, **kwargs)


def database_url(db: str | None) -> str:
    if db:
        return db
    if not any(name.upper().startswith("LDN_") for name in os.environ):
        # Every setting at its default (pydantic-settings reads LDN_* in any case and no
        # file): the default file, without building the settings, whose import alone costs
        # about ten bare Python starts (docs/architecture.md, "Start-up").
        from ..default_paths import default_database_url

        return default_database_url()
    from ..settings import load_settings

    return load_settings().resolved_database_url


_OPEN_ENGINES: list[Engine] = []


def _refuse_missing_sqlite_file(url: str, *, given: bool) -> None:
    """Opening a SQLite file that does not exist would create an empty one and then complain
    that it is not initialised; say which file would be used and how to create it instead."""
    from ..store.db import sqlite_file

    path = sqlite_file(url)
    if path is None or Path(path).exists():
        return
    from ..errors import ConfigurationError

    if given:
        source = "from --db"
    elif os.environ.get("LDN_DATABASE_URL"):
        source = "from LDN_DATABASE_URL"
    else:
        source = "the default, as no --db was given"
    raise ConfigurationError(
        f"no database at {path} ({source}); create it with `ldn init"
        + (f" --db {url}`" if given else "`")
        + " or point --db at an existing one"
    )


def engine_for(db: str | None, *, migrated: bool = True) -> Engine:
    """An engine for --db; refuse to work on a database that needs `ldn init` first.

    Engines made here are disposed when the command returns (see ``handle_errors``).
    """
    from ..errors import ConfigurationError
    from ..store.db import check_connection, make_engine
    from ..store.migrate import is_up_to_date

    url = database_url(db)
    if migrated:
        _refuse_missing_sqlite_file(url, given=db is not None)
    engine = make_engine(url)
    _OPEN_ENGINES.append(engine)
    check_connection(engine)
    if migrated and not is_up_to_date(engine):
        raise ConfigurationError(
            "the database is not initialised or needs migrating: run `ldn init` first"
        )
    return engine


def print_json(data: Any) -> None:
    import json  # only for --json, not at every start

    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _ldn_error() -> type[LdnError]:
    """The package's own error, looked up only when an error reaches the handler."""
    from ..errors import LdnError

    return LdnError


def _connection_lost() -> type[Exception]:
    """The store's error for a database gone away, looked up only when an error reaches the
    handler (an ``except`` expression is evaluated then), so a start does not load SQLAlchemy."""
    from ..store.db import connection_lost

    return connection_lost()


def handle_errors(function: F) -> F:
    """Translate our errors into one red line (plus each problem) and the error's exit code."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except _ldn_error() as error:
            problems = getattr(error, "problems", [])
            if problems:
                err_console.print(
                    f"[bold red]error:[/] {type(error).__name__}: {len(problems)} problem(s); "
                    "nothing was written",
                    highlight=False,
                )
                for problem in problems[:50]:
                    err_console.print(f"  - {escape(str(problem))}", highlight=False)
                if len(problems) > 50:
                    err_console.print(f"  ... and {len(problems) - 50} more", highlight=False)
            else:
                err_console.print(
                    f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
                )
            raise typer.Exit(code=error.exit_code) from None
        except _connection_lost() as error:  # the database went away during the command
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()
            message = f"the database could not be reached: {reason[0] if reason else error}"
            err_console.print(
                f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True
            )
            from ..errors import ConfigurationError

            raise typer.Exit(code=ConfigurationError.exit_code) from None
        finally:
            while _OPEN_ENGINES:
                _OPEN_ENGINES.pop().dispose()

    return wrapper  # type: ignore[return-value]
