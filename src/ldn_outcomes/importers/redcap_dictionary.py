"""REDCap data dictionaries: write ours, read anyone's, and say how theirs maps onto ours.

A data dictionary is a CSV file with REDCap's 18 columns (:data:`.redcap_project.HEADER`), one
row per field. :func:`read_dictionary` reads any such file (a UTF-8 byte-order mark, quoted
multi-line labels and HTML in labels are all normal in real dictionaries) and never raises on
bad input: every problem is named by file, row and field. :func:`mapping` compares a clinic's
dictionary with the registry's and says, field by field, what maps and what a person must map
by hand.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import Problem
from .redcap_project import HEADER, RECORD_ID, Field, Project, project

#: REDCap field types (the "Field Type" column).
FIELD_TYPES = (
    "text",
    "notes",
    "dropdown",
    "radio",
    "checkbox",
    "yesno",
    "truefalse",
    "calc",
    "file",
    "slider",
    "descriptive",
    "sql",
)
CHOICE_TYPES = ("dropdown", "radio", "checkbox")
#: Variable and form names: lower-case letters, digits and underscores, starting with a letter.
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_CELL = 1_000_000


def csv_cell(text: str) -> str:
    """One cell as REDCap writes it: quoted when it holds a space, comma, quote or line break."""
    if any(c in text for c in ' ,"\n\r\t'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(cells: Iterable[str]) -> str:
    return ",".join(csv_cell(cell) for cell in cells) + "\n"


def dictionary_text(fields: Sequence[Field] | None = None) -> str:
    """The registry's data dictionary (or the given fields) as CSV text."""
    rows = [csv_line(HEADER)]
    for item in fields if fields is not None else project().fields:
        rows.append(csv_line(item.row()[column] for column in HEADER))
    return "".join(rows)


def csv_rows(
    data: bytes, source: str, record: str
) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[Problem]]:
    """Header and (row number, cells) of a CSV file; the header is row 1 and a row is one
    record, however many lines its quoted cells span. Never raises on bad bytes."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        rule = f"not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start}"
        return [], [], [Problem(record, "(file)", rule, source=source)]
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    limit = csv.field_size_limit(max(MAX_CELL, csv.field_size_limit()))
    header: list[str] = []
    number = 1
    try:
        header = next(reader, [])
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                rule = f"{len(cells)} cells but {len(header)} header columns"
                problems.append(Problem(record, "(row)", rule, number, source=source))
                continue
            cells += [""] * (len(header) - len(cells))
            rows.append((number, dict(zip(header, cells, strict=True))))
    except csv.Error as error:
        rule = f"not readable as CSV: {error}"
        problems.append(Problem(record, "(row)", rule, number + 1, source=source))
    finally:
        csv.field_size_limit(limit)
    return header, rows, problems


def parse_choices(text: str) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """``"1, Yes | 2, No"`` as ((code, label), ...), or the reason it cannot be read. A label
    may hold commas (only the first comma separates the code)."""
    choices = []
    for part in text.split("|"):
        if not part.strip():
            continue
        code, comma, label = part.partition(",")
        if not comma or not code.strip():
            return (), f"choice {part.strip()!r} is not 'code, label'"
        choices.append((code.strip(), label.strip()))
    codes = [code for code, _ in choices]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        return (), f"choice code(s) {', '.join(repeated)} given more than once"
    if not choices:
        return (), "no choices"
    return tuple(choices), None


def read_dictionary(source: str, data: bytes) -> tuple[list[Field], list[Problem]]:
    """Every field of a REDCap data dictionary, and every problem named by row and field."""
    header, rows, problems = csv_rows(data, source, "dictionary")
    if not header and not problems:
        return [], [Problem("dictionary", "(header)", "empty file", 1, source=source)]
    if header and tuple(h.strip() for h in header) != HEADER:
        missing = [h for h in HEADER if h not in [c.strip() for c in header]]
        rule = "not a REDCap data dictionary header; expected the 18 columns " + "; ".join(HEADER)
        if missing:
            rule += f" (missing: {'; '.join(missing)})"
        return [], [Problem("dictionary", "(header)", rule, 1, source=source)]
    fields: list[Field] = []
    seen: dict[str, int] = {}
    for number, cells in rows:
        cells = {k.strip(): v for k, v in cells.items()}
        name = cells["Variable / Field Name"].strip()
        found = _field_problems(cells, name, number, source)
        if name in seen:
            rule = f"variable named more than once (first at row {seen[name]})"
            found.append(Problem("dictionary", name, rule, number, source=source))
        seen.setdefault(name, number)
        problems.extend(found)
        if found:
            continue
        kind = cells["Field Type"].strip()
        choices_text = cells["Choices, Calculations, OR Slider Labels"].strip()
        choices: tuple[tuple[str, str], ...] = ()
        extra = {}
        if kind in CHOICE_TYPES:
            choices, _ = parse_choices(choices_text)
        elif choices_text:
            extra["calculation" if kind in ("calc", "sql") else "labels"] = choices_text
        fields.append(
            Field(
                name=name,
                form=cells["Form Name"].strip(),
                field_type=kind,
                label=cells["Field Label"],
                choices=choices,
                note=cells["Field Note"],
                validation=cells["Text Validation Type OR Show Slider Number"].strip(),
                minimum=cells["Text Validation Min"].strip(),
                maximum=cells["Text Validation Max"].strip(),
                required=cells["Required Field?"].strip().lower() == "y",
                branching=cells["Branching Logic (Show field only if...)"].strip(),
                annotation=cells["Field Annotation"],
                section=cells["Section Header"],
                identifier=cells["Identifier?"].strip().lower() == "y",
                extra=extra,
            )
        )
    return fields, problems


def _field_problems(cells: dict[str, str], name: str, row: int, source: str) -> list[Problem]:
    problems = []

    def problem(column: str, rule: str, value: str | None = None) -> None:
        problems.append(
            Problem("dictionary", f"{name or '(blank)'}.{column}", rule, row, value, source)
        )

    if not NAME.match(name):
        problem("name", "must be lower-case letters, digits and _, starting with a letter", name)
    form = cells["Form Name"].strip()
    if not NAME.match(form):
        problem("form", "must be lower-case letters, digits and _, starting with a letter", form)
    kind = cells["Field Type"].strip()
    if kind not in FIELD_TYPES:
        problem("type", f"must be one of {', '.join(FIELD_TYPES)}", kind)
    elif kind in CHOICE_TYPES:
        _, reason = parse_choices(cells["Choices, Calculations, OR Slider Labels"])
        if reason:
            problem("choices", reason)
    return problems


# -- mapping a clinic's dictionary onto ours -----------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """How one of their fields maps onto the registry's dictionary."""

    field: str
    form: str
    field_type: str
    status: str  # "maps", "differs", "manual", "no data"
    ours: str = ""
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "form": self.form,
            "type": self.field_type,
            "status": self.status,
            "ours": self.ours,
            "note": self.note,
        }


