"""Writes are transactions: audited when committed, gone when not."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from tests.factories import demo_patient

from ldn_outcomes.domain.models import EdssAssessment
from ldn_outcomes.errors import DuplicateRecord, NotFound, ValidationFailed
from ldn_outcomes.store.tables import AuditRow
from ldn_outcomes.store.uow import UnitOfWork


def audit(engine: Engine) -> list[AuditRow]:
    with UnitOfWork(engine) as uow:
        assert uow.session is not None
        rows = list(uow.session.scalars(select(AuditRow).order_by(AuditRow.id)))
        uow.session.expunge_all()
        return rows


def test_create_update_remove_are_audited(engine: Engine) -> None:
    with UnitOfWork(engine, actor="dr.who") as uow:
        uow.registry.add(demo_patient("P1"))
        edss = uow.registry.add(
            EdssAssessment(patient_id="P1", date="2020-01-01", score=2.0)  # type: ignore[arg-type]
        )
        uow.commit()
    with UnitOfWork(engine, actor="dr.who") as uow:
        uow.registry.update(edss.model_copy(update={"score": 2.5}))
        uow.registry.remove("edss", edss.id, "entered for the wrong patient")
        uow.commit()
    rows = audit(engine)
    assert [(r.action, r.table_name, r.actor) for r in rows] == [
        ("create", "patients", "dr.who"),
        ("create", "edss", "dr.who"),
        ("update", "edss", "dr.who"),
        ("remove", "edss", "dr.who"),
    ]
    assert rows[2].before["score"] == 2.0 and rows[2].after["score"] == 2.5
    assert rows[3].after is None and rows[3].reason == "entered for the wrong patient"
    with UnitOfWork(engine) as uow, pytest.raises(ValidationFailed, match="removed with a reason"):
        uow.registry.delete("edss", edss.id)


def test_uncommitted_work_is_rolled_back(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.registry.add(demo_patient("P1"))
    with pytest.raises(RuntimeError), UnitOfWork(engine) as uow:
        uow.registry.add(demo_patient("P2"))
        raise RuntimeError("boom")
    with UnitOfWork(engine) as uow:
        assert uow.registry.count("patients") == 0
    assert audit(engine) == []


def test_duplicate_and_missing_references(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.registry.add(demo_patient("P1"))
        uow.commit()
    with UnitOfWork(engine) as uow, pytest.raises(DuplicateRecord, match="P1"):
        uow.registry.add(demo_patient("P1"))
    with UnitOfWork(engine) as uow, pytest.raises(ValidationFailed, match="does not exist"):
        uow.registry.add(EdssAssessment(patient_id="P9", date="2020-01-01", score=1.0))  # type: ignore[arg-type]
    with UnitOfWork(engine) as uow, pytest.raises(NotFound):
        uow.registry.patient("P9")
