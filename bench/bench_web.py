"""Web benchmark: page latency on a 10,000-patient registry, and concurrent check-in writes.

Usage::

    python bench/bench_web.py                       # SQLite (a temporary file)
    LDN_TEST_POSTGRES_URL=postgresql://... python bench/bench_web.py --postgres
    python bench/bench_web.py --keep-db /tmp/ldn-bench --writes-only   # iterate on writes

1. Builds a simulated registry (10,000 patients x 5 years, seed 1) plus accounts: a patient,
   a clinician linked to 200 consented patients, and 32 patient accounts with API tokens.
2. Starts a real uvicorn (separate process, 127.0.0.1, free port) and measures each page
   sequentially (warm-up, then N requests): p50/p95 per page and over all pages.
3. 32 concurrent clients post daily check-ins through the JSON API with their own tokens, a
   bounded number each, offered at a fixed total rate; reports achieved writes/s, p50/p99
   latency and errors, then counts the rows back in the database (no lost writes). Also the
   CPU per write of the server processes, of the load generator (it shares the machine) and,
   with ``--postgres``, of the PostgreSQL server processes.
Targets: page p95 <= 100 ms; >= 500 writes/s with p99 <= 50 ms, zero errors, zero lost.

``--keep-db DIR`` keeps the built database and reuses it; every run adds its check-ins to the
32 writers' patients (some of whom the clinician sees), so report page figures from a fresh
build. ``--workers N`` runs N uvicorn processes; ``--client httpx`` drives the writes with
httpx instead of the minimal keep-alive client in ``loadgen.py`` (httpx needs about five
times the CPU per request, taken from the same two cores as the server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from loadgen import bench_writes, pct, postgres_cpu_seconds, tree_cpu_seconds
from machine_info import machine
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ldn_outcomes.domain.access import Role
from ldn_outcomes.domain.models import Consent
from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry
from ldn_outcomes.store import accounts, api_tokens, care_links, migrate, sign_in
from ldn_outcomes.store.db import make_engine, normalise_url
from ldn_outcomes.store.tables import QuestionnaireRow
from ldn_outcomes.store.uow import UnitOfWork

PATIENTS = 10_000
WRITERS = 32
PASSWORD = "bench password 123"
PAGES = [
    ("patient", "/me"),
    ("patient", "/me/checkin"),
    ("patient", "/me/records"),
    ("patient", "/me/summary"),
    ("patient", "/me/consents"),
    ("clinician", "/patients"),
    ("clinician", "/patients/{linked}"),
    ("clinician", "/clinic/analysis"),
    ("clinician", "/api/patients/{linked}"),
    (None, "/"),
    (None, "/figures"),
    (None, "/login"),
]
SLOW_DOWNLOADS = [("researcher", "/research"), ("researcher", "/research/export.csv")]


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
    patient = accounts.create_account(
        engine,
        email="p@bench.invalid",
        role=Role.PATIENT,
        password=PASSWORD,
        patient_id=ids[0],
        actor="bench",
    )
    clinician = accounts.create_account(
        engine, email="c@bench.invalid", role=Role.CLINICIAN, password=PASSWORD, actor="bench"
    )
    researcher = accounts.create_account(
        engine, email="r@bench.invalid", role=Role.RESEARCHER, password=PASSWORD, actor="bench"
    )
    for pid in linked:
        care_links.link_patient(engine, clinician.id, pid, actor="bench")
    account_ids = {"patient": patient.id, "clinician": clinician.id, "researcher": researcher.id}
    writers = []
    for i, pid in enumerate(ids[1 : WRITERS + 1]):
        account = accounts.create_account(
            engine,
            email=f"w{i}@bench.invalid",
            role=Role.PATIENT,
            password=None,
            patient_id=pid,
            actor="bench",
        )
        _token, plain = api_tokens.create_api_token(engine, account.id, "bench", actor="bench")
        writers.append((pid, plain))
    engine.dispose()
    return {
        "rows": counts,
        "build_seconds": round(time.perf_counter() - started, 1),
        "accounts": account_ids,
        "writers": writers,
        "linked": linked[0],
    }


def fresh_sessions(url: str, built: dict) -> None:
    """Fresh one-hour sessions for the page part (a kept database may be older than that)."""
    engine = make_engine(url)
    built["sessions"] = {
        name: sign_in.create_session(engine, account_id, 3600)[0]
        for name, account_id in built["accounts"].items()
    }
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "LDN_BENCH_DB": url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench_web:app_from_env",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
        ],
        cwd=str(Path(__file__).parent),
        env=env,
    )
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
    return create_app(
        settings, make_engine(os.environ["LDN_BENCH_DB"], pool_size=40, max_overflow=10)
    )


def bench_pages(base: str, built: dict, repeats: int, downloads: bool = True) -> dict[str, object]:
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
    return {
        "pages": results,
        "all_pages_p95_ms": round(pct(every, 95), 1),
        "research_ms_once": slow,
    }


def count_back(url: str, writers: list[tuple[str, str]], before: int) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        now = session.scalar(
            select(func.count())
            .select_from(QuestionnaireRow)
            .where(QuestionnaireRow.patient_id.in_([pid for pid, _ in writers]))
        )
    engine.dispose()
    return int(now or 0) - before


def prepare(args: argparse.Namespace) -> tuple[str, dict, Callable[[], None]]:
    """The database URL, what was built in it, and how to clean up afterwards.

    Without ``--keep-db`` a fresh database is built and dropped at the end. With it, the built
    database (a SQLite file, or a named PostgreSQL database) and its accounts are described in
    ``DIR/bench-<backend>-<patients>.json`` and reused by later runs; nothing is dropped."""
    backend = "postgres" if args.postgres else "sqlite"
    state = Path(args.keep_db) / f"bench-{backend}-{args.patients}.json" if args.keep_db else None
    if state is not None and state.exists():
        kept = json.loads(state.read_text())
        print(f"reusing the database described in {state}")
        return kept["url"], kept["built"], lambda: None
    cleanups: list[Callable[[], None]] = []
    if args.postgres:
        base_url = os.environ.get("LDN_TEST_POSTGRES_URL")
        if not base_url:
            sys.exit("set LDN_TEST_POSTGRES_URL")
        name = f"ldn_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(base_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = (
            make_url(normalise_url(base_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )

        def drop() -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        if state is None:
            cleanups.append(drop)
        else:
            admin.dispose()
    elif state is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{state.with_suffix('.sqlite3').resolve()}"
    else:
        scratch = tempfile.mkdtemp(prefix="ldn-bench-")
        url = f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
        cleanups.append(lambda: shutil.rmtree(scratch, ignore_errors=True))
    try:
        built = build(url, args.patients)
    except BaseException:
        for cleanup in cleanups:
            cleanup()
        raise
    print(
        f"built {args.patients} patients in {built['build_seconds']} s: {json.dumps(built['rows'])}"
    )
    if state is not None:
        state.write_text(json.dumps({"url": url, "built": built}))

    def clean() -> None:
        for cleanup in cleanups:
            cleanup()

    return url, built, clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres", action="store_true", help="use a fresh database on $LDN_TEST_POSTGRES_URL"
    )
    parser.add_argument("--patients", type=int, default=PATIENTS)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--per-client", type=int, default=250)
    parser.add_argument("--rate", type=float, default=600.0, help="offered writes/s in total")
    parser.add_argument(
        "--skip-downloads",
        action="store_true",
        help="do not time the researcher report and CSV export",
    )
    parser.add_argument(
        "--writes-only",
        action="store_true",
        help="skip the page part; only the concurrent check-in writes",
    )
    parser.add_argument(
        "--keep-db",
        metavar="DIR",
        help="keep the built database (described in DIR) and reuse it next time",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: a minimal keep-alive HTTP/1.1 client, or httpx",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"database: {'postgresql' if args.postgres else 'sqlite'}")
    url, built, clean = prepare(args)
    server = None
    try:
        before = count_back(url, built["writers"], 0)
        server, base = start_server(url, args.workers)
        pages: dict[str, object] = {}
        if not args.writes_only:
            fresh_sessions(url, built)
            pages = bench_pages(base, built, args.repeats, not args.skip_downloads)
            print(json.dumps(pages, indent=2))
        cpu_before, db_before = tree_cpu_seconds(server.pid), postgres_cpu_seconds()
        writes = asyncio.run(
            bench_writes(base, built["writers"], args.per_client, args.rate, args.client)
        )
        done = max(int(writes["writes_ok"]), 1)  # type: ignore[call-overload]
        writes["server_cpu_ms_per_write"] = round(
            (tree_cpu_seconds(server.pid) - cpu_before) * 1000 / done, 2
        )
        if args.postgres:
            writes["postgres_cpu_ms_per_write"] = round(
                (postgres_cpu_seconds() - db_before) * 1000 / done, 2
            )
        writes["counted_back"] = count_back(url, built["writers"], before)
        writes["lost"] = writes["writes_ok"] - writes["counted_back"]
        writes["workers"] = args.workers
        writes["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
        print(json.dumps(writes, indent=2))
        ok = (
            float(pages.get("all_pages_p95_ms", 0)) <= 100  # type: ignore[arg-type]
            and writes["writes_per_s"] >= 500
            and writes["p99_ms"] <= 50
            and writes["errors"] == 0
            and writes["lost"] == 0
        )
        print("targets met" if ok else "TARGETS NOT MET")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        clean()


if __name__ == "__main__":
    main()
