"""``ldn evidence export-edits``: the editors' changes made in the web app, as data files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import DbOption, JsonOption, console, engine_for, handle_errors, print_json
from .evidence_cmd import evidence_app


@evidence_app.command("export-edits")
@handle_errors
def export_edits_command(
    directory: Annotated[Path, typer.Argument(help="Where to write studies.json and claims.json.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the catalogue and claims files with the editors' latest text applied.

    Copy the two files over src/ldn_outcomes/evidence/data/ and open a pull request: the diff
    shows only the edited fields. An edit made before a release changed the text it replaced
    is skipped and named ("the shipped text changed since this edit"): redo it in the web app.
    """
    from ..evidence import edits

    engine = engine_for(db)
    try:
        report = edits.export(engine, directory)
    finally:
        engine.dispose()
    if json_output:
        print_json(report)
        return
    console.print(f"wrote studies.json and claims.json to {directory}")
    for line in report["changed"] or ["no field differs from the shipped files"]:
        console.print(f"  {line}")
    for line in report["skipped"]:
        console.print(f"  [yellow]skipped[/yellow] {line}: redo it in the web app")
