"""The audit trail as a hash chain: each row carries the hash of the one before it.

Why: an audit trail that can be edited proves nothing. Every audit row gets a sequence number
``seq`` (1, 2, 3, ... with no gaps), ``prev_hash`` (the ``row_hash`` of row ``seq - 1``, or
:data:`GENESIS` for the first) and ``row_hash = SHA-256(prev_hash + canonical JSON of the
row)``. Changing, inserting or deleting any row breaks the link to the next one, and the
chain head (``audit_chain_head``: the last ``seq`` and its hash) catches a cut at the end.
The database also refuses UPDATE and DELETE on ``audit_log`` (triggers, migration 0008).

Concurrent writers: appending first updates the single head row, which locks it (PostgreSQL
row lock; SQLite's one writer) until the transaction ends, so two transactions can never take
the same ``seq`` or link to the same predecessor. Audited writes are serialised by this lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .tables import AuditChainHeadRow, AuditRow

GENESIS = "0" * 64
HEAD_ID = 1
#: Columns that hold the chain itself (not hashed) or are assigned by the database.
_NOT_HASHED = frozenset({"id", "prev_hash", "row_hash"})

_AUDIT: Table = AuditRow.__table__  # type: ignore[assignment]
_HEAD: Table = AuditChainHeadRow.__table__  # type: ignore[assignment]


class Executor(Protocol):
    """A Session or a Connection: anything that executes a statement in a transaction."""

    def execute(self, statement: Any, parameters: Any = None, /) -> Any: ...


def _canonical_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # SQLite gives back naive UTC
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def canonical(row: Mapping[str, Any]) -> str:
    """The hashed text of a row: every column but the chain's own, empty (None) columns left
    out (so a nullable column added later does not change the hash of older rows), keys
    sorted, no whitespace."""
    content = {
        key: _canonical_value(value)
        for key, value in row.items()
        if key not in _NOT_HASHED and value is not None
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical(row)).encode("utf-8")).hexdigest()


def _insert_ignore(executor: Executor, dialect: str) -> None:
    values = {"id": HEAD_ID, "seq": 0, "head_hash": GENESIS}
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(_HEAD).values(values).on_conflict_do_nothing()
    else:
        statement = sqlite.insert(_HEAD).values(values).on_conflict_do_nothing()
    executor.execute(statement)


def _take_head(executor: Executor, count: int) -> tuple[int, str]:
    """Reserve ``count`` sequence numbers; returns the last seq before them and its hash.
    The UPDATE comes first so the lock is taken before anything is read."""
    reserve = (
        update(_HEAD)
        .where(_HEAD.c.id == HEAD_ID)
        .values(seq=_HEAD.c.seq + count)
        .returning(_HEAD.c.seq, _HEAD.c.head_hash)
    )
    found = executor.execute(reserve).first()
    if found is None:  # an emptied database: start the chain again
        dialect = _dialect_of(executor)
        _insert_ignore(executor, dialect)
        found = executor.execute(reserve).first()
    assert found is not None
    return int(found[0]) - count, str(found[1])


def _dialect_of(executor: Executor) -> str:
    bind: Any = executor.get_bind() if hasattr(executor, "get_bind") else executor
    return str(bind.dialect.name)


def append(executor: Executor, rows: Sequence[dict[str, Any]]) -> None:
    """Insert audit rows (column values without the chain) at the end of the chain, in the
    caller's transaction."""
    if not rows:
        return
    last_seq, prev = _take_head(executor, len(rows))
    chained = []
    for offset, values in enumerate(rows, start=1):
        row = {**values, "seq": last_seq + offset, "prev_hash": prev}
        row["row_hash"] = prev = row_hash(prev, row)
        chained.append(row)
    executor.execute(insert(_AUDIT), chained)
    executor.execute(update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(head_hash=prev))


@dataclass(frozen=True)
class ChainReport:
    """What ``ldn audit verify`` found: rows checked and the first broken one (or None)."""

    rows: int
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_rows(rows: Iterable[Mapping[str, Any]], head: Mapping[str, Any] | None) -> ChainReport:
    """Walk rows in ``seq`` order: numbering without gaps, each link, each hash, the head."""
    expected_prev, count, last_seq = GENESIS, 0, 0
    for row in rows:
        seq = row["seq"]
        problem = None
        if seq != last_seq + 1:
            problem = f"sequence jumps from {last_seq} to {seq} (rows missing)"
        elif row["prev_hash"] != expected_prev:
            problem = "does not link to the row before it (prev_hash differs)"
        elif row_hash(row["prev_hash"], row) != row["row_hash"]:
            problem = "content does not match its hash (the row was changed)"
        if problem is not None:
            return ChainReport(count, seq, row.get("id"), problem)
        count += 1
        expected_prev, last_seq = row["row_hash"], seq
    head_seq = int(head["seq"]) if head else 0
    head_hash = str(head["head_hash"]) if head else GENESIS
    if head_seq != last_seq or head_hash != expected_prev:
        return ChainReport(
            count,
            last_seq + 1,
            None,
            f"the chain head says {head_seq} rows but the log ends at row {last_seq} "
            "(rows cut from the end, or the head changed)",
        )
    return ChainReport(count)


def verify(executor: Executor, batch: int = 5000) -> ChainReport:
    """Check the whole chain, reading it in batches of ``seq``."""
    head = executor.execute(select(_HEAD).where(_HEAD.c.id == HEAD_ID)).mappings().first()
    unchained = executor.execute(
        select(_AUDIT.c.id).where(_AUDIT.c.seq.is_(None)).order_by(_AUDIT.c.id).limit(1)
    ).first()
    if unchained is not None:
        return ChainReport(0, None, int(unchained[0]), "a row has no place in the chain (seq)")

    def rows() -> Iterable[Mapping[str, Any]]:
        after = 0
        while True:
            chunk = (
                executor.execute(
                    select(_AUDIT).where(_AUDIT.c.seq > after).order_by(_AUDIT.c.seq).limit(batch)
                )
                .mappings()
                .all()
            )
            if not chunk:
                return
            yield from chunk
            after = chunk[-1]["seq"]

    return verify_rows(rows(), head)
