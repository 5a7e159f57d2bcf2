"""The bulk write path: many records of many kinds in one all-or-nothing transaction.

Two entry points share one transaction discipline:

* :func:`load_records` for validated domain records (file imports): each record gets its own
  audit row, references and duplicate ids are checked for the whole batch before anything is
  written, and every problem is reported with its file and row.
* :func:`write_frames` for column-oriented data (the simulator, ~10 million rows): the same
  rules are checked column-wise by :mod:`ldn_outcomes.store.frame_rules`, rows are written with
  the driver's fast paths, and one summary audit row per table records the load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import CursorResult, Engine, insert, select
from sqlalchemy.orm import Session

from ..domain.checkin import CHECKIN_INSTRUMENT
from ..domain.definitions.exposure import is_ldn
from ..domain.models import RECORD_TYPES, Exposure, Patient, Record
from ..errors import DuplicateRecord, InteractionError, Problem, ValidationFailed
from . import audit_chain
from .audit import audit_values, write_audit
from .convert import key_column, record_to_values, table_of
from .frame_rules import check_frames
from .patient_lock import lock_patients
from .registry import Registry
from .shared_records import merge_shared
from .tables import QuestionnaireRow

ORDER = list(RECORD_TYPES)
Progress = Callable[[str, int], None]


def load_records(
    engine: Engine,
    records: Mapping[str, Sequence[tuple[int | None, Record]]],
    *,
    actor: str,
    source: str = "import",
    shared: Collection[str] = (),
    place: Callable[[int | None], str] | None = None,
) -> dict[str, int]:
    """Write (row number, record) pairs of each kind; all or nothing. Returns counts by kind.

    Kinds in ``shared`` (sites, clinicians) may come as several copies of one id: in the same
    transaction, every copy must agree and one the registry holds is kept if equal, refused if
    not (:func:`~ldn_outcomes.store.shared_records.merge_shared`; ``place`` names a row)."""
    counts: dict[str, int] = {}
    with Session(engine) as session, session.begin():
        registry = Registry(session, actor)
        problems: list[Problem] = []
        batches: dict[str, Sequence[tuple[int | None, Record]]] = dict(records)
        for kind in shared:
            batches[kind], found = merge_shared(
                registry, kind, batches.get(kind, ()), source, place
            )
            problems.extend(found)
        pending: dict[str, set[str]] = {}
        birth_years = {
            record.patient_id: record.year_of_birth
            for _, record in batches.get("patients", ())
            if isinstance(record, Patient)
        }
        for kind in ORDER:
            batch = batches.get(kind, ())
            if not batch:
                continue
            problems.extend(_duplicate_problems(session, kind, batch, source))
            if kind == "questionnaires":
                problems.extend(_checkin_day_problems(session, batch, source))
            try:
                registry.check_references(
                    kind,
                    [record for _, record in batch],
                    first_row=0,
                    pending=pending,
                    pending_birth_years=birth_years,
                )
            except ValidationFailed as failure:
                rows = [row for row, _ in batch]
                problems.extend(_with_rows(failure.problems, batch, rows, source))
            key = key_column(kind)
            if key != "id":
                pending[kind] = {getattr(record, key) for _, record in batch}
        problems.extend(_interaction_problems(registry, batches.get("exposures", ()), source))
        if problems:
            raise ValidationFailed(problems)
        for kind in ORDER:
            batch = batches.get(kind, ())
            if not batch:
                continue
            table = table_of(kind)
            key = key_column(kind)
            values = [record_to_values(kind, record) for _, record in batch]
            with_id = [v for v in values if v.get(key) is not None]
            without_id = [v for v in values if v.get(key) is None]
            if with_id:
                session.execute(insert(table), with_id)
            if without_id:
                for v in without_id:
                    inserted = cast("CursorResult[Any]", session.execute(insert(table).values(**v)))
                    new_key = inserted.inserted_primary_key  # None only for executemany
                    assert new_key is not None
                    v[key] = new_key[0]
            audit_chain.append(  # one chain step for the whole kind, not one per record
                session,
                [
                    audit_values(
                        actor=actor,
                        action="create",
                        table=kind,
                        key=str(v[key]),
                        before=None,
                        after={**v, "_source": source},
                    )
                    for v in values
                ],
            )
            counts[kind] = len(values)
        if engine.dialect.name == "postgresql":
            _reset_sequences(session.connection(), [k for k in counts if key_column(k) == "id"])
    return counts


def _interaction_problems(
    registry: Registry, batch: Sequence[tuple[int | None, Record]], source: str
) -> list[Problem]:
    """Naltrexone-opioid overlaps and second ongoing LDN regimens the batch would add, per
    patient, with the file row."""
    by_patient: dict[str, list[tuple[int | None, Exposure]]] = {}
    for row, record in batch:
        if isinstance(record, Exposure):
            by_patient.setdefault(record.patient_id, []).append((row, record))
    problems: list[Problem] = []
    lock_patients(registry.session, by_patient)  # all at once, in key order
    for patient_id, items in by_patient.items():
        try:
            registry.check_interactions(patient_id, [record for _, record in items])
        except ValidationFailed as failure:  # opioid overlaps, or a second ongoing LDN regimen
            ongoing = [r for r, e in items if is_ldn(e) and e.stop_date is None]
            for problem in failure.problems:
                if not isinstance(failure, InteractionError):
                    problems.append(
                        Problem(
                            problem.record,
                            problem.field,
                            problem.rule,
                            ongoing[-1] if ongoing else None,
                            patient_id,
                            source,
                        )
                    )
                    continue
                row = next((r for r, e in items if e.drug_name == problem.value), None)
                if row is None:  # the opioid was already recorded: point at the new naltrexone
                    row = next((r for r, e in items if e.drug_name in problem.rule), None)
                problems.append(
                    Problem(problem.record, problem.field, problem.rule, row, patient_id, source)
                )
    return problems


def _with_rows(
    problems: Iterable[Problem],
    batch: Sequence[tuple[int | None, Record]],
    rows: list[int | None],
    source: str,
) -> list[Problem]:
    fixed = []
    for problem in problems:
        row = rows[problem.row] if problem.row is not None and problem.row < len(rows) else None
        if row is None:
            # find the first record with the offending value
            for r, record in batch:
                if getattr(record, problem.field, object()) == problem.value:
                    row = r
                    break
        fixed.append(
            Problem(problem.record, problem.field, problem.rule, row, problem.value, f"{source}")
        )
    return fixed


def _checkin_day_problems(
    session: Session, batch: Sequence[tuple[int | None, Record]], source: str
) -> list[Problem]:
    """One daily check-in per patient per day: a second in the file, or one for a day that
    already has a check-in in the registry, is refused with its row."""
    seen: dict[tuple[str, Any], int | None] = {}
    problems = []
    for row, record in batch:
        if getattr(record, "instrument_id", None) != CHECKIN_INSTRUMENT:
            continue
        day = (record.patient_id, record.date)  # type: ignore[attr-defined]
        if day in seen:
            problems.append(
                Problem(
                    "questionnaire",
                    "date",
                    f"a second check-in for this patient on this day (also on row {seen[day]})",
                    row,
                    str(day[1]),
                    source,
                )
            )
            continue
        seen[day] = row
    for patient_id in sorted({p for p, _ in seen}):
        days = [d for p, d in seen if p == patient_id]
        for existing in session.scalars(
            select(QuestionnaireRow.date).where(
                QuestionnaireRow.patient_id == patient_id,
                QuestionnaireRow.instrument_id == CHECKIN_INSTRUMENT,
                QuestionnaireRow.removed_at.is_(None),
                QuestionnaireRow.date.in_(days),
            )
        ):
            problems.append(
                Problem(
                    "questionnaire",
                    "date",
                    "the registry already has a check-in for this patient on this day",
                    seen[(patient_id, existing)],
                    str(existing),
                    source,
                )
            )
    return problems


def _duplicate_problems(
    session: Session, kind: str, batch: Sequence[tuple[int | None, Record]], source: str
) -> list[Problem]:
    key = key_column(kind)
    seen: dict[Any, int | None] = {}
    problems = []
    name = RECORD_TYPES[kind].record_name
    for row, record in batch:
        value = getattr(record, key)
        if value is None:
            continue
        if value in seen:
            problems.append(
                Problem(name, key, f"duplicate id (also on row {seen[value]})", row, value, source)
            )
        else:
            seen[value] = row
    table = table_of(kind)
    column = getattr(table, key)
    keys = list(seen)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for existing in session.scalars(select(column).where(column.in_(chunk))):
            problems.append(
                Problem(
                    name, key, "id already exists in the registry", seen[existing], existing, source
                )
            )
    return problems


# --------------------------------------------------------------------------------------------
# Column-oriented loading


def _json_column(series: pd.Series) -> list[str]:
    """JSON text of each value; a value that is already text is taken as JSON as it is."""
    return [v if isinstance(v, str) else json.dumps(v) for v in series]


def _column_values(series: pd.Series) -> list[Any]:
    """Python values of a column with None for every missing one (NaN, NaT, None)."""
    values = series.to_numpy(dtype=object)
    missing = pd.isna(series).to_numpy()
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values.tolist()


def _date_text(series: pd.Series) -> np.ndarray:
    """ISO dates (None for NaT), vectorised: strftime per element is too slow for 10^7 rows."""
    values = series.to_numpy(dtype="datetime64[D]")
    text = np.datetime_as_string(values, unit="D").astype(object)
    text[np.isnat(values)] = None
    return text


#: On SQLite, a table receiving at least this many rows has its secondary indexes dropped and
#: rebuilt after the insert, inside the same transaction (one sort instead of millions of
#: B-tree updates; a failed load rolls the indexes back with everything else).
REBUILD_INDEXES_FROM_ROWS = 200_000


def _drop_sqlite_indexes(cursor: Any, table: str) -> list[str]:
    """Drop a table's explicit indexes; returns the statements that recreate them."""
    rows = cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY name",
        (table,),
    ).fetchall()
    for name, _ in rows:
        cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


