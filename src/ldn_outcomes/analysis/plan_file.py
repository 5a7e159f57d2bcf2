"""Analysis plans as files: a run is described by a JSON file you can save, diff and reload.

As OHDSI CohortMethod saves and loads its analysis settings (``saveCmAnalysisList``,
``loadCmAnalysisList``), ``ldn analyze --write-plan plan.json`` writes every option of an
``AnalysisPlan`` and ``ldn analyze --plan plan.json`` runs it again::

    {"format": "ldn-outcomes analysis plan", "version": 1, "options": {"alpha": 0.05, ...}}

Options left out take this version's defaults; the written file always has every option (keys
sorted, one per line, so two plans diff line by line) and reloads to an equal plan, hence the
same plan hash and the same run. Reading is strict because a typo must not silently run the
default analysis: an unknown key, a value of the wrong type or a value out of range is a
``ValidationFailed`` (CLI exit 2) naming the key and the rule.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from collections.abc import Callable, Sequence
from difflib import get_close_matches
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, ValidationError, create_model

from ..domain.codes import DrugClass
from ..domain.instruments.registry import list_instruments
from ..errors import Problem, ValidationFailed
from .plan import AnalysisPlan

PLAN_FORMAT = "ldn-outcomes analysis plan"
PLAN_VERSION = 1
TOP_LEVEL_KEYS = ("format", "version", "options")

#: A rule takes an option's (type-checked) value and returns what is wrong with it, or None.
Rule = Callable[[Any], str | None]


def _greater_than(low: float) -> Rule:
    return lambda value: None if value > low else f"must be greater than {low:g}"


def _at_least(low: float) -> Rule:
    return lambda value: None if value >= low else f"must be at least {low:g}"


def _fraction(value: float) -> str | None:
    """Strictly between 0 and 1, as a probability used as a level (alpha, power) must be."""
    return None if 0 < value < 1 else "must be greater than 0 and less than 1"


def _each(rule: Rule, *, increasing: bool = False, non_empty: bool = False) -> Rule:
    """Apply ``rule`` to every element; optionally require strictly increasing, non-empty."""

    def check(values: Sequence[Any]) -> str | None:
        if non_empty and not values:
            return "must list at least one value"
        for position, value in enumerate(values):
            broken = rule(value)
            if broken:
                return f"element {position} {broken}"
        if increasing and any(b <= a for a, b in zip(values, values[1:], strict=False)):
            return "must be strictly increasing"
        return None

    return check


def _optional(rule: Rule) -> Rule:
    return lambda value: None if value is None else rule(value)


def _known_instrument(value: str) -> str | None:
    known = _instrument_ids()
    return None if value in known else f"must be one of the instruments {', '.join(known)}"


#: Instruments that are not a symptom score series: EDSS is read from its own table, and the
#: daily check-in's totals are not a score (its two rating items are the ``nrs-*`` series).
NOT_SYMPTOM_SERIES = frozenset({"edss", "checkin"})


@cache
def _instrument_ids() -> tuple[str, ...]:
    ids = {definition.id for definition in list_instruments()} - NOT_SYMPTOM_SERIES
    return tuple(sorted(ids))


def _instruments(values: Sequence[str]) -> str | None:
    if not values:
        return "must list at least one instrument"
    if len(set(values)) != len(values):
        return "must not list an instrument twice"
    for value in values:
        broken = _known_instrument(value)
        if broken:
            return f"{value!r} is not known: {broken}"
    return None


def _negative_control(value: str) -> str | None:
    classes = [c.value for c in DrugClass if c is not DrugClass.LDN]
    return None if value in classes else f"must be one of the drug classes {', '.join(classes)}"


def _bounds_pair(low_limit: float, high_limit: float) -> Rule:
    def check(pair: tuple[float, float]) -> str | None:
        low, high = pair
        if low_limit <= low < high <= high_limit:
            return None
        return f"must be [low, high] with {low_limit:g} <= low < high <= {high_limit:g}"

    return check


def _days_window(pair: tuple[int, int]) -> str | None:
    return None if 0 <= pair[0] <= pair[1] else "must be [first, last] with 0 <= first <= last"


#: The range of every option whose type alone does not bound it. ``tests/analysis/
#: test_plan_file.py`` fails when a numeric option has no rule here.
RULES: dict[str, Rule] = {
    "alpha": _fraction,
    "seed": _at_least(0),
    "min_ldn_users": _at_least(1),
    "horizons_years": _each(_greater_than(0), increasing=True, non_empty=True),
    "cdw_confirmation_days": _at_least(1),
    "cdw_baseline_lookback_days": _at_least(0),
    "ldn_course_gap_days": _at_least(0),
    "lost_to_follow_up_days": _at_least(1),
    "relapse_window_years": _greater_than(0),
    "pre_start_exclusion_days": _at_least(0),
    "relapse_adjust_bins_days": _each(_at_least(1), increasing=True),
    "symptom_instruments": _instruments,
    "symptom_months": _each(_at_least(1), increasing=True, non_empty=True),
    "symptom_tolerance_days": _each(_at_least(0), non_empty=True),
    "symptom_baseline_days": _at_least(1),
    "mixed_model_max_patients": _at_least(1),
    "recovery_max_days": _at_least(1),
    "attack_max_days": _optional(_at_least(0)),
    "matches_per_user": _at_least(1),
    "history_days": _at_least(1),
    "grid_days": _at_least(1),
    "caliper_age_years": _greater_than(0),
    "caliper_duration_years": _greater_than(0),
    "caliper_distance": _greater_than(0),
    "candidate_pool_per_user": _optional(_at_least(1)),
    "fatigue_instrument": _known_instrument,
    "relapse_exact_bins_days": _each(_at_least(1), increasing=True),
    "relapse_exact_cap": _at_least(1),
    "propensity_caliper_sd": _greater_than(0),
    "smd_target": _greater_than(0),
    "negative_control_class": _negative_control,
    "power": _fraction,
    "equipoise_bounds": _bounds_pair(0.0, 1.0),
    "lab_before_days": _at_least(1),
    "lab_after_days": _days_window,
}


def _cross_field(plan: AnalysisPlan) -> list[Problem]:
    """Rules that tie two options together."""
    problems = []
    if len(plan.symptom_tolerance_days) != len(plan.symptom_months):
        problems.append(
            _problem(
                "options.symptom_tolerance_days",
                f"must give one tolerance per symptom month ({len(plan.symptom_months)})",
                list(plan.symptom_tolerance_days),
            )
        )
    return problems


def plan_problems(plan: AnalysisPlan) -> list[Problem]:
    """Every option out of range, each naming its key and its rule."""
    problems = []
    for name, rule in RULES.items():
        value = getattr(plan, name)
        broken = rule(value)
        if broken:
            problems.append(_problem(f"options.{name}", broken, value))
    return problems + _cross_field(plan)


def check_plan(plan: AnalysisPlan, source: str | None = None) -> AnalysisPlan:
    problems = plan_problems(plan)
    if problems:
        raise ValidationFailed([dataclasses.replace(p, source=source) for p in problems])
    return plan


def plan_to_json(plan: AnalysisPlan) -> str:
    """The plan file's text: every option, keys sorted, one per line (lists on one line)."""
    check_plan(plan)
    lines = [f'  "format": {json.dumps(PLAN_FORMAT)},', f'  "version": {PLAN_VERSION},']
    options = plan.to_dict()
    body = [f"    {json.dumps(key)}: {json.dumps(options[key])}" for key in sorted(options)]
    lines.append('  "options": {\n' + ",\n".join(body) + "\n  }")
    return "{\n" + "\n".join(lines) + "\n}\n"


