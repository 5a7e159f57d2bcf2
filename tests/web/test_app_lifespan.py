"""Server start: long-lived startup objects are moved out of the cycle collector's reach."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ldn_outcomes.settings import Settings
from ldn_outcomes.web.app import create_app


def test_server_start_freezes_startup_objects(engine: Engine, settings: Settings) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        with TestClient(create_app(settings, engine)) as client:  # runs the lifespan
            assert gc.get_freeze_count() > 0
            assert client.get("/healthz").status_code == 200
    finally:
        gc.unfreeze()
