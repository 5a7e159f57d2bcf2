"""A network of three registries, pooled two ways (not a test; docs/deployment.md).

    python bench/bench_multisite.py [--scale 1.0] [--years 5] [--keep DIR]

Three simulated registries, each with its own seed and size but the same true LDN effects, are
handled as a network would handle them, through the ``ldn`` command:

1. each site: ``ldn simulate --out`` (its ids prefixed with the site's name through a
   simulation config, so no two sites share a patient, clinician or site id), ``ldn init``,
   ``ldn import``, then ``ldn analyze --site-summary DIR --site NAME``: its headline estimates
   with 95% CIs, one CSV per headline, small cells suppressed;
2. the coordinating centre: ``ldn evidence meta --csv`` over the three sites' files of each
   headline (random effects, REML), without a single patient row;
3. the reference a network cannot usually have: the three registries imported into one
   database (``ldn import`` three times) and ``ldn analyze`` on it.

Prints, for every headline, the truth, each site's estimate, the pooled meta-analysis and the
pooled-data analysis.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ldn_outcomes.analysis.headlines import HEADLINES
from ldn_outcomes.reports.site_summary import SHARED

#: (name, seed, patients at scale 1): different sizes and seeds, the same true effects.
SITES = (("site-a", 101, 6000), ("site-b", 202, 4000), ("site-c", 303, 2500))
#: The true effects every site shares (``ldn simulate`` options).
EFFECTS = {
    "--effect-relapse": "0.7",
    "--effect-progression": "0.8",
    "--effect-fatigue": "-6",
}


def ldn(*args: str) -> list[str]:
    """The ``ldn`` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("ldn")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from ldn_outcomes.cli.main import app; app()", *args]


def run(*args: str) -> Any:
    """Run ``ldn ARGS --json`` and return its JSON."""
    done = subprocess.run(ldn(*args, "--json"), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"ldn {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout)


def site_registry(work: Path, name: str, seed: int, patients: int, years: float) -> Path:
    """Simulate one site's registry as CSV files; its ids start with the site's name."""
    config = work / f"{name}.toml"
    config.write_text(f'[cohort]\nid_prefix = "{name}"\n', encoding="utf-8")
    out = work / name / "registry"
    options = [f"{k}={v}" for k, v in EFFECTS.items()]
    run("simulate", "--config", str(config), "--patients", str(patients), "--years", f"{years:g}",
        "--seed", str(seed), "--out", str(out), *options)  # fmt: skip
    return out


def headline(analyses: dict, name: str) -> dict | None:
    spec = HEADLINES[name]
    for estimate in analyses.get(spec["analysis"], {}).get("estimates", []):
        if estimate.get("key") == spec["key"]:
            return {"value": estimate["value"], "ci": estimate["ci"]}
    return None


def network(work: Path, scale: float, years: float) -> dict[str, Any]:
    """Run the whole network in ``work``; returns every figure the report prints."""
    pooled_db = f"sqlite:///{work / 'pooled.sqlite3'}"
    subprocess.run(ldn("init", "--db", pooled_db), check=True, capture_output=True)
    sites: dict[str, Any] = {}
    truths: dict[str, dict] = {}
    for name, seed, size in SITES:
        patients = max(100, round(size * scale))
        registry = site_registry(work, name, seed, patients, years)
        truths[name] = json.loads((registry / "truth.json").read_text())["estimands"]
        db = f"sqlite:///{work / name / 'registry.sqlite3'}"
        subprocess.run(ldn("init", "--db", db), check=True, capture_output=True)
        run("import", str(registry), "--db", db)
        began = time.perf_counter()
        summary_dir = work / name / "summary"
        out = run("analyze", "--db", db, "--site-summary", str(summary_dir), "--site", name)
        sites[name] = {
            "patients": patients,
            "seed": seed,
            "seconds": time.perf_counter() - began,
            "summary": summary_dir,
            "left_out": out["site_summary"]["left_out"],
            "flagged": out["site_summary"]["flagged"],
            "headlines": {h: headline(out, h) for h in SHARED},
        }
        run("import", str(registry), "--db", pooled_db)  # the reference: every row in one place
    pooled = run("analyze", "--db", pooled_db)
    meta: dict[str, Any] = {}
    for name in SHARED:
        files = [str(sites[site]["summary"] / f"{name}.csv") for site in sites]
        data = run("evidence", "meta", *[arg for f in files for arg in ("--csv", f)])
        result, shown = data["result"], data["shown"]
        meta[name] = (
            None
            if result is None
            else {
                "value": shown["estimate"],
                "ci": [shown["ci_low"], shown["ci_high"]],
                "k": result["k"],
                "tau2": result["tau2"],
                "i2": result["i2"],
                "reason": None,
            }
        ) or {"reason": data["not_pooled_reason"]}
    return {
        "sites": sites,
        "truth_by_site": {
            site: {h: t.get(HEADLINES[h]["truth"]) for h in SHARED} for site, t in truths.items()
        },
        "meta": meta,
        "pooled": {h: headline(pooled, h) for h in SHARED},
    }


def shown(figure: dict | None) -> str:
    if not figure or figure.get("value") is None:
        return "none"
    low, high = figure["ci"]
    return f"{figure['value']:.2f} ({low:.2f} to {high:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the site sizes")
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    began = time.perf_counter()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        figures = network(args.keep, args.scale, args.years)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            figures = network(Path(tmp), args.scale, args.years)
    effects = ", ".join(f"{k} {v}" for k, v in EFFECTS.items())
    print(f"true effects at every site: {effects}; {args.years:g} years of follow-up")
    for site, info in figures["sites"].items():
        left = "; ".join(f"{h}: {why}" for h, why in info["left_out"].items()) or "none"
        flagged = ", ".join(info["flagged"]) or "none"
        print(
            f"{site}: {info['patients']:,} patients, seed {info['seed']}, analysed in "
            f"{info['seconds']:.1f} s; left out of its summary: {left}; shared with failed "
            f"bias diagnostics: {flagged}"
        )
    print()
    header = ["headline", "truth (sites)", *figures["sites"], "meta-analysis (REML)", "pooled data"]
    print(" | ".join(header))
    for name in SHARED:
        meta = figures["meta"][name]
        pooled_meta = (
            f"{shown(meta)} k={meta['k']}, tau2={meta['tau2']:.3f}, I2={meta['i2']:.0f}%"
            if meta.get("reason") is None
            else f"not pooled: {meta['reason']}"
        )
        truths = [t[name] for t in figures["truth_by_site"].values() if t[name] is not None]
        cells = [
            name,
            f"{min(truths):.2f} to {max(truths):.2f}" if truths else "none",
            *(
                "held back" if name in info["left_out"] else shown(info["headlines"][name])
                for info in figures["sites"].values()
            ),
            pooled_meta,
            shown(figures["pooled"][name]),
        ]
        print(" | ".join(cells))
    print(f"\ntotal {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
