"""The newest revisions of the migration files, read without Alembic or SQLAlchemy.

Every command that opens the registry asks whether its schema is current (see
:mod:`.migrate`); this is the half of the answer that reads the migration files: the
``revision`` and ``down_revision`` assignments at the top of each, not the whole file (parsing
every migration cost about as much as a bare Python start). ``tests/store/test_migrations.py``
holds the answer equal to Alembic's own.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps

#: The first top-level definition of a migration: its revision lines come before it.
_FIRST_DEFINITION = re.compile(r"^(?:def |async def |class |@)", re.MULTILINE)


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


def _constants(path: Path, names: set[str]) -> dict[str, Any]:
    """Module-level ``name = literal`` assignments of a migration file, read without running
    it: from the part before its first definition, or from the whole file when the names are
    not all there."""
    text = path.read_text(encoding="utf-8")
    first = _FIRST_DEFINITION.search(text)
    if first is not None:
        try:
            found = _assignments(text[: first.start()], names)
        except SyntaxError:
            found = {}
        if names <= found.keys():
            return found
    return _assignments(text, names)


def _assignments(source: str, names: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for node in ast.parse(source).body:
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
