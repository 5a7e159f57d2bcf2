"""The audit trail is append-only and tamper-evident, on both back ends."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import DatabaseError
from tests.factories import demo_patient

from ldn_outcomes.store import audit_chain, migrate
from ldn_outcomes.store.audit import audit_values, write_audit
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.tables import AuditRow
from ldn_outcomes.store.uow import UnitOfWork


def _write(engine: Engine, count: int, actor: str = "test") -> None:
    for number in range(count):
        with UnitOfWork(engine, actor=actor) as uow:
            assert uow.session is not None
            write_audit(
                uow.session,
                actor=actor,
                action="read",
                table="patients",
                key=f"P{number}",
                before=None,
                after={"n": number, "text": "é ü 1.5"},
            )
            uow.commit()


def _verify(engine: Engine) -> audit_chain.ChainReport:
    with engine.connect() as connection:
        return audit_chain.verify(connection)


def _drop_guard(connection) -> None:  # type: ignore[no-untyped-def]
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        connection.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
    else:
        connection.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")


def test_writes_form_an_unbroken_chain(engine: Engine) -> None:
    with UnitOfWork(engine, actor="dr.who") as uow:
        uow.registry.add(demo_patient("P1"))
        uow.commit()
    _write(engine, 5)
    report = _verify(engine)
    assert report.ok and report.rows == 6
    with engine.connect() as connection:
        rows = connection.execute(select(AuditRow.seq, AuditRow.prev_hash).order_by(AuditRow.seq))
        seqs = [seq for seq, _ in rows]
    assert seqs == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_the_database_refuses_update_and_delete(engine: Engine, statement: str) -> None:
    _write(engine, 2)
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.exec_driver_sql(statement)
    assert _verify(engine).ok


@pytest.mark.parametrize(
    ("tamper", "broken_seq", "words"),
    [
        ("UPDATE audit_log SET actor = 'someone else' WHERE seq = 3", 3, "changed"),
        ("DELETE FROM audit_log WHERE seq = 2", 3, "jumps"),
        ("DELETE FROM audit_log WHERE seq = 5", 5, "cut"),
        (
            "UPDATE audit_log SET after = NULL, row_hash = prev_hash WHERE seq = 4",
            4,
            "changed",
        ),
    ],
)
def test_tampering_with_the_guard_dropped_is_found(
    engine: Engine, tamper: str, broken_seq: int, words: str
) -> None:
    _write(engine, 5)
    with engine.connect() as connection, connection.begin() as transaction:
        _drop_guard(connection)  # rolled back with the tampering: the guard comes back
        connection.exec_driver_sql(tamper)
        report = audit_chain.verify(connection)
        transaction.rollback()
    assert not report.ok
    assert report.broken_seq == broken_seq
    assert words in (report.problem or "")
    assert _verify(engine).ok


def test_a_row_inserted_around_the_chain_is_found(engine: Engine) -> None:
    _write(engine, 2)
    with engine.begin() as connection:
        connection.execute(
            insert(AuditRow).values(
                **audit_values(
                    actor="x", action="read", table="t", key="k", before=None, after=None
                )
            )
        )
    report = _verify(engine)
    assert not report.ok and "no place" in (report.problem or "")


def test_concurrent_writers_keep_the_chain(engine: Engine) -> None:
    """Four threads append at once (PostgreSQL: truly concurrent transactions)."""
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            _write(engine, 15, actor=name)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = _verify(engine)
    assert report.ok and report.rows == 60


def test_emptied_head_restarts_the_chain(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM audit_chain_head")
    _write(engine, 2)
    assert _verify(engine).ok


def test_migration_chains_rows_written_before_it(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.downgrade(engine, "0004")
        with engine.begin() as connection:
            for number in range(3):
                connection.execute(
                    text(
                        "INSERT INTO audit_log (at, actor, action, table_name, record_key, "
                        "after) VALUES (:at, 'old', 'create', 'patients', :key, :after)"
                    ),
                    {
                        "at": f"2026-01-0{number + 1} 10:00:00",
                        "key": f"P{number}",
                        "after": '{"year_of_birth": 1980}',
                    },
                )
        migrate.upgrade(engine)
        _write(engine, 2)
        report = _verify(engine)
        assert report.ok and report.rows == 5
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(AuditRow)).scalar() == 5
    finally:
        migrate.upgrade(engine)
        engine.dispose()
