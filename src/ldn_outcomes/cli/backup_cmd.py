"""``ldn backup``, ``ldn restore`` and ``ldn audit verify``: recovery and the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .common import (
    DbOption,
    JsonOption,
    console,
    engine_for,
    err_console,
    handle_errors,
    print_json,
)

# The store (SQLAlchemy) is imported inside each command, so that `ldn --help` starts fast.

audit_app = typer.Typer(help="The audit trail: append-only, hash-chained.", no_args_is_help=True)


@handle_errors
def backup_command(
    file: Annotated[Path, typer.Argument(help="File to write (gzip-compressed JSON lines).")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Back up the whole database (every table: records, accounts, care links, tokens, n-of-1
    trials, the audit trail) as it was at one instant, while the app keeps serving."""
    from ..store.backup import backup

    engine = engine_for(db)
    counts = backup(engine, file, actor="cli")
    if json_output:
        print_json({"file": str(file), "tables": counts})
        return
    console.print(
        f"wrote {sum(counts.values())} rows of {len(counts)} tables to {escape(str(file))}",
        highlight=False,
    )


@handle_errors
def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `ldn backup`.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Restore a backup into an empty database (run `ldn init` on it first); all or nothing.
    A SQLite backup restores into PostgreSQL and back."""
    from ..store.backup import restore

    engine = engine_for(db)
    counts = restore(engine, file, actor="cli")
    if json_output:
        print_json({"file": str(file), "tables": counts})
        return
    console.print(
        f"restored {sum(counts.values())} rows of {len(counts)} tables from {escape(str(file))}",
        highlight=False,
    )


@audit_app.command("verify")
@handle_errors
def audit_verify(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Check the audit trail's hash chain; name the first broken row (exit code 2)."""
    from ..store.audit_chain import verify

    engine = engine_for(db)
    with engine.connect() as connection:
        report = verify(connection)
    if json_output:
        print_json(
            {
                "ok": report.ok,
                "rows": report.rows,
                "broken_seq": report.broken_seq,
                "broken_id": report.broken_id,
                "problem": report.problem,
            }
        )
        if not report.ok:
            raise typer.Exit(code=2)
        return
    if report.ok:
        console.print(f"audit trail intact: {report.rows} rows, every link and hash checked")
        return
    err_console.print(
        f"[bold red]error:[/] audit trail broken at seq {report.broken_seq} "
        f"(row id {report.broken_id}): {escape(report.problem or '')}; "
        f"the {report.rows} rows before it are intact",
        highlight=False,
    )
    raise typer.Exit(code=2)
