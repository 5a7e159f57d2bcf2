"""Revision 0002 creates the evidence tables, and its downgrade removes exactly those."""

from __future__ import annotations

from sqlalchemy import inspect

from ldn_outcomes.store import migrate
from ldn_outcomes.store.db import make_engine

EVIDENCE_TABLES = {"evidence_trials", "evidence_publications", "evidence_links", "evidence_changes"}


def test_upgrade_and_downgrade_0002(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate.upgrade(engine, "0002")
    assert migrate.current_revisions(engine) == {"0002"}
    tables = set(inspect(engine).get_table_names())
    assert tables >= EVIDENCE_TABLES
    migrate.downgrade(engine, "0001")
    assert migrate.current_revisions(engine) == {"0001"}
    after = set(inspect(engine).get_table_names())
    assert not EVIDENCE_TABLES & after
    assert "patients" in after
    migrate.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= EVIDENCE_TABLES
    engine.dispose()


def test_migration_matches_the_table_classes(tmp_path) -> None:
    """Autogenerate finds nothing to add for our tables: the hand-written migration is complete."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from ldn_outcomes.store.schema import metadata

    engine = make_engine(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    ours = [d for d in diff if "evidence_" in repr(d)]
    assert ours == []
    engine.dispose()
