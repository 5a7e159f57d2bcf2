"""Revision 0006 widens the change log's key (catalogue and claim ids with a prefix)."""

from __future__ import annotations

from sqlalchemy import inspect

from ldn_outcomes.store import migrate
from ldn_outcomes.store.db import make_engine


def _key_length(engine) -> int:
    columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("evidence_changes")}
    return columns["key"].length


def test_upgrade_and_downgrade_0007(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate.upgrade(engine, "0006")
    assert migrate.current_revisions(engine) == {"0006"}
    assert _key_length(engine) == 120
    migrate.downgrade(engine, "0005")
    assert _key_length(engine) == 40
    migrate.upgrade(engine)  # to head, past 0006
    assert _key_length(engine) == 120
    engine.dispose()
