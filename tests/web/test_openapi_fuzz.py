"""Every operation in the OpenAPI document, fuzzed from its own schema (schemathesis), as each
role and anonymously: no input gives a server error. Valid and invalid inputs (schemathesis's
positive and negative generation); in-process (ASGI), bounded and deterministic."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import Engine

from ldn_outcomes.settings import Settings
from ldn_outcomes.store.api_tokens import create_api_token
from ldn_outcomes.web.app import create_app

from .conftest import World

#: Examples per operation and role: 5 callers x ~50 operations x 8 = ~2,000 requests.
EXAMPLES = 8
ROLES = ("patient", "clinician", "researcher", "admin")


def _operations(engine: Engine, app_settings: Settings) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(app_settings, engine))
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation: Any, headers: dict[str, str], failures: list[str]) -> int:
    """Run the examples; returns how many requests were made."""
    calls = [0]

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(GenerationMode.POSITIVE)
        | operation.as_strategy(GenerationMode.NEGATIVE)
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        calls[0] += 1
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} {case.path_parameters} "
                f"{case.query} {case.body!r:.200} -> {response.status_code}"
            )

    run()
    return calls[0]


@pytest.mark.parametrize("role", ROLES)
def test_no_input_gives_a_server_error(world: World, role: str) -> None:
    _, token = create_api_token(world.engine, world.accounts[role].id, "fuzz", actor="test")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = _operations(world.engine, world.settings)
    assert len(operations) >= 30
    calls = sum(_fuzz(operation, headers, failures) for operation in operations)
    assert calls >= 2 * len(operations)  # the fuzzer really talked to the app
    assert failures == [], "\n".join(failures[:20])


def test_anonymous_requests_give_no_server_error(world: World) -> None:
    failures: list[str] = []
    operations = _operations(world.engine, world.settings)
    calls = sum(_fuzz(operation, {}, failures) for operation in operations)
    assert calls >= 2 * len(operations)
    assert failures == [], "\n".join(failures[:20])
