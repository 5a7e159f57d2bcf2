"""Web benchmark: page latency on a 10,000-patient registry, and concurrent check-in writes.

Usage::

    python bench/bench_web.py                       # SQLite (a temporary file)
    LDN_TEST_POSTGRES_URL=postgresql://... python bench/bench_web.py --postgres

1. Builds a simulated registry (10,000 patients x 5 years, seed 1) plus accounts: a patient,
   a clinician linked to 200 consented patients, and 32 patient accounts with API tokens.
2. Starts a real uvicorn (separate process, 127.0.0.1, free port) and measures each page
   sequentially (warm-up, then N requests): p50/p95 per page and over all pages.
3. 32 concurrent clients post daily check-ins through the JSON API with their own tokens, a
   bounded number each, offered at a fixed total rate; reports achieved writes/s, p50/p99
   latency and errors, then counts the rows back in the database (no lost writes).
Targets: page p95 <= 100 ms; >= 500 writes/s with p99 <= 50 ms, zero errors, zero lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ldn_outcomes.domain.access import Role
from ldn_outcomes.domain.models import Consent
from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry
from ldn_outcomes.store import accounts, migrate
from ldn_outcomes.store.db import make_engine, normalise_url
from ldn_outcomes.store.tables import QuestionnaireRow
from ldn_outcomes.store.uow import UnitOfWork

PATIENTS = 10_000
WRITERS = 32
PASSWORD = "bench password 123"
PAGES = [
    ("patient", "/me"), ("patient", "/me/checkin"), ("patient", "/me/records"),
    ("patient", "/me/summary"), ("patient", "/me/consents"),
    ("clinician", "/patients"), ("clinician", "/patients/{linked}"),
    ("clinician", "/clinic/analysis"), ("clinician", "/api/patients/{linked}"),
    (None, "/"), (None, "/figures"), (None, "/login"),
]
SLOW_DOWNLOADS = [("researcher", "/research"), ("researcher", "/research/export.csv")]


def machine() -> str:
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.platform()} | Python {platform.python_version()} | "
            f"{os.cpu_count()} CPUs | {mem:.1f} GiB RAM | load average {load}")


def build(url: str, patients: int) -> dict[str, object]:
    from argon2 import PasswordHasher

    accounts.PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    engine = make_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    registry = simulate_registry(SimulationParams(patients=patients, years=5, seed=1))
    counts = load_into_db(registry, engine, actor="bench")
    ids = sorted(registry.frames["patients"]["patient_id"])
    linked = ids[:200]
    with UnitOfWork(engine, actor="bench") as uow:
        for pid in linked:
            uow.registry.add(Consent(patient_id=pid, scope="care", given_date="2021-01-01"))
        uow.commit()
    patient = accounts.create_account(engine, email="p@bench.invalid", role=Role.PATIENT,
                                      password=PASSWORD, patient_id=ids[0], actor="bench")
    clinician = accounts.create_account(engine, email="c@bench.invalid", role=Role.CLINICIAN,
                                        password=PASSWORD, actor="bench")
    researcher = accounts.create_account(engine, email="r@bench.invalid", role=Role.RESEARCHER,
                                         password=PASSWORD, actor="bench")
    for pid in linked:
        accounts.link_patient(engine, clinician.id, pid, actor="bench")
    sessions = {name: accounts.create_session(engine, a.id, 3600)[0]
                for name, a in (("patient", patient), ("clinician", clinician),
                                ("researcher", researcher))}
    writers = []
    for i, pid in enumerate(ids[1:WRITERS + 1]):
        account = accounts.create_account(engine, email=f"w{i}@bench.invalid",
                                          role=Role.PATIENT, password=None, patient_id=pid,
                                          actor="bench")
        _token, plain = accounts.create_api_token(engine, account.id, "bench", actor="bench")
        writers.append((pid, plain))
    engine.dispose()
    return {"rows": counts, "build_seconds": round(time.perf_counter() - started, 1),
            "sessions": sessions, "writers": writers, "linked": linked[0]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "LDN_BENCH_DB": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench_web:app_from_env", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        cwd=str(Path(__file__).parent), env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("server did not start")


def app_from_env():  # used by uvicorn --factory in the server process
    from ldn_outcomes.settings import Settings
    from ldn_outcomes.web.app import create_app

    settings = Settings(mode="dev", database_url=os.environ["LDN_BENCH_DB"])
    return create_app(settings, make_engine(os.environ["LDN_BENCH_DB"], pool_size=40,
                                            max_overflow=10))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def bench_pages(base: str, built: dict, repeats: int, downloads: bool = True
                ) -> dict[str, object]:
    results = {}
    every: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for who, path in PAGES:
            url = path.format(linked=built["linked"])
            cookies = {"ldn_session": built["sessions"][who]} if who else {}
            client.cookies.clear()
            for name, value in cookies.items():
                client.cookies.set(name, value)
            times = []
            for i in range(repeats + 3):
                started = time.perf_counter()
                response = client.get(url, headers={"accept": "text/html"})
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (url, response.status_code)
                if i >= 3:
                    times.append(elapsed)
            every += times
            results[url] = {"p50_ms": round(pct(times, 50), 1), "p95_ms": round(pct(times, 95), 1)}
        slow = {}
        for who, path in SLOW_DOWNLOADS if downloads else ():
            client.cookies.clear()
            client.cookies.set("ldn_session", built["sessions"][who])
            started = time.perf_counter()
            response = client.get(path)
            assert response.status_code == 200
            slow[path] = round((time.perf_counter() - started) * 1000)
    return {"pages": results, "all_pages_p95_ms": round(pct(every, 95), 1),
            "research_ms_once": slow}


async def bench_writes(base: str, writers: list[tuple[str, str]], per_client: int,
                       rate: float) -> dict[str, object]:
    """Each client posts ``per_client`` check-ins, paced so the total offered rate is
    ``rate``/s (an open-loop schedule: a slow reply does not slow the offered load)."""
    latencies: list[float] = []
    errors: list[str] = []
    interval = len(writers) / rate
    limits = httpx.Limits(max_connections=len(writers), max_keepalive_connections=len(writers))

    async def client_loop(index: int, patient_id: str, token: str) -> int:
        sent = 0
        async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits,
                                     headers={"authorization": f"Bearer {token}"}) as client:
            start = time.perf_counter() + index * interval / len(writers)
            for n in range(per_client):
                delay = start + n * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                body = {"fatigue": n % 11, "spasms": (n * 3) % 11, "dose_taken": 1}
                began = time.perf_counter()
                try:
                    response = await client.post(f"/api/patients/{patient_id}/checkins",
                                                 json=body)
                    if response.status_code != 201:
                        errors.append(f"{response.status_code} {response.text[:100]}")
                    else:
                        sent += 1
                except httpx.HTTPError as error:
                    errors.append(repr(error))
                latencies.append((time.perf_counter() - began) * 1000)
        return sent

    started = time.perf_counter()
    sent = await asyncio.gather(*(client_loop(i, pid, tok)
                                  for i, (pid, tok) in enumerate(writers)))
    seconds = time.perf_counter() - started
    return {"clients": len(writers), "writes_ok": sum(sent), "errors": len(errors),
            "first_errors": errors[:3], "seconds": round(seconds, 2),
            "writes_per_s": round(sum(sent) / seconds, 1),
            "offered_per_s": rate, "p50_ms": round(pct(latencies, 50), 1),
            "p99_ms": round(pct(latencies, 99), 1), "max_ms": round(max(latencies), 1)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report CPU per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_back(url: str, writers: list[tuple[str, str]], before: int) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        now = session.scalar(select(func.count()).select_from(QuestionnaireRow).where(
            QuestionnaireRow.patient_id.in_([pid for pid, _ in writers])))
    engine.dispose()
    return int(now or 0) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true",
                        help="use a fresh database on $LDN_TEST_POSTGRES_URL")
    parser.add_argument("--patients", type=int, default=PATIENTS)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--per-client", type=int, default=250)
    parser.add_argument("--rate", type=float, default=600.0, help="offered writes/s in total")
    parser.add_argument("--skip-downloads", action="store_true",
                        help="do not time the researcher report and CSV export")
    args = parser.parse_args()
    admin = None
    scratch = None
    if args.postgres:
        base_url = os.environ.get("LDN_TEST_POSTGRES_URL")
        if not base_url:
            sys.exit("set LDN_TEST_POSTGRES_URL")
        name = f"ldn_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(base_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(normalise_url(base_url)).set(database=name).render_as_string(
            hide_password=False)
    else:
        scratch = tempfile.mkdtemp(prefix="ldn-bench-")
        url = f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
    print(f"machine: {machine()}")
    print(f"database: {make_url(url).get_backend_name()}")
    server = None
    try:
        built = build(url, args.patients)
        print(f"built {args.patients} patients in {built['build_seconds']} s: "
              f"{json.dumps(built['rows'])}")
        before = count_back(url, built["writers"], 0)
        server, base = start_server(url)
        pages = bench_pages(base, built, args.repeats, not args.skip_downloads)
        print(json.dumps(pages, indent=2))
        cpu_before = cpu_seconds(server.pid)
        writes = asyncio.run(bench_writes(base, built["writers"], args.per_client, args.rate))
        writes["server_cpu_ms_per_write"] = round(
            (cpu_seconds(server.pid) - cpu_before) * 1000 / max(writes["writes_ok"], 1), 2)
        writes["counted_back"] = count_back(url, built["writers"], before)
        writes["lost"] = writes["writes_ok"] - writes["counted_back"]
        print(json.dumps(writes, indent=2))
        ok = (pages["all_pages_p95_ms"] <= 100 and writes["writes_per_s"] >= 500
              and writes["p99_ms"] <= 50 and writes["errors"] == 0 and writes["lost"] == 0)
        print("targets met" if ok else "TARGETS NOT MET")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
