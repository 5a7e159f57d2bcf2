"""``ldn record add | list | correct | remove | history`` and ``ldn regimen change | stop``.

Every record kind through one set of commands: a correction names the record and the fields
that change and says why (the earlier version is kept); a removal says why (the record leaves
every analysis and export, and stays in its history).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ..domain.dose_text import dose_number
from ..domain.identifiers import MAX_DATABASE_ID, parse_database_id
from ..domain.record_kinds import PATIENT_KINDS
from ..errors import Problem, ValidationFailed
from .common import DbOption, JsonOption, console, engine_for, handle_errors, print_json

if TYPE_CHECKING:
    from ..domain.models import Record

# The store (SQLAlchemy) and the record models (pydantic, built at import) are imported inside
# each command, so that `ldn --help` starts fast.

record_app = typer.Typer(
    help="Add, list, correct (with a reason), remove (with a reason) and trace any record.",
    no_args_is_help=True,
)
regimen_app = typer.Typer(help="Change the LDN dose or stop LDN in one step.", no_args_is_help=True)
ACTOR = "cli"
KINDS = ", ".join(["patients", *PATIENT_KINDS])
Kind = Annotated[str, typer.Argument(help=f"Record kind: {KINDS}.")]
Key = Annotated[str, typer.Argument(help="The record's id (for patients: the patient id).")]
Fields = Annotated[
    list[str] | None,
    typer.Argument(help="field=value pairs; lists and objects as JSON, e.g. answers=[3,4,null]."),
]
Reason = Annotated[str, typer.Option("--reason", help="Why; kept in the record's history.")]


def parse_fields(pairs: list[str] | None) -> dict[str, Any]:
    """``field=value`` pairs; a value that looks like JSON (list, object, true/false/null) is
    read as JSON, anything else stays text for the record's own validation."""
    data: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationFailed(Problem("record", pair, "write fields as field=value"))
        text = value.strip()
        if text[:1] in "[{" or text in ("true", "false", "null"):
            try:
                data[name.strip()] = json.loads(text)
                continue
            except ValueError:
                raise ValidationFailed(
                    Problem("record", name.strip(), "is not valid JSON", value=text)
                ) from None
        data[name.strip()] = text
    return data


def _kind(kind: str) -> str:
    if kind != "patients" and kind not in PATIENT_KINDS:
        raise ValidationFailed(Problem("record", "kind", f"must be one of {KINDS}", value=kind))
    return kind


def _record_type(kind: str) -> type[Record]:
    from ..domain.models import RECORD_TYPES

    return RECORD_TYPES[_kind(kind)]


def _key(kind: str, key: str) -> Any:
    from ..store.convert import key_column

    if key_column(kind) != "id":
        return key
    try:  # beyond 64 bits the database driver fails (OverflowError): refuse it by name
        return parse_database_id(key)
    except ValueError as error:
        raise ValidationFailed(Problem(kind, "id", str(error), value=key)) from None


def _show(records: list[Any], json_output: bool) -> None:
    if json_output:
        print_json([r.model_dump(mode="json") for r in records])
        return
    for record in records:
        console.print(record.model_dump(mode="json"), highlight=False)


