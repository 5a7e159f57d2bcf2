"""Live records: every read of registry data leaves out removed records.

Clinical records are never deleted (see :class:`ldn_outcomes.store.tables.Removable`); a
removed record keeps its row, with ``removed_at`` set, for its history. Every read path asks
this module, so "removed" means the same in the ORM reads, the typed frame reads and the raw
SQL of the fast questionnaire reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # only a type here: the plain SQLite reads use LIVE_SQL without SQLAlchemy
    from sqlalchemy import Select

S = TypeVar("S", bound="Select[Any]")

#: The SQL condition for a live row, for the reads written in plain SQL.
LIVE_SQL = "removed_at IS NULL"


def is_removable(table: Any) -> bool:
    """Whether this table's rows are removed by marking (the clinical record kinds)."""
    columns = getattr(table, "__table__", table).columns
    return "removed_at" in columns


def live_only(query: S, *tables: Any) -> S:
    """``query`` restricted to rows of ``tables`` that are not removed."""
    for table in tables:
        if is_removable(table):
            query = query.where(getattr(table, "__table__", table).c.removed_at.is_(None))
    return query


def live_where(table: Any, where: str = "") -> str:
    """A plain-SQL ``WHERE`` clause (``where`` given without ``WHERE``, or empty) that also
    leaves out removed rows of a removable ``table``."""
    if not is_removable(table):
        return f"WHERE {where}" if where else ""
    return f"WHERE {LIVE_SQL}" + (f" AND ({where})" if where else "")
