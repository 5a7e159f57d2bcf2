"""Export the registry as a REDCap project (data dictionary + data) and import such files.

``export_redcap_dir`` writes ``LDNOutcomes_DataDictionary.csv`` (upload it to REDCap to build
the project) and ``LDNOutcomes_DATA.csv`` (REDCap's Data Import Tool reads it), named the way
REDCap names its own downloads. It streams: patients are read a chunk at a time, each with
all of their records, from one snapshot of the registry
(:meth:`ldn_outcomes.store.streams.Snapshot.patient_chunks`), so the file describes one instant
and memory holds one chunk.

``import_redcap`` reads a REDCap data export (a ``*_DATA*.csv``) and, when one lies beside it,
the project's data dictionary (``*_DataDictionary*.csv``), which must define every field the
data uses as the registry's dictionary does. Import is all or nothing: every row is validated
by the domain's rules and every problem is named by file, row, record, event or instance, and
REDCap variable; only a clean batch is written, in one transaction, through the store's bulk
write path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import Engine

from ..domain.models import RECORD_TYPES, Clinician, Patient, Record, Site
from ..errors import NotFound, Problem, ValidationFailed
from ..store.bulk import load_records
from ..store.shared_records import SHARED_KINDS
from ..store.streams import export_snapshot
from .fhir_bundle import chunk_references
from .redcap_data import EVENT, IGNORED_COLUMNS, INSTANCE, INSTRUMENT, patient_rows, read_row
from .redcap_data import where as _place
from .redcap_dictionary import (
    csv_line,
    csv_rows,
    dictionary_text,
    mapping,
    read_dictionary,
)
from .redcap_project import PATIENT_FORM, RECORD_ID, Project, project
from .registry_csv import dose_notices

DICTIONARY_FILE = "LDNOutcomes_DataDictionary.csv"
DATA_FILE = "LDNOutcomes_DATA.csv"


def export_redcap_dir(
    engine: Engine, directory: Path, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Write the data dictionary and the data; returns the number of records and rows.
    ``progress(patient_id, 1)`` is told of every patient written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    proj = project()
    (directory / DICTIONARY_FILE).write_text(dictionary_text(proj.fields), encoding="utf-8")
    header = proj.data_header()
    counts = {"records": 0, "rows": 0}
    with (
        export_snapshot(engine) as snapshot,
        (directory / DATA_FILE).open("w", encoding="utf-8", newline="") as out,
    ):
        out.write(csv_line(header))
        for chunk in snapshot.patient_chunks():
            clinicians, sites = chunk_references(snapshot, [item.patient for item in chunk])
            for patient, records in chunk:
                shared = _shared_of(patient, clinicians, sites)
                rows = patient_rows(proj, patient, records, shared)
                for row in rows:
                    out.write(csv_line(row.get(column, "") for column in header))
                counts["records"] += 1
                counts["rows"] += len(rows)
                if progress:
                    progress(patient.patient_id, 1)
    return counts


def _shared_of(
    patient: Patient, clinicians: Mapping[str, Clinician], sites: Mapping[str, Site]
) -> dict[str, Record | None]:
    """The site, clinician and clinician's site a patient's row describes."""
    clinician = clinicians.get(patient.clinician_id or "")
    clinician_site = sites.get(clinician.site_id or "") if clinician else None
    return {
        "site": sites.get(patient.site_id or ""),
        "clinician": clinician,
        "clinician_site": clinician_site,
    }


def redcap_files(path: Path) -> tuple[Path, Path | None]:
    """The data file and the dictionary beside it (None: the registry's own is assumed)."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"{path}: no such file or directory")
    folder = path if path.is_dir() else path.parent
    dictionaries = sorted(folder.glob("*DataDictionary*.csv"))
    if len(dictionaries) > 1:
        names = ", ".join(p.name for p in dictionaries)
        raise ValidationFailed(
            Problem("dictionary", "(file)", f"more than one data dictionary: {names}")
        )
    if path.is_dir():
        data = sorted(p for p in path.glob("*.csv") if p not in dictionaries)
        if len(data) != 1:
            found = ", ".join(p.name for p in data) or "none"
            raise ValidationFailed(
                Problem(
                    "data",
                    "(file)",
                    f"expected one REDCap data export (*.csv) beside the dictionary; found {found}",
                )
            )
        path = data[0]
    return path, (dictionaries[0] if dictionaries else None)


def import_redcap(
    engine: Engine, path: Path, *, actor: str = "import"
) -> tuple[dict[str, int], list[Problem]]:
    """Validate the REDCap export at ``path``, then write all of it or nothing. Returns
    counts and the notices that do not block an import (naltrexone doses outside the low-dose
    range)."""
    data_file, dictionary_file = redcap_files(Path(path))
    proj = project()
    problems: list[Problem] = []
    record_column = RECORD_ID
    header, rows, found = csv_rows(data_file.read_bytes(), data_file.name, "data")
    problems.extend(found)
    used = {column.split("___")[0] for column in header}
    if dictionary_file is not None:
        fields, found = read_dictionary(dictionary_file.name, dictionary_file.read_bytes())
        problems.extend(found)
        if fields:
            record_column = fields[0].name
            for item in mapping(fields, proj):
                if item.status in ("differs", "manual") and item.field in used:
                    what = f"differs from ours: {item.note}"
                    if item.status == "manual":
                        what = "is not a field of the registry's dictionary"
                    rule = f"{what}; map it by hand (ldn redcap check shows every field)"
                    problems.append(
                        Problem("dictionary", item.field, rule, source=dictionary_file.name)
                    )
    problems.extend(_header_problems(proj, header, record_column, data_file.name))
    if problems:
        raise ValidationFailed(problems)
    if record_column != RECORD_ID:
        rows = [(n, {**r, RECORD_ID: r.get(record_column, "")}) for n, r in rows]
    batch, where, notices_in = _read_rows(proj, rows, data_file.name, problems)
    if problems:
        raise ValidationFailed(problems)
    try:
        counts = load_records(
            engine,
            batch,
            actor=actor,
            source=data_file.name,
            shared=SHARED_KINDS,
            place=lambda number: f"row {where[number or 0][0]}",
        )
    except ValidationFailed as failure:  # rules across records: name each one's row
        raise ValidationFailed([_located(p, where, proj) for p in failure.problems]) from None
    notices = [
        Problem(where[row][1], "exposure_dose_mg", n.rule, where[row][0], n.value, n.source)
        for n in dose_notices({"exposures": notices_in}, {"exposures": data_file.name})
        for row in [n.row or 0]
    ]
    return counts, notices


def _header_problems(
    proj: Project, header: list[str], record_column: str, source: str
) -> list[Problem]:
    if not header:
        return [Problem("data", "(header)", "empty file", 1, source=source)]
    known = set(proj.data_header(longitudinal=True)) | set(IGNORED_COLUMNS) | {record_column}
    known |= {f"{form}_timestamp" for form in proj.forms}
    unknown = [c for c in header if c not in known]
    problems = []
    if unknown:
        rule = "not a field of the registry's REDCap project (ldn redcap check maps a dictionary)"
        problems.append(Problem("data", ",".join(unknown)[:300], rule, 1, source=source))
    if record_column not in header:
        problems.append(
            Problem("data", record_column, "the record id column is missing", 1, source=source)
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        problems.append(
            Problem("data", ",".join(repeated), "column named more than once", 1, source=source)
        )
    return problems


Where = list[tuple[int, str, str]]  # (row, place, form) by the number given to each record


def _read_rows(
    proj: Project,
    rows: list[tuple[int, dict[str, str]]],
    source: str,
    problems: list[Problem],
) -> tuple[dict[str, list[tuple[int | None, Record]]], Where, list[tuple[int, Record]]]:
    batch: dict[str, list[tuple[int | None, Record]]] = {kind: [] for kind in RECORD_TYPES}
    where: Where = []
    exposures: list[tuple[int, Record]] = []
    first_row: dict[tuple[str, ...], int] = {}
    for number, row in rows:
        key = tuple((row.get(c) or "").strip() for c in (RECORD_ID, EVENT, INSTRUMENT, INSTANCE))
        read = read_row(proj, number, row, source)
        problems.extend(read.problems)
        for form, record in read.records:
            slot = (key[0], PATIENT_FORM) if form == PATIENT_FORM else (*key, form)
            if slot in first_row:
                what = "patient form" if form == PATIENT_FORM else "instance"
                rule = f"{what} given more than once (first at row {first_row[slot]})"
                problems.append(Problem(_place(row), form, rule, number, source=source))
                continue
            first_row[slot] = number
            kind = proj.kind(form)
            if kind == "exposures":
                exposures.append((len(where), record))
            batch[kind].append((len(where), record))
            where.append((number, _place(row), form))
        for kind, items in (("sites", read.sites), ("clinicians", read.clinicians)):
            for record in items:  # every copy: the load checks that they agree
                batch[kind].append((len(where), record))
                where.append((number, _place(row), PATIENT_FORM))
    return batch, where, exposures


def _located(problem: Problem, where: Where, proj: Project) -> Problem:
    if problem.row is None or not 0 <= problem.row < len(where):
        return problem
    row, place, form = where[problem.row]
    names = {f.attr: f.name for f in proj.form_fields(form)}
    names["patient_id"] = RECORD_ID
    return Problem(
        place,
        names.get(problem.field, problem.field),
        problem.rule,
        row,
        problem.value,
        problem.source,
    )
