"""Liveness: the app answers and the database is reachable."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from ..auth import public
from ..deps import EngineDep

router = APIRouter(tags=["health"], dependencies=[public()])


@router.get("/healthz")
def healthz(engine: EngineDep) -> dict[str, str]:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok", "database": engine.dialect.name}
