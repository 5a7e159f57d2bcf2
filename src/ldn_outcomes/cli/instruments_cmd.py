"""``ldn instruments list|show``, ``ldn score`` and ``ldn dose liquid|check``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import Problem, ValidationFailed
from .common import JsonOption, PlainTable, console, handle_errors, print_json

if TYPE_CHECKING:
    from ..domain.instruments.model import InstrumentDefinition

# The instrument definitions (pydantic models, built when imported) are imported inside each
# command, so that `ldn --help` starts fast.

instruments_app = typer.Typer(help="List and show the validated instruments.", no_args_is_help=True)
dose_app = typer.Typer(help="Naltrexone dose tools.", no_args_is_help=True)

VersionOption = Annotated[
    str | None, typer.Option("--version", help="Pin an instrument version (default: latest).")
]
BLANKS = {"", "-", "na", "n/a", "none", "blank"}


def parse_answers(text: str) -> list[int | float | None]:
    """'3,4,,2' -> [3, 4, None, 2]; an empty or '-'/'na' entry is a blank, never 0."""
    answers: list[int | float | None] = []
    problems: list[Problem] = []
    for position, raw in enumerate(text.split(","), start=1):
        token = raw.strip()
        if token.lower() in BLANKS:
            answers.append(None)
            continue
        try:
            number = float(token)
        except ValueError:
            problems.append(
                Problem("answers", f"item {position}", f"answer {token!r} is not a number")
            )
            answers.append(None)
            continue
        answers.append(int(number) if number.is_integer() else number)
    if problems:
        raise ValidationFailed(problems)
    return answers


def _summary(d: InstrumentDefinition) -> dict[str, Any]:
    return {
        "id": d.id,
        "version": d.version,
        "name": d.name,
        "items": len(d.items),
        "scoring": d.scoring,
        "ship_wording": d.licence.ship_wording,
        "mcid": d.mcid.value if d.mcid else None,
        "loinc": d.loinc,
    }


@instruments_app.command("list")
@handle_errors
def list_command(json_output: JsonOption = False) -> None:
    """All instruments (latest versions) with scoring rule and licence flag."""
    from ..domain.instruments import list_instruments

    definitions = list_instruments()
    if json_output:
        print_json([_summary(d) for d in definitions])
        return
    table = PlainTable(title="Instruments")
    for column in ("id", "version", "name", "items", "scoring", "wording shipped", "MCID"):
        table.add_column(column)
    for d in definitions:
        mcid = f"{d.mcid.value:g} {d.mcid.unit}" if d.mcid else "-"
        table.add_row(
            d.id,
            d.version,
            d.name,
            str(len(d.items)),
            d.scoring,
            "yes" if d.licence.ship_wording else "no (placeholders)",
            mcid,
        )
    console.print(table)


@instruments_app.command("show")
@handle_errors
def show_command(
    instrument_id: Annotated[str, typer.Argument(help="Instrument id, e.g. mfis.")],
    version: VersionOption = None,
    json_output: JsonOption = False,
) -> None:
    """Items, ranges, subscales, missing-item rule, licence and sources of one instrument."""
    from ..domain.instruments import describe_range, get_instrument

    d = get_instrument(instrument_id, version)
    if json_output:
        print_json(d.model_dump(mode="json"))
        return
    console.print(f"[bold]{d.name}[/] ({d.key}); measures: {d.measures}", highlight=False)
    table = PlainTable(title="Items")
    for column in ("#", "key", "label", "answers", "required"):
        table.add_column(column)
    for item in d.items:
        table.add_row(
            str(item.number),
            item.key,
            item.label,
            describe_range(item),
            "yes" if item.required else "no",
        )
    console.print(table)
    for name, members in d.subscales.items():
        console.print(f"subscale {name}: items {', '.join(map(str, members))}", highlight=False)
    console.print(f"missing items: {d.missing.rule}", highlight=False)
    if d.mcid:
        console.print(f"MCID: {d.mcid.value:g} {d.mcid.unit} ({d.mcid.note})", highlight=False)
    console.print(f"LOINC: {d.loinc or 'none'} ({d.loinc_note})", highlight=False)
    console.print(f"licence: {d.licence.holder}: {d.licence.terms}", highlight=False)
    sources = PlainTable(title="Sources")
    sources.add_column("citation")
    sources.add_column("locator")
    for s in d.sources:
        locator = "; ".join(
            x for x in (s.pmid and f"PMID {s.pmid}", s.doi and f"doi {s.doi}", s.url) if x
        )
        sources.add_row(s.citation, locator)
    console.print(sources)


@handle_errors
def score_command(
    instrument_id: Annotated[str, typer.Argument(help="Instrument id, e.g. mfis.")],
    answers: Annotated[
        str,
        typer.Option("--answers", help="Comma-separated answers in item order; '' or - = blank."),
    ],
    version: VersionOption = None,
    json_output: JsonOption = False,
) -> None:
    """Score one set of answers."""
    from ..domain.instruments import score as score_answers

    result = score_answers(instrument_id, parse_answers(answers), version)
    if json_output:
        print_json(
            {
                "instrument": result.instrument,
                "version": result.version,
                "total": result.total,
                "subscales": result.subscales,
                "interpretation": result.interpretation,
                "missing_items": list(result.missing_items),
            }
        )
        return
    table = PlainTable(title=f"{result.instrument}-{result.version}")
    table.add_column("score")
    table.add_column("value", justify="right")
    table.add_row("total", "-" if result.total is None else f"{result.total:g}")
    for name, value in result.subscales.items():
        table.add_row(name, f"{value:g}")
    console.print(table)
    console.print(result.interpretation, highlight=False)


#: Registered by main.py as ``app.command("score")(score)``.
score = score_command


@dose_app.command("liquid")
@handle_errors
def liquid_command(
    tablet_mg: Annotated[float, typer.Option("--tablet-mg", help="Tablet strength in mg.")],
    water_ml: Annotated[
        float, typer.Option("--water-ml", help="Water the tablet is dissolved in.")
    ],
    dose_mg: Annotated[float, typer.Option("--dose-mg", help="Target dose in mg.")],
    step_ml: Annotated[float, typer.Option("--step-ml", help="Syringe graduation in ml.")] = 0.1,
    json_output: JsonOption = False,
) -> None:
    """Concentration and volume to draw for liquid LDN, with the dose actually delivered."""
    from ..domain.definitions.dose_safety import check_ldn_dose, liquid_ldn

    result = liquid_ldn(tablet_mg, water_ml, dose_mg, step_ml)
    check = check_ldn_dose(result.delivered_mg)
    if json_output:
        print_json(
            {
                "concentration_mg_per_ml": result.concentration_mg_per_ml,
                "volume_ml": result.volume_ml,
                "delivered_mg": result.delivered_mg,
                "target_mg": result.target_mg,
                "dose_check": check.band,
            }
        )
        return
    table = PlainTable(title="Liquid LDN")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("concentration", f"{result.concentration_mg_per_ml:g} mg/ml")
    table.add_row("draw", f"{result.volume_ml:g} ml")
    table.add_row("delivered dose", f"{result.delivered_mg:g} mg")
    table.add_row("target dose", f"{result.target_mg:g} mg")
    console.print(table)
    console.print(f"{check.message} ({check.source})", highlight=False)


@dose_app.command("check")
@handle_errors
def check_command(
    dose_mg: Annotated[float, typer.Option("--dose-mg", help="Daily naltrexone dose in mg.")],
    json_output: JsonOption = False,
) -> None:
    """Is a daily naltrexone dose within the low-dose range?"""
    from ..domain.definitions.dose_safety import check_ldn_dose

    check = check_ldn_dose(dose_mg)
    if json_output:
        print_json(
            {
                "dose_mg": check.dose_mg,
                "band": check.band,
                "message": check.message,
                "source": check.source,
            }
        )
        return
    console.print(f"{check.message} ({check.source})", highlight=False)
