"""How often each causal headline was right on simulated registries (``bench/calibration.py``).

The bench runs the whole engine on many simulated registries with a known truth and writes, per
headline, scenario and registry size, the coverage of the 95% interval, the mean bias with its
Monte-Carlo SE and the mean number of matched LDN users into ``calibration.json`` beside this
module. The report shows one plain line per headline from it, for the bench size whose matched
users are nearest this registry's (an interval's behaviour depends on how many people it rests
on, so each size is measured on its own); nothing here runs a simulation.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

from ..analysis.headlines import HEADLINES
from ..analysis.plan import AnalysisPlan
from ..analysis.plan_file import plan_to_json

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


def plan_key(plan: AnalysisPlan | None = None) -> str:
    """A short fingerprint of the plan a bench row was scored with (the first 12 hex digits of
    the SHA-256 of its plan file's text; None: this version's default plan), so that rows of
    another analysis are never pooled into the report data."""
    text = plan_to_json(plan or AnalysisPlan())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _bias(score: dict[str, Any]) -> float:
    if score["ratio"]:
        return math.log(score["value"]) - math.log(score["truth"])
    return float(score["value"] - score["truth"])


def _mean_truth_coverage(scores: list[dict[str, Any]]) -> tuple[float, float]:
    """(share of intervals holding the cell's mean truth, SD of the truth across the cell).

    A registry's truth is computed on its own people and their simulated outcomes, so part of
    it is that registry's chance, which its estimate shares; the interval describes the
    estimate's sampling around the value for the population the registries are drawn from,
    whose best figure is the cell's mean truth (the registries of a cell are drawn alike).
    Scored against its own registry's truth an interval holds it more often than 95% by
    about as much as the truth varies (docs/analysis.md)."""
    truths = [math.log(s["truth"]) if s["ratio"] else float(s["truth"]) for s in scores]
    n = len(truths)
    mean = sum(truths) / n
    value = math.exp(mean) if scores[0]["ratio"] else mean
    held = [s["ci"][0] <= value <= s["ci"][1] for s in scores]
    sd = math.sqrt(sum((t - mean) ** 2 for t in truths) / (n - 1)) if n > 1 else math.nan
    return sum(held) / n, sd


def _matched_users(rows: list[dict[str, Any]]) -> dict[tuple[str, int], tuple[float, int]]:
    """Mean and fewest matched LDN users per (scenario, patients), from what the diagnostics
    saw."""
    counts: dict[tuple[str, int], list[int]] = {}
    for row in rows:
        matched = (row.get("diagnostics") or {}).get("matched") or {}
        if matched.get("n_matched") is not None:
            counts.setdefault((row["scenario"], row["patients"]), []).append(matched["n_matched"])
    return {key: (sum(values) / len(values), min(values)) for key, values in counts.items()}


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (headline, scenario, patients): registries, coverage, mean bias, its MC SE, how
    many intervals missed the truth and how many of those the diagnostics flagged, the
    coverage of the cell's mean truth and the truth's SD across the cell, and the mean and the
    fewest matched LDN users (None where the rows do not say)."""
    users = _matched_users(rows)
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for row in rows:
        for headline in HEADLINES:
            score = row.get(headline)
            if score and score["value"] is not None and math.isfinite(score["value"]):
                if score["ratio"] and score["value"] <= 0:
                    continue
                groups.setdefault((headline, row["scenario"], row["patients"]), []).append(score)
    order = {name: i for i, name in enumerate(HEADLINES)}
    out = []
    for (headline, scenario, patients), scores in sorted(
        groups.items(), key=lambda item: (order[item[0][0]], item[0][1], item[0][2])
    ):
        biases = [_bias(s) for s in scores]
        n = len(biases)
        mean = sum(biases) / n
        sd = math.sqrt(sum((b - mean) ** 2 for b in biases) / (n - 1)) if n > 1 else math.nan
        covered = [s["ci"][0] <= s["truth"] <= s["ci"][1] for s in scores]
        missed = [s for s, c in zip(scores, covered, strict=True) if not c]
        mc_se = sd / math.sqrt(n) if n > 1 else math.nan
        mean_truth_coverage, truth_sd = _mean_truth_coverage(scores)
        out.append(
            {
                "headline": headline,
                "scenario": scenario,
                "patients": patients,
                "registries": n,
                "coverage": sum(covered) / n,
                "coverage_of_mean_truth": mean_truth_coverage,
                "truth_sd": truth_sd,
                "mean_bias": mean,
                "mc_se": mc_se,
                "bias_over_se": mean / mc_se if mc_se and math.isfinite(mc_se) else math.nan,
                "missed": len(missed),
                "flagged_of_missed": sum(bool(s["flagged"]) for s in missed),
                "flagged": sum(bool(s["flagged"]) for s in scores),
                "scale": "log" if scores[0]["ratio"] else "difference",
                "matched_users": users.get((scenario, patients), (None, None))[0],
                "fewest_matched_users": users.get((scenario, patients), (None, None))[1],
            }
        )
    return out


@cache
def calibration() -> dict[str, Any]:
    """The committed bench figures ({} when none were written)."""
    if not CALIBRATION_FILE.exists():
        return {}
    return json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))


