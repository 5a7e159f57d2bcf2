"""``ldn init | import | export | serve``: create the database, move the registry in and out,
and serve the web app."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ConfigurationError, Problem, ValidationFailed
from .common import (
    DbOption,
    JsonOption,
    PlainTable,
    console,
    database_url,
    engine_for,
    handle_errors,
    print_json,
    user_text,
)


@handle_errors
def init(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Create the database, or migrate it to the current schema."""
    from ..store import migrate

    engine = engine_for(db, migrated=False)
    before = sorted(migrate.current_revisions(engine))
    migrate.upgrade(engine)
    after = sorted(migrate.current_revisions(engine))
    if json_output:
        print_json(
            {
                "database": engine.url.render_as_string(hide_password=True),
                "from": before,
                "to": after,
            }
        )
        return
    state = "already up to date" if before == after else f"migrated {before or 'empty'} -> {after}"
    console.print(f"database {engine.url.render_as_string(hide_password=True)}: {state}")


class FileFormat(StrEnum):
    CSV = "csv"
    FHIR = "fhir"
    REDCAP = "redcap"
    OMOP = "omop"
    FHIR_NDJSON = "fhir-ndjson"


FormatOption = Annotated[
    FileFormat,
    typer.Option(
        "--format",
        help="csv (the registry layout), fhir (FHIR R4 Bundles, one per patient), fhir-ndjson "
        "(FHIR bulk data: one <ResourceType>.ndjson file per resource type; import reads it "
        "with fhir too), redcap (a REDCap data dictionary and data export) or omop (OMOP CDM "
        "v5.4 tables; export only).",
    ),
]


@handle_errors
def import_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A directory of <kind>.csv files or one such file; with --format fhir, "
            "a directory of FHIR Bundle *.json and NDJSON *.ndjson files, or one such file; "
            "with --format redcap, a REDCap data export (or its directory, with the project's "
            "*_DataDictionary*.csv)."
        ),
    ],
    db: DbOption = None,
    json_output: JsonOption = False,
    file_format: FormatOption = FileFormat.CSV,
) -> None:
    """Import registry CSV files, FHIR R4 Bundles or a REDCap export; all or nothing (one bad
    row writes nothing).

    Naltrexone doses outside the low-dose range are imported but listed for checking.
    """
    from ..importers.fhir_import import import_fhir_with_notices
    from ..importers.registry_csv import import_with_notices

    if file_format is FileFormat.OMOP:
        raise ValidationFailed(
            Problem(
                "import", "--format", "omop is export only (ldn analyze --omop reads OMOP data)"
            )
        )
    engine = engine_for(db)
    notices: list[Problem] = []
    if file_format in (FileFormat.FHIR, FileFormat.FHIR_NDJSON):
        counts, notices = import_fhir_with_notices(engine, path, actor="cli")
    elif file_format is FileFormat.REDCAP:
        from ..importers.redcap_files import import_redcap

        counts, notices = import_redcap(engine, path, actor="cli")
    else:
        counts, notices = import_with_notices(engine, path, actor="cli")
    if json_output:
        print_json({"imported": counts, "notices": [n.as_dict() for n in notices]})
        return
    table = PlainTable(title=f"Imported from {path}")
    table.add_column("records")
    table.add_column("rows", justify="right")
    for kind, number in counts.items():
        table.add_row(kind, str(number))
    console.print(table)
    for notice in notices:
        console.print(f"[yellow]check:[/yellow] {user_text(notice)}")


OmopUrlOption = Annotated[
    str | None,
    typer.Option(
        "--omop-url",
        help="With --format omop: also write the tables into this empty OMOP database "
        "(postgresql://, sqlite:/// or duckdb:///).",
    ),
]


