"""``ldn demo build``: a demo registry for ``make run`` with one sign-in per role (built by
:func:`ldn_outcomes.services.demo.build_demo`)."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (
    DbOption,
    JsonOption,
    PlainTable,
    console,
    database_url,
    handle_errors,
    print_json,
)

# The demo service (numpy, the simulator, the store) is imported inside the command, so that
# `ldn --help` starts fast.

demo_app = typer.Typer(
    help="Build a demo registry with one account per role.", no_args_is_help=True
)


@demo_app.command("build")
@handle_errors
def build(
    db: DbOption = None,
    patients: Annotated[int, typer.Option(help="Simulated patients (0: none).")] = 300,
    years: Annotated[float, typer.Option(help="Simulated years of follow-up.")] = 5.0,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 1,
    password: Annotated[
        str | None,
        typer.Option(
            help="One password for every demo account (default: the published demo password, "
            "which the web app accepts only in demo mode, LDN_DEMO=1)."
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create (or migrate) the database, load the demo registry, print the sign-ins."""
    from ..services.demo import DEMO_PASSWORD, build_demo
    from ..store import migrate
    from ..store.db import make_engine

    engine = make_engine(database_url(db))
    try:
        migrate.upgrade(engine)
        with console.status("building the demo registry..."):
            result = build_demo(
                engine,
                patients=patients,
                years=years,
                seed=seed,
                password=password or DEMO_PASSWORD,
            )
    finally:
        engine.dispose()
    if json_output:
        print_json(result)
        return
    total = result["simulated"].get("patients", 0) + result["hand_written_patients"]
    console.print(
        f"demo registry: {total} patients "
        f"({result['simulated'].get('patients', 0)} simulated, seed {seed})"
    )
    table = PlainTable(title="Demo sign-ins (demo data only)")
    for column in ("role", "e-mail", "password"):
        table.add_column(column)
    for login in result["logins"]:
        table.add_row(login["role"], login["email"], login["password"])
    console.print(table)
    console.print(
        "start the app in demo mode with: LDN_DEMO=1 ldn serve" + (f" --db {db}" if db else "")
    )
