"""Refuse request bodies over a limit before any route, form parser or JSON decoder reads them.

Why: Starlette reads a JSON body whole into memory and parses a form of any size; nothing else
bounds what a client may send, so one request of a few hundred megabytes (or many at once)
could exhaust a small server's memory. Every body the app accepts is a form or a small JSON
object (a record, a correction, a trial design, a plain-language summary); none comes near
the limit. A declared ``Content-Length`` over it is refused at once; a body sent without one
(chunked) is read up to the limit and refused as soon as it passes it. Either way the answer
is a 413 in the app's error shape, and the route never runs.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from ..errors import RequestTooLarge


def replaying(body: bytes, receive: Any) -> Any:
    """An ASGI ``receive`` that hands the app a body already read, whole, then passes on to
    the real one (a disconnect): how a middleware that had to read the body lets the route
    read it again."""
    delivered = False

    async def replay() -> dict:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


#: 1 MiB, a project choice: a thousand times the largest form or record body the pages send.
MAX_REQUEST_BYTES = 1_048_576
#: Methods whose body is never read (a body sent with them is passed on unread).
_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyLimit:
    """Pure ASGI middleware: buffers a body up to ``max_bytes`` and hands it on, or answers
    413."""

    def __init__(self, app: Any, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: dict, receive: Any, send: Any) -> None:
        error = RequestTooLarge(
            f"the request body is larger than {self.max_bytes:,} bytes; nothing was saved"
        )
        response = JSONResponse(error.as_dict(), status_code=error.http_status)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in _NO_BODY:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client has gone: nothing to answer
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.app(scope, replaying(b"".join(chunks), receive), send)
