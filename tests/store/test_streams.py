"""Chunked reads for exports: the same records as the whole-table reads, in the same order,
and a patient's records never split across chunks, whatever the chunk size."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from tests.factories import registries

from ldn_outcomes.domain.models import PATIENT_KINDS, RECORD_TYPES, Patient, Record
from ldn_outcomes.store.bulk import load_records
from ldn_outcomes.store.streams import count_live, export_snapshot
from ldn_outcomes.store.tables import ROW_TYPES
from ldn_outcomes.store.uow import UnitOfWork


def _fill(engine: Engine, registry: dict[str, list[Record]]) -> None:
    with engine.begin() as connection:
        for kind in reversed(list(RECORD_TYPES)):
            connection.execute(delete(ROW_TYPES[kind]))
    load_records(
        engine,
        {kind: [(None, r) for r in records] for kind, records in registry.items()},
        actor="test",
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(registry=registries(max_patients=6), size=st.integers(1, 4))
def test_chunks_hold_the_same_records_as_whole_reads(
    engine: Engine, registry: dict[str, list[Record]], size: int
) -> None:
    _fill(engine, registry)
    with UnitOfWork(engine) as uow:
        whole = {kind: uow.registry.records(RECORD_TYPES[kind]) for kind in RECORD_TYPES}
        per_patient = {
            p.patient_id: uow.registry.patient_records(p.patient_id) for p in whole["patients"]
        }
    with export_snapshot(engine) as snapshot:
        for kind, cls in RECORD_TYPES.items():
            chunks = list(snapshot.record_chunks(cls, size))
            assert all(1 <= len(chunk) <= size for chunk in chunks)
            assert [r for chunk in chunks for r in chunk] == whole[kind], kind
        chunks = list(snapshot.patient_chunks(PATIENT_KINDS, size))
    assert all(1 <= len(chunk) <= size for chunk in chunks)
    seen = [item.patient for chunk in chunks for item in chunk]
    assert seen == whole["patients"]  # each patient once, in id order
    for chunk in chunks:
        for patient, records in chunk:
            assert records == per_patient[patient.patient_id]  # all of them, in key order
    assert count_live(engine, list(RECORD_TYPES)) == {k: len(v) for k, v in whole.items()}


def test_removed_records_and_patients_stay_out_of_the_chunks(engine: Engine) -> None:
    registry = {
        "patients": [
            Patient(patient_id=pid, year_of_birth=1980, phenotype="RRMS") for pid in ("A", "B", "C")
        ]
    }
    _fill(engine, registry)
    with UnitOfWork(engine, actor="test") as uow:
        uow.registry.remove("patients", "B", "entered twice")
        uow.commit()
    with export_snapshot(engine) as snapshot:
        chunks = list(snapshot.patient_chunks(("exposures",), size=1))
        assert [[item.patient.patient_id for item in chunk] for chunk in chunks] == [["A"], ["C"]]
        assert [p.patient_id for c in snapshot.record_chunks(Patient) for p in c] == ["A", "C"]


def test_a_chunk_size_below_one_and_unknown_kinds_are_refused(engine: Engine) -> None:
    with export_snapshot(engine) as snapshot:
        with pytest.raises(ValueError, match="at least 1"):
            next(snapshot.record_chunks(Patient, 0))
        with pytest.raises(ValueError, match="not patient record kinds"):
            next(snapshot.patient_chunks(("patients",)))
