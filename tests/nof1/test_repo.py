"""Storing trials: sealing, who can read what, unblinding and its audit trail, migration."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from ldn_outcomes.domain.access import Principal, Role
from ldn_outcomes.domain.nof1 import allocate, make_design
from ldn_outcomes.errors import NotFound, PermissionDenied, ValidationFailed
from ldn_outcomes.store import migrate
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.nof1_repo import NOf1Repository, seal, unseal
from ldn_outcomes.store.nof1_tables import NOf1AllocationRow
from ldn_outcomes.store.schema import metadata
from ldn_outcomes.store.tables import AuditRow

from .conftest import ADMIN, PHARMACY, SECRET, add_diary

START = dt.date(2025, 1, 6)
PATIENT_ACCOUNT = Principal(11, "p1@test.invalid", Role.PATIENT, patient_id="P1")
CLINICIAN_ACCOUNT = Principal(12, "c1@test.invalid", Role.CLINICIAN, clinician_id="C1")
OTHER_CLINICIAN = Principal(13, "c2@test.invalid", Role.CLINICIAN, clinician_id="C2")


def design(seed: int = 42, **overrides):
    values = dict(trial_id="T1", patient_id="P1", start_date=START, seed=seed)
    values.update(overrides)
    return make_design(**values)


def create(engine: Engine, d=None, actor: Principal = ADMIN):
    with Session(engine) as session, session.begin():
        return NOf1Repository(session, SECRET).create(d or design(), actor)


def audit(engine: Engine, action: str) -> list[AuditRow]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.action == action)))


def test_seal_round_trip_and_tamper_detection() -> None:
    token = seal(SECRET, "T1", {"seed": 5, "ldn_first": [True, False]})
    assert unseal(SECRET, "T1", token) == {"seed": 5, "ldn_first": [True, False]}
    with pytest.raises(PermissionDenied):
        unseal(b"another-secret-entirely-0123456789", "T1", token)
    with pytest.raises(PermissionDenied):
        unseal(SECRET, "T2", token)  # cannot be moved to another trial
    raw = bytearray(token.encode())
    raw[30] = ord("A") if raw[30] != ord("A") else ord("B")
    with pytest.raises(PermissionDenied):
        unseal(SECRET, "T1", raw.decode())


def test_outcome_never_recorded_is_refused(engine: Engine, patient: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create(engine)
    assert caught.value.problems[0].field == "outcome"
    assert "never recorded fatigue_nrs" in str(caught.value)


def test_blinded_trial_lifecycle(engine: Engine, patient: str) -> None:
    add_diary(
        engine,
        patient,
        START - dt.timedelta(days=30),
        30 + 168,
        pairs=3,
        seed=42,
        trial_start=START,
    )
    record = create(engine)
    assert record.blinded and record.design.seed is None
    # Nothing about the order or the seed is readable in the database.
    with Session(engine) as session:
        stored = session.get(NOf1AllocationRow, "T1")
        raw = base64.urlsafe_b64decode(stored.sealed)
        assert b"ldn_first" not in raw and b"seed" not in raw  # encrypted, not encoded
        trial_audit = audit(engine, "create")
        assert any(
            a.table_name == "nof1_trials" and "seed" not in json.dumps(a.after) for a in trial_audit
        )
    with Session(engine) as session:
        repo = NOf1Repository(session, SECRET)
        assert repo.get("T1", PATIENT_ACCOUNT).design.seed is None
        assert repo.get("T1", CLINICIAN_ACCOUNT).blinded
        with pytest.raises(PermissionDenied):
            repo.get("T1", OTHER_CLINICIAN)
        for actor in (PATIENT_ACCOUNT, CLINICIAN_ACCOUNT):
            with pytest.raises(PermissionDenied, match="only the pharmacy"):
                repo.allocation_for_pharmacy("T1", actor)
            with pytest.raises(PermissionDenied, match="still blinded"):
                repo.unblinded_allocation("T1", actor)
        assert [r.design.trial_id for r in repo.list(CLINICIAN_ACCOUNT)] == ["T1"]
        assert repo.list(OTHER_CLINICIAN) == []
    # The pharmacy reads it, and that read is audited.
    with Session(engine) as session, session.begin():
        opened = NOf1Repository(session, SECRET).allocation_for_pharmacy("T1", PHARMACY)
    assert opened.design.seed == 42
    assert [a.record_key for a in audit(engine, "read_allocation")] == ["T1"]
    # Early unblinding is refused with the date; nothing is written.
    end = record.design.end_date
    with Session(engine) as session, session.begin(), pytest.raises(PermissionDenied) as caught:
        NOf1Repository(session, SECRET).unblind("T1", PATIENT_ACCOUNT, end)
    assert end.isoformat() in str(caught.value)
    assert audit(engine, "unblind") == []
    # After the last period the patient may unblind; the audit row records who and what.
    with Session(engine) as session, session.begin():
        record, allocation = NOf1Repository(session, SECRET).unblind(
            "T1", PATIENT_ACCOUNT, end + dt.timedelta(days=1)
        )
    assert allocation == allocate(3, 42)
    assert not record.blinded and record.unblinded_by == "account:11:patient"
    rows = audit(engine, "unblind")
    assert len(rows) == 1 and rows[0].actor == "account:11:patient"
    assert rows[0].after["ldn_first"] == list(allocation)
    with Session(engine) as session:
        _, again = NOf1Repository(session, SECRET).unblinded_allocation("T1", CLINICIAN_ACCOUNT)
    assert again == allocation


def test_only_the_patients_clinician_or_staff_may_design(engine: Engine, patient: str) -> None:
    add_diary(engine, patient, START, 10)
    with pytest.raises(PermissionDenied):
        create(engine, actor=PATIENT_ACCOUNT)
    with pytest.raises(PermissionDenied):
        create(engine, actor=OTHER_CLINICIAN)
    assert create(engine, actor=CLINICIAN_ACCOUNT).design.trial_id == "T1"
    with pytest.raises(NotFound):
        create(engine, design(patient_id="nobody", trial_id="T9"))


def test_migration_0003_up_and_down(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate.upgrade(engine, "0003")
    tables = set(inspect(engine).get_table_names())
    assert {"nof1_trials", "nof1_allocations"} <= tables
    migrate.downgrade(engine, "0001")
    tables = set(inspect(engine).get_table_names())
    assert not {"nof1_trials", "nof1_allocations"} & tables
    assert "patients" in tables
    engine.dispose()


def test_migration_matches_the_table_classes(engine: Engine) -> None:
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    ours = [d for d in diffs if "nof1" in repr(d)]
    assert ours == []
