"""``ldn backup`` / ``ldn restore``: an identical registry in an empty database, on both back
ends and between them; restore refuses a database that is not empty."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from tests.nof1.conftest import ADMIN, SECRET, add_diary
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.domain.nof1 import make_design
from ldn_outcomes.services.demo import build_demo
from ldn_outcomes.store import accounts, audit_chain, migrate
from ldn_outcomes.store.api_tokens import create_api_token
from ldn_outcomes.store.audit import write_audit
from ldn_outcomes.store.backup import _encode, registry_metadata
from ldn_outcomes.store.db import make_engine, normalise_url
from ldn_outcomes.store.nof1_repo import NOf1Repository

runner = CliRunner()
POSTGRES_URL = os.environ.get("LDN_TEST_POSTGRES_URL")
START = dt.date(2025, 1, 6)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def ldn(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def fill(engine: Engine) -> None:
    """Records, accounts, care links, a token, a sealed n-of-1 trial and its audit rows."""
    build_demo(engine, patients=12, years=1.0, seed=3, password="correct horse battery")
    clinician = accounts.find_account(engine, "clinician@demo.invalid")
    assert clinician is not None
    create_api_token(engine, clinician.id, "script", actor="test")
    add_diary(engine, "DEMO-001", START, 20)
    design = make_design(trial_id="T1", patient_id="DEMO-001", start_date=START, seed=7)
    with Session(engine) as session, session.begin():
        NOf1Repository(session, SECRET).create(design, ADMIN)


def snapshot_of(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in key order, values in their portable form."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in registry_metadata().sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(select(table).order_by(*order))
            tables[table.name] = [tuple(_encode(v) for v in row) for row in rows]
    return tables


def assert_same_registry(source: Engine, target: Engine) -> None:
    """Identical, except that each side has one audit row the other lacks: the source the
    backup's, the target the restore's (both at the end of the chain)."""
    first, second = snapshot_of(source), snapshot_of(target)
    assert first.keys() == second.keys()
    for name in first:
        if name in ("audit_log", "audit_chain_head"):
            continue
        assert first[name] == second[name], name
    assert len(first["audit_log"]) == len(second["audit_log"])
    assert first["audit_log"][:-1] == second["audit_log"][:-1]
    assert [first["audit_log"][-1][3], second["audit_log"][-1][3]] == ["backup", "restore"]
    for engine in (source, target):
        with engine.connect() as connection:
            assert audit_chain.verify(connection).ok
    assert sum(len(rows) for rows in first.values()) > 500
    for must in ("accounts", "care_links", "api_tokens", "nof1_trials", "nof1_allocations"):
        assert first[must], must


@pytest.fixture
def empty_target(db_url: str, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A second empty, migrated database on the same back end as ``db_url``."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "target.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    yield from _postgres_database()


def _postgres_database() -> Iterator[str]:
    assert POSTGRES_URL
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"ldn_restore_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(POSTGRES_URL)).set(database=name)
    rendered = url.render_as_string(hide_password=False)
    engine = make_engine(rendered)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield rendered
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_restore_gives_an_identical_registry(
    engine: Engine, db_url: str, empty_target: str, tmp_path: Path
) -> None:
    fill(engine)
    file = tmp_path / "registry.backup.gz"
    code, out, err = ldn("backup", str(file), "--db", db_url)
    assert code == 0, err
    code, out, err = ldn("restore", str(file), "--db", empty_target)
    assert code == 0, err
    target = make_engine(empty_target)
    try:
        assert_same_registry(engine, target)
        # A restored registry keeps working: new ids continue after the restored ones.
        with Session(target) as session, session.begin():
            write_audit(
                session, actor="t", action="read", table="t", key="k", before=None, after=None
            )
        assert ldn("audit", "verify", "--db", empty_target)[0] == 0
        # A second restore into the now non-empty database is refused and changes nothing.
        before = snapshot_of(target)
        code, _, err = ldn("restore", str(file), "--db", empty_target)
        assert code == 2 and "empty database" in err
        assert snapshot_of(target) == before
    finally:
        target.dispose()


def test_backup_while_writes_go_on_is_consistent(
    engine: Engine, db_url: str, empty_target: str, tmp_path: Path
) -> None:
    """Audited writes during the backup: the file is one instant (its chain verifies)."""
    fill(engine)
    stop = threading.Event()

    def writer() -> None:
        number = 0
        while not stop.is_set():
            with Session(engine) as session, session.begin():
                write_audit(
                    session,
                    actor="w",
                    action="read",
                    table="patients",
                    key=str(number),
                    before=None,
                    after=None,
                )
            number += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        code, _, err = ldn("backup", str(tmp_path / "b.gz"), "--db", db_url)
    finally:
        stop.set()
        thread.join()
    assert code == 0, err
    assert ldn("restore", str(tmp_path / "b.gz"), "--db", empty_target)[0] == 0
    assert ldn("audit", "verify", "--db", empty_target)[0] == 0


@pytest.mark.skipif(not POSTGRES_URL, reason="LDN_TEST_POSTGRES_URL is not set")
def test_sqlite_backup_restores_into_postgresql(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "source.sqlite3"
    shutil.copy(sqlite_template, path)
    source = make_engine(f"sqlite:///{path}")
    fill(source)
    file = tmp_path / "b.gz"
    assert ldn("backup", str(file), "--db", f"sqlite:///{path}")[0] == 0
    for url in _postgres_database():
        assert ldn("restore", str(file), "--db", url)[0] == 0
        target = make_engine(url)
        try:
            assert_same_registry(source, target)
        finally:
            target.dispose()
    source.dispose()


def test_restore_refuses_what_is_not_a_backup(db_url: str, tmp_path: Path) -> None:
    file = tmp_path / "not-a-backup.gz"
    file.write_bytes(b"patient_id,year\nP1,1980\n")
    code, _, err = ldn("restore", str(file), "--db", db_url)
    assert code == 2 and "not an LDN Outcomes backup" in err


def test_every_table_of_the_database_is_backed_up(engine: Engine) -> None:
    """A table a migration creates but no table module registers would be left out."""
    from sqlalchemy import inspect

    in_database = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert in_database == set(registry_metadata().tables)
