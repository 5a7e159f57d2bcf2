"""Create or migrate a database with Alembic, configured in code (no alembic.ini needed).

Every command that opens the registry first asks whether its schema is current. That question
is answered without importing Alembic (which loads the schema tools of every database and
Mako, a quarter of a second at each start): from the ``alembic_version`` table, and from the
``revision`` and ``down_revision`` lines of the migration files (:mod:`.revisions`).
``tests/store/test_migrations.py`` holds both answers equal to Alembic's own. Creating and
migrating use Alembic itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from .revisions import MIGRATIONS as MIGRATIONS
from .revisions import VERSION_TABLE as VERSION_TABLE
from .revisions import head_revisions as head_revisions

if TYPE_CHECKING:
    from alembic.config import Config


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


def is_up_to_date(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()
