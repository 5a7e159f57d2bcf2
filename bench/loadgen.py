"""The write benchmark's load generator: a minimal HTTP/1.1 keep-alive client, the paced
concurrent check-in posts, and CPU accounting from /proc.

The server and the load generator share the benchmark machine, so every millisecond of CPU the
client spends is taken from the server. httpx costs about as much CPU per request as the server
does for a check-in; this client only writes a request and reads the status line, headers and
body (``Content-Length`` or chunked), which is all a load generator needs. Every response is
still read completely and its status counted; a broken connection is an error, and the client
reconnects for the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx


class ProtocolError(Exception):
    """The server sent something that is not an HTTP/1.1 response."""


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class Connection:
    """One keep-alive connection; requests on it are sequential."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head = f"Host: {self.host}:{self.port}\r\n{extra}"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def post_json(self, path: str, body: bytes) -> Reply:
        """POST a JSON body and read the whole response; on any failure the connection is
        dropped (the next request opens a new one) and the error propagates."""
        try:
            reader, writer = await self._open()
            writer.write(
                (
                    f"POST {path} HTTP/1.1\r\n{self._head}content-type: application/json\r\n"
                    f"content-length: {len(body)}\r\n\r\n"
                ).encode("latin-1")
                + body
            )
            reply = await _read_reply(reader)
        except BaseException:
            await self.close()
            raise
        if reply.headers.get("connection", "").lower() == "close":
            await self.close()
        return reply


async def _read_reply(reader: asyncio.StreamReader) -> Reply:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1."):
        raise ProtocolError(lines[0][:80])
    status = int(rest[:3])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Reply(status, body, headers)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def bench_writes(
    base: str, writers: list[tuple[str, str]], per_client: int, rate: float, client: str = "raw"
) -> dict[str, object]:
    """Each client posts ``per_client`` check-ins, paced so the total offered rate is
    ``rate``/s (an open-loop schedule: a slow reply does not slow the offered load).

    Latency is measured from sending each request; ``p99_from_schedule_ms`` measures it from
    when the schedule wanted the request sent, so a client held up by a slow reply still
    counts the wait. ``client`` is ``raw`` (the minimal keep-alive client in ``loadgen``) or
    ``httpx``; the load generator's own CPU per request is reported as well."""
    latencies: list[float] = []
    scheduled: list[float] = []
    errors: list[str] = []
    interval = len(writers) / rate

    async def send(
        target: Connection | httpx.AsyncClient, path: str, body: bytes
    ) -> tuple[int, bytes]:
        if isinstance(target, Connection):
            reply = await asyncio.wait_for(target.post_json(path, body), 10)
            return reply.status, reply.body
        response = await target.post(
            path, content=body, headers={"content-type": "application/json"}
        )
        return response.status_code, response.content

    async def client_loop(
        start: float, target: Connection | httpx.AsyncClient, patient_id: str
    ) -> int:
        sent = 0
        path = f"/api/patients/{patient_id}/checkins"
        for n in range(per_client):
            due = start + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = json.dumps({"fatigue": n % 11, "spasms": (n * 3) % 11, "dose_taken": 1}).encode()
            began = time.perf_counter()
            try:
                status, content = await send(target, path, body)
                if status != 201:
                    errors.append(f"{status} {content[:100]!r}")
                else:
                    sent += 1
            except (
                httpx.HTTPError,
                OSError,
                asyncio.IncompleteReadError,
                ProtocolError,
                TimeoutError,
                ValueError,
            ) as error:
                errors.append(repr(error))
            ended = time.perf_counter()
            latencies.append((ended - began) * 1000)
            scheduled.append((ended - due) * 1000)
        return sent

    # Clients are made before the clock starts (an httpx client loads its TLS context, ~20 ms
    # each, which would otherwise stall the schedule of the clients already running).
    targets: list[Connection | httpx.AsyncClient] = [
        Connection(base, {"authorization": f"Bearer {token}"})
        if client == "raw"
        else httpx.AsyncClient(
            base_url=base,
            timeout=10,
            headers={"authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        for _, token in writers
    ]
    gc.collect()
    gc.freeze()  # the load generator's own full collections would pause every client at once
    cpu_started = time.process_time()
    started = time.perf_counter()
    sent = await asyncio.gather(
        *(
            client_loop(started + i * interval / len(writers), target, pid)
            for i, (target, (pid, _)) in enumerate(zip(targets, writers, strict=True))
        )
    )
    seconds = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_started
    for target in targets:
        await (target.close() if isinstance(target, Connection) else target.aclose())
    return {
        "clients": len(writers),
        "client": client,
        "writes_ok": sum(sent),
        "errors": len(errors),
        "first_errors": errors[:3],
        "seconds": round(seconds, 2),
        "writes_per_s": round(sum(sent) / seconds, 1),
        "offered_per_s": rate,
        "p50_ms": round(pct(latencies, 50), 1),
        "p99_ms": round(pct(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "p99_from_schedule_ms": round(pct(scheduled, 99), 1),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / len(latencies), 2),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report CPU per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its live children (uvicorn's worker processes)."""
    total = cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError):  # the child has just exited
                total += tree_cpu_seconds(int(child))
    return total


def postgres_cpu_seconds() -> float:
    """CPU time of all PostgreSQL server processes on this machine (0 if none are visible).
    Includes any other client's work on the same server, so it is an upper bound."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text_ = stat.read_text()
            if text_.split(" (", 1)[1].startswith("postgres)"):
                total += cpu_seconds(int(stat.parent.name))
    return total
