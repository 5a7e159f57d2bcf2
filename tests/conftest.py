"""Shared fixtures: a migrated registry on SQLite (always) and PostgreSQL (when configured).

``engine`` is parametrised over both back ends. SQLite gets a fresh file per test, copied from
a template migrated once per session. PostgreSQL gets one private database per test session
(per xdist worker), migrated once; tables are emptied after each test.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from ldn_outcomes.store import migrate
from ldn_outcomes.store.db import make_engine, normalise_url

# Property tests are deterministic: the same examples on every run and machine, and no example
# database carried over from earlier runs (a failure is reproduced by its own test instead).
hypothesis_settings.register_profile(
    "deterministic", derandomize=True, database=None, print_blob=True
)
hypothesis_settings.load_profile("deterministic")

POSTGRES_URL = os.environ.get("LDN_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


#: Longer than the whole suite takes on a slow machine (about 13 minutes at the most seen).
SUITE_MINUTES = 15


def pytest_configure(config: pytest.Config) -> None:
    """A run that would cross midnight starts just after it instead.

    The web and n-of-1 tests build their records around "today" (``dt.date.today()``, read
    once when a test module is imported) while the app checks each date against the day of
    the request ("a check-in cannot be in the future"); across midnight the two disagree and
    correct code fails. So the controller (not an xdist worker, which starts after it) waits
    for the new day when less than ``SUITE_MINUTES`` remain of this one."""
    if hasattr(config, "workerinput"):
        return
    wait = seconds_to_wait(dt.datetime.now())
    if wait:
        print(f"waiting {wait / 60:.1f} min for midnight: the date-based tests must not cross it")
        time.sleep(wait)


def seconds_to_wait(now: dt.datetime) -> float:
    """0, or how long from ``now`` until just after midnight when less than ``SUITE_MINUTES``
    remain of the day."""
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time())
    left = (midnight - now).total_seconds()
    return left + 5 if left < SUITE_MINUTES * 60 else 0.0


@pytest.fixture
def rng() -> np.random.Generator:
    """The one seeded random generator tests use."""
    return np.random.default_rng(20261125)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "registry.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A private, migrated PostgreSQL database for this session (dropped afterwards)."""
    if not POSTGRES_URL:
        pytest.skip("LDN_TEST_POSTGRES_URL is not set")
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"ldn_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = (
        make_url(normalise_url(POSTGRES_URL))
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_postgres(engine: Engine) -> None:
    with engine.begin() as connection:
        tables = (
            connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            joined = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """URL of an empty, migrated registry on each back end."""
    if request.param == "sqlite":
        path = tmp_path / "registry.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    engine = make_engine(url)
    _empty_postgres(engine)
    engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
