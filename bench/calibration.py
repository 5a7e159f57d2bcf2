"""Calibration of every causal headline of ``ldn analyze`` on simulated registries (not a test).

    python bench/calibration.py [--registries 40] [--patients 3000 10000] [--years 6]
        [--scenarios null effect confounded] [--results runs.jsonl [more.jsonl ...]]
        [--summary-only] [--write-report-data] [--plan plan.json]

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
"covers mean truth" scores the same intervals against the mean of the cell's truths (on the log
scale for ratios), the value for the population the cell's registries are drawn from, and
"truth SD" is how much the registries' own truths vary (log scale for ratios): a registry's
truth is computed on its own people and simulated outcomes, which its estimate shares, so
against its own truth an interval that is right for the population holds more often than 95%
(docs/analysis.md).

Targets (docs/analysis.md): coverage 93-97% and |bias| < 2 Monte-Carlo SE under ``null`` and
``effect``; under ``confounded``, the diagnostics flag at least 80% of the registries whose
headline interval excludes the truth.

Each registry's scores are appended to ``--results`` (JSON lines) as it finishes, so a long run
that is stopped still counts (a rerun skips the registries already scored); ``--summary-only``
prints the table from the files, plain or gzip-compressed: the run behind the committed report
data is kept in ``bench/runs`` (``*.jsonl.gz``), and a test checks the report data against it;
runs of other plans (``--plan``) are kept in ``bench/runs/other-plans``, which it does not read.
``--plan`` scores another analysis plan (a file ``ldn analyze --write-plan`` wrote, edited)
than the default one, e.g. a design change on the same seeds.
``--write-report-data`` writes the per-headline figures the report shows beside each headline
("how often this method was right on simulated registries") into the package.

``--rescore`` scores the stored registries again with the diagnostics rule applied to what the
diagnostics saw (each line's ``diagnostics``), without simulating: first the package's rule as
it is (a check that the stored figures suffice: every flag must come out as stored), then with
``--pooled-correlation r`` (the pooled negative control computed for estimates with a common
correlation r instead of independent ones). ``--first-registry`` starts a run at a later
repetition, so that a second process can share a long run (each process skips the registries
already in any ``--results`` file, read again before each registry).
"""

from __future__ import annotations

import os

from machine_info import machine

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ldn_outcomes.analysis import AnalysisPlan, run_all  # noqa: E402
from ldn_outcomes.analysis.headlines import HEADLINES  # noqa: E402
from ldn_outcomes.analysis.outcomes.diagnostics import (  # noqa: E402
    NEGATIVE_CONTROL_KEY,
    balance_failures,
    pooled_negative_control,
)
from ldn_outcomes.analysis.plan_file import read_plan  # noqa: E402
from ldn_outcomes.analysis.results import Estimate  # noqa: E402
from ldn_outcomes.reports.calibration_data import (  # noqa: E402
    CALIBRATION_FILE,
    plan_key,
    summarise,
)
from ldn_outcomes.reports.calibration_targets import verdicts  # noqa: E402
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


def scenario_seed(base: int, scenario: str, patients: int, rep: int) -> int:
    """The seed of one registry: by the scenario's place in ``SCENARIOS``, not in the command
    line, so that ``--scenarios effect null`` scores the same registries as ``null effect``."""
    return base + 100_000 * list(SCENARIOS).index(scenario) + patients + rep


def _estimate(results: dict, headline: str) -> tuple[Any, Any] | None:
    """(estimate, result it belongs to) of one headline, or None when not estimated."""
    spec = HEADLINES[headline]
    result = results[spec["analysis"]]
    found = result.find(spec["key"])
    return None if found is None else (found, result)


