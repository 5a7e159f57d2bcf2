"""``ldn redcap dictionary|check``: the registry's REDCap data dictionary, and how a clinic's
own dictionary maps onto it. (``ldn export|import --format redcap`` move the data.)"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import NotFound, ValidationFailed
from .common import JsonOption, PlainTable, console, handle_errors, print_json, user_text

redcap_app = typer.Typer(
    help="REDCap: the registry's data dictionary, and mapping a clinic's dictionary onto it.",
    no_args_is_help=True,
)


@redcap_app.command("dictionary")
@handle_errors
def dictionary_command(
    output: Annotated[
        Path | None,
        typer.Argument(help="File to write (default: print the CSV)."),
    ] = None,
) -> None:
    """The registry's REDCap data dictionary (upload it to REDCap to build the project)."""
    from ..importers.redcap_dictionary import dictionary_text

    text = dictionary_text()
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote the data dictionary to {user_text(output)}")


@redcap_app.command("check")
@handle_errors
def check_command(
    dictionary: Annotated[Path, typer.Argument(help="A REDCap data dictionary (CSV).")],
    json_output: JsonOption = False,
) -> None:
    """Map a clinic's REDCap data dictionary onto the registry's: which fields map as they
    are, which differ (and how), and which a person must map by hand. Writes nothing."""
    from ..importers.redcap_dictionary import mapping, missing_required, read_dictionary

    if not dictionary.is_file():
        raise NotFound(f"{dictionary}: no such file")
    fields, problems = read_dictionary(dictionary.name, dictionary.read_bytes())
    if problems:
        raise ValidationFailed(problems)
    report = mapping(fields)
    missing = missing_required(fields)
    if json_output:
        print_json({"fields": [m.as_dict() for m in report], "missing_required": missing})
        return
    table = PlainTable(title=f"{dictionary.name}: {len(fields)} fields")
    for column in ("their field", "form", "type", "status", "ours", "note"):
        table.add_column(column)
    for m in report:
        table.add_row(m.field, m.form, m.field_type, m.status, m.ours, m.note)
    console.print(table)
    counts = {s: sum(1 for m in report if m.status == s) for s in ("maps", "differs", "manual")}
    console.print(
        f"{counts['maps']} map as they are, {counts['differs']} differ, "
        f"{counts['manual']} need mapping by hand"
    )
    if missing:
        console.print(f"required by the registry and not in this dictionary: {', '.join(missing)}")