@record_app.command("add")
@handle_errors
def add(
    kind: Kind,
    patient_id: Annotated[str, typer.Argument(help="The patient's id.")],
    fields: Fields = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add one record, e.g. ldn record add edss P0001 date=2024-05-01 score=3.5."""
    from ..domain.validation import parse_record

    data = {**parse_fields(fields), "patient_id": patient_id}
    record = parse_record(_record_type(kind), data)
    from ..store.uow import UnitOfWork

    with UnitOfWork(engine_for(db), actor=ACTOR) as uow:
        stored = uow.registry.add(record)
        uow.commit()
    _show([stored], json_output)


@record_app.command("list")
@handle_errors
def list_records(
    kind: Kind,
    patient_id: Annotated[str, typer.Argument(help="The patient's id.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """One patient's records of one kind (removed records are not listed)."""
    from ..store.uow import UnitOfWork

    with UnitOfWork(engine_for(db)) as uow:
        uow.registry.patient(patient_id)
        records = uow.registry.records(_record_type(kind), patient_id=patient_id)
    _show(records, json_output)


@record_app.command("correct")
@handle_errors
def correct(
    kind: Kind,
    key: Key,
    fields: Fields = None,
    reason: Reason = "",
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Correct fields of a record, e.g. ldn record correct edss 12 score=3.0 --reason typo;
    the earlier version is kept with who, when and why."""
    from ..domain.validation import parse_record
    from ..store.convert import key_column
    from ..store.uow import UnitOfWork

    kind = _kind(kind)
    changes = parse_fields(fields)
    identity = key_column(kind)
    if identity in changes:  # the record is named by the argument; its key is not a field
        raise ValidationFailed(
            Problem(
                kind,
                identity,
                "cannot be corrected: it names the record (correct the record it names instead)",
            )
        )

    with UnitOfWork(engine_for(db), actor=ACTOR) as uow:
        current = uow.registry.get(kind, _key(kind, key))
        record = parse_record(_record_type(kind), {**current.model_dump(), **changes})
        stored = uow.registry.correct(record, reason)
        uow.commit()
    _show([stored], json_output)


@record_app.command("remove")
@handle_errors
def remove(kind: Kind, key: Key, reason: Reason = "", db: DbOption = None) -> None:
    """Remove a record with a reason: it leaves every analysis and export and stays in its
    history. Removing a patient removes all their records."""
    kind = _kind(kind)
    from ..store.uow import UnitOfWork

    with UnitOfWork(engine_for(db), actor=ACTOR) as uow:
        uow.registry.remove(kind, _key(kind, key), reason)
        uow.commit()
    console.print(f"removed {kind} {key}: {reason.strip()}", highlight=False)


@record_app.command("history")
@handle_errors
def history(kind: Kind, key: Key, db: DbOption = None, json_output: JsonOption = False) -> None:
    """Every version of a record: who, when, what changed and why."""
    kind = _kind(kind)
    from ..store import record_actions
    from ..store.uow import UnitOfWork

    with UnitOfWork(engine_for(db)) as uow:
        entries = record_actions.history(uow.registry, kind, _key(kind, key))
    if json_output:
        print_json([e.as_dict() for e in entries])
        return
    table = Table("when", "who", "action", "changed", "reason")
    for entry in entries:
        table.add_row(
            entry.at.isoformat(timespec="seconds"),
            entry.actor,
            entry.action,
            ", ".join(entry.as_dict()["changed"]),
            entry.reason or "",
        )
    console.print(table)


PatientArg = Annotated[str, typer.Argument(help="The patient's id.")]
ExposureOption = Annotated[
    int | None,
    typer.Option(
        "--exposure-id",
        help="The regimen to change; default: the ongoing LDN one.",
        min=1,
        max=MAX_DATABASE_ID,
    ),
]


@regimen_app.command("change")
@handle_errors
def change(
    patient_id: PatientArg,
    dose: Annotated[str, typer.Option("--dose", help="New dose in mg, e.g. 3.0.")],
    from_date: Annotated[
        dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day of the new dose.")
    ],
    time_of_day: Annotated[
        str | None, typer.Option(help="Default: the current regimen's time of day.")
    ] = None,
    exposure_id: ExposureOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Change the dose: the current regimen ends the day before the new one starts."""
    from ..store import record_actions
    from ..store.uow import UnitOfWork

    with UnitOfWork(engine_for(db), actor=ACTOR) as uow:
        ended, new = record_actions.change_regimen(
            uow.registry,
            patient_id,
            new_dose_mg=dose,
            from_date=from_date.date(),
            exposure_id=exposure_id,
            time_of_day=time_of_day,
        )
        uow.commit()
    if json_output:
        print_json({"ended": ended.model_dump(mode="json"), "new": new.model_dump(mode="json")})
        return
    console.print(
        f"{ended.drug_name} {dose_number(ended.dose_mg)} mg ended {ended.stop_date}; "
        f"{dose_number(new.dose_mg)} mg ({new.time_of_day.value}) from {new.start_date}",
        highlight=False,
    )


@regimen_app.command("stop")
@handle_errors
def stop(
    patient_id: PatientArg,
    last_day: Annotated[
        dt.datetime, typer.Option("--last-day", formats=["%Y-%m-%d"], help="Last day taken.")
    ],
    reason: Annotated[str | None, typer.Option(help="Why it was stopped.")] = None,
    exposure_id: ExposureOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Stop a regimen (default: the ongoing LDN regimen)."""
    from ..store import record_actions
    from ..store.uow import UnitOfWork

    with UnitOfWork(engine_for(db), actor=ACTOR) as uow:
        ended = record_actions.stop(
            uow.registry,
            patient_id,
            last_day=last_day.date(),
            reason=reason,
            exposure_id=exposure_id,
        )
        uow.commit()
    if json_output:
        print_json(ended.model_dump(mode="json"))
        return
    console.print(
        f"{ended.drug_name} {dose_number(ended.dose_mg)} mg stopped after {ended.stop_date}"
    )