def score_registry(
    scenario: str, patients: int, years: float, seed: int, plan: AnalysisPlan | None = None
) -> dict[str, Any]:
    params = SimulationParams(patients=patients, years=years, seed=seed).replace(
        **SCENARIOS[scenario]
    )
    registry = simulate_registry(params, with_estimands=True)
    truth = registry.truth["estimands"]
    results = run_all(registry.frames, plan or AnalysisPlan())
    row: dict[str, Any] = {
        "scenario": scenario,
        "patients": patients,
        "seed": seed,
        "plan": plan_key(plan),
    }
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
            # the counts behind it (e.g. relapse recovery's patients of the treated attacks,
            # its t reference's clusters), so that a small-sample rule can be scored again
            "population": result.population,
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


#: Headline -> the label starts of its own negative-control estimates (diagnostics module
#: docstring: relapses by the relapse ratio, the symptoms by the fatigue and spasm differences,
#: progression by the hazard ratio); the others are flagged by the shared checks only, the
#: negative control's own headline by every check.
OWN_CHECKS: dict[str, tuple[str, ...]] = {
    "relapses": ("negative control: rate ratio after",),
    "fatigue": ("negative control: mfis", "negative control: nrs-spasticity"),
    "spasm": ("negative control: mfis", "negative control: nrs-spasticity"),
    "progression": ("negative control: hazard ratio of CDW",),
    "relapse_recovery": (),
}
OUTCOME_CHECKS = (
    "negative control: mfis",
    "negative control: nrs-spasticity",
    "negative control: hazard ratio of CDW",
)


def rescore(row: dict[str, Any], correlation: float, alpha: float = 0.05) -> dict[str, bool]:
    """Each headline's flag from the stored diagnostics figures, by the package's rule
    (``outcomes.diagnostics``) with the pooled negative control at ``correlation``."""
    diag = row.get("diagnostics")
    scored = {h: v for h, v in row.items() if h in HEADLINES and v is not None}
    if diag is None:  # no diagnostics: nothing to rescore
        return {h: v["flagged"] for h, v in scored.items()}
    plan = AnalysisPlan(alpha=alpha)
    estimates = [
        Estimate(e["label"], e["value"], *e["ci"], e["scale"], n=e["n"], key=e["key"])
        for e in diag["estimates"]
    ]
    checks = [
        e for e in estimates if e.key == NEGATIVE_CONTROL_KEY or e.label.startswith(OUTCOME_CHECKS)
    ]
    balance = pd.DataFrame(
        {
            "label": [b["label"] for b in diag["balance"]],
            "smd_after": [b["smd_after"] for b in diag["balance"]],
            "smd_after_se": [np.nan if b["se"] is None else b["se"] for b in diag["balance"]],
        }
    ).dropna(subset=["smd_after"])
    shared = bool(balance_failures(balance, plan))
    equipoise = [e.value for e in estimates if "empirical equipoise" in e.label]
    shared |= bool(equipoise) and equipoise[0] < 0.5
    pooled = pooled_negative_control(checks, alpha, correlation)
    shared |= pooled is not None and pooled.excludes_null
    own = {
        h: any(
            e.excludes_null
            for e in checks
            if e.label.startswith(starts) or (h == "relapses" and e.key == NEGATIVE_CONTROL_KEY)
        )
        for h, starts in OWN_CHECKS.items()
    }
    own["negative_control"] = any(e.excludes_null for e in checks)
    return {h: shared or own[h] for h in scored}


def rescored(rows: list[dict[str, Any]], correlation: float) -> tuple[list[dict[str, Any]], int]:
    """The rows with each headline's ``flagged`` rescored; and how many flags differ from
    the stored ones."""
    out, changed = [], 0
    for row in rows:
        flags = rescore(row, correlation)
        new = dict(row)
        for h, flag in flags.items():
            changed += flag != row[h]["flagged"]
            new[h] = {**row[h], "flagged": flag}
        out.append(new)
    return out, changed


