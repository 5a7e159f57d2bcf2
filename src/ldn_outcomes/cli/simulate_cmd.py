"""``ldn simulate``: a synthetic MS registry with known truth, to files or into a database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..errors import ConfigurationError
from .common import JsonOption, PlainTable, console, err_console, handle_errors, print_json

# The simulator (numpy, pandas) and the store are imported inside the command, so that
# `ldn --help` starts fast.


def _progress() -> Progress:
    """On stderr, so that ``--json`` output on stdout stays clean."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


@handle_errors
def simulate(
    patients: Annotated[
        int | None, typer.Option(help="Number of patients (default 2000, or the config's).")
    ] = None,
    years: Annotated[
        float | None,
        typer.Option(
            help="Years of follow-up, ending on the end date (default 5, or the config's)."
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Random seed: same seed, same output (default 0, or the config's)."),
    ] = None,
    effect_relapse: Annotated[
        float | None, typer.Option(help="True relapse rate ratio on LDN (1 = no effect).")
    ] = None,
    effect_progression: Annotated[
        float | None,
        typer.Option(help="True hazard ratio of disability worsening on LDN (1 = no effect)."),
    ] = None,
    effect_fatigue: Annotated[
        float | None,
        typer.Option(help="True change in MFIS points on LDN (negative = less fatigue; 0 = none)."),
    ] = None,
    effect_relapse_recovery: Annotated[
        float | None,
        typer.Option(
            help="Ratio of recovery times for attacks on LDN or when LDN is started during an "
            "attack (1 = none)."
        ),
    ] = None,
    heterogeneity: Annotated[
        float | None,
        typer.Option(help="SD of between-patient variation of the effects (log scale; 0 = none)."),
    ] = None,
    confounding: Annotated[
        float | None,
        typer.Option(
            help="Strength of confounding matching cannot remove: log hazard ratio of starting "
            "per SD of a factor the registry does not record, which also improves the later "
            "course (0 = none)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="TOML file of simulation parameters (command-line values win)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Load into this registry database (sqlite:///path or postgresql://...); "
            "an empty database is initialised.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write <kind>.csv files and truth.json into this directory."),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(help="Where to write the truth manifest with --db (default: not written)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Simulate an MS registry with known true LDN effects (default: none), to --out or --db."""
    from ..simulate import (
        SimulationParams,
        load_into_db,
        simulate_registry,
        write_csv_dir,
        write_truth,
    )
    from ..simulate.registry import simulated_months
    from ..store import migrate
    from ..store.db import make_engine

    if (db is None) == (out is None):
        raise ConfigurationError("give exactly one of --db URL or --out DIR")
    params = SimulationParams.from_toml(config) if config else SimulationParams()
    overrides = {
        "patients": patients,
        "years": years,
        "seed": seed,
        "effects__relapse_rate_ratio": effect_relapse,
        "effects__progression_hazard_ratio": effect_progression,
        "effects__fatigue_points": effect_fatigue,
        "effects__relapse_recovery_ratio": effect_relapse_recovery,
        "effects__heterogeneity_sd": heterogeneity,
        "confounding__strength": confounding,
    }
    params = params.replace(**{k: v for k, v in overrides.items() if v is not None})

    with _progress() as progress:
        task = progress.add_task("simulating months", total=simulated_months(params) + 1)
        registry = simulate_registry(params, lambda _k, steps: progress.advance(task, steps))
        total = sum(registry.counts().values())
        write_task = progress.add_task("writing", total=total)

        def advance(kind: str, rows: int) -> None:
            progress.update(write_task, advance=rows, description=f"writing {kind}")

        if out is not None:
            counts = write_csv_dir(registry, out, advance)
            target = str(out)
        else:
            engine = make_engine(db or "")
            if not migrate.current_revisions(engine):
                migrate.upgrade(engine)
            elif not migrate.is_up_to_date(engine):
                raise ConfigurationError("the database needs migrating: run `ldn init` first")
            counts = load_into_db(registry, engine, actor="cli:simulate", progress=advance)
            target = engine.url.render_as_string(hide_password=True)
            if truth is not None:
                write_truth(registry.truth, truth)
    summary = registry.truth["summary"]
    if json_output:
        print_json({"target": target, "seed": params.seed, "rows": counts, "summary": summary})
        return
    table = PlainTable(title=f"Simulated registry -> {target} (seed {params.seed})")
    table.add_column("records")
    table.add_column("rows", justify="right")
    for kind, number in counts.items():
        table.add_row(kind, f"{number:,}")
    console.print(table)
    console.print(
        f"{summary['patients']:,} patients, {summary['ever_on_ldn']:,} ever on LDN, "
        f"{summary['true_relapses']:,} true relapses, {summary['dropped_out']:,} dropped out"
    )