#: Field types that hold no data of their own.
NO_DATA = ("descriptive",)


def differences(theirs: Field, ours: Field) -> list[str]:
    """What in their definition of a field stops its data being read as ours."""
    found = []
    if theirs.field_type != ours.field_type:
        found.append(f"type {theirs.field_type} (ours: {ours.field_type})")
    if theirs.validation != ours.validation:
        found.append(
            f"validation {theirs.validation or 'none'} (ours: {ours.validation or 'none'})"
        )
    their_codes = {code for code, _ in theirs.choices}
    our_codes = {code for code, _ in ours.choices}
    if ours.choices and their_codes - our_codes:
        found.append(f"choice codes not ours: {', '.join(sorted(their_codes - our_codes))}")
    elif theirs.choices and {c: lbl for c, lbl in theirs.choices} != dict(ours.choices):
        changed = [c for c, lbl in theirs.choices if dict(ours.choices).get(c) != lbl]
        if changed:
            found.append(f"choice labels differ for code(s) {', '.join(changed)}")
    if theirs.form != ours.form:
        found.append(f"on form {theirs.form} (ours: {ours.form})")
    return found


def mapping(theirs: Sequence[Field], ours: Project | None = None) -> list[Mapping]:
    """Field by field: maps as it is, differs from ours (and how), or needs mapping by hand
    (with our fields that share a word with it, as a hint for the person doing it)."""
    ours = ours or project()
    by_name = ours.by_name
    report = []
    for number, item in enumerate(theirs):
        if number == 0:  # REDCap's record id is the first field, whatever its name
            note = "" if item.name == RECORD_ID else "their record id field"
            report.append(Mapping(item.name, item.form, item.field_type, "maps", RECORD_ID, note))
            continue
        if item.field_type in NO_DATA:
            report.append(Mapping(item.name, item.form, item.field_type, "no data"))
            continue
        mine = by_name.get(item.name)
        if mine is not None:
            found = differences(item, mine)
            if found:
                note = "; ".join(found)
                report.append(
                    Mapping(item.name, item.form, item.field_type, "differs", mine.name, note)
                )
            else:
                report.append(Mapping(item.name, item.form, item.field_type, "maps", mine.name))
            continue
        hint = _candidates(item, ours.fields)
        note = f"candidates: {', '.join(hint)}" if hint else "no field of ours shares a word"
        report.append(Mapping(item.name, item.form, item.field_type, "manual", "", note))
    return report


def missing_required(theirs: Sequence[Field], ours: Project | None = None) -> list[str]:
    """Our required fields missing from the forms their dictionary does map onto (the
    patient form always; a repeating form once any of its fields is there)."""
    ours = ours or project()
    names = {f.name for f in theirs}
    by_name = ours.by_name
    forms = {by_name[n].form for n in names if n in by_name} | {ours.forms[0]}
    return [
        f.name
        for f in ours.fields
        if f.required and f.form in forms and f.name not in names and f.name != RECORD_ID
    ]


_STOP = {"the", "of", "a", "an", "and", "or", "to", "in", "for", "at", "on", "is", "id", "date"}


def _words(text: str) -> set[str]:
    plain = re.sub(r"<[^>]*>", " ", text.lower())
    return {w for w in re.findall(r"[a-z]{3,}", plain) if w not in _STOP}


def _candidates(item: Field, fields: Sequence[Field], limit: int = 3) -> list[str]:
    words = _words(item.name.replace("_", " ") + " " + item.label)
    scored = []
    for mine in fields:
        if mine.name == RECORD_ID:
            continue
        shared = words & _words(mine.name.replace("_", " ") + " " + mine.label)
        if shared:
            scored.append((-len(shared), mine.name))
    return [name for _, name in sorted(scored)[:limit]]
