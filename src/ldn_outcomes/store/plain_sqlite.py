"""The patient list read with the standard library's ``sqlite3``: no SQLAlchemy, no models.

Why this exists: ``ldn patient list`` should answer within ten bare Python starts, and
importing SQLAlchemy's ORM and building the record models costs over thirty of them on their
own. So for a plain SQLite file URL the command reads here first, and everything unusual
goes the ordinary way (:func:`..reports.patient_view.patient_list`, the
:class:`.registry.Registry` repository), which then answers or fails exactly as before:
another database (PostgreSQL), another driver or URL form, a missing file, a file that is not
a database, a schema not current, any database error, or a stored row the ``Patient`` model
would not take back unchanged. :func:`patient_listing` returns ``None`` for all of these.

The query means what ``Registry.records(Patient, clinician_id=...)`` means: live patients
(``live.LIVE_SQL``), optionally of one clinician, in ``patient_id`` order, each as
``Patient.model_dump(mode="json")``. ``tests/store/test_plain_sqlite.py`` holds the two equal
on a registry of several patients (some removed) and holds the row check to the model's.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from typing import Any
from urllib.parse import quote

from ..domain.dates import EARLIEST_DATE, date_problem
from ..domain.identifiers import IDENTIFIER_MAX_LENGTH, IDENTIFIER_PATTERN
from .live import LIVE_SQL
from .revisions import VERSION_TABLE, head_revisions

#: The settings of every SQLite connection the registry opens (``db.make_engine`` applies
#: them to the engine's connections too): write-ahead log, foreign keys, and a wait of up to
#: ten seconds for a lock.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
)

#: The fields of ``domain.models.Patient``, in its order, which are also ``patients`` columns.
PATIENT_FIELDS = (
    "patient_id",
    "year_of_birth",
    "sex",
    "phenotype",
    "first_symptoms_date",
    "diagnosis_date",
    "clinician_id",
    "site_id",
)

# Only the plain form of a SQLite file URL: the default driver, a path without a query,
# escapes or fragment (anything else is SQLAlchemy's to read).
_PLAIN_URL = re.compile(r"sqlite(?:\+pysqlite)?:///([^?#%]+)")
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def sqlite_pragmas(dbapi_connection: Any) -> None:
    """Apply :data:`SQLITE_PRAGMAS` to a new driver connection."""
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def plain_sqlite_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///path`` URL, or None for any other URL."""
    match = _PLAIN_URL.fullmatch(url)
    if match is None:
        return None
    path = match.group(1)
    if path == ":memory:" or path.startswith("//"):
        return None
    return path


def patient_listing(url: str, clinician_id: str | None = None) -> list[dict[str, Any]] | None:
    """The live patients (of one clinician, if given) as the repository lists them, read
    with ``sqlite3``; None whenever the ordinary read must answer instead (see the module)."""
    path = plain_sqlite_path(url)
    if path is None:
        return None
    where = LIVE_SQL
    parameters: tuple[str, ...] = ()
    if clinician_id is not None:
        where += " AND clinician_id = ?"
        parameters = (clinician_id,)
    query = f"SELECT {', '.join(PATIENT_FIELDS)} FROM patients WHERE {where} ORDER BY patient_id"
    try:
        # mode=rw: a missing file is not created here (the ordinary path explains it).
        connection = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        sqlite_pragmas(connection)
        connection.execute("BEGIN")  # the schema check and the rows from one snapshot
        if not _schema_is_current(connection):
            return None
        rows = connection.execute(query, parameters).fetchall()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    if not rows:
        return []
    from ..domain.codes import Phenotype, Sex  # the vocabularies, once there is a row to check

    vocabularies = {"sex": {s.value for s in Sex}, "phenotype": {p.value for p in Phenotype}}
    listed = []
    for row in rows:
        patient = _as_listed(row, vocabularies)
        if patient is None:
            return None
        listed.append(patient)
    return listed


def _schema_is_current(connection: sqlite3.Connection) -> bool:
    """``migrate.is_up_to_date``, on a driver connection."""
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VERSION_TABLE,)
    ).fetchone()
    if found is None:
        return False
    versions = {str(v) for (v,) in connection.execute(f"SELECT version_num FROM {VERSION_TABLE}")}
    return versions == head_revisions()


def _as_listed(row: tuple[Any, ...], vocabularies: dict[str, set[str]]) -> dict[str, Any] | None:
    """A stored row as ``Patient.model_dump(mode="json")`` gives it, or None when the model
    would refuse it or change it (the ordinary read then raises or answers as before)."""
    patient = dict(zip(PATIENT_FIELDS, row, strict=True))
    year = patient["year_of_birth"]
    if type(year) is not int or not EARLIEST_DATE.year <= year <= dt.date.max.year:
        return None
    if any(patient[name] not in values for name, values in vocabularies.items()):
        return None
    for name in ("patient_id", "clinician_id", "site_id"):
        value = patient[name]
        if value is None and name != "patient_id":
            continue
        if not _is_identifier(value):
            return None
    for name in ("first_symptoms_date", "diagnosis_date"):
        value = patient[name]
        if value is None:
            continue
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return None
        if date_problem(day, dt.date.max, birth_year=year) is not None:
            return None
        patient[name] = day.isoformat()
    return patient


def _is_identifier(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= IDENTIFIER_MAX_LENGTH
        and _IDENTIFIER.fullmatch(value) is not None
    )