def write_frames(
    engine: Engine,
    frames: Mapping[str, pd.DataFrame],
    *,
    actor: str,
    source: str,
    progress: Progress | None = None,
    chunk_rows: int = 200_000,
) -> dict[str, int]:
    """Check the registry rules column-wise, then write every frame in one transaction.

    Frames use the table's column names; dates as ``datetime64``/``date``; EDSS functional
    systems and questionnaire answers as Python dicts/lists. Raises ValidationFailed (naming
    the kind, row and rule) before anything is written.
    """
    check_frames(frames)
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        dbapi = connection.connection.driver_connection
        if dbapi is None:  # only after the pool has invalidated it; never inside begin()
            raise RuntimeError("the database connection was closed before the write began")
        existing_keys: dict[str, Any] = {}
        for kind in ORDER:
            frame = frames.get(kind)
            if frame is None or frame.empty:
                continue
            key = key_column(kind)
            table = table_of(kind)
            ids = frame.get(key)
            if ids is not None and ids.notna().any():
                column = getattr(table, key)
                present = connection.execute(select(column).limit(1)).first()
                if present is not None:
                    values = ids.dropna().tolist()
                    clash: list[Any] = []
                    for start in range(0, len(values), 500):
                        clash.extend(
                            connection.execute(
                                select(column).where(column.in_(values[start : start + 500]))
                            ).scalars()
                        )
                        if clash:
                            break
                    if clash:
                        raise DuplicateRecord(
                            f"{kind}: id {clash[0]!r} already exists in the registry"
                        )
            existing_keys[kind] = True
            columns = [c.name for c in table.__table__.columns if c.name in frame.columns]
            prepared = frame[columns].copy()
            for name in ("answers", "functional_systems"):
                if name in prepared:
                    prepared[name] = _json_column(prepared[name])
            for name in prepared.columns:
                if pd.api.types.is_datetime64_any_dtype(prepared[name]):
                    prepared[name] = _date_text(prepared[name])
            total = len(prepared)
            written = 0
            if engine.dialect.name == "sqlite":
                sql = (
                    f"INSERT INTO {table.__tablename__} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})"
                )
                cursor = dbapi.cursor()
                rebuild = (
                    _drop_sqlite_indexes(cursor, table.__tablename__)
                    if total >= REBUILD_INDEXES_FROM_ROWS
                    else []
                )
                values = [_column_values(prepared[name]) for name in columns]
                for start in range(0, total, chunk_rows):
                    end = min(total, start + chunk_rows)
                    cursor.executemany(sql, zip(*(v[start:end] for v in values), strict=True))
                    written += end - start
                    if progress:
                        progress(kind, end - start)
                for statement in rebuild:
                    cursor.execute(statement)
            else:
                prepared = prepared.astype(object).where(prepared.notna(), None)
                with (
                    dbapi.cursor() as cursor,
                    cursor.copy(
                        f"COPY {table.__tablename__} ({', '.join(columns)}) FROM STDIN"
                    ) as copy,
                ):
                    for start in range(0, total, chunk_rows):
                        chunk = prepared.iloc[start : start + chunk_rows]
                        for values in chunk.itertuples(index=False, name=None):
                            copy.write_row(values)
                        written += len(chunk)
                        if progress:
                            progress(kind, len(chunk))
            counts[kind] = written
        if engine.dialect.name == "postgresql":
            _reset_sequences(connection, [k for k in counts if key_column(k) == "id"])
        with Session(bind=connection) as session:
            for kind, number in counts.items():
                write_audit(
                    session,
                    actor=actor,
                    action="bulk_create",
                    table=kind,
                    key=f"{number} rows",
                    before=None,
                    after={"rows": number, "source": source},
                )
            session.flush()
    return counts


def _reset_sequences(connection: Any, kinds: list[str]) -> None:
    from sqlalchemy import text

    for kind in kinds:
        name = table_of(kind).__tablename__
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
            )
        )
