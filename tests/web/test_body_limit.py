"""Request bodies over the limit are refused before anything reads them (web/body_limit.py).

Declared with a Content-Length or streamed without one, a body larger than the limit gets a
413 in the app's error shape, with the security headers, and writes nothing; bodies up to the
limit reach their route unchanged.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ldn_outcomes.store.tables import QuestionnaireRow
from ldn_outcomes.web.body_limit import MAX_REQUEST_BYTES, BodyLimit

from .conftest import World


def _checkins(world: World) -> int:
    with Session(world.engine) as session:
        return session.scalar(select(func.count()).select_from(QuestionnaireRow)) or 0


def _chunks(body: bytes, size: int = 65_536):
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("streamed", [False, True])
def test_a_json_body_over_the_limit_is_refused_and_writes_nothing(
    world: World, streamed: bool
) -> None:
    body = json.dumps({"fatigue": 3, "note": "x" * MAX_REQUEST_BYTES}).encode()
    client = world.client("patient")
    headers = {"x-csrf-token": world.csrf("patient"), "content-type": "application/json"}
    response = client.post(
        "/api/patients/P-OWN/checkins",
        content=_chunks(body) if streamed else body,
        headers=headers,
    )
    assert response.status_code == 413
    assert response.json()["error"] == "RequestTooLarge"
    assert "1,048,576 bytes" in response.json()["message"]
    assert response.headers["x-frame-options"] == "DENY"
    assert _checkins(world) == 0


def test_a_form_over_the_limit_is_refused_before_the_sign_in_runs(world: World) -> None:
    client = world.client(None)
    response = client.post(
        "/login",
        data={"email": "a@example.org", "password": "p" * (MAX_REQUEST_BYTES + 1)},
    )
    assert response.status_code == 413


def test_a_body_within_the_limit_reaches_its_route(world: World) -> None:
    client = world.client("patient")
    response = client.post(
        "/api/patients/P-OWN/checkins",
        content=_chunks(json.dumps({"fatigue": 3}).encode(), size=4),
        headers={"x-csrf-token": world.csrf("patient"), "content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert _checkins(world) == 1


def test_the_middleware_hands_on_exactly_the_body_it_read() -> None:
    """At the limit to the byte, in uneven chunks: the app receives the same bytes once, then
    what the server sends next (a disconnect)."""
    seen: list[dict] = []

    async def app(scope: dict, receive, send) -> None:
        seen.append(await receive())
        seen.append(await receive())

    body = bytes(range(256)) * 4  # 1,024 bytes
    messages = [
        {"type": "http.request", "body": part, "more_body": True} for part in _chunks(body, 300)
    ]
    messages[-1]["more_body"] = False
    messages.append({"type": "http.disconnect"})

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        raise AssertionError(f"nothing is refused: {message}")

    scope = {"type": "http", "method": "POST", "headers": []}
    asyncio.run(BodyLimit(app, max_bytes=len(body))(scope, receive, send))
    assert seen[0] == {"type": "http.request", "body": body, "more_body": False}
    assert seen[1] == {"type": "http.disconnect"}
