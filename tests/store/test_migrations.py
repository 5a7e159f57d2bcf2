"""Migrations upgrade an empty database to head and downgrade it back to empty."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from ldn_outcomes.store import migrate
from ldn_outcomes.store.db import make_engine


def _alembic_current(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


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


def test_migrations_form_one_chain() -> None:
    """Work merged from parallel branches must be re-chained: two heads would leave an
    upgrade to "head" ambiguous and a downgrade order undefined."""
    assert len(migrate.head_revisions()) == 1


def test_schema_check_without_alembic_agrees_with_alembic(db_url: str, tmp_path) -> None:
    """``is_up_to_date`` reads the version table and the migration files itself (so a command
    starts without importing Alembic); Alembic's own answers are the reference."""
    never_migrated = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert migrate.current_revisions(never_migrated) == _alembic_current(never_migrated) == set()
    assert not migrate.is_up_to_date(never_migrated)
    never_migrated.dispose()
    engine = make_engine(db_url)
    script = ScriptDirectory.from_config(migrate.alembic_config(engine))
    assert migrate.head_revisions() == set(script.get_heads())
    revisions = [r.revision for r in script.walk_revisions("base", "heads")]
    assert len(revisions) == len(list(migrate.MIGRATIONS.joinpath("versions").glob("*.py")))
    for revision in [*revisions, "base"]:  # newest first, then none
        migrate.downgrade(engine, revision)
        assert migrate.current_revisions(engine) == _alembic_current(engine)
        assert migrate.is_up_to_date(engine) == (revision == revisions[0])
    migrate.upgrade(engine)
    assert migrate.current_revisions(engine) == _alembic_current(engine) == set(script.get_heads())
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_revision_lines_are_read_from_the_top_of_a_migration_or_the_whole_file(tmp_path) -> None:
    """The schema check parses only what comes before a migration's first definition; where
    the revision lines are not all there it reads the whole file, as it did before."""
    from ldn_outcomes.store.revisions import _constants

    names = {"revision", "down_revision"}
    top = tmp_path / "top.py"
    top.write_text(
        '"""Doc."""\nrevision = "0002"\ndown_revision: str = "0001"\n\n'
        'def upgrade():\n    revision = "x"\n'
    )
    assert _constants(top, names) == {"revision": "0002", "down_revision": "0001"}
    late = tmp_path / "late.py"
    late.write_text(
        'revision = "0003"\n\ndef upgrade():\n    pass\n\ndown_revision = ("0001", "0002")\n'
    )
    assert _constants(late, names) == {"revision": "0003", "down_revision": ("0001", "0002")}
    cut = tmp_path / "cut.py"  # the first definition inside a string: the top does not parse
    cut.write_text('x = """\ndef f():\n"""\nrevision = "0004"\ndown_revision = None\n')
    assert _constants(cut, names) == {"revision": "0004", "down_revision": None}
