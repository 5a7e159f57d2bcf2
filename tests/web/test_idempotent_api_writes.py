"""``Idempotency-Key`` on every JSON API write, not only the record API: the n-of-1 writes
(request, seal, unblind), patient creation and check-ins. A retried request with the same key
and body creates nothing new and gets the first response back; the same key with another body
is refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ldn_outcomes.store.nof1_tables import NOf1RequestRow, NOf1TrialRow
from ldn_outcomes.web.app import create_app
from ldn_outcomes.web.auth import SESSION_COOKIE
from ldn_outcomes.web.idempotency import WRITES

from .conftest import World
from .nof1_world import add_checkins, add_pharmacy

START = dt.date.today() + dt.timedelta(days=7)


def _count(world: World, table: type) -> int:
    with Session(world.engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_every_json_write_route_lies_under_the_api_prefix_the_keys_guard(world: World) -> None:
    """The middleware guards writes under ``/api/``; a JSON write listed in the OpenAPI
    elsewhere would escape it (the form posts of the pages are post/redirect/get instead)."""
    paths = create_app(world.settings, world.engine).openapi()["paths"]
    json_writes = [
        path
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method.upper() in WRITES
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert "/api/patients/{patient_id}/nof1/requests" in json_writes
    assert [p for p in json_writes if not p.startswith("/api/")] == []


def test_a_retried_trial_request_creates_one_request(world: World) -> None:
    patient = world.client("patient")
    headers = {"x-csrf-token": world.csrf("patient"), "Idempotency-Key": "ask-1"}
    url = "/api/patients/P-OWN/nof1/requests"
    first = patient.post(url, json={"outcome": "fatigue_nrs"}, headers=headers)
    again = patient.post(url, json={"outcome": "fatigue_nrs"}, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["idempotency-replayed"] == "true"
    assert _count(world, NOf1RequestRow) == 1
    other = patient.post(url, json={"outcome": "fatigue_nrs", "note": "x"}, headers=headers)
    assert other.status_code == 422 and "different request" in other.text
    assert _count(world, NOf1RequestRow) == 1


def test_a_retried_seal_and_unblind_are_replayed(world: World) -> None:
    add_pharmacy(world, "pharmacy")
    add_checkins(world.engine, "P-OWN", dt.date.today() - dt.timedelta(days=14), [5.0, 6.0] * 7)
    clinician = world.client("clinician")
    csrf = world.csrf("clinician")
    body = {
        "start_date": START.isoformat(),
        "pairs": 3,
        "period_days": 28,
        "trial_id": "T-KEY",
        "detectable_effect_reviewed": True,
        "pharmacy_account_id": world.accounts["pharmacy"].id,
    }
    headers = {"x-csrf-token": csrf, "Idempotency-Key": "seal-1"}
    url = "/api/patients/P-OWN/nof1/trials"
    first = clinician.post(url, json=body, headers=headers)
    again = clinician.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["idempotency-replayed"] == "true"
    assert _count(world, NOf1TrialRow) == 1
    # without the key the same body is a new write, and the trial id is taken
    assert clinician.post(url, json=body, headers={"x-csrf-token": csrf}).status_code == 409
    refused = clinician.post(url, json={**body, "pairs": 4}, headers=headers)
    assert refused.status_code == 422 and "different request" in refused.text
    # unblinding before the end is refused (403): not kept, a retry is processed again
    unblind = {"x-csrf-token": csrf, "Idempotency-Key": "open-1"}
    for _ in range(2):
        early = clinician.post(
            "/api/patients/P-OWN/nof1/unblind", json={"trial_id": "T-KEY"}, headers=unblind
        )
        assert early.status_code == 403 and "idempotency-replayed" not in early.headers


def test_a_retried_patient_creation_creates_one_patient(world: World) -> None:
    clinician = world.client("clinician")
    headers = {"x-csrf-token": world.csrf("clinician"), "Idempotency-Key": "pat-1"}
    before = len(clinician.get("/api/patients").json())
    body = {"patient_id": "P-KEY", "birth_year": 1980, "sex": "F", "ms_phenotype": "RRMS"}
    first = clinician.post("/api/patients", json=body, headers=headers)
    again = clinician.post("/api/patients", json=body, headers=headers)
    assert first.status_code == again.status_code, first.text
    assert again.json() == first.json() and again.headers["idempotency-replayed"] == "true"
    assert len(clinician.get("/api/patients").json()) == before + (first.status_code == 201)


def _app_with_failing_write(world: World, *, write: bool) -> tuple[Any, list[int]]:
    """The app plus one API route that fails on the server, after a committed write or
    before any write; ``calls`` counts how often the route ran."""
    from ldn_outcomes.store.audit import audit_event

    app = create_app(world.settings, world.engine)
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        if write:
            audit_event(world.engine, actor="test", action="export", table="t", key="k")
        raise RuntimeError("the response could not be built")

    app.add_api_route("/api/test-failing-write", failing, methods=["POST"])
    return app, calls


def _post(world: World, app: Any, key: str) -> Any:
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    client.cookies.set(SESSION_COOKIE, world.sessions["clinician"][0])
    headers = {"x-csrf-token": world.csrf("clinician"), "Idempotency-Key": key}
    return client.post("/api/test-failing-write", json={}, headers=headers)


def test_a_failure_after_a_committed_write_keeps_the_key(world: World) -> None:
    app, calls = _app_with_failing_write(world, write=True)
    first = _post(world, app, "fail-after")
    again = _post(world, app, "fail-after")
    assert first.status_code == again.status_code == 500
    assert calls == [1]  # the retry did not write again
    assert again.headers["idempotency-replayed"] == "true"
    assert "saved" in again.json()["message"]


def test_a_failure_before_any_write_releases_the_key(world: World) -> None:
    app, calls = _app_with_failing_write(world, write=False)
    assert _post(world, app, "fail-before").status_code == 500
    assert _post(world, app, "fail-before").status_code == 500
    assert calls == [1, 1]  # released: the retry ran again


def test_a_group_committed_checkin_counts_as_a_committed_write(world: World) -> None:
    """Check-ins of concurrent requests are committed together by a worker outside the
    request; the request's key must still know its write was committed."""
    import asyncio

    from ldn_outcomes.domain.models import QuestionnaireResponse
    from ldn_outcomes.store import idempotency
    from ldn_outcomes.web.writes import add_checkin

    record = QuestionnaireResponse(
        patient_id="P-OWN",
        instrument_id="checkin",
        instrument_version="1",
        date=dt.date.today() - dt.timedelta(days=40),
        answers=(5.0, None, None, 0.0, 1.0),
    )

    async def store() -> bool:
        with idempotency.watch_commits() as watch:
            await add_checkin(world.engine, "test", record)
        return watch.committed

    assert asyncio.run(store())
