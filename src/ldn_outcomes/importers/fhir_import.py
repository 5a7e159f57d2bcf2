"""``ldn import --format fhir``: Bundles and bulk NDJSON files into the registry, all or nothing.

Every file is read and every resource validated against the FHIR models (:mod:`.fhir_bundle`,
:mod:`.fhir_ndjson`), read back by the domain's rules (:mod:`.fhir_records`), every problem
collected with its file, resource and element, and only a clean batch is written, through the
store's bulk write path in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from ..domain.definitions.dose_safety import low_dose_notice
from ..domain.models import RECORD_TYPES, Clinician, Exposure, Patient, Record, Site
from ..errors import NotFound, Problem, ValidationFailed
from ..store.bulk import load_records
from ..store.shared_records import SHARED_KINDS
from .fhir_bundle import read_bundle
from .fhir_map import fhir_id, resource_id
from .fhir_ndjson import ndjson_records


def fhir_files(path: Path) -> tuple[list[Path], list[Path]]:
    """The Bundle files (``*.json``) and bulk NDJSON files (``*.ndjson``) at ``path``."""
    if path.is_dir():
        bundles, bulk = sorted(path.glob("*.json")), sorted(path.glob("*.ndjson"))
        if not bundles and not bulk:
            raise NotFound(f"{path}: no FHIR Bundle files (*.json) or NDJSON files (*.ndjson)")
        return bundles, bulk
    if not path.exists():
        raise NotFound(f"{path}: no such file or directory")
    return ([], [path]) if path.suffix == ".ndjson" else ([path], [])


def import_fhir(engine: Engine, path: Path, *, actor: str = "import") -> dict[str, int]:
    """Validate every Bundle (or NDJSON file) at ``path``, then write all of it or nothing.
    Returns counts; see :func:`import_fhir_with_notices`."""
    counts, _ = import_fhir_with_notices(engine, path, actor=actor)
    return counts


def import_fhir_with_notices(
    engine: Engine, path: Path, *, actor: str = "import"
) -> tuple[dict[str, int], list[Problem]]:
    """Validate every Bundle ``*.json`` and bulk ``*.ndjson`` file at ``path``, then write all
    of it or nothing. Returns counts and notices that do not block the import: naltrexone
    doses outside the low-dose range, named by file and resource for a person to check (the
    same rule as the CSV import).

    A site or clinician carried in several Bundles (or already in the registry) is written
    once when every copy agrees, and is a problem when copies differ."""
    batch: dict[str, list[tuple[int | None, Record]]] = {kind: [] for kind in RECORD_TYPES}
    where: list[tuple[str, str]] = []  # (file, resource) by the number given to each record
    problems: list[Problem] = []

    def add(records: dict[str, list[Record]], source_of: Callable[[str], str]) -> None:
        for kind, items in records.items():
            for record in items:
                resource = _resource_of(kind, record)
                batch[kind].append((len(where), record))
                where.append((source_of(resource), resource))

    bundles, bulk = fhir_files(Path(path))
    for file in bundles:
        records, found = read_bundle(file.name, file.read_bytes())
        problems.extend(found)
        add(records, _constant(file.name))
    if bulk:
        records, lines, found = ndjson_records(bulk)
        problems.extend(found)
        add(records, lambda resource: lines.get(resource, resource))
    if problems:
        raise ValidationFailed(problems)
    try:
        counts = load_records(
            engine,
            batch,
            actor=actor,
            source=Path(path).name,
            shared=SHARED_KINDS,
            place=lambda number: where[number or 0][0],
        )
    except ValidationFailed as failure:  # rules across records: name each one's file and resource
        raise ValidationFailed([_located(p, where) for p in failure.problems]) from None
    return counts, _dose_notices(batch, where)


def _constant(name: str) -> Callable[[str], str]:
    return lambda _resource: name


def _dose_notices(
    batch: dict[str, list[tuple[int | None, Record]]], where: list[tuple[str, str]]
) -> list[Problem]:
    notices = []
    for number, record in batch["exposures"]:
        check = low_dose_notice(record) if isinstance(record, Exposure) else None
        if check is None or number is None:
            continue
        source, resource = where[number]
        rule = f"{check.message} (source: {check.source})"
        element = "dosage[0].doseAndRate[0].doseQuantity.value"
        notices.append(Problem(resource, element, rule, value=check.dose_mg, source=source))
    return notices


def _resource_of(kind: str, record: Record) -> str:
    if isinstance(record, Patient):
        return f"Patient/{fhir_id(record.patient_id)}"
    if isinstance(record, Site):
        return f"Organization/{fhir_id(record.site_id)}"
    if isinstance(record, Clinician):
        return f"Practitioner/{fhir_id(record.clinician_id)}"
    return f"{RESOURCE_TYPES[kind]}/{resource_id(EXPORT_KEYS[kind], getattr(record, 'id', None))}"


#: Resource type and id prefix of each record kind read from a Bundle.
RESOURCE_TYPES = {
    "exposures": "MedicationStatement",
    "questionnaires": "QuestionnaireResponse",
    "edss": "Observation",
    "labs": "Observation",
    "adverse_events": "AdverseEvent",
    "consents": "Consent",
}
EXPORT_KEYS = {
    "exposures": "exposure",
    "questionnaires": "questionnaire",
    "edss": "edss",
    "labs": "lab",
    "adverse_events": "adverse_event",
    "consents": "consent",
}


def _located(problem: Problem, where: list[tuple[str, str]]) -> Problem:
    if problem.row is None or not 0 <= problem.row < len(where):
        return problem
    source, resource = where[problem.row]
    kind = resource.partition("/")[0]
    element = CROSS_RECORD_ELEMENTS.get((kind, problem.field))
    element = element or CROSS_RECORD_ELEMENTS.get(("*", problem.field), problem.field)
    return Problem(resource, element, problem.rule, value=problem.value, source=source)


#: The element behind each field that the store's cross-record rules name.
CROSS_RECORD_ELEMENTS = {
    ("Patient", "patient_id"): "identifier",
    ("Patient", "clinician_id"): "generalPractitioner",
    ("Patient", "site_id"): "managingOrganization",
    ("Patient", "year_of_birth"): "birthDate",
    ("Organization", "site_id"): "identifier",
    ("Practitioner", "clinician_id"): "identifier",
    ("Practitioner", "site_id"): "extension(site_id)",
    ("Consent", "patient_id"): "patient",
    ("*", "patient_id"): "subject",
}
