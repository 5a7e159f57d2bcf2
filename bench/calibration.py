"""Calibration of every causal headline of ``ldn analyze`` on simulated registries (not a test).

    python bench/calibration.py [--registries 40] [--patients 3000 10000] [--years 6]
        [--scenarios null effect confounded] [--results runs.jsonl [more.jsonl ...]]
        [--summary-only] [--write-report-data]

For each scenario and registry size it simulates ``--registries`` registries (seeds differ by
scenario, size and repetition), runs the whole engine (``run_all``, the default plan) and scores
each headline against the simulator's true estimand (``truth["estimands"]``): coverage of the
95% interval, mean bias with its Monte-Carlo SE (log scale for ratios), and, where the interval
misses the truth, whether the bias diagnostics flagged that headline (its status is
``diagnostics_failed``).

Scenarios: ``null`` (no effect), ``effect`` (relapse rate ratio 0.7, progression hazard ratio
0.7, MFIS -6 points, recovery time ratio 0.7), ``confounded`` (no effect, unmeasured
confounding of strength 1: ``confounding.strength``). "flagged of all" counts the registries
whose headline the diagnostics flagged: under ``null`` and ``effect`` these are false alarms.

Targets (docs/analysis.md): coverage 93-97% and |bias| < 2 Monte-Carlo SE under ``null`` and
``effect``; under ``confounded``, the diagnostics flag at least 80% of the registries whose
headline interval excludes the truth.

Each registry's scores are appended to ``--results`` (JSON lines) as it finishes, so a long run
that is stopped still counts (a rerun skips the registries already scored); ``--summary-only``
prints the table from the files.
``--write-report-data`` writes the per-headline figures the report shows beside each headline
("how often this method was right on simulated registries") into the package.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from ldn_outcomes.analysis import AnalysisPlan, run_all  # noqa: E402
from ldn_outcomes.analysis.headlines import HEADLINES  # noqa: E402
from ldn_outcomes.reports.calibration_data import CALIBRATION_FILE, summarise  # noqa: E402
from ldn_outcomes.simulate import SimulationParams, simulate_registry  # noqa: E402

SCENARIOS: dict[str, dict[str, float]] = {
    "null": {},
    "effect": {
        "effects__relapse_rate_ratio": 0.7,
        "effects__progression_hazard_ratio": 0.7,
        "effects__fatigue_points": -6.0,
        "effects__relapse_recovery_ratio": 0.7,
    },
    "confounded": {"confounding__strength": 1.0},
}


def _estimate(results: dict, headline: str) -> tuple[Any, Any] | None:
    """(estimate, result it belongs to) of one headline, or None when not estimated."""
    spec = HEADLINES[headline]
    result = results[spec["analysis"]]
    found = result.find(spec["key"])
    return None if found is None else (found, result)


def score_registry(scenario: str, patients: int, years: float, seed: int) -> dict[str, Any]:
    params = SimulationParams(patients=patients, years=years, seed=seed).replace(
        **SCENARIOS[scenario]
    )
    registry = simulate_registry(params, with_estimands=True)
    truth = registry.truth["estimands"]
    results = run_all(registry.frames, AnalysisPlan())
    row: dict[str, Any] = {"scenario": scenario, "patients": patients, "seed": seed}
    for headline, spec in HEADLINES.items():
        found = _estimate(results, headline)
        true = truth[spec["truth"]]
        if found is None or true is None:
            row[headline] = None
            continue
        estimate, result = found
        row[headline] = {
            "value": estimate.value,
            "ci": [estimate.ci_low, estimate.ci_high],
            "truth": true,
            "ratio": spec["ratio"],
            "flagged": result.status == "diagnostics_failed",
        }
    row["diagnostics"] = diagnostic_figures(results)
    return row


def diagnostic_figures(results: dict) -> dict[str, Any] | None:
    """What the bias diagnostics saw (so that a changed rule can be scored again without
    simulating): each check's estimate, the balance after matching and the sample sizes."""
    diagnostics = results["diagnostics"]
    if diagnostics.status == "insufficient_data":
        return None
    return {
        "estimates": [
            {
                "label": e.label,
                "key": e.key,
                "value": e.value,
                "ci": [e.ci_low, e.ci_high],
                "scale": e.scale,
                "n": e.n,
            }
            for e in diagnostics.estimates
        ],
        "balance": [
            {"label": b["label"], "smd_after": b["smd_after"], "se": b.get("smd_after_se")}
            for b in diagnostics.details.get("balance", [])
        ],
        "matched": results["matched"].population,
        "failures": diagnostics.details.get("failures", []),
    }


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.platform()} | Python {platform.python_version()} | "
        f"{os.cpu_count()} CPUs | load average {load:.1f}"
    )


def print_table(rows: list[dict[str, Any]]) -> None:
    table = summarise(rows)
    print(
        "| headline | scenario | patients | registries | coverage | mean bias (MC SE) | "
        "bias/SE | CI misses truth | flagged of those | flagged of all |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in table:
        flagged = f"{r['flagged_of_missed']}/{r['missed']}" if r["scenario"] == "confounded" else ""
        ratio = r["bias_over_se"]
        print(
            f"| {r['headline']} | {r['scenario']} | {r['patients']} | {r['registries']} | "
            f"{r['coverage']:.1%} | {r['mean_bias']:+.3f} ({r['mc_se']:.3f}) | "
            f"{'' if math.isnan(ratio) else f'{ratio:+.1f}'} | {r['missed']} | {flagged} | "
            f"{r['flagged']}/{r['registries']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registries", type=int, default=40)
    parser.add_argument("--patients", type=int, nargs="+", default=[3000, 10000])
    parser.add_argument("--years", type=float, default=6.0)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--seed-base", type=int, default=900_000)
    parser.add_argument(
        "--results",
        type=Path,
        nargs="+",
        default=[Path("calibration-runs.jsonl")],
        help="JSON-lines files; new runs go to the first, the table reads them all",
    )
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--write-report-data", action="store_true")
    args = parser.parse_args()
    print(machine())
    if not args.summary_only:
        done = {(r["scenario"], r["patients"], r["seed"]) for r in _rows(args.results)}
        for rep in range(args.registries):
            for patients in args.patients:
                for number, scenario in enumerate(args.scenarios):
                    seed = args.seed_base + 100_000 * number + patients + rep
                    if (scenario, patients, seed) in done:
                        continue
                    began = time.perf_counter()
                    row = score_registry(scenario, patients, args.years, seed)
                    row["seconds"] = round(time.perf_counter() - began, 1)
                    with args.results[0].open("a", encoding="utf-8") as handle:
                        handle.write(json.dumps(row) + "\n")
                    print(f"{scenario} {patients} seed {seed}: {row['seconds']} s", flush=True)
    rows = _rows(args.results)
    print(f"\n{len(rows)} registries, {args.years:g} years each; plan: the default plan\n")
    print_table(rows)
    if args.write_report_data:
        path = CALIBRATION_FILE
        path.write_text(
            json.dumps(
                {
                    "registries": len(rows),
                    "years": args.years,
                    "summary": [_finite(r) for r in summarise(rows)],
                },
                indent=1,
                sort_keys=True,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"\nwrote {path}")


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    """Strict JSON: a figure that cannot be computed (one registry: no SE) is null."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}


def _rows(paths: list[Path]) -> list[dict[str, Any]]:
    return [row for path in paths for row in _read(path)]


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


if __name__ == "__main__":
    main()
