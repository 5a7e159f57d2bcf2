"""Request dependencies: the engine and settings the app was built with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from ..settings import Settings


# Async on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, a thread
# round trip per request just to read an attribute.
async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def wants_json(request: Request) -> bool:
    """A page is data rendered twice: JSON when asked by ?format=json or Accept."""
    if request.query_params.get("format") == "json":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept
