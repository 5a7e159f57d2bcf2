"""Benchmark ``ldn export``: time and peak memory of each format at growing registry sizes.

Usage: python bench/bench_export.py [--patients 10000 100000]
                                    [--formats csv fhir fhir-ndjson omop redcap]
                                    [--workdir DIR] [--keep]

For each size a simulated registry (``ldn simulate``'s defaults: 5 years, seed 1) is loaded
into a SQLite file in the work directory (reused if already there), then every format is
exported by ``ldn export`` in a fresh process, which reports its own wall-clock time, CPU time
and peak memory (max RSS), so one export's memory never hides another's. Prints the machine
first. Exports stream (see ``ldn_outcomes.store.streams``), so peak memory should stay nearly
flat as the registry grows while time grows with it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from machine_info import machine

#: Run in a fresh interpreter: one export, then its own figures as JSON on the last line.
CHILD = """
import json, resource, sys, time
from typer.testing import CliRunner
from ldn_outcomes.cli.main import app
db, out, fmt = sys.argv[1:4]
started, cpu = time.perf_counter(), time.process_time()
result = CliRunner().invoke(app, ["export", out, "--db", db, "--format", fmt, "--json"])
if result.exit_code != 0:
    raise SystemExit(result.output)
figures = {
    "seconds": time.perf_counter() - started,
    "cpu_seconds": time.process_time() - cpu,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "exported": json.loads(result.stdout)["exported"],
}
print(json.dumps(figures))
"""


def registry(workdir: Path, patients: int) -> str:
    """A SQLite registry of ``patients`` simulated patients (made once, then reused)."""
    path = workdir / f"registry-{patients}.sqlite3"
    url = f"sqlite:///{path}"
    if not path.exists():
        command = [sys.executable, "-c", "from ldn_outcomes.cli.main import app; app()", "simulate"]
        command += ["--patients", str(patients), "--seed", "1", "--db", url, "--json"]
        subprocess.run(command, check=True, capture_output=True)
    return url


def export(url: str, out: Path, file_format: str) -> dict[str, object]:
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(out), file_format],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["output_mb"] = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    return figures


def summary(exported: object) -> str:
    if isinstance(exported, dict):
        if "tables" in exported:  # omop: rows per table, and what was left out
            return f"{sum(exported['tables'].values()):,} rows"
        if "records" in exported:  # redcap: records (patients) and their data rows
            return f"{exported['records']:,} records in {exported['rows']:,} rows"
        if "resources" in exported:
            return f"{exported['resources']:,} resources"
        return f"{sum(exported.values()):,} {'resources' if 'Patient' in exported else 'rows'}"
    return str(exported)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--formats", nargs="+", default=["csv", "fhir", "fhir-ndjson", "omop", "redcap"]
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    print(f"machine: {machine(f'SQLite {sqlite3.sqlite_version}')}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ldn-bench-export-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for patients in args.patients:
            url = registry(workdir, patients)
            for file_format in args.formats:
                figures = export(url, workdir / f"out-{patients}-{file_format}", file_format)
                print(
                    f"{patients:>7,} patients  {file_format:<11}  "
                    f"{figures['seconds']:8.1f} s wall  {figures['cpu_seconds']:8.1f} s cpu  "
                    f"peak RSS {figures['peak_rss_mb']:7.0f} MB  "
                    f"output {figures['output_mb']:7.0f} MB  {summary(figures['exported'])}",
                    flush=True,
                )
                shutil.rmtree(workdir / f"out-{patients}-{file_format}", ignore_errors=True)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
