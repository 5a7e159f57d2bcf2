"""Scores answers against a shipped definition.

Rules that matter clinically: a blank (``None``) is never read as 0 or "no"; an answer outside
the published range is an error naming the item and the range; an instrument whose source gives
no rule for blanks refuses to score rather than guessing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

from pydantic import BaseModel, ConfigDict

from ldn_outcomes.domain.instruments.model import InstrumentDefinition, Item
from ldn_outcomes.domain.instruments.registry import get_instrument
from ldn_outcomes.errors import Problem, ValidationFailed

Answer = int | float | None


class Score(BaseModel):
    """A computed score plus what it was computed from (instrument key, blanks, MCID)."""

    model_config = ConfigDict(frozen=True)

    instrument: str
    version: str
    total: float | None
    subscales: dict[str, float]
    interpretation: str
    missing_items: tuple[int, ...] = ()
    mcid: float | None = None
    mcid_unit: str | None = None


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def describe_range(item: Item) -> str:
    """Human wording of an item's permitted answers, used in error messages and the CLI."""
    if item.allowed is not None:
        shown = [f"{v:.1f}" if 0 < v < 10 else _fmt(v) for v in item.allowed]
        if len(shown) > 6:
            return f"one of {', '.join(shown[:3])} … {', '.join(shown[-2:])}"
        return "one of " + ", ".join(shown)
    if item.kind == "boolean":
        return "0 (no) or 1 (yes)"
    return f"{_fmt(item.min)}–{_fmt(item.max)}"


def _check_answer(definition: InstrumentDefinition, item: Item, value: object) -> Problem | None:
    field = f"item {item.number}"
    record = definition.key
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, Real):
        return Problem(record, field, f"answer {value!r} is not a number", value=value)
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return Problem(record, field, f"answer {value} is not a finite number", value=value)
    if item.allowed is not None:
        if not any(math.isclose(number, a, abs_tol=1e-9) for a in item.allowed):
            return Problem(
                record, field, f"answer {_fmt(number)} is not {describe_range(item)}", value=value
            )
        return None
    if number < item.min or number > item.max:
        return Problem(
            record, field, f"answer {_fmt(number)} is outside {describe_range(item)}", value=value
        )
    steps = (number - item.min) / item.step
    if not math.isclose(steps, round(steps), abs_tol=1e-9):
        return Problem(
            record,
            field,
            f"answer {_fmt(number)} is not a step of {_fmt(item.step)} within "
            f"{describe_range(item)}",
            value=value,
        )
    return None


def _validate(definition: InstrumentDefinition, answers: Sequence[Answer]) -> list[float | None]:
    if isinstance(answers, (str, bytes)):
        raise ValidationFailed(
            Problem(definition.key, "answers", "answers must be a sequence of numbers")
        )
    expected = len(definition.items)
    if len(answers) < expected and not any(i.required for i in definition.items[len(answers) :]):
        answers = [*answers, *([None] * (expected - len(answers)))]  # omitted optional items
    if len(answers) != expected:
        raise ValidationFailed(
            Problem(
                definition.key,
                "answers",
                f"expected {expected} answers for {definition.name}, got {len(answers)}",
            )
        )
    problems: list[Problem] = []
    values: list[float | None] = []
    for item, raw in zip(definition.items, answers, strict=True):
        if raw is None:
            values.append(None)
            continue
        problem = _check_answer(definition, item, raw)
        if problem is not None:
            problems.append(problem)
            values.append(None)
        else:
            values.append(float(raw))
    blanks = [i.number for i, v in zip(definition.items, answers, strict=True) if v is None]
    required_blank = [n for n in blanks if definition.items[n - 1].required]
    if required_blank or len(blanks) > definition.missing.max_missing:
        listed = ", ".join(str(n) for n in (required_blank or blanks))
        problems.append(
            Problem(
                definition.key,
                "answers",
                f"item(s) {listed} blank; refusing to score: {definition.missing.rule}",
            )
        )
    if problems:
        raise ValidationFailed(problems)
    return values


def _interpret(definition: InstrumentDefinition, total: float | None) -> str:
    if total is None:
        return "no total: items are recorded individually"
    for band in definition.bands:
        if band.contains(total):
            return band.label
    return f"{definition.name}: {_fmt(total)} (no published interpretation bands shipped)"


def score(instrument_id: str, answers: Sequence[Answer], version: str | None = None) -> Score:
    """Validate answers (in item order) and compute total, subscales and interpretation."""
    definition = get_instrument(instrument_id, version)
    values = _validate(definition, answers)
    by_number = {item.number: v for item, v in zip(definition.items, values, strict=True)}
    missing = tuple(n for n, v in by_number.items() if v is None)
    present = [v for v in values if v is not None]
    total: float | None
    exact: float | None = None  # bands are read on the unrounded mean
    subscales: dict[str, float] = {}
    if definition.scoring == "sum":
        total = float(sum(present))
    elif definition.scoring == "mean":
        exact = sum(present) / len(present)
        total = round(exact, definition.decimals)
    elif definition.scoring == "single":
        total = present[0]
    elif definition.scoring == "edss":
        total = values[0]
        subscales = {
            item.key: v
            for item, v in zip(definition.items[1:], values[1:], strict=True)
            if v is not None
        }
    else:  # "record": no total, each answered item kept as is
        total = None
        subscales = {
            item.key: v for item, v in zip(definition.items, values, strict=True) if v is not None
        }
    for name, members in definition.subscales.items():
        parts = [by_number[m] for m in members]
        if all(p is not None for p in parts):  # a subscale with a blank is left out, never 0
            subscales[name] = float(sum(p for p in parts if p is not None))
    interpretation = _interpret(definition, exact if exact is not None else total)
    if definition.scoring == "record" and missing:
        interpretation += f"; blank item(s) {', '.join(map(str, missing))} left blank"
    return Score(
        instrument=definition.id,
        version=definition.version,
        total=total,
        subscales=subscales,
        interpretation=interpretation,
        missing_items=missing,
        mcid=definition.mcid.value if definition.mcid else None,
        mcid_unit=definition.mcid.unit if definition.mcid else None,
    )
