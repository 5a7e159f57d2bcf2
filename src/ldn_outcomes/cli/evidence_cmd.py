"""``ldn evidence sync | import | changes | list | show | claims | meta | publish``
(``export-edits`` is in :mod:`.evidence_edits_cmd`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from ..errors import ValidationFailed
from .common import (
    DbOption,
    JsonOption,
    PlainTable,
    console,
    engine_for,
    err_console,
    handle_errors,
    print_json,
)
from .evidence_print import print_claim, print_claims, print_import_report, print_meta, print_study

if TYPE_CHECKING:
    from sqlalchemy import Engine


# The evidence modules (the store, httpx, numpy, scipy) are imported inside each command, so
# that `ldn --help` starts fast.

evidence_app = typer.Typer(
    help="The evidence hub: LDN studies, claims, registry changes and pooled results.",
    no_args_is_help=True,
)


@contextmanager
def _engine(db: str | None) -> Iterator[Engine]:
    """The registry mirror (must be initialised), closed afterwards."""
    engine = engine_for(db)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _maybe_engine(db: str | None) -> Iterator[Engine | None]:
    """The mirror when --db (or LDN_DATABASE_URL) is given; else None: the catalogue alone."""
    if not db:
        yield None
        return
    with _engine(db) as engine:
        yield engine


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
    )


@evidence_app.command("sync")
@handle_errors
def sync_command(
    intervention: Annotated[
        str, typer.Option(help="ClinicalTrials.gov intervention.")
    ] = "naltrexone",
    condition: Annotated[
        str | None, typer.Option(help="Condition, e.g. 'multiple sclerosis'.")
    ] = None,
    pubmed_term: Annotated[
        str | None, typer.Option(help="PubMed query (default: LDN terms).")
    ] = None,
    save_dir: Annotated[Path | None, typer.Option(help="Keep every raw response here.")] = None,
    ncbi_api_key: Annotated[
        str | None,
        typer.Option(
            envvar="NCBI_API_KEY",
            help="NCBI API key (10 requests/s instead of 3).",
            show_default=False,
        ),
    ] = None,
    ncbi_email: Annotated[
        str | None,
        typer.Option(
            envvar="NCBI_EMAIL",
            help="Contact email sent with every E-utilities request, as NCBI asks.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Fetch LDN trials from ClinicalTrials.gov and papers from PubMed (network)."""
    from ..evidence.ctgov import CtGovClient
    from ..evidence.pubmed import PubMedClient
    from ..evidence.sync import sync

    if not ncbi_email:
        err_console.print(
            "[yellow]warning:[/] no --ncbi-email (or NCBI_EMAIL): NCBI asks E-utilities users "
            "to send a contact email with every request"
        )
    ctgov, pubmed = CtGovClient(), PubMedClient(api_key=ncbi_api_key, email=ncbi_email)
    try:
        with _engine(db) as engine, _progress() as progress:
            tasks: dict[str, TaskID] = {}

            def step(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(stage, total=total)
                progress.update(tasks[stage], completed=done, total=total)

            report = sync(
                engine,
                ctgov=ctgov,
                pubmed=pubmed,
                intervention=intervention,
                condition=condition,
                pubmed_term=pubmed_term,
                save_dir=save_dir,
                progress=step,
            )
    finally:
        ctgov.close()
        pubmed.close()
    print_import_report(report, json_output)


@evidence_app.command("import")
@handle_errors
def import_command(
    files: Annotated[
        list[Path], typer.Argument(help="Saved ClinicalTrials.gov JSON or PubMed XML.")
    ],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Import saved API responses offline; bad records are reported and skipped."""
    from ..evidence.sync import import_files

    with _engine(db) as engine, _progress() as progress:
        task = progress.add_task("files", total=len(files))
        report = import_files(
            engine, files, progress=lambda _s, done, _t: progress.update(task, completed=done)
        )
    print_import_report(report, json_output)


@evidence_app.command("changes")
@handle_errors
def changes_command(
    since: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD (UTC).")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Registry changes (new studies, status changes, results, links) since a date."""
    from ..evidence import mirror

    with _engine(db) as engine:
        events = mirror.changes_since(engine, since.date())
    if json_output:
        print_json([e.model_dump(mode="json") for e in events])
        return
    table = PlainTable(title=f"Changes since {since.date()}")
    for column in ("when (UTC)", "kind", "key", "what"):
        table.add_column(column)
    for event in events:
        table.add_row(
            event.at.strftime("%Y-%m-%d %H:%M"), event.kind.value, event.key, escape(event.summary)
        )
    console.print(table)


@evidence_app.command("list")
@handle_errors
def list_command(
    condition: Annotated[str | None, typer.Option(help="e.g. MS, fibromyalgia, Crohn.")] = None,
    design: Annotated[str | None, typer.Option(help="e.g. parallel_rct, crossover_rct.")] = None,
    level: Annotated[str | None, typer.Option(help="Evidence level, e.g. 2.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """The catalogue, newest first."""
    from ..evidence import edits, views

    with _maybe_engine(db) as engine:
        data = views.evidence_index(
            edits.current(engine)[0],
            engine,
            condition=condition,
            design=design,
            evidence_level=level,
        )
    if json_output:
        print_json(data["studies"])
        return
    # Readable at 80 columns: long ids fold onto a second line rather than being cut with an
    # ellipsis (they are what `show` takes), codes wrap as words, the title takes the rest.
    table = PlainTable(title=f"{data['count']} studies", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", overflow="fold", max_width=18)
    for column in ("year", "N", "level"):
        table.add_column(column, no_wrap=True)
    for column in ("design", "condition"):
        table.add_column(column, overflow="fold", max_width=12)
    table.add_column("title", overflow="fold")
    for s in data["studies"]:
        table.add_row(
            s["id"],
            str(s["year"] or ""),
            str(s["n_enrolled"] or ""),
            s["evidence_level"] or "",
            (s["design"] or "").replace("_", " "),
            s["condition"],
            escape(s["title"] or ""),
        )
    console.print(table)


@evidence_app.command("show")
@handle_errors
def show_command(
    ident: Annotated[str, typer.Argument(help="Catalogue id, NCT id or PMID.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """One study in capsule form, with its sourced fields."""
    from ..evidence import edits, views

    with _maybe_engine(db) as engine:
        data = views.study_detail(edits.current(engine)[0], ident, engine)
    if json_output:
        print_json(data)
        return
    print_study(data)


@evidence_app.command("meta")
@handle_errors
def meta_command(
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome id (see --list).")] = "",
    csv_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--csv",
            help="Pool your own studies from this CSV (2x2 counts or estimates with 95% CIs; "
            "layout in docs/evidence-hub.md) instead of the catalogue. Repeat to pool several "
            "files as one, e.g. the site summaries of a network (docs/deployment.md).",
        ),
    ] = None,
    method: Annotated[str, typer.Option(help="REML, DL or PM.")] = "REML",
    svg: Annotated[Path | None, typer.Option(help="Write the forest plot SVG here.")] = None,
    list_outcomes: Annotated[bool, typer.Option("--list", help="List outcome ids.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Random-effects meta-analysis of one outcome; studies left out are listed with why."""
    from ..evidence import catalogue as cat
    from ..evidence.pooling import pool_outcome
    from ..evidence.publish import report_page_data
    from ..evidence.user_studies import pool_csv
    from ..stats.random_effects import METHODS

    if method.upper() not in METHODS:
        raise ValidationFailed([], f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    if csv_files and (outcome or list_outcomes):
        raise ValidationFailed([], "give --csv or --outcome/--list, not both")
    if csv_files:
        report = pool_csv(csv_files, method=method)
    else:
        catalogue = cat.load_catalogue()
        if list_outcomes or not outcome:
            ids = cat.outcome_ids(catalogue)
            if json_output:
                print_json(ids)
            else:
                console.print("\n".join(ids) or "no poolable outcomes in the catalogue")
            return
        report = pool_outcome(catalogue, outcome, method=method)
    data, picture = report_page_data(report)
    if svg is not None:
        svg.write_text(picture, encoding="utf-8")
    if json_output:
        print_json(data)
        return
    print_meta(report, data)


@evidence_app.command("publish")
@handle_errors
def publish_command(
    directory: Annotated[Path, typer.Argument(help="Where to write the static site.")],
    site_url: Annotated[str, typer.Option(help="Public URL of the site (for the feed).")] = "",
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the evidence hub as a static site (plain HTML + CSS)."""
    from ..evidence import edits
    from ..evidence.publish import publish_site

    with _maybe_engine(db) as engine:
        catalogue, register = edits.current(engine)
        report = publish_site(directory, catalogue, register, engine, site_url=site_url)
    if json_output:
        print_json(report.as_dict())
        return
    console.print(
        f"wrote {len(report.pages)} files to {directory} (open {directory / 'index.html'})"
    )


@evidence_app.command("claims")
@handle_errors
def claims_command(
    ident: Annotated[
        str | None, typer.Argument(help="A claim id: show that claim (else list them all).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """The claims register: each claim with its verdict and the certainty of its evidence."""
    from ..evidence import catalogue as cat
    from ..evidence import views

    register = cat.load_claims()
    if ident is None:
        data = views.claims_index(register)
        if json_output:
            print_json(data)
            return
        print_claims(data)
        return
    detail = views.claim_detail(register, cat.load_catalogue(), ident)
    if json_output:
        print_json(detail)
        return
    print_claim(detail)