def _users_by_size(rows: list[dict[str, Any]]) -> dict[int, tuple[float, int]] | None:
    """Per bench registry size of ``rows``: the mean matched LDN users (of its cells' means)
    and the fewest any of its registries had; None unless every size's rows record them."""
    sizes: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        sizes.setdefault(r["patients"], []).append(r)
    out = {}
    for size, cells in sizes.items():
        if any(not c.get("matched_users") or c.get("fewest_matched_users") is None for c in cells):
            return None
        mean = sum(c["matched_users"] for c in cells) / len(cells)
        out[size] = (mean, min(c["fewest_matched_users"] for c in cells))
    return out


def track_record(headline: str, matched_users: int | None = None) -> str:
    """One plain sentence: how often this method's interval held the truth on simulated
    registries without an effect and with one ("" when the bench has not scored it).

    With ``matched_users`` (this registry's matched LDN users; 0 or less: too few to show), the
    figures are those of the bench size whose mean matched users are nearest it (log scale), and a
    registry with fewer matched users than any the bench scored is told so. Without it, or
    when the bench did not record matched users for every size, all sizes are pooled."""
    data = calibration()
    summary = [r for r in data.get("summary", []) if r["headline"] == headline]
    rows = [r for r in summary if r["scenario"] in ("null", "effect")]
    if not rows:
        return ""
    users = _users_by_size(rows) if matched_users is not None else None
    size = None
    if users and matched_users is not None:
        count = matched_users
        size = (
            min(users, key=lambda s: abs(math.log(users[s][0] / count)))
            if count > 0
            else min(users)  # too few to show: the smallest size
        )
        rows = [r for r in rows if r["patients"] == size]
        summary = [r for r in summary if r["patients"] == size]
    registries = sum(r["registries"] for r in rows)
    covered = sum(round(r["coverage"] * r["registries"]) for r in rows)
    sizes = sorted({r["patients"] for r in rows})
    where = f"{', '.join(f'{s:,}' for s in sizes)} patients"
    if users and size is not None:
        where += f", about {round(users[size][0]):,} matched LDN users each"
    text = (
        f"On {registries:,} simulated registries ({where}; with and without a true effect) this "
        f"method's 95% interval held the true value {_times(covered)} ({covered / registries:.0%})."
    )
    confounded = [r for r in summary if r["scenario"] == "confounded"]
    missed = sum(r["missed"] for r in confounded)
    if missed:
        flagged = sum(r["flagged_of_missed"] for r in confounded)
        text += (
            f" On {sum(r['registries'] for r in confounded):,} more registries of "
            f"{'that size' if size is not None else 'those sizes'} with confounding the registry "
            f"cannot record, its interval missed the true value {_times(missed)} and the bias "
            f"checks warned in {flagged:,} of those."
        )
    if users and matched_users is not None:
        fewest = min(f for _, f in users.values())
        if matched_users < fewest:
            mine = (
                f"{matched_users:,} matched LDN users"
                if matched_users > 0
                else "too few matched LDN users to show"
            )
            text += (
                f" This registry has {mine}, fewer than any registry the bench scored (the "
                f"fewest had {fewest:,}): its interval may hold the true value less often "
                "than that."
            )
    return text + _lean(summary)


def _times(count: int) -> str:
    """A count of occasions as a reader says it: "once", "2 times", "1,137 times"."""
    return "once" if count == 1 else f"{count:,} times"


#: A mean bias without an effect this many Monte-Carlo SEs from 0 is told to the reader: more
#: than chance explains (two-sided 5%), so an estimate within it is not evidence.
LEAN_SE = 2.0


def _ratio(value: float, like: float | None = None) -> str:
    """A ratio with two decimals, or three within 5% of 1, where two would blur a lean of
    about 1% (0.986, not 0.99); ``like``: take the decimals that value would take, so that the
    two ends of a range read alike (1.000 and 1.012, not 1.00 and 1.012)."""
    shown = value if like is None else like
    close = shown != 1.0 and abs(shown - 1.0) < 0.05
    return f"{value:.3f}" if close else f"{value:.2f}"


def _lean(rows: list[dict[str, Any]]) -> str:
    """The largest lean the bench measured without a true effect, where it is more than chance:
    a reader must not take an estimate between no effect and that lean as a finding."""
    leaning = [
        r
        for r in rows
        if r["scenario"] == "null"
        and math.isfinite(r.get("bias_over_se") or math.nan)
        and abs(r["bias_over_se"]) >= LEAN_SE
    ]
    if not leaning:
        return ""
    worst = max(leaning, key=lambda r: abs(r["mean_bias"]))
    size = f"{worst['patients']:,} patients"
    if worst["scale"] == "log":
        factor = math.exp(worst["mean_bias"])
        low, high = sorted((1.0, factor))
        return (
            f" Without a true effect its estimate leaned to {_ratio(factor)} times the true "
            f"value on average ({size}), more than chance explains: a ratio between "
            f"{_ratio(low, factor)} and {_ratio(high, factor)} is within that lean, not "
            "evidence of an effect."
        )
    bias = worst["mean_bias"]
    low, high = sorted((0.0, bias))
    return (
        f" Without a true effect its estimate leaned by {bias:+.2f} points on average ({size}), "
        f"more than chance explains: a difference between {low:+.2f} and {high:+.2f} is within "
        "that lean, not evidence of an effect."
    )
