"""Durability benchmark: no acknowledged check-in is lost when the server is killed with SIGKILL.

What it does (bounded in count and time, loopback only):

1. Makes a temporary SQLite database with ``ldn init``, seeds one patient per client, each
   with a patient account and an API token.
2. Starts ``ldn serve`` on 127.0.0.1 with a free port as a child process.
3. Concurrent clients post check-ins through the JSON API for ``--seconds``, each for a day of
   its own; every reply of 201 is an acknowledgement and its record id is kept.
4. At ``--kills`` random moments (seeded) the server is killed with SIGKILL while writes are in
   flight, then started again; the clients keep sending (refused connections are not
   acknowledgements).
5. At the end, every acknowledged id must be in the database, every stored check-in must have
   its audit row (written in the same transaction) and ``ldn audit verify`` must pass.

This is a process kill, not a power cut: it shows that the app acknowledges a write only after
its transaction has committed. Run: ``python bench/bench_kill9.py [--seconds 45] [--kills 5]``.
Exit code 0 when nothing acknowledged was lost and the audit chain verifies, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from machine_info import machine
from sqlalchemy import func, select

from ldn_outcomes.domain.access import Role
from ldn_outcomes.domain.models import Consent, Patient
from ldn_outcomes.domain.validation import parse_record
from ldn_outcomes.store import accounts, api_tokens
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.tables import AuditRow, QuestionnaireRow
from ldn_outcomes.store.uow import UnitOfWork

#: The ``ldn`` command of this interpreter (the same sources as this script imports).
#: Distinct check-in days a client may use (back to the 1970s, after every birth year).
DAYS_PER_CLIENT = 18_000
LDN = [sys.executable, "-c", "from ldn_outcomes.cli.main import app; app()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, patients: int) -> list[tuple[str, str]]:
    """Patients with care consent, each owned by a patient account with an API token."""
    subprocess.run([*LDN, "init", "--db", url], check=True, capture_output=True)
    engine = make_engine(url)
    today = dt.date.today()
    ids = [f"P-KILL{i:02d}" for i in range(patients)]
    with UnitOfWork(engine, actor="bench") as uow:
        for i, pid in enumerate(ids):
            uow.registry.add(
                parse_record(
                    Patient,
                    {
                        "patient_id": pid,
                        "year_of_birth": 1950 + i,
                        "sex": "female",
                        "phenotype": "RRMS",
                        "diagnosis_date": today - dt.timedelta(days=3000),
                    },
                )
            )
            uow.registry.add(
                parse_record(
                    Consent,
                    {"patient_id": pid, "scope": "care", "given_date": today - dt.timedelta(400)},
                )
            )
        uow.commit()
    writers = []
    for pid in ids:
        account = accounts.create_account(
            engine,
            email=f"{pid.lower()}@bench.invalid",
            role=Role.PATIENT,
            password=None,
            patient_id=pid,
            actor="bench",
        )
        _token, plain = api_tokens.create_api_token(engine, account.id, "bench", actor="bench")
        writers.append((pid, plain))
    engine.dispose()
    return writers


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*LDN, "serve", "--db", url, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 30) -> float:
    """Seconds until ``/healthz`` answers 200 (the server may still be loading)."""
    began = time.perf_counter()
    async with httpx.AsyncClient(timeout=1) as client:
        while time.perf_counter() - began < timeout:
            if server.poll() is not None:
                raise RuntimeError(f"ldn serve exited with code {server.returncode}")
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return time.perf_counter() - began
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("ldn serve did not answer within the timeout")


async def run(args: argparse.Namespace, url: str) -> dict[str, object]:
    rng = random.Random(args.seed)
    writers = seed(url, args.clients)  # one patient per client
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port)
    await wait_ready(base, server)
    acknowledged: list[int] = []
    failures = {"connection refused": 0, "cut in flight": 0, "other status": 0}
    statuses: list[str] = []
    stop = asyncio.Event()
    began = time.perf_counter()

    async def client_loop(patient_id: str, token: str) -> None:
        """Posts check-ins for distinct past days (today, yesterday, ...): one check-in a day
        is the rule and a second one corrects the first, so each write gets a day of its own
        and every acknowledgement names a row of its own."""
        path = f"{base}/api/patients/{patient_id}/checkins"
        headers = {"authorization": f"Bearer {token}"}
        today = dt.date.today()
        async with httpx.AsyncClient(timeout=10, headers=headers) as client:
            for n in range(DAYS_PER_CLIENT):
                if stop.is_set() or len(acknowledged) >= args.max_writes:
                    break
                body = {
                    "date": (today - dt.timedelta(days=n)).isoformat(),
                    "fatigue": n % 11,
                    "spasms": (n * 3) % 11,
                    "dose_taken": 1,
                }
                while True:  # a refused connection sent nothing: send the same day again
                    try:
                        response = await client.post(path, json=body)
                    except httpx.ConnectError:  # the server is down: wait for it to come back
                        failures["connection refused"] += 1
                        await asyncio.sleep(0.1)
                        continue
                    except httpx.HTTPError:  # sent, but the server died before it answered
                        failures["cut in flight"] += 1
                        break
                    if response.status_code == 201:
                        acknowledged.append(int(response.json()["id"]))
                    else:
                        failures["other status"] += 1
                        statuses.append(f"{response.status_code} {response.text[:120]}")
                    break

    clients = [asyncio.create_task(client_loop(pid, token)) for pid, token in writers]
    # Kill moments: seeded, spread over the run, leaving writes before the first and after
    # the last.
    moments = sorted(rng.uniform(0.1, 0.85) * args.seconds for _ in range(args.kills))
    restarts: list[float] = []
    kills = 0
    for moment in moments:
        await asyncio.sleep(max(0.0, began + moment - time.perf_counter()))
        if len(acknowledged) >= args.max_writes:
            break
        server.send_signal(signal.SIGKILL)
        server.wait()
        kills += 1
        server = start_server(url, port)
        restarts.append(await wait_ready(base, server))
    await asyncio.sleep(max(0.0, began + args.seconds - time.perf_counter()))
    stop.set()
    await asyncio.gather(*clients)
    elapsed = time.perf_counter() - began
    server.terminate()
    server.wait(timeout=30)

    engine = make_engine(url)
    with engine.connect() as connection:
        stored = set(connection.execute(select(QuestionnaireRow.id)).scalars())
        audited = connection.execute(
            select(func.count())
            .select_from(AuditRow)
            .where(AuditRow.table_name == QuestionnaireRow.__tablename__)
        ).scalar_one()
    engine.dispose()
    lost = sorted(set(acknowledged) - stored)
    verify = subprocess.run([*LDN, "audit", "verify", "--db", url], capture_output=True)
    return {
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "kills": kills,
        "restart_seconds_max": round(max(restarts, default=0.0), 1),
        "restart_seconds_total": round(sum(restarts), 1),
        "acknowledged": len(acknowledged),
        "duplicates_in_acknowledged_ids": len(acknowledged) - len(set(acknowledged)),
        "stored_checkins": len(stored),
        "lost": len(lost),
        "lost_ids": lost[:10],
        "stored_without_acknowledgement": len(stored - set(acknowledged)),
        "checkin_audit_rows": audited,
        "not_acknowledged": failures,
        "other_statuses": statuses[:3],
        "audit_verify_exit": verify.returncode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45, help="length of the run (max 60)")
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-writes", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    args.seconds = min(args.seconds, 60.0)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'kill9.sqlite3'}"
        figures = asyncio.run(run(args, url))
    print(f"machine: {machine()}")
    for name, value in figures.items():
        print(f"{name}: {value}")
    ok = (
        figures["lost"] == 0
        and figures["audit_verify_exit"] == 0
        and figures["checkin_audit_rows"] == figures["stored_checkins"]
    )
    print("result:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
