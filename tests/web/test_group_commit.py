"""Check-ins of concurrent requests share one transaction, and never each other's fate.

A group commit must keep every promise a transaction per request kept: each request gets its
own answer (201 with its record, or its own 422 naming the field), a record that fails at the
database is refused alone while the others of its flush are stored, and every stored record
has exactly one audit row naming the account that sent it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ldn_outcomes.domain.models import QuestionnaireResponse
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.store import api_tokens
from ldn_outcomes.store.tables import AuditRow, QuestionnaireRow
from ldn_outcomes.web.app import create_app
from ldn_outcomes.web.views import parse_checkin
from ldn_outcomes.web.writes import add_checkin, checkin_queue

from .conftest import TODAY, World


def _checkin(patient_id: str, fatigue: int, days_back: int = 0) -> QuestionnaireResponse:
    """A check-in; one per patient per day, so concurrent ones use different days."""
    day = (TODAY - dt.timedelta(days=days_back)).isoformat()
    return parse_checkin({"fatigue": fatigue, "dose_taken": 1, "date": day}, patient_id, TODAY)


def _stored(engine: Engine) -> tuple[list[QuestionnaireRow], list[AuditRow]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(QuestionnaireRow)
            .where(QuestionnaireRow.instrument_id == "checkin")
            .order_by(QuestionnaireRow.id)
        ).all()
        audit = session.scalars(
            select(AuditRow)
            .where(
                AuditRow.table_name == "questionnaires",
                AuditRow.record_key.in_([str(r.id) for r in rows]),
            )
            .order_by(AuditRow.id)
        ).all()
    return list(rows), list(audit)


def test_one_invalid_checkin_among_concurrent_ones_gets_its_own_422(world: World) -> None:
    """Over HTTP: twelve concurrent posts with API tokens of two patients, one out of range."""
    tokens = {
        name: api_tokens.create_api_token(
            world.engine, world.accounts[name].id, "script", actor="test"
        )[1]
        for name in ("patient", "patient2")
    }
    own = {"patient": "P-OWN", "patient2": "P-OTHER"}
    posts: list[tuple[str, dict[str, Any]]] = [
        (
            "patient" if i % 2 else "patient2",
            {"fatigue": i % 10, "dose_taken": 1, "date": (TODAY - dt.timedelta(i)).isoformat()},
        )
        for i in range(12)
    ]
    posts[5] = ("patient", {"fatigue": 12, "spasms": 3})

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(world.settings, world.engine))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            return list(
                await asyncio.gather(
                    *(
                        c.post(
                            f"/api/patients/{own[who]}/checkins",
                            json=body,
                            headers={"authorization": f"Bearer {tokens[who]}"},
                        )
                        for who, body in posts
                    )
                )
            )

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [422 if i == 5 else 201 for i in range(12)]
    problem = responses[5].json()["problems"]
    assert [p["field"] for p in problem] == ["fatigue"] and "outside 0–10" in problem[0]["rule"]
    created = {
        r.json()["id"]: (who, body)
        for r, (who, body) in zip(responses, posts, strict=True)
        if r.status_code == 201
    }
    rows, audit = _stored(world.engine)
    assert sorted(r.id for r in rows) == sorted(created)
    for row in rows:
        who, body = created[row.id]
        assert row.patient_id == own[who] and row.answers[0] == body["fatigue"]
    assert sorted(int(a.record_key) for a in audit) == sorted(created)
    for entry in audit:
        who, _ = created[int(entry.record_key)]
        assert entry.action == "create"
        assert entry.actor == f"account:{world.accounts[who].id}:patient"
        assert entry.after is not None and entry.after["patient_id"] == own[who]


def test_concurrent_checkins_share_one_transaction_in_order(world: World) -> None:
    records = [_checkin("P-OWN" if i % 2 else "P-OTHER", i % 11, i) for i in range(20)]

    async def run() -> tuple[list[QuestionnaireResponse], int]:
        stored = await asyncio.gather(
            *(add_checkin(world.engine, f"account:{i}:patient", r) for i, r in enumerate(records))
        )
        return list(stored), checkin_queue(world.engine).calls

    stored, flushes = asyncio.run(run())
    assert flushes == 1
    ids = [s.id for s in stored]
    assert ids == sorted(ids) and len(set(ids)) == 20
    assert [s.model_copy(update={"id": None}) for s in stored] == records
    rows, audit = _stored(world.engine)
    assert [r.id for r in rows] == ids
    assert [(int(a.record_key), a.actor) for a in audit] == [
        (new_id, f"account:{i}:patient") for i, new_id in enumerate(ids)
    ]
    first = audit[0].after
    assert first is not None
    assert first == {
        "id": ids[0],
        "patient_id": "P-OTHER",
        "instrument_id": "checkin",
        "instrument_version": records[0].instrument_version,
        "date": records[0].date.isoformat(),
        "answers": [0.0, None, None, None, 1.0],
        "total": None,
    }


def test_a_record_the_database_refuses_fails_alone(world: World) -> None:
    """A flush with a record for a patient that does not exist: nothing of that flush is kept
    as it was; the good records are written again one by one and the bad one named."""
    records = [_checkin("P-OWN", 2), _checkin("P-GHOST", 3), _checkin("P-OTHER", 4)]

    async def run() -> list[QuestionnaireResponse | BaseException]:
        return list(
            await asyncio.gather(
                *(
                    add_checkin(world.engine, f"account:{i}:patient", r)
                    for i, r in enumerate(records)
                ),
                return_exceptions=True,
            )
        )

    good, bad, other = asyncio.run(run())
    assert isinstance(good, QuestionnaireResponse) and isinstance(other, QuestionnaireResponse)
    assert isinstance(bad, ValidationFailed)
    assert [(p.field, p.value) for p in bad.problems] == [("patient_id", "P-GHOST")]
    rows, audit = _stored(world.engine)
    assert [(r.id, r.patient_id) for r in rows] == [(good.id, "P-OWN"), (other.id, "P-OTHER")]
    assert [(int(a.record_key), a.actor) for a in audit] == [
        (good.id, "account:0:patient"),
        (other.id, "account:2:patient"),
    ]


def test_two_checkins_for_one_day_in_one_flush_keep_one_checkin(world: World) -> None:
    """One check-in per patient per day: the unique index refuses the flush, the retry one by
    one stores the first and turns the second into a correction of it (kept in its history)."""
    first_answer, second_answer = _checkin("P-OWN", 5), _checkin("P-OWN", 7)

    async def run() -> list[QuestionnaireResponse]:
        return list(
            await asyncio.gather(
                add_checkin(world.engine, "a", first_answer),
                add_checkin(world.engine, "a", second_answer),
            )
        )

    first, second = asyncio.run(run())
    assert first.id == second.id
    rows, audit = _stored(world.engine)
    assert len(rows) == 1 and rows[0].answers[0] == 7
    assert [a.action for a in audit] == ["create", "correct"]
    assert audit[1].reason == "check-in entered again for the same day"


def test_checkin_rules_name_the_field_before_anything_is_queued() -> None:
    when = TODAY + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as failure:
        parse_checkin({"fatigue": 3, "date": when.isoformat()}, "P-OWN", TODAY)
    assert [p.field for p in failure.value.problems] == ["date"]
    with pytest.raises(ValidationFailed) as failure:
        parse_checkin({"fatigue": 3, "spasms": 11, "date": when.isoformat()}, "P-OWN", TODAY)
    assert [p.field for p in failure.value.problems] == ["spasms"]
