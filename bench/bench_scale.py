"""Benchmark ``ldn analyze`` on PostgreSQL beside SQLite, on the same registry (not a test).

    python bench/bench_scale.py --postgres postgresql://user@host:5432/db \
        [--patients 100000] [--years 10] [--seed 7] [--repeat 1]

Simulates one registry (seeded; not timed), then for each database: ``ldn init``, loads the
registry through the store's bulk path (``load_into_db``, what ``ldn simulate --db`` does:
executemany on SQLite, COPY on PostgreSQL; timed), and runs the whole ``ldn analyze --json``
command in a child process (timed: wall clock, the command's CPU time and, for PostgreSQL, the
server's CPU time). Runs alternate between the databases, so load from other work on the
machine falls on both. Prints the machine, the figures and the PostgreSQL / SQLite ratio, and
checks that both databases give the same headlines.

``--postgres`` names a server to reach, not a database to use: the bench creates its own
database there (``ldn_bench_scale_<pid>``) and drops it at the end. The SQLite file is a
temporary file. ``OPENBLAS_NUM_THREADS`` is set to 1, as in ``bench_analysis.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_multisite import ldn
from machine_info import machine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry
from ldn_outcomes.simulate.registry import SimulatedRegistry
from ldn_outcomes.store.db import make_engine, normalise_url


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu_seconds() -> float:
    """CPU time of the PostgreSQL server processes on this machine, with that of the backends
    they have reaped (a connection's backend exits with it). Counts any other client's work on
    the same server too: an upper bound. 0 when the server runs elsewhere."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            name, fields = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
            if name == "postgres":
                total += sum(int(f) for f in fields.split()[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def create_database(server: str) -> tuple[str, str]:
    """A fresh database on the server: (its URL, its name)."""
    name = f"ldn_bench_scale_{os.getpid()}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(normalise_url(server)).set(database=name).render_as_string(hide_password=False)
    return url, name


def drop_database(server: str, name: str) -> None:
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def load(url: str, registry: SimulatedRegistry, label: str) -> float:
    subprocess.run(ldn("init", "--db", url), check=True, capture_output=True)
    engine = make_engine(url)
    began = time.perf_counter()
    counts = load_into_db(registry, engine)
    took = time.perf_counter() - began
    engine.dispose()
    print(f"  load into {label}: {took:.1f} s ({sum(counts.values()):,} rows)", flush=True)
    return took


def analyze(url: str, label: str, postgres: bool) -> dict:
    cpu, server = children_cpu(), postgres_cpu_seconds() if postgres else 0.0
    began = time.perf_counter()
    done = subprocess.run(
        ldn("analyze", "--db", url, "--json"), check=True, capture_output=True, text=True
    )
    wall = time.perf_counter() - began
    result = json.loads(done.stdout)
    figures = {
        "wall": wall,
        "cpu": children_cpu() - cpu,
        "server_cpu": (postgres_cpu_seconds() - server) if postgres else 0.0,
        "read_store": result["timings_seconds"].get("read_store", float("nan")),
        "headlines": {
            name: [
                (e["key"] if "key" in e else e["label"], e["value"], e["ci"])
                for e in a["estimates"]
            ]
            for name, a in result.items()
            if isinstance(a, dict) and "estimates" in a
        },
    }
    extra = f", PostgreSQL server CPU {figures['server_cpu']:.1f} s" if postgres else ""
    print(
        f"  ldn analyze on {label}: {wall:.1f} s wall, store read {figures['read_store']:.1f} s "
        f"(command CPU {figures['cpu']:.1f} s{extra}; load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="ldn analyze runs per database")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LDN_TEST_POSTGRES_URL"),
        help="PostgreSQL server URL (default: $LDN_TEST_POSTGRES_URL)",
    )
    args = parser.parse_args()
    if not args.postgres:  # `make bench` runs every bench: say why this one did nothing
        print(
            "bench_scale: skipped, no PostgreSQL (give --postgres URL or set LDN_TEST_POSTGRES_URL)"
        )
        return
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    print(machine())
    began = time.perf_counter()
    registry = simulate_registry(
        SimulationParams(patients=args.patients, years=args.years, seed=args.seed)
    )
    rows = sum(registry.counts().values())
    print(
        f"{args.patients:,} patients x {args.years:g} years, seed {args.seed}: {rows:,} rows, "
        f"simulated in {time.perf_counter() - began:.1f} s (not timed below)",
        flush=True,
    )
    pg_url, pg_name = create_database(args.postgres)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            loads = {
                "SQLite": load(sqlite_url, registry, "SQLite"),
                "PostgreSQL": load(pg_url, registry, "PostgreSQL"),
            }
            del registry
            runs: dict[str, list[dict]] = {"SQLite": [], "PostgreSQL": []}
            for _ in range(args.repeat):
                runs["SQLite"].append(analyze(sqlite_url, "SQLite", postgres=False))
                runs["PostgreSQL"].append(analyze(pg_url, "PostgreSQL", postgres=True))
    finally:
        drop_database(args.postgres, pg_name)
    best = {db: min(r["wall"] for r in figures) for db, figures in runs.items()}
    cpu = {db: min(r["cpu"] + r["server_cpu"] for r in figures) for db, figures in runs.items()}
    print(
        f"\nload: SQLite {loads['SQLite']:.1f} s, PostgreSQL {loads['PostgreSQL']:.1f} s, "
        f"ratio {loads['PostgreSQL'] / loads['SQLite']:.2f}"
    )
    print(
        f"ldn analyze (best of {args.repeat}): SQLite {best['SQLite']:.1f} s, PostgreSQL "
        f"{best['PostgreSQL']:.1f} s, ratio {best['PostgreSQL'] / best['SQLite']:.2f}; CPU "
        f"(command + server) SQLite {cpu['SQLite']:.1f} s, PostgreSQL {cpu['PostgreSQL']:.1f} s"
    )
    same = runs["SQLite"][0]["headlines"] == runs["PostgreSQL"][0]["headlines"]
    print(f"same headlines on both databases: {'yes' if same else 'NO'}")
    if not same:
        print(json.dumps({db: r[0]["headlines"] for db, r in runs.items()}, indent=1))
        sys.exit(1)


if __name__ == "__main__":
    main()