def print_table(rows: list[dict[str, Any]]) -> None:
    table = summarise(rows)
    print(
        "| headline | scenario | patients | registries | coverage | covers mean truth | "
        "truth SD | mean bias (MC SE) | bias/SE | CI misses truth | flagged of those | "
        "flagged of all |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in table:
        flagged = f"{r['flagged_of_missed']}/{r['missed']}" if r["scenario"] == "confounded" else ""
        ratio = r["bias_over_se"]
        print(
            f"| {r['headline']} | {r['scenario']} | {r['patients']} | {r['registries']} | "
            f"{r['coverage']:.1%} | {r['coverage_of_mean_truth']:.1%} | {r['truth_sd']:.3f} | "
            f"{r['mean_bias']:+.3f} ({r['mc_se']:.3f}) | "
            f"{'' if math.isnan(ratio) else f'{ratio:+.1f}'} | {r['missed']} | {flagged} | "
            f"{r['flagged']}/{r['registries']} |"
        )


def print_targets(rows: list[dict[str, Any]]) -> None:
    """Each target per registry size, with the misses chance alone would give
    (``reports.calibration_targets``)."""
    summary = summarise(rows)
    for size in sorted({r["patients"] for r in summary}):
        print(f"\nTargets at {size:,} patients:")
        for verdict in verdicts(summary, {size}):
            print(f"- {verdict.line()}")


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
    parser.add_argument("--first-registry", type=int, default=0)
    parser.add_argument("--rescore", action="store_true")
    parser.add_argument("--pooled-correlation", type=float, default=0.0)
    parser.add_argument("--write-report-data", action="store_true")
    parser.add_argument(
        "--plan", type=Path, help="an analysis plan file (ldn analyze --write-plan) to score"
    )
    args = parser.parse_args()
    plan = read_plan(args.plan) if args.plan else None
    key, default = plan_key(plan), plan_key(None)
    print(machine())
    if not (args.summary_only or args.rescore):
        for rep in range(args.first_registry, args.registries):
            for patients in args.patients:
                for scenario in args.scenarios:
                    seed = scenario_seed(args.seed_base, scenario, patients, rep)
                    done = {
                        (r["scenario"], r["patients"], r["seed"], r.get("plan", default))
                        for r in _rows(args.results)
                    }
                    if (scenario, patients, seed, key) in done:
                        continue
                    began = time.perf_counter()
                    row = score_registry(scenario, patients, args.years, seed, plan)
                    row["seconds"] = round(time.perf_counter() - began, 1)
                    with args.results[0].open("a", encoding="utf-8") as handle:
                        handle.write(json.dumps(row) + "\n")
                    print(f"{scenario} {patients} seed {seed}: {row['seconds']} s", flush=True)
    rows = _rows(args.results)
    plans = {r.get("plan", default) for r in rows}
    if len(plans) > 1:
        raise SystemExit(f"the results files mix {len(plans)} analysis plans; score one at a time")
    if args.write_report_data and plans != {default}:
        raise SystemExit("--write-report-data takes rows scored with the default plan only")
    if args.rescore:
        _, changed = rescored(rows, 0.0)
        print(f"rescored with the rule as it is: {changed} flags differ from the stored ones")
        rows, changed = rescored(rows, args.pooled_correlation)
        print(
            f"pooled negative control at correlation {args.pooled_correlation:g}: "
            f"{changed} flags differ from the stored ones"
        )
    shown = f"the plan file {args.plan}" if args.plan else "the default plan"
    print(f"\n{len(rows)} registries, {args.years:g} years each; plan: {shown}\n")
    print_table(rows)
    print_targets(rows)
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
    """Every scored registry once: two processes sharing a run can both score the registry
    where they meet (the same seed gives the same line), so later copies are dropped."""
    seen: set[tuple[Any, ...]] = set()
    rows = []
    for row in (row for path in paths for row in _read(path)):
        key = (row["scenario"], row["patients"], row["seed"], row.get("plan"))
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows


def _read(path: Path) -> list[dict[str, Any]]:
    """A results file, plain or gzip-compressed (``.gz``, as the committed runs are kept)."""
    if not path.exists():
        return []
    if path.suffix == ".gz":
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


if __name__ == "__main__":
    main()
