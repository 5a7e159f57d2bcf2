"""Benchmark the outcome analyses on simulated registries (not a test).

    python bench/bench_analysis.py --patients 10000 30000 100000 [--years 10] [--db]
        [--keep-db DIR]

For each size: simulate (not timed), optionally load into a fresh SQLite file and time the store
read (``analysis.data.frames.load_frames``, what ``ldn analyze`` does) on its own, then time
``run_all`` step by step and report peak memory (max RSS). Both run as ``ldn analyze`` runs
them, with a second process beside for the check-ins and the negative-control matching
(``analysis.data.forked``). Prints the machine as well, and CPU time next to wall time (of this
process only: the second process's CPU time is printed apart): on a machine shared with other
jobs CPU time is the steadier figure.
With ``--keep-db DIR`` the SQLite file is kept as ``DIR/bench-<patients>x<years>.sqlite3`` and
reused by later runs (simulation and load are skipped when it exists).
"""

from __future__ import annotations

import os

from machine_info import machine

# One BLAS thread per process unless told otherwise: the models here solve many tiny systems,
# where multi-threaded BLAS only adds contention (3x slower on a loaded 2-core machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import pickle  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from ldn_outcomes.analysis import AnalysisPlan, run_all  # noqa: E402
from ldn_outcomes.analysis.data.frames import load_frames  # noqa: E402
from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry  # noqa: E402
from ldn_outcomes.store import migrate  # noqa: E402
from ldn_outcomes.store.db import make_engine  # noqa: E402


def peak_gb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024 / 1024


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def analyse(path: str) -> None:
    """Child process: read the frames (from the SQLite file, timed: this is what ``ldn analyze``
    does, or from a pickle), then time run_all; its peak memory is that of the analysis run."""
    if path.endswith(".sqlite3"):
        engine = make_engine(f"sqlite:///{path}")
        t, cpu, worker = time.perf_counter(), time.process_time(), child_cpu()
        frames = load_frames(engine, parallel=True)
        print(
            f"  store read (analysis.data.frames.load_frames, SQLite): "
            f"{time.perf_counter() - t:.1f} s (CPU {time.process_time() - cpu:.1f} s, "
            f"second process {child_cpu() - worker:.1f} s)",
            flush=True,
        )
        engine.dispose()
    else:
        with open(path, "rb") as handle:
            frames = pickle.load(handle)
    loaded = peak_gb()
    timings: dict[str, float] = {}
    t, cpu, worker = time.perf_counter(), time.process_time(), child_cpu()
    results = run_all(frames, AnalysisPlan(), timings, parallel=True)
    total = time.perf_counter() - t
    steps = ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
    print(
        f"  run_all: {total:.1f} s (CPU {time.process_time() - cpu:.1f} s, second process "
        f"{child_cpu() - worker:.1f} s; {steps})"
    )
    print(f"  load average now: {os.getloadavg()[0]:.1f}")
    print(
        f"  peak memory: {peak_gb():.2f} GB (frames loaded: {loaded:.2f} GB); second "
        f"process {peak_gb(resource.RUSAGE_CHILDREN):.2f} GB (pages shared with this one "
        "count in both)"
    )
    matched = results["matched"]
    if matched.status != "insufficient_data":
        pop = matched.population
        print(
            f"  matching: {pop['n_patients']:,} users against {pop['candidate_snapshots']:,} "
            f"candidate snapshots, {pop['n_matched']:,} matched, {timings['matching']:.1f} s"
        )
    head = results["relapses"].headline
    if head is not None:
        print(
            f"  relapses headline: {head.label} {head.value:.2f} "
            f"({head.ci_low:.2f}-{head.ci_high:.2f})"
        )


def run(patients: int, years: int, with_db: bool, keep_db: str | None = None) -> None:
    if keep_db:
        Path(keep_db).mkdir(parents=True, exist_ok=True)
        kept = Path(keep_db) / f"bench-{patients}x{years}.sqlite3"
        if kept.exists():
            print(f"\n{patients:,} patients, {years} years: reusing {kept.name}", flush=True)
            subprocess.run([sys.executable, __file__, "--analyse", str(kept)], check=True)
            return
    began = time.perf_counter()
    registry = simulate_registry(SimulationParams(patients=patients, years=years, seed=42))
    frames = registry.frames
    rows = sum(len(f) for f in frames.values())
    users = int(frames["exposures"].query("drug_class == 'ldn'")["patient_id"].nunique())
    print(
        f"\n{patients:,} patients, {years} years: {rows:,} rows ({users:,} LDN users), "
        f"simulated in {time.perf_counter() - began:.1f} s",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        if with_db or keep_db:
            path = str(Path(tmp) / "bench.sqlite3")
            engine = make_engine(f"sqlite:///{path}")
            migrate.upgrade(engine)
            t = time.perf_counter()
            load_into_db(registry, engine)
            print(
                f"  load into SQLite: {time.perf_counter() - t:.1f} s (not part of analyze)",
                flush=True,
            )
            engine.dispose()  # the last connection closing checkpoints the WAL into the file
            if keep_db:  # kept only once fully loaded, so a reused file is never partial
                path = shutil.move(path, Path(keep_db) / f"bench-{patients}x{years}.sqlite3")
        else:
            path = str(Path(tmp) / "frames.pickle")
            with open(path, "wb") as handle:
                pickle.dump(frames, handle, protocol=pickle.HIGHEST_PROTOCOL)
        del registry, frames
        subprocess.run([sys.executable, __file__, "--analyse", str(path)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--db", action="store_true", help="also load into SQLite and time the read")
    parser.add_argument(
        "--keep-db", metavar="DIR", help="keep the SQLite file in DIR and reuse it on later runs"
    )
    parser.add_argument("--analyse", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.analyse:
        analyse(args.analyse)
        return
    print(machine())
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    for patients in args.patients:
        run(patients, args.years, args.db, args.keep_db)


if __name__ == "__main__":
    main()