@handle_errors
def export_command(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Directory to write <kind>.csv files (or <patient>.json Bundles, "
            "<ResourceType>.ndjson files, or a REDCap dictionary and data export) into."
        ),
    ],
    db: DbOption = None,
    json_output: JsonOption = False,
    file_format: FormatOption = FileFormat.CSV,
    omop_url: OmopUrlOption = None,
) -> None:
    """Export the registry as CSV files in the layout import reads, as FHIR R4 Bundles
    (--format fhir: one Bundle per patient), as a REDCap project (--format redcap: data
    dictionary and data) or as OMOP CDM v5.4 tables (--format omop: one <table>.csv each, and
    with --omop-url also into that database).

    --format fhir-ndjson writes FHIR bulk data: one <ResourceType>.ndjson file per resource
    type. Every export streams from one snapshot of the registry (memory stays flat as the
    registry grows), with a progress bar on a terminal."""
    from ..importers.fhir_bundle import export_fhir_dir
    from ..importers.fhir_ndjson import export_fhir_ndjson
    from ..importers.registry_csv import export_dir
    from ..store.audit import audit_event
    from .export_progress import export_progress

    engine = engine_for(db)
    if file_format is FileFormat.OMOP:
        from .omop_cmd import export_omop_command

        export_omop_command(engine, directory, omop_url, json_output)
        return
    with export_progress(
        engine, per_patient=file_format is not FileFormat.CSV, wanted=not json_output
    ) as progress:
        if file_format is FileFormat.FHIR:
            counts = export_fhir_dir(engine, directory, progress)
            table, key = "registry_fhir", f"{counts['resources']} resources"
        elif file_format is FileFormat.FHIR_NDJSON:
            counts = export_fhir_ndjson(engine, directory, progress)
            table, key = "registry_fhir_ndjson", f"{sum(counts.values())} resources"
        elif file_format is FileFormat.REDCAP:
            from ..importers.redcap_files import export_redcap_dir

            counts = export_redcap_dir(engine, directory, progress)
            table, key = "registry_redcap", f"{counts['records']} records"
        else:
            counts = export_dir(engine, directory, progress)
            table, key = "registry_csv", f"{sum(counts.values())} records"
    audit_event(
        engine,
        actor="cli",
        action="export",
        table=table,
        key=key,
        after={"records": counts},
    )
    if json_output:
        print_json({"exported": counts, "directory": str(directory)})
        return
    if file_format is FileFormat.FHIR:
        console.print(
            f"wrote {counts['resources']} resources in {counts['bundles']} patient Bundles "
            f"to {user_text(directory)}"
        )
        return
    if file_format is FileFormat.REDCAP:
        console.print(
            f"wrote a REDCap data dictionary and {counts['rows']} data rows for "
            f"{counts['records']} records to {user_text(directory)}"
        )
        return
    if file_format is FileFormat.FHIR_NDJSON:
        console.print(
            f"wrote {sum(counts.values())} resources in {len(counts)} NDJSON files "
            f"to {user_text(directory)}"
        )
        return
    console.print(
        f"wrote {sum(counts.values())} records in {len(counts)} files to {user_text(directory)}"
    )


@handle_errors
def serve(
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback only unless you add authentication.")
    ] = "127.0.0.1",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes. More than one needs PostgreSQL: SQLite has a single "
            "writer, and one process already writes concurrent check-ins together.",
        ),
    ] = 1,
) -> None:
    """Serve the web app (pages, JSON API, OpenAPI at /docs)."""
    import uvicorn

    from ..settings import load_settings
    from ..store.db import is_sqlite
    from ..web.app import create_app

    url = database_url(db)
    settings = load_settings(database_url=url, host=host, port=port)
    engine = engine_for(db)
    if workers > 1 and is_sqlite(engine):
        raise ConfigurationError(
            "--workers above 1 needs PostgreSQL: SQLite allows one writer at a time, and "
            "worker processes would queue for it in SQLite's busy handler"
        )
    console.print(f"LDN Outcomes at http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    # X-Forwarded-For is believed only from configured proxies (uvicorn's default trusts
    # 127.0.0.1, which lets anything on the host choose its address for throttling).
    trusted = settings.trusted_proxies
    if workers == 1:
        uvicorn.run(
            create_app(settings, engine),
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=trusted is not None,
            forwarded_allow_ips=trusted or "",
        )
        return
    os.environ["LDN_DATABASE_URL"] = url  # each worker process builds its app from LDN_*
    uvicorn.run(
        "ldn_outcomes.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=trusted is not None,
        forwarded_allow_ips=trusted or "",
    )
