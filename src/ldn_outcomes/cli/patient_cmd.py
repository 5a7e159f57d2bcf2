"""``ldn patient add | list | show``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

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
from .lazy import Lazy, LazyGroup

# The records (pydantic models) and the store (SQLAlchemy) are imported inside each command,
# so that `ldn --help` starts fast.


class PatientGroup(LazyGroup):
    """``ldn patient``: each verb is built when it runs (or shows its help), so that
    ``ldn patient list`` does not build ``add`` (Typer reads every option of a command it
    builds). The help is each verb's first help paragraph, as ``ldn patient --help`` lists it."""

    lazy_commands = {
        "add": Lazy("patient_cmd", "add", "Add one patient."),
        "list": Lazy("patient_cmd", "list_patients", "List patients."),
        "show": Lazy(
            "patient_cmd",
            "show",
            "Show a patient's timeline: exposures, relapses, EDSS and diary entries in date order.",
        ),
    }


patient_app = typer.Typer(
    help="Add, list and show patients.", no_args_is_help=True, cls=PatientGroup
)


@handle_errors
def add(
    patient_id: Annotated[str, typer.Argument(help="Pseudonymous id, e.g. P0001 (no names).")],
    year_of_birth: Annotated[int, typer.Option("--year-of-birth", help="Year of birth.")],
    phenotype: Annotated[str, typer.Option(help="CIS, RRMS, SPMS or PPMS (Lublin 2014).")],
    sex: Annotated[str, typer.Option(help="female, male, other or unknown.")] = "unknown",
    first_symptoms: Annotated[
        dt.datetime | None, typer.Option("--first-symptoms", formats=["%Y-%m-%d"])
    ] = None,
    diagnosis: Annotated[
        dt.datetime | None, typer.Option("--diagnosis", formats=["%Y-%m-%d"])
    ] = None,
    clinician: Annotated[str | None, typer.Option(help="Treating clinician id.")] = None,
    site: Annotated[str | None, typer.Option(help="Site id.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add one patient."""
    from ..domain.models import Patient
    from ..domain.validation import parse_record
    from ..store.uow import UnitOfWork

    record = parse_record(
        Patient,
        {
            "patient_id": patient_id,
            "year_of_birth": year_of_birth,
            "phenotype": phenotype,
            "sex": sex,
            "first_symptoms_date": first_symptoms.date() if first_symptoms else None,
            "diagnosis_date": diagnosis.date() if diagnosis else None,
            "clinician_id": clinician,
            "site_id": site,
        },
    )
    engine = engine_for(db)
    with UnitOfWork(engine, actor="cli") as uow:
        stored = uow.registry.add(record)
        uow.commit()
    if json_output:
        print_json(stored.model_dump(mode="json"))
    else:
        console.print(f"added patient {user_text(record.patient_id)}")  # the key given is stored


@handle_errors
def list_patients(
    clinician: Annotated[str | None, typer.Option(help="Only this clinician's patients.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """List patients."""
    # A plain SQLite registry is read without SQLAlchemy or the record models, so the list
    # starts fast; anything else (or anything unusual) is read the ordinary way.
    from ..store.plain_sqlite import patient_listing

    patients = patient_listing(database_url(db), clinician_id=clinician)
    if patients is None:
        from ..reports.patient_view import patient_list

        patients = patient_list(engine_for(db), clinician_id=clinician)
    if json_output:
        print_json(patients)
        return
    table = PlainTable(title=f"{len(patients)} patients")
    for column in ("id", "born", "sex", "phenotype", "diagnosed", "clinician"):
        table.add_column(column)
    for p in patients:
        table.add_row(
            p["patient_id"],
            str(p["year_of_birth"]),
            p["sex"],
            p["phenotype"],
            p["diagnosis_date"] or "-",
            p["clinician_id"] or "-",
        )
    console.print(table)


@handle_errors
def show(
    patient_id: Annotated[str, typer.Argument(help="Patient id.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show a patient's timeline: exposures, relapses, EDSS and diary entries in date order."""
    from ..reports.patient_view import patient_detail
    from ..store.audit import audit_event

    engine = engine_for(db)
    detail = patient_detail(engine, patient_id)
    audit_event(engine, actor="cli", action="read", table="patients", key=patient_id)
    if json_output:
        print_json(detail)
        return
    p = detail["patient"]
    console.print(
        f"[bold]{p['patient_id']}[/]  {p['phenotype']}, born {p['year_of_birth']}, {p['sex']}"
        + (f", diagnosed {p['diagnosis_date']}" if p["diagnosis_date"] else ""),
        highlight=False,
    )
    table = PlainTable(title="Timeline")
    table.add_column("date")
    table.add_column("event")
    table.add_column("details")
    for event in detail["timeline"]:
        table.add_row(event["date"], event["kind"].replace("_", " "), event["summary"])
    console.print(table)
    _print_clinical(detail["clinical"])


def _print_clinical(clinical: dict) -> None:
    if clinical["scores"]:
        scores = PlainTable(title="Questionnaire scores")
        for column in ("date", "instrument", "total"):
            scores.add_column(column)
        for row in clinical["scores"]:
            scores.add_row(
                row["date"], f"{row['instrument']} v{row['version']}", f"{row['total']:g}"
            )
        console.print(scores)
    if clinical["relapses"]:
        relapses = PlainTable(title="Relapse reports (McDonald criteria: >= 24 h, no fever)")
        for column in ("onset", "status", "why"):
            relapses.add_column(column)
        for row in clinical["relapses"]:
            relapses.add_row(row["onset_date"], row["status"], "; ".join(row["reasons"]) or "-")
        console.print(relapses)
    progression = clinical["progression"]
    if progression["events"]:
        events = PlainTable(title="Confirmed disability events (EDSS)")
        for column in ("date", "event", "type", "EDSS", "from", "confirmed"):
            events.add_column(column)
        for e in progression["events"]:
            events.add_row(
                e["date"],
                e["kind"],
                e["type"] or "-",
                f"{e['score']:g}",
                f"{e['baseline_score']:g}",
                e["confirmed_on"],
            )
        console.print(events)
    elif progression["censor_reason"]:
        console.print(
            f"No confirmed disability worsening; censored {progression['censor_date']}: "
            f"{progression['censor_reason']}",
            highlight=False,
        )
