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
from rich.table import Table

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

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..evidence.pooling import MetaReport
    from ..evidence.sync import ImportReport

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


def _print_report(report: ImportReport, json_output: bool) -> None:
    if json_output:
        print_json(report.as_dict())
        return
    table = PlainTable(title="Evidence import")
    for column in ("new", "updated", "unchanged", "stale", "links", "changes", "skipped"):
        table.add_column(column, justify="right")
    table.add_row(
        *(
            str(v)
            for v in (
                report.new,
                report.updated,
                report.unchanged,
                report.stale,
                report.links,
                len(report.changes),
                len(report.problems),
            )
        )
    )
    console.print(table)
    for change in report.changes[:50]:
        console.print(f"  {change['kind']}: {escape(change['summary'])}", highlight=False)
    if report.problems:
        err_console.print(f"[yellow]{len(report.problems)} record(s) skipped:[/]")
        for problem in report.problems[:50]:
            err_console.print(f"  - {escape(str(problem))}", highlight=False)


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
    _print_report(report, json_output)


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
    _print_report(report, json_output)


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
    study, summary = data["study"], data["summary"]
    console.print(f"[bold]{escape(study.get('title') or study['id'])}[/]")
    console.print(f"{escape(summary['authors'])} ({study.get('year') or 'year unknown'})")
    grading, checked = data["grading"], data["checked"]
    console.print(
        f"design: {study.get('design')}   evidence level given: {summary['evidence_level']}"
        f"   N: {study.get('n_enrolled')}"
    )
    if grading["rated_down"]:
        console.print(
            f"rated down from level {grading['level_for_design']}: {escape(grading['why'] or '')}"
        )
    if data["plain"]:
        console.print(
            f"\n{escape(data['plain']['text'])} (reading age about {data['plain']['reading_age']})"
        )
    console.print(f"\n{escape(study.get('capsule') or 'No capsule yet.')}\n")
    stale = " (more than a year ago)" if checked["stale"] else ""
    console.print(f"last checked: {checked['on'] or 'never'} by {checked['by'] or '—'}{stale}")
    switch = data["outcome_switch"]
    console.print(
        f"outcome switch: {', '.join(switch['flags']) or 'no verdict'} ({switch['method']})"
    )
    for link in data["links"]:
        console.print(f"  {link['label']}: {link['url']}")


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
    _print_meta(report, data)


def _print_meta(report: MetaReport, data: dict) -> None:
    """The pooled result as a reader sees it: ratios as ratios, the scale named; a ratio too
    small for three decimals in significant digits, one beyond a float as e^(its log)."""
    from ..evidence.meta import ratio_text

    def text(shown: float | None, log_value: float | None) -> str:
        if report.ratio:
            return ratio_text(shown, log_value)
        return "—" if shown is None else f"{shown:.3f}"

    result, shown = report.result, data["shown"]
    console.print(f"{report.outcome_id}: {escape(report.scale)}")
    if result is None:
        console.print(f"not pooled: {escape(report.not_pooled_reason or '')}")
    else:
        value = {key: text(shown[key], getattr(result, key)) for key in shown}
        prediction = (  # escaped: "[e^747.0, ...]" would read as console markup
            escape(f"[{value['pi_low']}, {value['pi_high']}]")
            if result.pi_low is not None
            else "needs at least three studies"
        )
        log = " (log scale)" if report.ratio else ""
        console.print(
            f"{report.measure} ({result.method}, k={result.k}): "
            + escape(f"{value['estimate']} [{value['ci_low']}, {value['ci_high']}], ")
            + f"p={result.p:.4f}; 95% prediction interval {prediction}; "
            f"tau²{log}={result.tau2:.4f}, I²={result.i2:.1f}%, "
            f"Q={result.q:.3f} (df {result.q_df}, p={result.q_p:.4f})"
        )
        if result.fallback_reason:
            console.print(f"[bold]Note:[/] {escape(result.fallback_reason)}.")
    for effect in data["included"]:
        estimate, low, high = (
            text(v, log_value)
            for v, log_value in zip(
                effect["shown"], (effect["yi"], effect["ci_low"], effect["ci_high"]), strict=True
            )
        )
        console.print(
            f"  in:  {escape(effect['label'])} {escape(f'{estimate} [{low}, {high}]')} "
            f"from {escape(effect['derived_from'])}"
        )
    for excluded in report.excluded:
        console.print(f"  out: {escape(excluded['study_id'])}: {escape(excluded['reason'])}")
    for note in data["notes"]:
        console.print(f"  {escape(note)}")


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
        table = Table("verdict", "certainty (by outcome)")
        table.add_column("id", no_wrap=True)
        for claim in data["claims"]:
            certainty = "; ".join(f"{a['outcome']}: {a['certainty']}" for a in claim["certainty"])
            table.add_row(claim["verdict"] or "—", escape(certainty or "—"), claim["id"])
        console.print(table)
        console.print(f"{data['count']} claims; `ldn evidence claims ID` shows one.")
        return
    detail = views.claim_detail(register, cat.load_catalogue(), ident)
    if json_output:
        print_json(detail)
        return
    claim, checked = detail["claim"], detail["checked"]
    console.print(f"[bold]{escape(claim.get('claim') or claim['id'])}[/]")
    console.print(f"verdict: {claim.get('verdict') or 'none'}")
    console.print(f"\n{escape(claim.get('verdict_summary') or '')}\n")
    for item in claim["certainty"]:
        console.print(f"[bold]{escape(item['outcome'])}[/]: {item['certainty']} certainty")
        console.print(f"  {escape(item['meaning'])}")
        studies = ", ".join(s["id"] for s in item["studies"]) or "no study"
        console.print(f"  rests on: {escape(studies)} (starting level {item['start']})")
        for reason in item["rated_down"]:
            console.print(
                f"  rated down {reason['levels']} for {reason['domain'].replace('_', ' ')}: "
                f"{escape(reason['reason'])}"
            )
    audit = claim.get("registry_audit")
    note = claim.get("registry_audit_note")
    console.print(f"\nregistry audit: {audit or escape(note or 'none')}")
    stale = " (more than a year ago)" if checked["stale"] else ""
    console.print(f"last checked: {checked['on'] or 'never'} by {checked['by'] or '—'}{stale}")
