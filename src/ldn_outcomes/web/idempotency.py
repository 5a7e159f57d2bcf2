"""``Idempotency-Key`` for every API write: a retried request returns the first response.

Pure ASGI middleware around the JSON API's writes (POST, PUT, PATCH, DELETE under ``/api/``):
a request that carries the header is identified by its account, key and a digest of its
method, path, query and body (:mod:`ldn_outcomes.store.idempotency`). The first such request
is processed and its response kept; a retry (same key, same request) gets that response back,
marked ``Idempotency-Replayed: true``, and writes nothing; the same key with a different
request is refused (422). A request that fails on the server is released for a retry only if
it committed no write; otherwise its failure is kept as its response, so that a retry cannot
write twice. Requests without the header are untouched.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import LdnError
from ..store import idempotency
from .auth import current_viewer
from .body_limit import replaying

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "idempotency-key"
#: The kept response of a request that failed on the server after its write was committed.
_FAILED_AFTER_WRITE = {
    "error": "ServerError",
    "message": "the request failed after its change was saved; read the data back instead "
    "of sending it again (a new Idempotency-Key would repeat the change)",
    "problems": [],
}


def _fingerprint(scope: dict, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode()):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


class IdempotentWrites:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITES
            or not scope["path"].startswith("/api/")
            or HEADER not in Headers(scope=scope)
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        engine = request.app.state.engine
        try:
            key = idempotency.check_key(Headers(scope=scope)[HEADER])
            viewer = await current_viewer(request)
        except LdnError as error:
            await JSONResponse(error.as_dict(), error.http_status)(scope, receive, send)
            return
        if viewer.principal is None:  # the route itself answers 401
            await self.app(scope, receive, send)
            return
        body = await request.body()
        actor = viewer.actor
        try:
            stored = await run_in_threadpool(
                idempotency.claim, engine, actor, key, _fingerprint(scope, body)
            )
        except LdnError as error:
            await JSONResponse(error.as_dict(), error.http_status)(scope, receive, send)
            return
        if stored is not None:
            replay = JSONResponse(
                stored.body, stored.status_code, headers={"Idempotency-Replayed": "true"}
            )
            await replay(scope, receive, send)
            return
        await self._process(scope, body, receive, send, engine, actor, key)

    async def _process(
        self, scope: dict, body: bytes, receive: Any, send: Any, engine: Any, actor: str, key: str
    ) -> None:
        replay_body = replaying(body, receive)
        status = 500
        chunks: list[bytes] = []

        async def capture(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        with idempotency.watch_commits() as watch:
            try:
                await self.app(scope, replay_body, capture)
            except BaseException:
                if watch.committed:
                    await run_in_threadpool(
                        idempotency.finish, engine, actor, key, 500, _FAILED_AFTER_WRITE
                    )
                else:
                    await run_in_threadpool(idempotency.release, engine, actor, key)
                raise
        if status in (401, 403) or (status >= 500 and not watch.committed):
            # refused before processing, or failed before writing: may be retried
            await run_in_threadpool(idempotency.release, engine, actor, key)
            return
        try:
            kept = json.loads(b"".join(chunks) or b"null")
        except ValueError:
            kept = _FAILED_AFTER_WRITE if status >= 500 else None
        await run_in_threadpool(idempotency.finish, engine, actor, key, status, kept)
