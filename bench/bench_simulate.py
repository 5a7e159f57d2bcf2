"""Benchmark the simulator: generation, CSV files, and SQLite loading.

Usage: python bench/bench_simulate.py [--patients N] [--years Y] [--skip-db]
Prints the machine, the wall-clock and CPU time of each stage, rows per kind and peak memory
(max RSS). The work is single-threaded, so on an otherwise idle machine wall time is close to
CPU time; when other work shares the cores (see the load average) CPU time is the fairer figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from machine_info import machine

from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry, write_csv_dir
from ldn_outcomes.store import migrate
from ldn_outcomes.store.db import make_engine


def peak_memory_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-db", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    params = SimulationParams(patients=args.patients, years=args.years, seed=args.seed)
    work = Path(tempfile.mkdtemp(prefix="ldn-bench-"))
    try:
        started, cpu0 = time.perf_counter(), time.process_time()
        registry = simulate_registry(params)
        generated, cpu1 = time.perf_counter(), time.process_time()
        counts = write_csv_dir(registry, work / "csv")
        written, cpu2 = time.perf_counter(), time.process_time()
        total = sum(counts.values())
        print(f"patients {args.patients:,} x {args.years:g} years: {total:,} rows")
        for kind, rows in counts.items():
            print(f"  {kind:15s} {rows:>12,}")
        size = sum(f.stat().st_size for f in (work / "csv").iterdir()) / 1e6
        print(f"generate      {generated - started:7.1f} s wall {cpu1 - cpu0:7.1f} s cpu")
        print(
            f"write CSV     {written - generated:7.1f} s wall {cpu2 - cpu1:7.1f} s cpu"
            f"  ({size:,.0f} MB)"
        )
        print(
            f"to files      {written - started:7.1f} s wall {cpu2 - cpu0:7.1f} s cpu"
            "  (target <= 60 s)"
        )
        print(f"peak memory   {peak_memory_gb():7.2f} GB")
        print(f"load average  {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if not args.skip_db:
            engine = make_engine(f"sqlite:///{work / 'registry.sqlite3'}")
            migrate.upgrade(engine)
            del registry
            before, cpu0 = time.perf_counter(), time.process_time()
            registry = simulate_registry(params)
            middle, cpu1 = time.perf_counter(), time.process_time()
            load_into_db(registry, engine, actor="bench")
            loaded, cpu2 = time.perf_counter(), time.process_time()
            print(f"generate      {middle - before:7.1f} s wall {cpu1 - cpu0:7.1f} s cpu")
            print(f"load SQLite   {loaded - middle:7.1f} s wall {cpu2 - cpu1:7.1f} s cpu")
            print(
                f"to SQLite     {loaded - before:7.1f} s wall {cpu2 - cpu0:7.1f} s cpu"
                "  (target <= 120 s)"
            )
            print(f"load average  {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
            print(f"peak memory   {peak_memory_gb():7.2f} GB (whole run)")
            engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
