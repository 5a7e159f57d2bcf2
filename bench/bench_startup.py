"""Benchmark how fast the ``ldn`` command starts (not a test).

    python bench/bench_startup.py [--runs 9]

Times, as separate processes, a bare ``python -c pass``, ``import typer`` (the floor of any
Typer command), ``ldn --help`` and ``ldn patient list`` on an empty, initialised SQLite
registry, and prints the median wall time of each and its ratio to the bare start.

Commands import the analysis stack (pandas, scipy, statsmodels, lifelines), the store and the
web app only when they run, so ``ldn --help`` costs little more than Typer itself;
``tests/cli/test_startup.py`` keeps the imports so. ``ldn patient list`` also pays for
SQLAlchemy and the record models (its schema check does without Alembic).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LDN = "from ldn_outcomes.cli.main import app; app()"  # what the ``ldn`` script runs


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.platform()} | Python {platform.python_version()} | "
        f"{os.cpu_count()} CPUs | load average {load:.1f}"
    )


def median_seconds(command: list[str], runs: int) -> tuple[float, float]:
    """The median wall time and CPU time (user + system) of ``runs`` starts, after one
    unmeasured start to warm the caches. On a machine shared with other jobs the CPU time is
    the steadier figure."""
    # Timed as an installed package runs: with bytecode caches, even where they are turned off.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    walls, cpus = [], []
    for run in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if run:
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


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
            "ldn --help": [python, "-c", LDN, "--help"],
            "ldn patient list": [python, "-c", LDN, "patient", "list", "--db", db],
        }
        figures = {name: median_seconds(command, args.runs) for name, command in commands.items()}
    bare_wall, bare_cpu = figures["python -c pass"]
    print(f"median of {args.runs} starts each: wall time, and CPU time (user + system)")
    for name, (wall, cpu) in figures.items():
        print(
            f"  {name:<18} wall {wall * 1000:6.0f} ms ({wall / bare_wall:5.1f} x bare start)"
            f"   CPU {cpu * 1000:6.0f} ms ({cpu / bare_cpu:5.1f} x bare start)"
        )


if __name__ == "__main__":
    main()
