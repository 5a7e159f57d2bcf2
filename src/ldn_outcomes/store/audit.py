"""Audit rows: who did what to which record, with the record before and after."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from . import audit_chain


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value
    return value


def audit_values(
    *,
    actor: str,
    action: str,
    table: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: dt.datetime | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The column values of one audit row (before/after as plain JSON)."""
    return {
        "at": at or dt.datetime.now(dt.UTC),
        "actor": actor,
        "action": action,
        "table_name": table,
        "record_key": key,
        "before": json.loads(json.dumps(_jsonable(before))) if before is not None else None,
        "after": json.loads(json.dumps(_jsonable(after))) if after is not None else None,
        "reason": reason,
    }


def write_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    table: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    """Append one audit row to the chain in the session's transaction."""
    audit_chain.append(
        session,
        [
            audit_values(
                actor=actor,
                action=action,
                table=table,
                key=key,
                before=before,
                after=after,
                reason=reason,
            )
        ],
    )


def audit_event(
    engine: Engine,
    *,
    actor: str,
    action: str,
    table: str,
    key: str,
    after: dict[str, Any] | None = None,
) -> None:
    """Record an event that changes no row (a read of a patient's record, an export, a failed
    sign-in) in its own short transaction: appending is its first statement, so on SQLite the
    transaction takes the write lock before it reads the chain head."""
    with Session(engine) as session, session.begin():
        write_audit(
            session, actor=actor, action=action, table=table, key=key, before=None, after=after
        )
