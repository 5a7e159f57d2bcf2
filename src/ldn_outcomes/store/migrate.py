"""Create or migrate a database with Alembic, configured in code (no alembic.ini needed).

Every command that opens the registry first asks whether its schema is current. That question
is answered without importing Alembic (which loads the schema tools of every database and
Mako, a quarter of a second at each start): from the ``alembic_version`` table, and from the
``revision`` and ``down_revision`` lines of the migration files. ``tests/store/
test_migrations.py`` holds both answers equal to Alembic's own. Creating and migrating use
Alembic itself.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current_revisions(engine: Engine) -> set[str]:
    """The revisions the database is at (none for a database never migrated)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return set()
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return {str(version) for (version,) in rows}


def head_revisions() -> set[str]:
    """The newest revisions of the migration files: those no other file revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        constants = _constants(path, {"revision", "down_revision"})
        if not isinstance(constants.get("revision"), str):
            raise RuntimeError(f"migration {path.name} names no revision")
        revisions.add(constants["revision"])
        down = constants.get("down_revision")
        revised.update([down] if isinstance(down, str) else down or ())
    return revisions - revised


def is_up_to_date(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()


def _constants(path: Path, names: set[str]) -> dict[str, Any]:
    """Module-level ``name = literal`` assignments of a migration file, read without running it."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in names:
                found[target.id] = ast.literal_eval(value)
    return found
