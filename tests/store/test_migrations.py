"""Migrations upgrade an empty database to head and downgrade it back to empty."""

from __future__ import annotations

from sqlalchemy import inspect

from ldn_outcomes.store import migrate
from ldn_outcomes.store.db import make_engine


def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    engine = make_engine(db_url)
    assert migrate.is_up_to_date(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current_revisions(engine) == set()
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.is_up_to_date(engine)
    assert {"patients", "edss", "audit_log"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_migrations_form_one_chain(tmp_path) -> None:
    """Work merged from parallel branches must be re-chained: two heads would leave an
    upgrade to "head" ambiguous and a downgrade order undefined."""
    engine = make_engine(f"sqlite:///{tmp_path / 'heads.sqlite3'}")
    assert len(migrate.head_revisions(engine)) == 1
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
