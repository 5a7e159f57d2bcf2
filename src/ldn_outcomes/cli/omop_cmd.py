"""``ldn export --format omop``: the registry as OMOP CDM v5.4 tables (``importers.omop_export``).

``ldn analyze --omop URL`` lives with ``ldn analyze`` (``cli.analyze_cmd``)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from .common import PlainTable, console, print_json, user_text


def export_omop_command(
    engine: Engine, directory: Path, omop_url: str | None, json_output: bool
) -> None:
    """Write <table>.csv files into ``directory`` and, given a URL, the same rows into that
    OMOP database (one transaction); audited like every export. A progress bar of patients
    on a terminal, as the other exports."""
    from ..importers.omop_export import export_omop
    from ..store.audit import audit_event
    from .export_progress import export_progress

    with export_progress(engine, per_patient=True, wanted=not json_output) as progress:
        out = export_omop(engine, directory, omop_url, progress=progress)
    total = sum(out["tables"].values())
    audit_event(
        engine,
        actor="cli",
        action="export",
        table="registry_omop",
        key=f"{total} rows",
        after={"rows": out["tables"], "left_out": out["left_out"]},
    )
    if json_output:
        print_json(
            {"exported": out, "directory": str(directory), "omop_database": omop_url is not None}
        )
        return
    table = PlainTable(title=f"OMOP CDM v5.4 tables in {user_text(directory)}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, number in out["tables"].items():
        table.add_row(name, str(number))
    console.print(table)
    if omop_url is not None:
        console.print("and written into the OMOP database given with --omop-url")
    for reason, number in out["left_out"].items():
        if number:
            console.print(f"[yellow]left out:[/yellow] {number} {reason.replace('_', ' ')}")
