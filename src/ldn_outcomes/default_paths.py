"""Where the embedded registry lives when nothing says otherwise: the one home of that default.

Kept apart from ``settings`` (pydantic-settings) so that a command which needs only the database
URL, with no ``LDN_*`` variable set, need not build the settings object (``cli/common.py``).
"""

from __future__ import annotations

from pathlib import Path


def default_data_dir() -> Path:
    """Where the embedded SQLite registry lives by default: ``./data`` under the working dir."""
    return Path.cwd() / "data"


def default_database_url() -> str:
    """The SQLite file ``data/ldn.sqlite3`` in the working directory, as an absolute URL."""
    return f"sqlite:///{(default_data_dir() / 'ldn.sqlite3').resolve()}"
