"""A user's own studies from a CSV file, pooled like the catalogue's (``ldn evidence meta --csv``).

One row per study, in one of two forms (docs/evidence-hub.md shows a worked example):

* **2×2 counts** (measure ``RR`` or ``OR``): ``events_treatment``, ``total_treatment``,
  ``events_control``, ``total_control``. Effects as metafor's ``escalc``: log RR
  = log((a/n1)/(c/n2)), var = 1/a - 1/n1 + 1/c - 1/n2; log OR = log(ad/bc), var = 1/a + 1/b +
  1/c + 1/d. A study with a zero cell gets 1/2 added to each of its four cells (escalc's default
  ``add = 1/2, to = "only0"``); a study with no events (or only events) in both arms says nothing
  about a ratio and is left out, with the reason.
* **an estimate with its 95% CI** (``RR``, ``OR``, ``HR``, ``IRR`` (rate ratio), ``MD`` or
  ``SMD``): ``estimate``,
  ``ci_low``, ``ci_high``; ratios are given as ratios and pooled on the log scale, the SE taken
  from the CI width / 3.92 (Cochrane Handbook, as for catalogue studies).

Columns: ``study`` and ``measure`` always; ``label`` optional; each column once, and no row with
more cells than the header has columns (a silently dropped cell could be a study's number).
Every problem is collected with its line number and column before anything is pooled, so one
run shows them all.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import Problem, ValidationFailed
from .meta import MAX_ABS_LOG_RATIO, RATIO_MEASURES, Effect, NotPoolable, effect_from_input
from .pooling import MetaReport, pool_effects

COUNTS = ("events_treatment", "total_treatment", "events_control", "total_control")
ESTIMATE = ("estimate", "ci_low", "ci_high")
COUNT_MEASURES = ("RR", "OR")
MEASURES = ("RR", "OR", "HR", "IRR", "MD", "SMD")
KNOWN_COLUMNS = ("study", "label", "measure", *COUNTS, *ESTIMATE)
RECORD = "studies"


def read_studies(text: str, *, source: str = "studies.csv") -> tuple[list[Effect], list[dict]]:
    """Effects (and studies left out, with why) from CSV text; raises ValidationFailed listing
    every malformed cell by line and column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(name or "").strip() for name in (reader.fieldnames or [])]
    problems = _check_header(header, source)
    if problems:
        raise ValidationFailed(problems)
    effects: list[Effect] = []
    excluded: list[dict] = []
    seen: dict[str, int] = {}
    measures: set[str] = set()
    for line, raw in enumerate(reader, start=2):
        extra = raw.pop(None, None)  # type: ignore[call-overload]  # cells past the header's
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        problem = _problem_at(line, source)
        if extra is not None:
            problems.append(
                problem(
                    "row",
                    f"has {len(header) + len(extra)} cells but the header has {len(header)} "
                    "columns: each cell needs a column (a comma inside a value needs quotes)",
                )
            )
            continue
        if not any(row.values()):
            continue
        study = row.get("study", "")
        if not study:
            problems.append(problem("study", "is required"))
        elif study in seen:
            problems.append(problem("study", f"repeats line {seen[study]}", study))
        else:
            seen[study] = line
        measure = row.get("measure", "").upper()
        if measure not in MEASURES:
            problems.append(problem("measure", f"must be one of {', '.join(MEASURES)}", measure))
            continue
        measures.add(measure)
        has_counts = any(row.get(c) for c in COUNTS)
        has_estimate = any(row.get(c) for c in ESTIMATE)
        if has_counts == has_estimate:
            rule = (
                "give either the four counts or an estimate with its 95% CI, not both"
                if has_counts
                else f"needs the four counts ({', '.join(COUNTS)}) or {', '.join(ESTIMATE)}"
            )
            problems.append(problem("estimate" if has_counts else "study", rule))
            continue
        label = row.get("label") or study
        try:
            if has_counts:
                effect = _from_counts(study, label, measure, row, problem, problems)
            else:
                effect = _from_estimate(study, label, measure, row, problem, problems)
        except NotPoolable as reason:
            excluded.append({"study_id": study, "reason": str(reason)})
            continue
        if effect is not None:
            effects.append(effect)
    if len(measures) > 1:
        problems.append(
            Problem(
                RECORD,
                "measure",
                "all rows must use the same measure to be pooled together",
                value=", ".join(sorted(measures)),
                source=source,
            )
        )
    if problems:
        raise ValidationFailed(problems)
    return effects, excluded


def pool_csv(paths: Path | Sequence[Path], *, method: str = "REML") -> MetaReport:
    """Pool the studies in one CSV file, or in several read as one (a network's sites, each
    with its own file: a study id must not repeat across them, and all use one measure). The
    report is named after the file, or the files' shared name."""
    files = [paths] if isinstance(paths, Path) else list(paths)
    effects: list[Effect] = []
    excluded: list[dict] = []
    problems: list[Problem] = []
    first: dict[str, str] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = "is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
            problems.append(Problem("studies", "file", reason, source=path.name))
            continue
        try:
            found, left_out = read_studies(text, source=path.name)
        except ValidationFailed as error:
            problems.extend(error.problems)
            continue
        for study in [e.study_id for e in found] + [x["study_id"] for x in left_out]:
            if study in first:
                rule = f"repeats a study of {first[study]}"
                problems.append(Problem(RECORD, "study", rule, value=study, source=path.name))
            first[study] = path.name
        effects.extend(found)
        excluded.extend(left_out)
    measures = sorted({e.measure for e in effects})
    if not problems and len(measures) > 1:
        problems.append(
            Problem(
                RECORD,
                "measure",
                "all files must use the same measure to be pooled together",
                value=", ".join(measures),
                source=", ".join(p.name for p in files),
            )
        )
    if problems:
        raise ValidationFailed(problems)
    stems = {path.stem for path in files}
    name = stems.pop() if len(stems) == 1 else "+".join(path.stem for path in files)
    report = MetaReport(outcome_id=name, measure=None, method=method.upper())
    report.excluded.extend(excluded)
    report = pool_effects(report, effects, method=method)
    names = ", ".join(path.name for path in files)
    report.notes.append(f"Studies from {names}, supplied by the user, not the catalogue.")
    return report


