"""Where the matched progression hazard ratio's lean comes from, on simulated registries (not a
test).

    python bench/progression_lean.py [--patients 3000] [--registries 100] [--scenario null]
        [--seed-base 43000000] [--plan name=plan.json ...] [--results lean.jsonl]
        [--summary-only]

Each registry is simulated once and matched with the default plan and with every ``--plan``
(an analysis plan file, as ``ldn analyze --write-plan`` writes it), so their differences are
paired. For each plan it reports, over the registries:

* the mean error of the log hazard ratio of confirmed disability worsening (CDW) against the
  simulator's truth, with its Monte-Carlo SE, and its paired shift from the default plan;
* the weighted rate ratio (users over matched controls, controls weighted 1/k as in the
  model) of first CDWs of each type, relapse-associated (RAW), independent of relapses (PIRA)
  and undefined, per person-year at risk, with a bootstrap SE over registries;
* what the matched users and their controls differ in: their latent relapse frailty (the
  simulator's, mean 1; the registry does not record it), recorded relapses in the 90, 90-365
  and 365-730 days before the (pseudo-)start, being on a disease-modifying drug (DMT) then, and
  the years observed before it (capped at 2), weighted as in the model;
* the rate ratio of recorded relapses after the (pseudo-)start, per year of follow-up;
* on the same matched rows, the progression log hazard ratio refitted with lifelines (Efron
  ties) without adjustment, adjusted for the DMT, and for the DMT and the relapse counts; and
  the relapse headline's log rate ratio as the plan adjusts it, not adjusted, and adjusted for
  the counts without the years observed.

It only reads the engine (matching, ``outcomes.progression``) and the simulator's truth; it
changes nothing. docs/analysis.md, "Progression: the lean was relapse-associated worsening",
reports what it found.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from calibration import SCENARIOS  # noqa: E402
from lifelines import CoxPHFitter  # noqa: E402
from machine_info import machine  # noqa: E402

from ldn_outcomes.analysis import AnalysisPlan  # noqa: E402
from ldn_outcomes.analysis.data.cohorts import exposure_cohort  # noqa: E402
from ldn_outcomes.analysis.data.frames import DAYS_PER_YEAR, AnalysisData, prepare  # noqa: E402
from ldn_outcomes.analysis.matching.match import match_users  # noqa: E402
from ldn_outcomes.analysis.matching.trajectories import (  # noqa: E402
    DMT_CLASS,
    DrugCourses,
    count_in,
)
from ldn_outcomes.analysis.outcomes.progression import (  # noqa: E402
    CDW_TYPES,
    HAZARD_RATIO_KEY,
    analyse_progression,
    endpoints,
)
from ldn_outcomes.analysis.outcomes.relapses import (  # noqa: E402
    matched_after_ratio,
    windows,
)
from ldn_outcomes.analysis.plan_file import read_plan  # noqa: E402
from ldn_outcomes.simulate import SimulationParams, simulate_registry  # noqa: E402

#: Per-row quantities whose weighted means are compared between users and controls.
COVARIATES = ("frailty", "relapses_0_90", "relapses_90_365", "relapses_365_730", "on_dmt")


def _plan_figures(
    data: AnalysisData, plan: AnalysisPlan, frailty: np.ndarray, rel: pd.DataFrame
) -> dict[str, Any]:
    users = exposure_cohort(data, plan)
    matched = match_users(data, plan, users)
    result = analyse_progression(data, plan, users, matched)
    estimate = result.find(HAZARD_RATIO_KEY)
    if estimate is None:
        raise RuntimeError(f"no matched hazard ratio: {'; '.join(result.caveats)}")
    ep = endpoints(data, plan, matched.cohort)
    ep = ep[ep["usable"]].reset_index(drop=True)
    codes = ep["code"].to_numpy().astype(np.int64)
    t0 = ep["index_day"].to_numpy(dtype=float)
    years = ep["years"].to_numpy(dtype=float)
    follow_start = data.patients["follow_start"].to_numpy(dtype=float)[codes]
    dmt = DrugCourses.of(data, DMT_CLASS)
    per_row = {
        "frailty": frailty[codes],
        "relapses_0_90": count_in(rel, "onset", codes, t0 - 90, t0),
        "relapses_90_365": count_in(rel, "onset", codes, t0 - 365, t0 - 90),
        "relapses_365_730": count_in(rel, "onset", codes, t0 - 730, t0 - 365),
        "on_dmt": dmt.on(codes, t0).astype(float),
        "years_observed": np.minimum((t0 - follow_start) / DAYS_PER_YEAR, 2.0),
        "relapses_after": count_in(rel, "onset", codes, t0, t0 + years * DAYS_PER_YEAR),
    }
    weight = ep["weight"].to_numpy(dtype=float)
    at_risk = np.clip(years - ep["entry"].to_numpy(dtype=float), 0.0, None)
    event = ep["event"].to_numpy(dtype=bool)
    kind = ep["cdw_type"].to_numpy()
    out: dict[str, Any] = {
        **_relapse_ratios(data, plan, matched.cohort),
        **_adjusted_progression(ep, per_row),
        "log_hr": math.log(estimate.value),
        "se": (math.log(estimate.ci_high) - math.log(estimate.ci_low)) / 3.92,
        "matched_users": int(matched.cohort["group"].eq("ldn").sum()),
    }
    for group in ("ldn", "control"):
        rows = ep["group"].to_numpy() == group
        w = weight[rows]
        figures = {
            "weight": float(w.sum()),
            "person_years_at_risk": float((w * at_risk[rows]).sum()),
            "follow_up_years": float((w * years[rows]).sum()),
            **{t: float((w * (event[rows] & (kind[rows] == t))).sum()) for t in CDW_TYPES},
            **{name: float((w * values[rows]).sum()) for name, values in per_row.items()},
        }
        out[group] = figures
    return out


def _relapse_ratios(
    data: AnalysisData, plan: AnalysisPlan, cohort: pd.DataFrame
) -> dict[str, float]:
    """The relapse headline's log rate ratio on the same matched cohort: as the plan adjusts
    it, not adjusted, and adjusted for the relapse counts without the years observed."""
    frame = windows(data, plan, cohort, plan.pre_start_exclusion_days)
    counts_only = frame.drop(columns=[c for c in frame.columns if c == "history_years"])
    return {
        "relapses_log_rr": math.log(matched_after_ratio(frame, plan).value),
        "relapses_log_rr_unadjusted": math.log(
            matched_after_ratio(frame, plan, adjust=False).value
        ),
        "relapses_log_rr_counts_only": math.log(matched_after_ratio(counts_only, plan).value),
    }


def _adjusted_progression(ep: pd.DataFrame, per_row: dict[str, np.ndarray]) -> dict[str, float]:
    """The progression log hazard ratio (lifelines, Efron ties, point estimate only) not
    adjusted and adjusted for being on a DMT and for the relapse counts before the
    (pseudo-)start (capped at 2)."""
    frame = pd.DataFrame(
        {
            "years": ep["years"].to_numpy(dtype=float),
            "event": ep["event"].to_numpy(dtype=int),
            "entry": ep["entry"].to_numpy(dtype=float),
            "weight": ep["weight"].to_numpy(dtype=float),
            "ldn": (ep["group"] == "ldn").to_numpy(dtype=float),
            "on_dmt": per_row["on_dmt"],
            **{
                key: np.minimum(per_row[key], 2.0)
                for key in ("relapses_0_90", "relapses_90_365", "relapses_365_730")
            },
        }
    )
    out = {}
    for name, extra in (
        ("progression_log_hr_lifelines", []),
        ("progression_log_hr_dmt", ["on_dmt"]),
        (
            "progression_log_hr_dmt_counts",
            ["on_dmt", "relapses_0_90", "relapses_90_365", "relapses_365_730"],
        ),
    ):
        columns = ["years", "event", "entry", "weight", "ldn", *extra]
        fitter = CoxPHFitter().fit(
            frame[columns],
            duration_col="years",
            event_col="event",
            entry_col="entry",
            weights_col="weight",
            robust=True,
        )
        out[name] = float(fitter.params_["ldn"])
    return out


def score_registry(
    scenario: str, patients: int, seed: int, plans: dict[str, AnalysisPlan]
) -> dict[str, Any]:
    params = SimulationParams(patients=patients, years=6.0, seed=seed).replace(
        **SCENARIOS[scenario]
    )
    registry = simulate_registry(params, with_estimands=True)
    truth = registry.truth["estimands"]["progression_hazard_ratio"]
    latent = registry.truth["patients"]
    row: dict[str, Any] = {"scenario": scenario, "patients": patients, "seed": seed}
    row["truth"] = None if truth is None else float(truth)
    for name, plan in plans.items():
        data = prepare(registry.frames, plan, "the registry")
        place = {pid: i for i, pid in enumerate(latent["patient_id"])}
        index = np.array([place[pid] for pid in data.patients["patient_id"]])
        frailty = np.asarray(latent["relapse_frailty"], dtype=float)[index]
        # the qualifying relapses the engine counts, sorted by patient and onset
        row[name] = _plan_figures(data, plan, frailty, data.relapses)
    return row


def _boot_se(rows: list[dict[str, Any]], figure: Any, draws: int = 400) -> float:
    rng = np.random.default_rng(20261206)
    values = [
        figure([rows[i] for i in rng.integers(0, len(rows), len(rows))]) for _ in range(draws)
    ]
    finite = np.asarray(values)[np.isfinite(values)]
    return float(finite.std()) if finite.size > 1 else math.nan


def _pooled(rows: list[dict[str, Any]], plan: str, key: str, per: str) -> float:
    users = sum(r[plan]["ldn"][key] for r in rows) / sum(r[plan]["ldn"][per] for r in rows)
    ctrl = sum(r[plan]["control"][key] for r in rows) / sum(r[plan]["control"][per] for r in rows)
    if per == "weight":
        return users - ctrl
    return math.log(users / ctrl) if users > 0 and ctrl > 0 else math.nan


def _report(rows: list[dict[str, Any]], label: str, figure: Callable[..., float]) -> None:
    print(f"  {label:52s} {figure(rows):+.4f} ({_boot_se(rows, figure):.4f})")


def summarise(rows: list[dict[str, Any]], plans: list[str]) -> None:
    rows = [r for r in rows if r["truth"] is not None]
    n = len(rows)
    print(f"{n} registries")
    for plan in plans:
        errors = np.array([r[plan]["log_hr"] - math.log(r["truth"]) for r in rows])
        shift = np.array([r[plan]["log_hr"] - r["default"]["log_hr"] for r in rows])
        print(
            f"\n[{plan}] log HR error {errors.mean():+.4f} "
            f"({errors.std(ddof=1) / math.sqrt(n):.4f}); paired shift from the default "
            f"{shift.mean():+.4f} ({shift.std(ddof=1) / math.sqrt(n):.4f}); mean SE "
            f"{np.mean([r[plan]['se'] for r in rows]):.4f}; matched users "
            f"{np.mean([r[plan]['matched_users'] for r in rows]):.1f}"
        )
        for kind in CDW_TYPES:
            figure = partial(_pooled, plan=plan, key=kind, per="person_years_at_risk")
            _report(rows, f"first CDW {kind}: log rate ratio", figure)
        for key in (*COVARIATES, "years_observed"):
            figure = partial(_pooled, plan=plan, key=key, per="weight")
            _report(rows, f"{key}: users minus controls", figure)
        figure = partial(_pooled, plan=plan, key="relapses_after", per="follow_up_years")
        _report(rows, "relapses after the (pseudo-)start: log rate ratio", figure)
        for key in (
            "progression_log_hr_lifelines",
            "progression_log_hr_dmt",
            "progression_log_hr_dmt_counts",
            "relapses_log_rr",
            "relapses_log_rr_unadjusted",
            "relapses_log_rr_counts_only",
        ):
            values = np.array([r[plan][key] for r in rows])
            print(f"  {key:52s} {values.mean():+.4f} ({values.std(ddof=1) / math.sqrt(n):.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--registries", type=int, default=100)
    parser.add_argument(
        "--first-registry",
        type=int,
        default=0,
        help="start at a later repetition (a second process)",
    )
    parser.add_argument("--scenario", default="null", choices=SCENARIOS)
    parser.add_argument("--seed-base", type=int, default=43_000_000)
    parser.add_argument(
        "--plan", action="append", default=[], help="name=plan.json, compared with the default"
    )
    parser.add_argument("--results", type=Path, default=Path("progression-lean.jsonl"))
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()
    plans = {"default": AnalysisPlan()}
    for spec in args.plan:
        name, _, path = spec.partition("=")
        if not (name and path):
            parser.error(f"--plan takes name=plan.json, not {spec!r}")
        plans[name] = read_plan(Path(path))
    print(machine())
    done = set()
    if args.results.exists():
        done = {json.loads(line)["seed"] for line in args.results.open(encoding="utf-8")}
    if not args.summary_only:
        for rep in range(args.first_registry, args.registries):
            seed = args.seed_base + args.patients + rep
            if seed in done:
                continue
            began = time.perf_counter()
            row = score_registry(args.scenario, args.patients, seed, plans)
            with args.results.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            print(f"seed {seed}: {time.perf_counter() - began:.1f} s", flush=True)
    rows = [json.loads(line) for line in args.results.open(encoding="utf-8")]
    summarise([r for r in rows if all(p in r for p in plans)], list(plans))


if __name__ == "__main__":
    main()
