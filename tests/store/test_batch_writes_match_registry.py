"""The batched check-in write (``store.batch_writes``, one multi-row INSERT for the responses
and one for their audit rows) stores what the registry stores one record at a time: the same
rows with the same ids, and the same audit rows (actor, action, key, before, after)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.factories import demo_patient

from ldn_outcomes.domain.models import QuestionnaireResponse
from ldn_outcomes.store.batch_writes import insert_questionnaires
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.tables import AuditRow, QuestionnaireRow
from ldn_outcomes.store.uow import UnitOfWork

DAY = dt.date(2025, 3, 1)


def _responses() -> list[tuple[str, QuestionnaireResponse]]:
    """Check-ins and questionnaires of two patients from two actors, blanks included."""
    items = []
    for n in range(6):
        patient = "P001" if n % 2 else "P002"
        answers = (float(n % 5), None if n == 3 else 1.0, 5.0, 0.0, 1.0)
        record = QuestionnaireResponse(
            patient_id=patient,
            instrument_id="checkin",
            instrument_version="1",
            date=DAY + dt.timedelta(days=n),
            answers=answers,
        )
        items.append((f"account:{n % 2 + 1}", record))
    fss = QuestionnaireResponse(
        patient_id="P001",
        instrument_id="fss",
        instrument_version="1",
        date=DAY,
        answers=(4.0, 5.0, 6.0, 3.0, 2.0, 7.0, 1.0, 4.0, 4.0),
    )
    return [*items, ("account:1", fss)]


@pytest.fixture
def two_registries(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Engine, Engine]]:
    engines = []
    for name in ("one_by_one", "batched"):
        path = tmp_path / f"{name}.sqlite3"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        with UnitOfWork(engine, actor="test") as uow:
            uow.registry.add(demo_patient("P001"))
            uow.registry.add(demo_patient("P002"))
            uow.commit()
        engines.append(engine)
    yield engines[0], engines[1]
    for engine in engines:
        engine.dispose()


def _stored(engine: Engine) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with Session(engine) as session:
        rows = session.scalars(select(QuestionnaireRow).order_by(QuestionnaireRow.id)).all()
        audit = session.scalars(
            select(AuditRow).where(AuditRow.table_name == "questionnaires").order_by(AuditRow.id)
        ).all()
        row_values = [
            {c.name: getattr(r, c.key) for c in QuestionnaireRow.__table__.columns} for r in rows
        ]
        audit_values = [
            {
                "actor": a.actor,
                "action": a.action,
                "record_key": a.record_key,
                "before": a.before,
                "after": a.after,
            }
            for a in audit
        ]
    return row_values, audit_values


def test_batched_write_stores_what_the_registry_stores(
    two_registries: tuple[Engine, Engine],
) -> None:
    one_by_one, batched = two_registries
    items = _responses()
    by_registry = []
    for actor, record in items:
        with UnitOfWork(one_by_one, actor=actor) as uow:
            by_registry.append(uow.registry.add(record))
            uow.commit()
    with batched.begin() as connection:
        by_batch = insert_questionnaires(connection, items)
    assert by_batch == by_registry  # the returned records, ids and scores included
    rows, audit = _stored(batched)
    assert (rows, audit) == _stored(one_by_one)
    assert len(rows) == len(items) and [a["actor"] for a in audit] == [a for a, _ in items]