ProblemAt = Callable[..., Problem]


def _problem_at(line: int, source: str) -> ProblemAt:
    def make(field: str, rule: str, value: object = None) -> Problem:
        return Problem(RECORD, field, rule, row=line, value=value or None, source=source)

    return make


def _check_header(header: list[str], source: str) -> list[Problem]:
    problems = [
        Problem(RECORD, name, "is a required column", source=source)
        for name in ("study", "measure")
        if name not in header
    ]
    problems += [
        Problem(
            RECORD,
            name,
            f"is not a known column (known: {', '.join(KNOWN_COLUMNS)})",
            source=source,
        )
        for name in header
        if name not in KNOWN_COLUMNS
    ]
    for name in dict.fromkeys(header):
        places = [str(i) for i, other in enumerate(header, start=1) if other == name]
        if len(places) > 1:
            problems.append(
                Problem(
                    RECORD,
                    name,
                    f"is a repeated column (columns {', '.join(places)}): each column once",
                    row=1,
                    source=source,
                )
            )
    return problems


def _number(
    row: dict[str, str], name: str, problem: ProblemAt, problems: list[Problem]
) -> float | None:
    text = row.get(name, "")
    if not text:
        problems.append(problem(name, "is required with the others in its group"))
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(problem(name, "must be a number", text))
        return None
    if not math.isfinite(value):
        problems.append(problem(name, "must be a finite number", text))
        return None
    return value


def _from_counts(
    study: str,
    label: str,
    measure: str,
    row: dict[str, str],
    problem: ProblemAt,
    problems: list[Problem],
) -> Effect | None:
    if measure not in COUNT_MEASURES:
        problems.append(
            problem("measure", f"counts give {' or '.join(COUNT_MEASURES)}, not {measure}")
        )
        return None
    values = [_number(row, name, problem, problems) for name in COUNTS]
    before = len(problems)
    for name, value in zip(COUNTS, values, strict=True):
        if value is not None and (value < 0 or value != int(value)):
            problems.append(problem(name, "must be a whole number >= 0", row[name]))
    a, n1, c, n2 = values
    for events, total, name in ((a, n1, "total_treatment"), (c, n2, "total_control")):
        if events is not None and total is not None and not (total > 0 and total >= events):
            problems.append(problem(name, "must be > 0 and at least the events", row[name]))
    if None in values or len(problems) > before:
        return None
    assert a is not None and n1 is not None and c is not None and n2 is not None
    b, d = n1 - a, n2 - c
    if (a == 0 and c == 0) or (b == 0 and d == 0):
        raise NotPoolable("no events (or only events) in both arms: no information on a ratio")
    notes: tuple[str, ...] = ()
    if 0 in (a, b, c, d):
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
        notes = ("1/2 added to each cell (a zero cell)",)
    # sums of logs, not the log of a product: a product of huge counts would overflow
    if measure == "RR":
        yi = math.log(a) - math.log(a + b) - math.log(c) + math.log(c + d)
        vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    else:
        yi = math.log(a) + math.log(d) - math.log(b) - math.log(c)
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    if abs(yi) > MAX_ABS_LOG_RATIO:
        problems.append(
            problem(
                "events_treatment",
                f"the counts give a {measure} beyond e^±{MAX_ABS_LOG_RATIO:.0f}: check the counts",
            )
        )
        return None
    return Effect(study, label, measure, yi, vi, "2x2 counts", notes)


def _from_estimate(
    study: str,
    label: str,
    measure: str,
    row: dict[str, str],
    problem: ProblemAt,
    problems: list[Problem],
) -> Effect | None:
    values = [_number(row, name, problem, problems) for name in ESTIMATE]
    estimate, low, high = values
    if estimate is None or low is None or high is None:
        return None
    if measure in RATIO_MEASURES and min(estimate, low, high) <= 0:
        bad = next(n for n, v in zip(ESTIMATE, values, strict=True) if v is not None and v <= 0)
        problems.append(problem(bad, f"a {measure} must be > 0", row[bad]))
        return None
    if measure in RATIO_MEASURES:
        extreme = [
            name
            for name, value in zip(ESTIMATE, values, strict=True)
            if value is not None and abs(math.log(value)) > MAX_ABS_LOG_RATIO
        ]
        for name in extreme:
            problems.append(
                problem(
                    name,
                    f"a {measure} must lie between e^-{MAX_ABS_LOG_RATIO:.0f} and "
                    f"e^{MAX_ABS_LOG_RATIO:.0f} (about 1e-304 to 1e304)",
                    row[name],
                )
            )
        if extreme:
            return None
    if not low <= estimate <= high or not low < high:
        problems.append(
            problem("ci_low", "needs ci_low <= estimate <= ci_high and ci_low < ci_high")
        )
        return None
    effect = effect_from_input(
        study, label, measure, None, {"estimate": estimate, "ci95": [low, high]}
    )
    return Effect(effect.study_id, label, measure, effect.yi, effect.vi, "estimate and 95% CI")
