"""The consents table's version: a fingerprint that changes whenever a consent is given,
withdrawn, changed or removed, which caches of aggregates compare to drop a patient at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from .tables import AuditRow, ConsentRow


def consent_version(engine: Engine) -> tuple[Any, ...]:
    """A fingerprint of the consents table that changes whenever a consent is given,
    withdrawn, changed or removed: caches of aggregates compare it to drop a patient at once.

    Two parts, so that neither kind of change can slip through: per scope, the consents, the
    withdrawn ones, the removed ones and the latest dates (a consent whose scope is corrected
    from research to care moves between scopes; a write that bypasses the audit, such as a
    bulk load, still changes the counts or dates), and the last audit entry of the consents
    table (every correction is audited, including one that moves a date that is not the
    latest). Read from the database, so every worker process sees the same value."""
    per_scope = (
        select(
            ConsentRow.scope,
            func.count(),
            func.count(ConsentRow.withdrawn_date),
            func.count(ConsentRow.removed_at),
            func.max(ConsentRow.id),
            func.max(ConsentRow.withdrawn_date),
            func.max(ConsentRow.given_date),
        )
        .group_by(ConsentRow.scope)
        .order_by(ConsentRow.scope)
    )
    audited = select(func.max(AuditRow.id)).where(AuditRow.table_name == ConsentRow.__tablename__)
    with engine.connect() as connection:
        scopes = connection.execute(per_scope).all()
        last_audit = connection.execute(audited).scalar()
    return (
        *(tuple(str(value) for value in row) for row in scopes),
        str(last_audit),
    )