def write_plan(plan: AnalysisPlan, path: Path) -> None:
    path.write_text(plan_to_json(plan), encoding="utf-8")


def plan_from_json(text: str, source: str | None = None) -> AnalysisPlan:
    """Parse and check a plan file's text; every problem names its key (``options.alpha``)."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise ValidationFailed(
            Problem("plan", "file", "is nested too deeply to be a plan", source=source)
        ) from None
    except json.JSONDecodeError as error:
        raise ValidationFailed(
            Problem(
                "plan",
                "file",
                f"is not JSON: {error.msg} at line {error.lineno}, column {error.colno}",
                source=source,
            )
        ) from None
    if not isinstance(document, dict):
        raise ValidationFailed(
            _problem("file", "must be a JSON object of format, version and options", source=source)
        )
    problems = _top_level_problems(document)
    options = document.get("options", {})
    if not isinstance(options, dict):
        problems.append(_problem("options", "must be a JSON object of option: value", options))
        options = {}
    if problems:
        raise ValidationFailed([dataclasses.replace(p, source=source) for p in problems])
    try:
        checked = _options_model().model_validate_json(json.dumps(options))
    except ValidationError as error:
        raise ValidationFailed([_from_pydantic(e, source) for e in error.errors()]) from None
    plan = AnalysisPlan(**{name: getattr(checked, name) for name in options})
    return check_plan(plan, source)


def read_plan(path: Path) -> AnalysisPlan:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationFailed(
            Problem("plan", "file", f"cannot be read ({error})", source=str(path))
        ) from None
    return plan_from_json(text, source=str(path))


def _top_level_problems(document: dict[str, Any]) -> list[Problem]:
    problems = []
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            problems.append(_unknown(key, TOP_LEVEL_KEYS, prefix=""))
    if document.get("format") != PLAN_FORMAT:
        problems.append(_problem("format", f"must be {PLAN_FORMAT!r}", document.get("format")))
    if document.get("version") != PLAN_VERSION:
        rule = f"must be {PLAN_VERSION} (the only version)"
        problems.append(_problem("version", rule, document.get("version")))
    if "options" not in document:
        problems.append(_problem("options", "is missing: write {} to run the default plan"))
    return problems


@cache
def _options_model() -> Any:
    """A strict pydantic model of the plan's fields: types exactly as declared (a JSON integer
    is accepted for a float option; a string, a boolean or a fraction for an integer is not),
    no unknown keys, no NaN or infinity."""
    hints = typing.get_type_hints(AnalysisPlan)
    fields: dict[str, Any] = {
        field.name: (hints[field.name], field.default) for field in dataclasses.fields(AnalysisPlan)
    }
    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    return create_model("AnalysisPlanOptions", __config__=config, **fields)


def _from_pydantic(error: Any, source: str | None) -> Problem:
    location = [str(part) for part in error["loc"]]
    name = location[0] if location else ""
    if error["type"] == "extra_forbidden":
        fields = [field.name for field in dataclasses.fields(AnalysisPlan)]
        return dataclasses.replace(_unknown(name, fields, prefix="options."), source=source)
    where = "options" + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in location)
    value = error.get("input")
    shown = value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
    return _problem(where, error["msg"].lower().replace("input ", "", 1), shown, source=source)


def _unknown(key: str, known: Sequence[str], prefix: str) -> Problem:
    close = get_close_matches(key, known, n=1)
    hint = f"; did you mean {prefix}{close[0]}?" if close else ""
    return _problem(f"{prefix}{key}", f"is not a plan key{hint}")


def _problem(field: str, rule: str, value: Any = None, source: str | None = None) -> Problem:
    """A plan problem, named by its place in the file (``version``, ``options.alpha``)."""
    if isinstance(value, float) and not math.isfinite(value):
        value = str(value)
    return Problem("plan", field, rule, value=value, source=source)
