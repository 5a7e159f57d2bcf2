"""Benchmark how fast the ``ldn`` command starts (not a test).

    python bench/bench_startup.py [--runs 9]

Times, as separate processes, a bare ``python -c pass``, ``import typer`` (the floor of any
Typer command), ``import typer`` with Rich's console and table (the floor of a command that
prints a table), ``ldn --help`` and ``ldn patient list`` on an empty, initialised SQLite
registry, and prints the median wall time of each and its ratio to the bare start.

Commands import the analysis stack (pandas, scipy, statsmodels, lifelines), the store and the
web app only when they run, so ``ldn --help`` costs little more than Typer itself;
``tests/cli/test_startup.py`` keeps the imports so. ``ldn patient list`` on a SQLite file
reads it with ``sqlite3`` (``store/plain_sqlite.py``), without SQLAlchemy, the record models
or Typer's Pydantic validators, so it costs little more than Typer and Rich.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import machine

LDN = "from ldn_outcomes.cli.main import app; app()"  # what the ``ldn`` script runs


def _start(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The wall time and CPU time (user + system) of one start."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def median_seconds(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """The median wall time and CPU time (user + system) of ``runs`` starts of each command,
    after one unmeasured start to warm the caches. The commands take turns, so that a change
    in the load of a shared machine weighs on each alike (the ratios are what matter); the
    CPU time is the steadier figure there."""
    # Timed as an installed package runs: with bytecode caches, even where they are turned off.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for run in range(runs + 1):
        for name, command in commands.items():
            measured = _start(command, env)
            if run:
                times[name].append(measured)
    return {
        name: (
            statistics.median(wall for wall, _ in measured),
            statistics.median(cpu for _, cpu in measured),
        )
        for name, measured in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="Timed starts of each command.")
    args = parser.parse_args()
    print(machine())
    python = sys.executable
    with tempfile.TemporaryDirectory() as directory:
        db = f"sqlite:///{Path(directory) / 'startup.sqlite3'}"
        subprocess.run(
            [python, "-c", LDN, "init", "--db", db], check=True, stdout=subprocess.DEVNULL
        )
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "import typer": [python, "-c", "import typer"],  # the floor of any Typer command
            # ... and of one that prints a Rich table
            "import typer, rich": [python, "-c", "import typer, rich.console, rich.table"],
            "ldn --help": [python, "-c", LDN, "--help"],
            "ldn patient list": [python, "-c", LDN, "patient", "list", "--db", db],
        }
        figures = median_seconds(commands, args.runs)
    bare_wall, bare_cpu = figures["python -c pass"]
    print(f"median of {args.runs} starts each: wall time, and CPU time (user + system)")
    for name, (wall, cpu) in figures.items():
        print(
            f"  {name:<20} wall {wall * 1000:6.0f} ms ({wall / bare_wall:5.1f} x bare start)"
            f"   CPU {cpu * 1000:6.0f} ms ({cpu / bare_cpu:5.1f} x bare start)"
        )


if __name__ == "__main__":
    main()
