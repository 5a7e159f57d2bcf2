"""Liveness: the app answers and the database is reachable."""

from __future__ import annotations

from fastapi import APIRouter

from ...store.db import ping
from ..auth import public
from ..deps import EngineDep

router = APIRouter(tags=["health"], dependencies=[public()])


@router.get("/healthz")
def healthz(engine: EngineDep) -> dict[str, str]:
    ping(engine)
    return {"status": "ok", "database": "ok"}  # never the engine: nothing for a scanner
