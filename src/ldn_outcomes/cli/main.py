"""The ``ldn`` command: one Typer app; each feature registers its commands here."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from .lazy import Lazy, LazyGroup


class LdnGroup(LazyGroup):
    """The ``ldn`` group: each feature's commands live in their own module, imported only when
    one of them runs (or shows its help), so that ``ldn --help`` starts at once. The help
    here is each command's first help paragraph, as ``ldn --help`` lists it."""

    lazy_commands = {
        "score": Lazy("instruments_cmd", "score", "Score one set of answers."),
        "simulate": Lazy(
            "simulate_cmd",
            "simulate",
            "Simulate an MS registry with known true LDN effects (default: none), to --out or "
            "--db.",
        ),
        "analyze": Lazy(
            "analyze_cmd",
            "analyze",
            "Run every outcome analysis and print each headline with its 95% CI.",
        ),
        "report": Lazy(
            "analyze_cmd",
            "report",
            "Write the cohort report: one self-contained HTML file (inline SVG, no CDN).",
        ),
        "backup": Lazy(
            "backup_cmd",
            "backup_command",
            "Back up the whole database (every table: records, accounts, care links, tokens, "
            "n-of-1\ntrials, the audit trail) as it was at one instant, while the app keeps "
            "serving.",
        ),
        "restore": Lazy(
            "backup_cmd",
            "restore_command",
            "Restore a backup into an empty database (run `ldn init` on it first); all or "
            "nothing.\nA SQLite backup restores into PostgreSQL and back.",
        ),
        "init": Lazy(
            "registry_cmd", "init", "Create the database, or migrate it to the current schema."
        ),
        "import": Lazy(
            "registry_cmd",
            "import_command",
            "Import registry CSV files, FHIR R4 Bundles or a REDCap export; all or nothing (one "
            "bad\nrow writes nothing).",
        ),
        "export": Lazy(
            "registry_cmd",
            "export_command",
            "Export the registry as CSV files in the layout import reads, as FHIR R4 Bundles\n"
            "(--format fhir: one Bundle per patient), as a REDCap project (--format redcap: data"
            "\ndictionary and data) or as OMOP CDM v5.4 tables (--format omop: one <table>.csv "
            "each, and\nwith --omop-url also into that database).",
        ),
        "serve": Lazy(
            "registry_cmd", "serve", "Serve the web app (pages, JSON API, OpenAPI at /docs)."
        ),
    }
    lazy_groups = {
        "patient": Lazy("patient_cmd", "patient_app", "Add, list and show patients."),
        "record": Lazy(
            "record_cmd",
            "record_app",
            "Add, list, correct (with a reason), remove (with a reason) and trace any record.",
        ),
        "regimen": Lazy(
            "record_cmd", "regimen_app", "Change the LDN dose or stop LDN in one step."
        ),
        # evidence_edits_cmd imports evidence_app and adds its export-edits verb to it
        "evidence": Lazy(
            "evidence_edits_cmd",
            "evidence_app",
            "The evidence hub: LDN studies, claims, registry changes and pooled results.",
        ),
        "instruments": Lazy(
            "instruments_cmd", "instruments_app", "List and show the validated instruments."
        ),
        "dose": Lazy("instruments_cmd", "dose_app", "Naltrexone dose tools."),
        "nof1": Lazy(
            "nof1_cmd",
            "nof1_app",
            "Personal n-of-1 trials: blinded, randomised LDN vs placebo for one patient.",
        ),
        "users": Lazy(
            "users_cmd", "users_app", "Web accounts: add, list, link to patients, API tokens."
        ),
        "demo": Lazy("demo", "demo_app", "Build a demo registry with one account per role."),
        "audit": Lazy("backup_cmd", "audit_app", "The audit trail: append-only, hash-chained."),
        "redcap": Lazy(
            "redcap_cmd",
            "redcap_app",
            "REDCap: the registry's data dictionary, and mapping a clinic's dictionary onto it.",
        ),
    }


app = typer.Typer(
    name="ldn",
    help="LDN Outcomes: a registry and evidence toolkit for low-dose naltrexone in MS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LdnGroup,
)


def _version(value: bool) -> None:
    if value:
        from .common import console

        console.print(f"ldn {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """LDN Outcomes command line."""
