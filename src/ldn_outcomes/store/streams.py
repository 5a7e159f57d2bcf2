"""The registry read in chunks, for exports whose memory must stay flat as the registry grows.

Every export (CSV, FHIR Bundles, FHIR NDJSON, and any other format) reads through here:

* :func:`export_snapshot` opens one read-only :class:`Snapshot` (SQLite: one read transaction;
  PostgreSQL: ``REPEATABLE READ, READ ONLY``), so every chunk of one export sees the same
  registry even while others write;
* :meth:`Snapshot.record_chunks` yields the live records of one kind in key order, ``size``
  at a time (the rows stream from the driver's cursor: a server-side cursor on PostgreSQL);
* :meth:`Snapshot.patient_chunks` yields patients in id order, ``size`` at a time, each with
  all of their live records by kind: a patient's records are never split across two chunks.

* :attr:`Snapshot.connection` is the snapshot's connection, for reads that take one instead of
  the engine (``store.frames.read_frame``): they too see the snapshot's instant.

At most one chunk of records is alive at a time; :func:`count_live` gives the totals up
front (for a progress bar). Usage::

    with export_snapshot(engine) as snapshot:
        for chunk in snapshot.patient_chunks(("exposures", "relapses")):
            for patient, records in chunk:
                ...  # records["exposures"]: the patient's exposures in key order
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from ..domain.models import PATIENT_KINDS, Patient, Record
from .convert import key_column, row_to_record, table_of
from .live import live_only
from .registry import KIND_OF

R = TypeVar("R", bound=Record)

#: Records per chunk of one kind, and patients per chunk of patients (with all their records).
RECORDS_PER_CHUNK = 2000
PATIENTS_PER_CHUNK = 200


class PatientRecords(NamedTuple):
    """One patient and every live record of theirs, by kind (each list in key order)."""

    patient: Patient
    records: dict[str, list[Record]]


@contextmanager
def export_snapshot(engine: Engine) -> Iterator[Snapshot]:
    """One read-only snapshot of the registry to read chunks from; nothing is written."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        else:  # pysqlite begins no transaction for a SELECT: begin one, so chunks agree
            connection.exec_driver_sql("BEGIN")
        session = Session(bind=connection)
        try:
            yield Snapshot(session)
        finally:
            session.close()
            connection.rollback()


def count_live(engine: Engine, kinds: Sequence[str]) -> dict[str, int]:
    """The number of live records of each kind (for a progress bar's total)."""
    counts = {}
    with engine.connect() as connection:
        for kind in kinds:
            table = table_of(kind)
            query = live_only(select(func.count()).select_from(table), table)
            counts[kind] = connection.scalar(query) or 0
    return counts


class Snapshot:
    """The chunked reads of one export, all from the same snapshot."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def connection(self) -> Connection:
        """The snapshot's connection: ``read_frame(snapshot.connection, ...)`` reads in it."""
        return self.session.connection()

    def record_chunks(self, record_type: type[R], size: int | None = None) -> Iterator[list[R]]:
        """The live records of one type in key order, ``size`` (default
        :data:`RECORDS_PER_CHUNK`) at a time."""
        size = RECORDS_PER_CHUNK if size is None else size
        if size < 1:
            raise ValueError("chunk size must be at least 1")
        kind = KIND_OF[record_type]
        table = table_of(kind)
        query = live_only(select(*table.__table__.columns), table).order_by(
            getattr(table, key_column(kind))
        )
        result = self.session.execute(query.execution_options(yield_per=size))
        for rows in result.partitions(size):
            yield cast(list[R], [row_to_record(kind, row) for row in rows])

    def patient_chunks(
        self, kinds: Sequence[str] = PATIENT_KINDS, size: int | None = None
    ) -> Iterator[list[PatientRecords]]:
        """Live patients in id order, ``size`` (default :data:`PATIENTS_PER_CHUNK`) at a time,
        each with their live records of ``kinds`` (each in key order): one query per kind and
        chunk, never one per patient, and never a patient's records split across chunks."""
        size = PATIENTS_PER_CHUNK if size is None else size
        if size < 1:
            raise ValueError("chunk size must be at least 1")
        unknown = [kind for kind in kinds if kind not in PATIENT_KINDS]
        if unknown:
            raise ValueError(f"not patient record kinds: {', '.join(unknown)}")
        last: str | None = None
        patients = table_of("patients")
        while True:
            query = live_only(select(*patients.__table__.columns), patients)
            if last is not None:
                query = query.where(patients.patient_id > last)  # type: ignore[attr-defined]
            query = query.order_by(patients.patient_id).limit(size)  # type: ignore[attr-defined]
            rows = self.session.execute(query).all()
            if not rows:
                return
            chunk = [cast(Patient, row_to_record("patients", row)) for row in rows]
            last = chunk[-1].patient_id
            by_patient = {p.patient_id: PatientRecords(p, {k: [] for k in kinds}) for p in chunk}
            for kind in kinds:
                for record in self._records_of(kind, list(by_patient)):
                    by_patient[record.patient_id].records[kind].append(record)  # type: ignore[attr-defined]
            yield list(by_patient.values())
            if len(rows) < size:
                return

    def _records_of(self, kind: str, patient_ids: list[str]) -> Iterator[Record]:
        table = table_of(kind)
        query = (
            live_only(select(*table.__table__.columns), table)
            .where(table.patient_id.in_(patient_ids))  # type: ignore[attr-defined]
            .order_by(getattr(table, key_column(kind)))
        )
        for row in self.session.execute(query):
            yield row_to_record(kind, row)

    def referenced(self, kind: str, keys: set[Any]) -> list[Record]:
        """The records of a reference kind (sites, clinicians) with these keys, in key order."""
        if not keys:
            return []
        table = table_of(kind)
        column = getattr(table, key_column(kind))
        query = select(*table.__table__.columns).where(column.in_(sorted(keys))).order_by(column)
        return [row_to_record(kind, row) for row in self.session.execute(query)]
